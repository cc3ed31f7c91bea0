"""Network commands: create, ls, inspect, rm, prune, connect, disconnect (docker's `network` group)."""
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

NETWORK_TABLE = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"
NETWORK_HEADERS = {"ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE",
                   "IPv4": "IPV4", "IPv6": "IPV6", "Internal": "INTERNAL", "Labels": "LABELS",
                   "CreatedAt": "CREATED AT"}


class NetworkContext:
    """docker's networkContext: the template fields of `network ls --format`."""

    def __init__(self, n: dict[str, Any], trunc: bool) -> None:
        self.n, self.trunc = n, trunc

    def ID(self) -> str:
        i = self.n.get("Id", "")
        return i[:12] if self.trunc else i

    def Name(self) -> str:
        return self.n.get("Name", "")

    def Driver(self) -> str:
        return self.n.get("Driver", "")

    def Scope(self) -> str:
        return self.n.get("Scope", "")

    def IPv4(self) -> str:
        return str(self.n.get("EnableIPv4", True)).lower()

    def IPv6(self) -> str:
        return str(bool(self.n.get("EnableIPv6"))).lower()

    def Internal(self) -> str:
        return str(bool(self.n.get("Internal"))).lower()

    def Labels(self) -> str:
        return ",".join(f"{k}={v}" for k, v in (self.n.get("Labels") or {}).items())

    def Label(self, name: str) -> str:
        return (self.n.get("Labels") or {}).get(name, "")

    def CreatedAt(self) -> str:
        return self.n.get("Created", "")

    def __json__(self) -> Any:
        from hithe.cli.template import GoMap
        return GoMap({k: getattr(self, k)() for k in (
            "CreatedAt", "Driver", "ID", "IPv4", "IPv6", "Internal", "Labels", "Name", "Scope")})


def _kv(value: str) -> str:
    if "=" not in value:
        raise ValueError(f"invalid key/value pair format: {value}")
    return value


def run_create(cli: Cli, o: Values, args: list[str]) -> int:
    from hithe.cli.opts_parse import kv_to_map
    subnets, gateways, ranges = o["subnet"], o["gateway"], o["ip-range"]
    if len(gateways) > len(subnets) or len(ranges) > len(subnets):
        raise StatusError(1, "every ip-range or gateway must have a corresponding subnet")
    config = []
    for i, s in enumerate(subnets):
        c = {"Subnet": s}
        if i < len(ranges):
            c["IPRange"] = ranges[i]
        if i < len(gateways):
            c["Gateway"] = gateways[i]
        config.append(c)
    body = {"Name": args[0], "Driver": o["driver"] or "bridge", "Internal": o["internal"],
            "IPAM": {"Driver": "default", "Config": config, "Options": {}},
            "Options": kv_to_map(o["opt"]), "Labels": kv_to_map(o["label"])}
    resp = cli.client.post_json("/networks/create", json_body=body) or {}
    if resp.get("Warning"):
        cli.err(resp["Warning"])
    cli.out(resp.get("Id", ""))
    return 0


def run_ls(cli: Cli, o: Values, args: list[str]) -> int:
    nets = cli.client.get_json("/networks", {"filters": filters_json(o["filter"])}) or []
    rows = [NetworkContext(n, not o["no-trunc"]) for n in sorted(nets, key=lambda n: n.get("Name", ""))]
    fmt = "{{.ID}}" if o["quiet"] else o["format"]
    sys.stdout.write(render(fmt, rows, NETWORK_HEADERS, NETWORK_TABLE))
    return 0


def run_inspect(cli: Cli, o: Values, args: list[str]) -> int:
    from hithe.cli.inspect import _getter, write_inspect
    return write_inspect(cli, args, o["format"], _getter(cli, "/networks/{name}"))


def run_rm(cli: Cli, o: Values, args: list[str]) -> int:
    errors = []
    for name in args:
        try:
            cli.client.delete(f"/networks/{name}").read()
        except APIError as exc:
            if o["force"] and exc.status == 404:
                continue
            errors.append(f"Error response from daemon: {exc}" if not str(exc).startswith("Error") else str(exc))
            continue
        cli.out(name)
    if errors:
        raise StatusError(1, "\n".join(errors))
    return 0


