"""Container lifecycle commands that act on a list of containers:
stop, kill, restart, rm, wait, pause, unpause, rename, update, commit, prune.

docker's pattern for lists: act on each container, print the name as given on
success, collect the daemon's errors and print them all at the end (exit 1).
"""
from __future__ import annotations

import sys
TYPE_CHECKING = False  # typing costs ~5 ms at start-up; annotations are strings anyway
if TYPE_CHECKING:
    from typing import Any, Callable

from hithe.cli.command import BIN, Cli, Command, StatusError
from hithe.cli.flags import BOOL, INT, LIST, VALUE, Flag, Values
from hithe.cli.opts_parse import filters_json, parse_filter
from hithe.client.errors import APIError


def for_each(cli: Cli, names: list[str], op: Callable[[str], Any], *,
             print_name: bool = True, ignore_not_found: bool = False) -> int:
    errors: list[str] = []
    for name in names:
        try:
            result = op(name)
        except APIError as exc:
            if ignore_not_found and exc.status == 404:
                cli.err(str(exc))
                continue
            errors.append(str(exc))
            continue
        if print_name:
            cli.out(name)
        elif result is not None:
            cli.out(str(result))
    if errors:
        raise StatusError(1, "\n".join(errors))
    return 0


def run_stop(cli: Cli, o: Values, args: list[str]) -> int:
    params = {"signal": o["signal"] or None,
              "t": str(o["timeout"]) if "timeout" in o.changed else None}
    return for_each(cli, args, lambda c: cli.client.post(f"/containers/{c}/stop", params))


def run_restart(cli: Cli, o: Values, args: list[str]) -> int:
    params = {"signal": o["signal"] or None,
              "t": str(o["timeout"]) if "timeout" in o.changed else None}
    return for_each(cli, args, lambda c: cli.client.post(f"/containers/{c}/restart", params))


def run_kill(cli: Cli, o: Values, args: list[str]) -> int:
    params = {"signal": o["signal"] or None}
    return for_each(cli, args, lambda c: cli.client.post(f"/containers/{c}/kill", params))


def run_rm(cli: Cli, o: Values, args: list[str]) -> int:
    params = {"force": "1" if o["force"] else None, "v": "1" if o["volumes"] else None,
              "link": "1" if o["link"] else None}
    names = []
    for name in args:
        name = name.strip("/")
        if not name:
            raise StatusError(1, "Container name cannot be empty")
        names.append(name)
    return for_each(cli, names, lambda c: cli.client.delete(f"/containers/{c}", params).read(),
                    ignore_not_found=o["force"])


def run_wait(cli: Cli, o: Values, args: list[str]) -> int:
    def wait(c: str) -> int:
        result = cli.client.post_json(f"/containers/{c}/wait") or {}
        err = result.get("Error")
        if err and err.get("Message"):
            raise APIError(500, err["Message"])
        return result.get("StatusCode", 0)

    return for_each(cli, args, wait, print_name=False)


def run_pause(cli: Cli, o: Values, args: list[str]) -> int:
    return for_each(cli, args, lambda c: cli.client.post(f"/containers/{c}/pause"))


def run_unpause(cli: Cli, o: Values, args: list[str]) -> int:
    return for_each(cli, args, lambda c: cli.client.post(f"/containers/{c}/unpause"))


def run_rename(cli: Cli, o: Values, args: list[str]) -> int:
    old, new = args[0].strip(), args[1].strip()
    if not old or not new:
        raise StatusError(1, "Error: Neither old nor new names may be empty")
    try:
        cli.client.post(f"/containers/{old}/rename", {"name": new})
    except APIError as exc:
        cli.err(str(exc))
        raise StatusError(1, f"Error: failed to rename container named {old}") from None
    return 0


