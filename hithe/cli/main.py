"""``hithe``: docker's command line for the hithe engine.

Start-up is kept to stdlib modules that are cheap to import; each command's
module is imported only when that command runs (see ``registry``).
"""
from __future__ import annotations

import sys

from hithe.cli import registry
from hithe.cli.command import (BIN, Cli, Command, StatusError, check_args, flag_error_text,
                               help_text, terminal_width)
from hithe.cli.flags import BOOL, LIST, Flag, FlagError, FlagSet, HelpRequested

VERSION = "0.1.0"

GLOBAL_FLAGS = [
    Flag("config", "", help="Location of client config files", default_text='"/root/.hithe"'),
    Flag("context", "c", help="Name of the context to use to connect to the daemon"),
    Flag("debug", "D", BOOL, help="Enable debug mode"),
    Flag("host", "H", LIST, help="Daemon socket to connect to"),
    Flag("log-level", "l", default="info",
         help='Set the logging level ("debug", "info", "warn", "error", "fatal")'),
    Flag("tls", "", BOOL, help="Use TLS; implied by --tlsverify", hidden=True),
    Flag("tlsverify", "", BOOL, help="Use TLS and verify the remote", hidden=True),
    Flag("version", "v", BOOL, help="Print version information and quit"),
]


def root_help() -> str:
    from hithe.cli.flags import flag_usages

    def line(name: str, short: str) -> str:
        return f"  {name:<11} {short}\n"

    out = [f"Usage:  {BIN} [OPTIONS] COMMAND\n\nA Docker-compatible container engine\n\nCommon Commands:\n"]
    out += [line(n, registry.short_for(n)) for n in registry.COMMON]
    out.append("\nManagement Commands:\n")
    out += [line(g, registry.GROUPS[g][0]) for g in sorted(registry.GROUPS)]
    out.append("\nCommands:\n")
    rest = sorted(n for n in list(registry.TOP) + list(registry.STANDALONE)
                  if n not in registry.COMMON)
    out += [line(n, registry.short_for(n)) for n in rest]
    out.append("\nGlobal Options:\n" + flag_usages(GLOBAL_FLAGS, terminal_width()))
    out.append(f"\nRun '{BIN} COMMAND --help' for more information on a command.\n")
    return "".join(out)


def group_help(group: str) -> str:
    short, subs, _aliases = registry.GROUPS[group]
    lines = [f"Usage:  {BIN} {group} COMMAND\n\n{short}\n\nCommands:\n"]
    lines += [f"  {name:<11} {entry[2]}\n" for name, entry in sorted(subs.items())]
    lines.append(f"\nRun '{BIN} {group} COMMAND --help' for more information on a command.\n")
    return "".join(lines)


def resolve(args: list[str]) -> tuple[str, registry.Entry | None, list[str], str | None]:
    """Map the leading words to (command path, table entry, remaining args, group help)."""
    name = args[0]
    if name in registry.GROUPS:
        _short, subs, aliases = registry.GROUPS[name]
        if len(args) == 1 or args[1] in ("--help", "-h", "help"):
            return f"{BIN} {name}", None, [], name
        sub = aliases.get(args[1], args[1])
        if sub not in subs:
            raise StatusError(1, f"{BIN}: unknown command: {BIN} {name} {args[1]}\n\n"
                                 f"Usage:  {BIN} {name}\n\n"
                                 f"Run '{BIN} {name} --help' for more information")
        return f"{BIN} {name} {args[1]}", subs[sub], args[2:], None
    if name in registry.TOP:
        group, sub = registry.TOP[name]
        return f"{BIN} {name}", registry.GROUPS[group][1][sub], args[1:], None
    if name in registry.STANDALONE:
        return f"{BIN} {name}", registry.STANDALONE[name], args[1:], None
    raise StatusError(1, f"{BIN}: unknown command: {BIN} {name}\n\n"
                         f"Run '{BIN} --help' for more information")


def load(entry: registry.Entry) -> Command:
    # __import__ rather than importlib.import_module: importlib costs ~1 ms to import
    module = __import__(entry[0], fromlist=[entry[1]])
    return getattr(module, entry[1])


def run_command(cli: Cli, cmd: Command, argv: list[str]) -> int:
    fs = FlagSet(cmd.flags, interspersed=cmd.interspersed)
    try:
        opts, args = fs.parse(argv)
    except HelpRequested:
        sys.stdout.write(help_text(cli.path, cmd))
        return 0
    except FlagError as exc:
        raise StatusError(125, flag_error_text(cli.path, cmd, str(exc))) from None
    problem = check_args(cli.path, cmd, args)
    if problem:
        raise StatusError(1, problem)
    return cmd.run(cli, opts, args) or 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from hithe.client.errors import ClientError

    try:
        gfs = FlagSet(GLOBAL_FLAGS, interspersed=False)
        try:
            gopts, args = gfs.parse(argv)
        except HelpRequested:
            sys.stdout.write(root_help())
            return 0
        except FlagError as exc:
            raise StatusError(125, f"{exc}\n\nUsage:  {BIN} [OPTIONS] COMMAND [ARG...]\n\n"
                                   f"Run '{BIN} --help' for more information") from None
        if gopts["version"]:
            sys.stdout.write(f"{BIN} version {VERSION}\n")
            return 0
        if not args:
            sys.stdout.write(root_help())
            return 0
        hosts = gopts["host"]
        if len(hosts) > 1:
            raise StatusError(1, "Specify only one -H")
        if args[0] == "help":
            if len(args) == 1:
                sys.stdout.write(root_help())
                return 0
            args = args[1:] + ["--help"]
        path, entry, rest, ghelp = resolve(args)
        if ghelp is not None:
            sys.stdout.write(group_help(ghelp))
            return 0
        assert entry is not None
        cli = Cli(hosts[0] if hosts else None, path)
        try:
            return run_command(cli, load(entry), rest)
        finally:
            if cli._client is not None:
                cli._client.close()
    except StatusError as exc:
        if exc.message:
            _print_err(exc.message)
        return exc.status
    except ClientError as exc:
        _print_err(str(exc))
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # the reader went away (hithe ps | head): exit quietly like a Go program
        try:
            sys.stdout = None  # type: ignore[assignment]
        except Exception:
            pass
        return 141


def _print_err(message: str) -> None:
    try:
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):
        pass
    sys.stderr.write(message.rstrip("\n") + "\n")
    sys.stderr.flush()


def entry() -> None:
    """The ``hithe`` console script: main(), then exit without the interpreter's
    teardown (module and thread clean-up cost ~4 ms and a blocked stdin reader
    thread must not hold the exit up, as in the Go CLI)."""
    import os

    code = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (BrokenPipeError, ValueError):
            code = code or 141
    os._exit(code)


if __name__ == "__main__":
    entry()