def run_prune(cli: Cli, o: Values, args: list[str]) -> int:
    from hithe.cli.container_ops import confirm
    if not o["force"] and not confirm(cli, "WARNING! This will remove all custom networks not used by at "
                                           "least one container."):
        return 0
    report = cli.client.post_json("/networks/prune", {"filters": filters_json(o["filter"])}) or {}
    deleted = report.get("NetworksDeleted") or []
    if deleted:
        cli.out("Deleted Networks:")
        for n in deleted:
            cli.out(n)
    return 0


def run_connect(cli: Cli, o: Values, args: list[str]) -> int:
    ep: dict[str, Any] = {}
    if o["alias"]:
        ep["Aliases"] = list(o["alias"])
    if o["link"]:
        ep["Links"] = list(o["link"])
    if o["ip"]:
        ep["IPAMConfig"] = {"IPv4Address": o["ip"]}
    cli.client.post_json(f"/networks/{args[0]}/connect", json_body={"Container": args[1], "EndpointConfig": ep})
    return 0


def run_disconnect(cli: Cli, o: Values, args: list[str]) -> int:
    cli.client.post_json(f"/networks/{args[0]}/disconnect",
                         json_body={"Container": args[1], "Force": o["force"]})
    return 0


CREATE = Command("create [OPTIONS] NETWORK", "Create a network", [
    Flag("attachable", "", BOOL, help="Enable manual container attachment"),
    Flag("driver", "d", default="bridge", help="Driver to manage the Network"),
    Flag("gateway", "", LIST, help="IPv4 or IPv6 Gateway for the master subnet"),
    Flag("internal", "", BOOL, help="Restrict external access to the network"),
    Flag("ip-range", "", LIST, help="Allocate container ip from a sub-range"),
    Flag("label", "", LIST, parse=validate_label, help="Set metadata on a network"),
    Flag("opt", "o", LIST, varname="map", parse=_kv, help="Set driver specific options"),
    Flag("subnet", "", LIST, help="Subnet in CIDR format that represents a network segment"),
], run_create, args=("exact", 1))
LS = Command("ls [OPTIONS]", "List networks", [
    filter_flag("Provide filter values (e.g. \"driver=bridge\")"),
    format_flag(),
    Flag("no-trunc", "", BOOL, help="Do not truncate the output"),
    Flag("quiet", "q", BOOL, help="Only display network IDs"),
], run_ls, args=("none",), aliases=f"{BIN} network ls, {BIN} network list")
INSPECT = Command("inspect [OPTIONS] NETWORK [NETWORK...]", "Display detailed information on one or more networks", [
    Flag("format", "f", help="Format output using a custom template:\n'json':             Print in JSON "
                             "format\n'TEMPLATE':         Print output using the given Go template."),
    Flag("verbose", "v", BOOL, help="Verbose output for diagnostics"),
], run_inspect, args=("min", 1))
RM = Command("rm NETWORK [NETWORK...]", "Remove one or more networks", [
    Flag("force", "f", BOOL, help="Do not error if the network does not exist"),
], run_rm, args=("min", 1), aliases=f"{BIN} network rm, {BIN} network remove")
PRUNE = Command("prune [OPTIONS]", "Remove all unused networks", [
    Flag("filter", "", LIST, varname="filter", parse=parse_filter,
         help="Provide filter values (e.g. \"until=<timestamp>\")"),
    Flag("force", "f", BOOL, help="Do not prompt for confirmation"),
], run_prune, args=("none",))
CONNECT = Command("connect [OPTIONS] NETWORK CONTAINER", "Connect a container to a network", [
    Flag("alias", "", LIST, help="Add network-scoped alias for the container"),
    Flag("ip", "", help="IPv4 address (e.g., \"172.30.100.104\")"),
    Flag("link", "", LIST, help="Add link to another container"),
], run_connect, args=("exact", 2))
DISCONNECT = Command("disconnect [OPTIONS] NETWORK CONTAINER", "Disconnect a container from a network", [
    Flag("force", "f", BOOL, help="Force the container to disconnect from a network"),
], run_disconnect, args=("exact", 2))
