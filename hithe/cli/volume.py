"""Volume commands: create, ls, inspect, rm, prune (docker's `volume` group)."""
from __future__ import annotations

import sys
TYPE_CHECKING = False  # typing costs ~5 ms at start-up; annotations are strings anyway
if TYPE_CHECKING:
    from typing import Any

from hithe.cli.command import BIN, Cli, Command, StatusError
from hithe.cli.container_list import filter_flag, format_flag, render
from hithe.cli.flags import BOOL, LIST, Flag, Values
from hithe.cli.opts_parse import filters_json, parse_filter, validate_label
from hithe.client.errors import APIError

VOLUME_TABLE = "table {{.Driver}}\t{{.Name}}"
VOLUME_HEADERS = {"Name": "VOLUME NAME", "Driver": "DRIVER", "Scope": "SCOPE", "Mountpoint": "MOUNTPOINT",
                  "Labels": "LABELS", "Links": "LINKS", "Size": "SIZE", "Group": "GROUP",
                  "Availability": "AVAILABILITY", "Status": "STATUS"}


def _opt(value: str) -> str:
    if "=" not in value:
        raise ValueError(f"invalid key/value pair format: {value}")  # docker's MapOpts
    return value


class VolumeContext:
    """docker's volumeContext: the template fields of `volume ls --format`."""

    def __init__(self, v: dict[str, Any]) -> None:
        self.v = v

    def Name(self) -> str:
        return self.v.get("Name", "")

    def Driver(self) -> str:
        return self.v.get("Driver", "")

    def Scope(self) -> str:
        return self.v.get("Scope", "")

    def Mountpoint(self) -> str:
        return self.v.get("Mountpoint", "")

    def Labels(self) -> str:
        labels = self.v.get("Labels") or {}
        return ",".join(f"{k}={v}" for k, v in labels.items())

    def Label(self, name: str) -> str:
        return (self.v.get("Labels") or {}).get(name, "")

    def Links(self) -> str:
        usage = self.v.get("UsageData")
        return "N/A" if not usage else str(usage.get("RefCount", 0))

    def Size(self) -> str:
        from hithe.cli.formatters import human_size

        usage = self.v.get("UsageData")
        return "N/A" if not usage or usage.get("Size", -1) < 0 else human_size(usage["Size"])

    def Group(self) -> str:
        return ""

    def Availability(self) -> str:
        return "N/A"

    def Status(self) -> str:
        return "N/A"

    def __json__(self) -> Any:
        from hithe.cli.template import GoMap

        return GoMap({k: getattr(self, k)() for k in (
            "Availability", "Driver", "Group", "Labels", "Links", "Mountpoint", "Name", "Scope", "Size",
            "Status")})


def run_create(cli: Cli, o: Values, args: list[str]) -> int:
    from hithe.cli.opts_parse import kv_to_map

    name = o["name"]
    if args:
        if name:
            raise StatusError(1, "conflicting options: either specify --name or provide positional arg, "
                                 "not both")
        name = args[0]
    body = {"Driver": o["driver"] or "local", "DriverOpts": kv_to_map(o["opt"]),
            "Labels": kv_to_map(o["label"]), "Name": name}
    v = cli.client.post_json("/volumes/create", json_body=body) or {}
    cli.out(v.get("Name", ""))
    return 0


def run_ls(cli: Cli, o: Values, args: list[str]) -> int:
    resp = cli.client.get_json("/volumes", {"filters": filters_json(o["filter"])}) or {}
    for w in resp.get("Warnings") or []:
        cli.err(w)
    rows = [VolumeContext(v) for v in sorted(resp.get("Volumes") or [], key=lambda v: v.get("Name", ""))]
    fmt = "{{.Name}}" if o["quiet"] else o["format"]
    sys.stdout.write(render(fmt, rows, VOLUME_HEADERS, VOLUME_TABLE))
    return 0


def run_inspect(cli: Cli, o: Values, args: list[str]) -> int:
    from hithe.cli.inspect import _getter, write_inspect

    return write_inspect(cli, args, o["format"], _getter(cli, "/volumes/{name}"))


def run_rm(cli: Cli, o: Values, args: list[str]) -> int:
    errors = []
    for name in args:
        try:
            cli.client.delete(f"/volumes/{name}", {"force": "1" if o["force"] else None}).read()
        except APIError as exc:
            errors.append(str(exc))
            continue
        cli.out(name)
    if errors:
        raise StatusError(1, "\n".join(errors))
    return 0


def run_prune(cli: Cli, o: Values, args: list[str]) -> int:
    from hithe.cli.container_ops import confirm, print_prune

    pairs = list(o["filter"])
    if o["all"]:
        if any(k == "all" for k, _ in pairs):
            raise StatusError(1, "conflicting options: cannot specify both --all and --filter all=1")
        pairs.append(("all", "true"))
    warning = ("WARNING! This will remove all local volumes not used by at least one container."
               if o["all"] or any(k == "all" for k, _ in pairs)
               else "WARNING! This will remove anonymous local volumes not used by at least one container.")
    if not o["force"] and not confirm(cli, warning):
        return 0
    report = cli.client.post_json("/volumes/prune", {"filters": filters_json(pairs)}) or {}
    print_prune(cli, "Deleted Volumes", report.get("VolumesDeleted"), report.get("SpaceReclaimed"))
    return 0


CREATE = Command("create [OPTIONS] [VOLUME]", "Create a volume", [
    Flag("driver", "d", default="local", help="Specify volume driver name"),
    Flag("label", "", LIST, parse=validate_label, help="Set metadata for a volume"),
    Flag("name", "", help="Specify volume name", hidden=True),
    Flag("opt", "o", LIST, varname="map", parse=_opt, help="Set driver specific options"),
], run_create, args=("max", 1))
LS = Command("ls [OPTIONS]", "List volumes", [
    Flag("cluster", "", BOOL, help="Display only cluster volumes, and use cluster volume list formatting",
         hidden=True),
    filter_flag("Provide filter values (e.g. \"dangling=true\")"),
    format_flag(),
    Flag("quiet", "q", BOOL, help="Only display volume names"),
], run_ls, args=("none",), aliases=f"{BIN} volume ls, {BIN} volume list")
INSPECT = Command("inspect [OPTIONS] VOLUME [VOLUME...]", "Display detailed information on one or more volumes", [
    Flag("format", "f", help="Format output using a custom template:\n'json':             Print in JSON "
                             "format\n'TEMPLATE':         Print output using the given Go template.\n"
                             "Refer to https://docs.docker.com/go/formatting/ for more information about "
                             "formatting output with templates"),
], run_inspect, args=("min", 1))
RM = Command("rm [OPTIONS] VOLUME [VOLUME...]", "Remove one or more volumes", [
    Flag("force", "f", BOOL, help="Force the removal of one or more volumes"),
], run_rm, args=("min", 1), aliases=f"{BIN} volume rm, {BIN} volume remove",
    long="Remove one or more volumes. You cannot remove a volume that is in use by a container.")
PRUNE = Command("prune [OPTIONS]", "Remove unused local volumes", [
    Flag("all", "a", BOOL, help="Remove all unused volumes, not just anonymous ones"),
    Flag("filter", "", LIST, varname="filter", parse=parse_filter,
         help="Provide filter values (e.g. \"label=<label>\")"),
    Flag("force", "f", BOOL, help="Do not prompt for confirmation"),
], run_prune, args=("none",))