def run_update(cli: Cli, o: Values, args: list[str]) -> int:
    from hithe.cli.opts_parse import parse_restart_policy

    body: dict[str, Any] = {}
    mapping = [("blkio-weight", "BlkioWeight"), ("cpu-period", "CpuPeriod"),
               ("cpu-quota", "CpuQuota"), ("cpu-rt-period", "CpuRealtimePeriod"),
               ("cpu-rt-runtime", "CpuRealtimeRuntime"), ("cpu-shares", "CpuShares"),
               ("cpus", "NanoCpus"), ("cpuset-cpus", "CpusetCpus"), ("cpuset-mems", "CpusetMems"),
               ("memory", "Memory"), ("memory-reservation", "MemoryReservation"),
               ("memory-swap", "MemorySwap"), ("pids-limit", "PidsLimit")]
    for flag, key in mapping:
        if flag in o.changed:
            body[key] = o[flag]
    if "restart" in o.changed:
        try:
            body["RestartPolicy"] = parse_restart_policy(o["restart"])
        except ValueError as exc:
            raise StatusError(1, str(exc)) from None
    if not body:
        raise StatusError(1, "you must provide one or more flags when using this command")

    def update(c: str) -> None:
        resp = cli.client.post_json(f"/containers/{c}/update", None, body) or {}
        for w in resp.get("Warnings") or []:
            cli.err(w)

    return for_each(cli, args, update)


def run_commit(cli: Cli, o: Values, args: list[str]) -> int:
    repo, tag = "", ""
    if len(args) > 1:
        from hithe.cli.image import split_name_tag
        repo, tag = split_name_tag(args[1])
    params = {"container": args[0], "repo": repo or None, "tag": tag or None,
              "comment": o["message"] or None, "author": o["author"] or None,
              "pause": "1" if o["pause"] else "0", "changes": o["change"] or None}
    resp = cli.client.post_json("/commit", params, {}) or {}
    cli.out(resp.get("Id", ""))
    return 0


def confirm(cli: Cli, message: str) -> bool:
    """docker's PromptForConfirmation: the answer must be y/Y; anything else is no."""
    sys.stdout.write(f"{message}\nAre you sure you want to continue? [y/N] ")
    sys.stdout.flush()
    answer = sys.stdin.readline()
    return answer.strip().lower() in ("y", "yes")


def print_prune(cli: Cli, title: str, deleted: list[Any] | None, reclaimed: int | None) -> None:
    from hithe.cli.formatters import human_size

    output = ""
    if deleted:
        output = f"{title}:\n" + "".join(f"{d}\n" for d in deleted)
        cli.out(output)
    cli.out(f"Total reclaimed space: {human_size(reclaimed or 0)}")


def run_prune(cli: Cli, o: Values, args: list[str]) -> int:
    if not o["force"] and not confirm(cli, "WARNING! This will remove all stopped containers."):
        return 0
    report = cli.client.post_json("/containers/prune", {"filters": filters_json(o["filter"])}) or {}
    print_prune(cli, "Deleted Containers", report.get("ContainersDeleted"), report.get("SpaceReclaimed"))
    return 0


def _stop_flags(what: str) -> list[Flag]:
    return [
        Flag("signal", "s", help="Signal to send to the container"),
        Flag("time", "", INT, hidden=True, dest="timeout",
             help="Seconds to wait before killing the container (deprecated: use --timeout)"),
        Flag("timeout", "t", INT, help="Seconds to wait before killing the container"),
    ]


def _aliases(name: str, *extra: str) -> str:
    names = [f"{BIN} container {name}"] + [f"{BIN} container {e}" for e in extra] + [f"{BIN} {name}"]
    return ", ".join(names)


STOP = Command("stop [OPTIONS] CONTAINER [CONTAINER...]", "Stop one or more running containers",
               _stop_flags("stop"), run_stop, args=("min", 1), aliases=_aliases("stop"))
RESTART = Command("restart [OPTIONS] CONTAINER [CONTAINER...]", "Restart one or more containers",
                  _stop_flags("restart"), run_restart, args=("min", 1), aliases=_aliases("restart"))
