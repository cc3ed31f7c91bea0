"""``logs``: inspect for the TTY setting, then GET /containers/{id}/logs and
copy raw (TTY) or demultiplexed (stdout to stdout, stderr to stderr)."""
from __future__ import annotations

from hithe.cli.command import BIN, Cli, Command, StatusError
from hithe.cli.flags import BOOL, Flag, Values
from hithe.client.stream import DemuxError, copy_stream


def run_logs(cli: Cli, o: Values, args: list[str]) -> int:
    import time

    from hithe.util.gotime import get_timestamp

    info = cli.client.get_json(f"/containers/{args[0]}/json")
    now = time.time()
    try:
        since = get_timestamp(o["since"], now) if o["since"] else None
        until = get_timestamp(o["until"], now) if o["until"] else None
    except ValueError as exc:
        raise StatusError(1, str(exc)) from None
    params = {"stdout": "1", "stderr": "1", "since": since, "until": until,
              "timestamps": "1" if o["timestamps"] else None,
              "follow": "1" if o["follow"] else None, "tail": o["tail"] or None,
              "details": "1" if o["details"] else None}
    resp = cli.client.request("GET", f"/containers/{info['Id']}/logs", params)
    chunks = resp.iter_raw()
    tty = bool((info.get("Config") or {}).get("Tty"))
    try:
        copy_stream(lambda: next(chunks, b""), 1, 2, tty)
    except DemuxError as exc:
        raise StatusError(1, str(exc)) from None
    return 0


LOGS = Command("logs [OPTIONS] CONTAINER", "Fetch the logs of a container", [
    Flag("details", "", BOOL, help="Show extra details provided to logs"),
    Flag("follow", "f", BOOL, help="Follow log output"),
    Flag("since", help='Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative '
                       '(e.g. "42m" for 42 minutes)'),
    Flag("tail", "n", default="all", help="Number of lines to show from the end of the logs"),
    Flag("timestamps", "t", BOOL, help="Show timestamps"),
    Flag("until", help='Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative '
                       '(e.g. "42m" for 42 minutes)'),
], run_logs, args=("exact", 1), aliases=f"{BIN} container logs, {BIN} logs")
