"""Read-only views of one container: top, port, diff, export, cp, stats."""
from __future__ import annotations

import os
import sys
TYPE_CHECKING = False  # typing costs ~5 ms at start-up; annotations are strings anyway
if TYPE_CHECKING:
    from typing import Any

from hithe.cli.command import BIN, Cli, Command, StatusError
from hithe.cli.flags import BOOL, Flag, Values
from hithe.client.stream import write_all


def go_tabwrite(rows: list[list[str]], minwidth: int, padding: int) -> str:
    """Go's text/tabwriter for tab-separated cells where the last cell of each
    line is not terminated (so it is not padded), flags 0, pad char ' '."""
    widths: dict[int, int] = {}
    for row in rows:
        for i, cell in enumerate(row[:-1]):
            widths[i] = max(widths.get(i, 0), len(cell) + padding, minwidth)
    out = []
    for row in rows:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        out.append("".join(cells) + (row[-1] if row else "") + "\n")
    return "".join(out)


def run_top(cli: Cli, o: Values, args: list[str]) -> int:
    params = {"ps_args": " ".join(args[1:])} if len(args) > 1 else None
    top = cli.client.get_json(f"/containers/{args[0]}/top", params) or {}
    rows = [list(top.get("Titles") or [])] + [list(p) for p in top.get("Processes") or []]
    sys.stdout.write(go_tabwrite(rows, 20, 3))
    return 0


def run_port(cli: Cli, o: Values, args: list[str]) -> int:
    info = cli.client.get_json(f"/containers/{args[0]}/json")
    ports: dict[str, Any] = ((info.get("NetworkSettings") or {}).get("Ports") or {})

    def fmt(b: dict[str, Any]) -> str:
        ip = b.get("HostIp") or ""
        ip = f"[{ip}]" if ":" in ip else ip
        return f"{ip}:{b.get('HostPort', '')}"

    if len(args) > 1:
        want = args[1]
        port, slash, proto = want.partition("/")
        key = f"{port}/{proto if slash else 'tcp'}"
        bindings = ports.get(key)
        if bindings:
            for b in bindings:
                cli.out(fmt(b))
            return 0
        raise StatusError(1, f"Error: No public port '{want}' published for {args[0]}")
    lines = []
    for key, bindings in ports.items():
        for b in bindings or []:
            lines.append(f"{key} -> {fmt(b)}")
    for line in sorted(lines, key=_port_sort_key):
        cli.out(line)
    return 0


def _port_sort_key(line: str) -> tuple:
    port, _, rest = line.partition("/")
    try:
        return (int(port), rest)
    except ValueError:
        return (0, line)


def run_diff(cli: Cli, o: Values, args: list[str]) -> int:
    changes = cli.client.get_json(f"/containers/{args[0]}/changes") or []
    kinds = {0: "C", 1: "A", 2: "D"}
    for ch in changes:
        cli.out(f"{kinds.get(ch.get('Kind'), '?')} {ch.get('Path', '')}")
    return 0


def _save_stream(resp: Any, output: str, what: str) -> None:
    """Write a streamed body to -o FILE or to stdout (never to a terminal)."""
    if not output:
        if os.isatty(1):
            raise StatusError(1, "cowardly refusing to save to a terminal. Use the -o flag or redirect")
        for chunk in resp.iter_raw():
            write_all(1, chunk)
        return
    tmp = f"{output}.hithe-tmp"
    try:
        with open(tmp, "wb") as fh:
            for chunk in resp.iter_raw():
                fh.write(chunk)
        os.replace(tmp, output)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise StatusError(1, f"failed to save {what}: {exc}") from None


def run_export(cli: Cli, o: Values, args: list[str]) -> int:
    if not o["output"] and os.isatty(1):
        raise StatusError(1, "cowardly refusing to save to a terminal. Use the -o flag or redirect")
    resp = cli.client.request("GET", f"/containers/{args[0]}/export")
    _save_stream(resp, o["output"], "container")
    return 0


def run_cp(cli: Cli, o: Values, args: list[str]) -> int:
    from hithe.cli import container_cp

    return container_cp.copy(cli, args[0], args[1], follow=o["follow-link"], archive=o["archive"],
                             quiet=o["quiet"])


def run_stats(cli: Cli, o: Values, args: list[str]) -> int:
    from hithe.cli import container_stats

    return container_stats.show(cli, args, all_=o["all"], fmt=o["format"], no_trunc=o["no-trunc"],
                                stream=not o["no-stream"])


def _table_format_help() -> str:
    from hithe.cli.container_list import FORMAT_HELP
    return FORMAT_HELP


def _aliases(name: str) -> str:
    return f"{BIN} container {name}, {BIN} {name}"


TOP = Command("top CONTAINER [ps OPTIONS]", "Display the running processes of a container", [],
              run_top, args=("min", 1), interspersed=False, aliases=_aliases("top"))
PORT = Command("port CONTAINER [PRIVATE_PORT[/PROTO]]",
               "List port mappings or a specific mapping for the container", [], run_port,
               args=("range", 1, 2), aliases=_aliases("port"))
DIFF = Command("diff CONTAINER", "Inspect changes to files or directories on a container's filesystem",
               [], run_diff, args=("exact", 1), aliases=_aliases("diff"))
EXPORT = Command("export [OPTIONS] CONTAINER", "Export a container's filesystem as a tar archive", [
    Flag("output", "o", help="Write to a file, instead of STDOUT"),
], run_export, args=("exact", 1), aliases=_aliases("export"))
CP = Command("cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\thithe cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
             "Copy files/folders between a container and the local filesystem", [
    Flag("archive", "a", BOOL, help="Archive mode (copy all uid/gid information)"),
    Flag("follow-link", "L", BOOL, help="Always follow symbol link in SRC_PATH"),
    Flag("quiet", "q", BOOL, help="Suppress progress output during copy. Progress output is "
                                  "automatically suppressed if no terminal is attached"),
], run_cp, args=("exact", 2), aliases=_aliases("cp"),
    long="Copy files/folders between a container and the local filesystem\n\n"
         "Use '-' as the source to read a tar archive from stdin\n"
         "and extract it to a directory destination in a container.\n"
         "Use '-' as the destination to stream a tar archive of a\n"
         "container source to stdout.")
STATS = Command("stats [OPTIONS] [CONTAINER...]",
                "Display a live stream of container(s) resource usage statistics", [
    Flag("all", "a", BOOL, help="Show all containers (default shows just running)"),
    Flag("format", help=_table_format_help()),
    Flag("no-stream", "", BOOL, help="Disable streaming stats and only pull the first result"),
    Flag("no-trunc", "", BOOL, help="Do not truncate output"),
], run_stats, aliases=_aliases("stats"))