KILL = Command("kill [OPTIONS] CONTAINER [CONTAINER...]", "Kill one or more running containers", [
    Flag("signal", "s", help="Signal to send to the container"),
], run_kill, args=("min", 1), aliases=_aliases("kill"))
RM = Command("rm [OPTIONS] CONTAINER [CONTAINER...]", "Remove one or more containers", [
    Flag("force", "f", BOOL, help="Force the removal of a running container (uses SIGKILL)"),
    Flag("link", "l", BOOL, help="Remove the specified link"),
    Flag("volumes", "v", BOOL, help="Remove anonymous volumes associated with the container"),
], run_rm, args=("min", 1), aliases=f"{BIN} container rm, {BIN} container remove, {BIN} rm")
WAIT = Command("wait CONTAINER [CONTAINER...]",
               "Block until one or more containers stop, then print their exit codes", [],
               run_wait, args=("min", 1), aliases=_aliases("wait"))
PAUSE = Command("pause CONTAINER [CONTAINER...]", "Pause all processes within one or more containers",
                [], run_pause, args=("min", 1), aliases=_aliases("pause"))
UNPAUSE = Command("unpause CONTAINER [CONTAINER...]",
                  "Unpause all processes within one or more containers", [], run_unpause,
                  args=("min", 1), aliases=_aliases("unpause"))
RENAME = Command("rename CONTAINER NEW_NAME", "Rename a container", [], run_rename,
                 args=("exact", 2), aliases=_aliases("rename"))


def _update_flags() -> list[Flag]:
    from hithe.cli import opts_parse as P

    return [
        Flag("blkio-weight", "", INT, varname="uint16", default_text="0",
             help="Block IO (relative weight), between 10 and 1000, or 0 to disable"),
        Flag("cpu-period", "", INT, help="Limit CPU CFS (Completely Fair Scheduler) period"),
        Flag("cpu-quota", "", INT, help="Limit CPU CFS (Completely Fair Scheduler) quota"),
        Flag("cpu-rt-period", "", INT, help="Limit the CPU real-time period in microseconds"),
        Flag("cpu-rt-runtime", "", INT, help="Limit the CPU real-time runtime in microseconds"),
        Flag("cpu-shares", "c", INT, help="CPU shares (relative weight)"),
        Flag("cpus", "", VALUE, default=0, varname="decimal", parse=P.nano_cpus, help="Number of CPUs"),
        Flag("cpuset-cpus", help="CPUs in which to allow execution (0-3, 0,1)"),
        Flag("cpuset-mems", help="MEMs in which to allow execution (0-3, 0,1)"),
        Flag("memory", "m", VALUE, default=0, varname="bytes", parse=P.mem_bytes, help="Memory limit"),
        Flag("memory-reservation", "", VALUE, default=0, varname="bytes", parse=P.mem_bytes,
             help="Memory soft limit"),
        Flag("memory-swap", "", VALUE, default=0, varname="bytes", parse=P.mem_swap_bytes,
             help="Swap limit equal to memory plus swap: -1 to enable unlimited swap"),
        Flag("pids-limit", "", INT, help="Tune container pids limit (set -1 for unlimited)"),
        Flag("restart", help="Restart policy to apply when a container exits"),
    ]


UPDATE = Command("update [OPTIONS] CONTAINER [CONTAINER...]",
                 "Update configuration of one or more containers", _update_flags(), run_update,
                 args=("min", 1), aliases=_aliases("update"))
COMMIT = Command("commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
                 "Create a new image from a container's changes", [
    Flag("author", "a", help='Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")'),
    Flag("change", "c", LIST, help="Apply Dockerfile instruction to the created image"),
    Flag("message", "m", help="Commit message"),
    Flag("pause", "p", BOOL, default=True, help="Pause container during commit"),
], run_commit, args=("range", 1, 2), aliases=_aliases("commit"))
PRUNE = Command("prune [OPTIONS]", "Remove all stopped containers", [
    Flag("filter", "", LIST, varname="filter", parse=parse_filter,
         help="Provide filter values (e.g. \"until=<timestamp>\")"),
    Flag("force", "f", BOOL, help="Do not prompt for confirmation"),
], run_prune, args=("none",))
