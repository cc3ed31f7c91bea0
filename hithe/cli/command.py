"""Commands, the per-invocation CLI context, and docker's usage/error texts.

A ``Command`` is declared by each command-group module; ``main`` finds the
module through a static table (so start-up imports only the module of the
command being run), parses the flags with ``flags.FlagSet``, checks the
argument count with docker's messages, and calls ``run(cli, opts, args)``
which returns the exit status.
"""
from __future__ import annotations

import os
import sys
TYPE_CHECKING = False  # typing costs ~5 ms at start-up; annotations are strings anyway
if TYPE_CHECKING:
    from typing import Any, Callable

from hithe.cli.flags import Flag, Values

BIN = "hithe"


class StatusError(Exception):
    """Exit with ``status``, printing ``message`` (if any) on stderr first."""

    def __init__(self, status: int, message: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Command:
    """One leaf command.

    ``use`` is cobra's Use line without the binary and parents, e.g.
    ``"rm [OPTIONS] CONTAINER [CONTAINER...]"``; ``args`` is ``None`` (any),
    ``("none",)``, ``("min", n)``, ``("max", n)``, ``("exact", n)`` or
    ``("range", lo, hi)``; ``aliases`` is the "Aliases:" help line.
    """

    __slots__ = ("use", "short", "flags", "args", "run", "interspersed", "aliases", "long")

    def __init__(self, use: str, short: str, flags: list[Flag], run: Callable[..., int],
                 *, args: tuple | None = None, interspersed: bool = True,
                 aliases: str = "", long: str = "") -> None:
        self.use = use
        self.short = short
        self.flags = flags
        self.run = run
        self.args = args
        self.interspersed = interspersed
        self.aliases = aliases
        self.long = long

    @property
    def name(self) -> str:
        return self.use.split(" ", 1)[0]


def usage_line(path: str, cmd: Command) -> str:
    rest = cmd.use.split(" ", 1)
    return f"{path} {rest[1]}" if len(rest) > 1 else path


def _plural(word: str, n: int) -> str:
    return word if n == 1 else word + "s"


def check_args(path: str, cmd: Command, args: list[str]) -> str | None:
    """docker's cli/required.go messages; None when the count is fine."""
    spec = cmd.args
    if spec is None:
        return None
    kind = spec[0]
    n = len(args)
    use = usage_line(path, cmd)
    if kind == "none" and n:
        return (f"{BIN}: '{path}' accepts no arguments\n\nUsage:  {use}\n\n"
                f"Run '{path} --help' for more information")
    if kind == "min" and n < spec[1]:
        return (f"{BIN}: '{path}' requires at least {spec[1]} {_plural('argument', spec[1])}\n\n"
                f"Usage:  {use}\n\nSee '{path} --help' for more information")
    if kind == "max" and n > spec[1]:
        return (f"{BIN}: '{path}' requires at most {spec[1]} {_plural('argument', spec[1])}\n\n"
                f"Usage:  {use}\n\nRun '{path} --help' for more information")
    if kind == "exact" and n != spec[1]:
        return (f"{BIN}: '{path}' requires {spec[1]} {_plural('argument', spec[1])}\n\n"
                f"Usage:  {use}\n\nRun '{path} --help' for more information")
    if kind == "range" and not spec[1] <= n <= spec[2]:
        return (f"{BIN}: '{path}' requires at least {spec[1]} and at most {spec[2]} "
                f"{_plural('argument', spec[2])}\n\nUsage:  {use}\n\n"
                f"Run '{path} --help' for more information")
    return None


def flag_error_text(path: str, cmd: Command, message: str) -> str:
    return f"{message}\n\nUsage:  {usage_line(path, cmd)}\n\nRun '{path} --help' for more information"


def terminal_width() -> int:
    """docker wraps help at the width of the terminal on stdin (80 otherwise) less one."""
    try:
        return os.get_terminal_size(0).columns - 1
    except OSError:
        return 79


def help_text(path: str, cmd: Command) -> str:
    from hithe.cli.flags import flag_usages

    parts = [f"Usage:  {usage_line(path, cmd)}\n", f"\n{cmd.long or cmd.short}\n"]
    if cmd.aliases:
        parts.append(f"\nAliases:\n  {cmd.aliases}\n")
    visible = [f for f in cmd.flags if not f.hidden]
    if visible:
        parts.append("\nOptions:\n" + flag_usages(visible, terminal_width()))
    return "".join(parts)


class Cli:
    """Per-invocation state: the chosen host, the API client (made on first use),
    the command path for messages (``hithe container rm``), and output helpers."""

    def __init__(self, host: str | None, path: str = BIN) -> None:
        self.host_flag = host
        self.path = path
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            from hithe.client.api import APIClient

            self._client = APIClient(self.host_flag)
        return self._client

    @staticmethod
    def out(text: str = "", end: str = "\n") -> None:
        sys.stdout.write(text + end)

    @staticmethod
    def err(text: str = "", end: str = "\n") -> None:
        sys.stdout.flush()
        sys.stderr.write(text + end)
        sys.stderr.flush()

    @staticmethod
    def stdin_is_tty() -> bool:
        return os.isatty(0)

    @staticmethod
    def stdout_is_tty() -> bool:
        return os.isatty(1)


def opts_list(values: Values, name: str) -> list[str]:
    v = values.get(name)
    return list(v) if v else []
