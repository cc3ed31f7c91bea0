"""System commands: version, info, events, system df, system prune."""
from __future__ import annotations

import os
import sys
import time
TYPE_CHECKING = False  # typing costs ~5 ms at start-up; annotations are strings anyway
if TYPE_CHECKING:
    from typing import Any

from hithe.cli.command import BIN, Cli, Command, StatusError
from hithe.cli.container_list import FORMAT_HELP
from hithe.cli.inspect import FORMAT_HELP as JSON_FORMAT_HELP
from hithe.cli.flags import BOOL, LIST, Flag, Values
from hithe.cli.opts_parse import filters_json, parse_filter
from hithe.client.errors import ClientError

_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386", "ppc64le": "ppc64le",
         "s390x": "s390x", "riscv64": "riscv64"}


def _pad(rows: list[tuple[str, str]], indent: str) -> list[str]:
    """The version template's tabwriter (minwidth 20, padding 1)."""
    return [f"{(indent + k + ':').ljust(max(20, len(indent + k) + 2))}{v}" for k, v in rows]


def client_version(cli: Cli, api: str) -> dict[str, Any]:
    from hithe.cli.main import VERSION
    from hithe.client.api import MAX_API_VERSION

    return {"Platform": {"Name": ""}, "Version": VERSION, "ApiVersion": api,
            "DefaultAPIVersion": MAX_API_VERSION, "GitCommit": "unknown",
            "GoVersion": f"python{sys.version.split()[0]}", "Os": "linux",
            "Arch": _ARCH.get(os.uname().machine, os.uname().machine),
            "BuildTime": "", "Context": "default"}


def run_version(cli: Cli, o: Values, args: list[str]) -> int:
    from hithe.client.api import MAX_API_VERSION

    error: ClientError | None = None
    server: dict[str, Any] | None = None
    try:
        api = cli.client.version
        server = cli.client.get_json("/version")
    except ClientError as exc:
        api, error = MAX_API_VERSION, exc
    client = client_version(cli, api)
    if o["format"]:
        from hithe.cli.template import TemplateError, compile_template, parse_format

        data = {"Client": dict(client, APIVersion=client["ApiVersion"]),
                "Server": dict(server, APIVersion=server.get("ApiVersion")) if server else None}
        try:
            sys.stdout.write(compile_template(parse_format(o["format"])[1]).render(data) + "\n")
        except TemplateError as exc:
            raise StatusError(64, str(exc)) from None
    else:
        api_line = client["ApiVersion"]
        if api_line != client["DefaultAPIVersion"]:
            api_line += f" (downgraded from {client['DefaultAPIVersion']})"
        lines = ["Client:"] + _pad([
            ("Version", client["Version"]), ("API version", api_line),
            ("Python version", sys.version.split()[0]), ("Git commit", client["GitCommit"]),
            ("Built", client["BuildTime"]), ("OS/Arch", f"{client['Os']}/{client['Arch']}"),
            ("Context", client["Context"])], " ")
        if server:
            name = (server.get("Platform") or {}).get("Name") or ""
            lines += ["", "Server:" + (f" {name}" if name else "")]
            for comp in _components(server):
                lines.append(f" {comp['Name']}:")
                d = comp.get("Details") or {}
                if comp["Name"] == "Engine":
                    lines += _pad([
                        ("Version", comp.get("Version", "")),
                        ("API version", f"{d.get('ApiVersion', '')} (minimum version {d.get('MinAPIVersion', '')})"),
                        ("Go version", d.get("GoVersion", "")), ("Git commit", d.get("GitCommit", "")),
                        ("Built", reformat_date(d.get("BuildTime", ""))), ("OS/Arch", f"{d.get('Os', '')}/{d.get('Arch', '')}"),
                        ("Experimental", str(d.get("Experimental", "false")).lower())], "  ")
                else:
                    lines += _pad([("Version", comp.get("Version", ""))] +
                                  [(k, str(d[k])) for k in sorted(d)], "  ")
        sys.stdout.write("\n".join(lines) + "\n")
    if error is not None:
        raise StatusError(1, str(error))
    return 0


def reformat_date(value: str) -> str:
    """docker shows RFC 3339 build times in Go's ANSIC layout."""
    from hithe.util.gotime import UnitsError, go_time_parse_ns

    try:
        ns = go_time_parse_ns("2006-01-02T15:04:05.999999999Z07:00", value)
    except (UnitsError, ValueError):
        return value
    offset = 0
    tail = value[-6:]
    if tail[0] in "+-" and tail[3] == ":":
        offset = (int(tail[1:3]) * 3600 + int(tail[4:6]) * 60) * (1 if tail[0] == "+" else -1)
    t = time.gmtime(ns // 1_000_000_000 + offset)
    return time.strftime("%a %b ", t) + f"{t.tm_mday:>2}" + time.strftime(" %H:%M:%S %Y", t)


def _components(server: dict[str, Any]) -> list[dict[str, Any]]:
    comps = server.get("Components")
    if comps:
        return comps
    # old daemons: the engine's fields at the top level
    details = {k: server.get(k, "") for k in ("ApiVersion", "MinAPIVersion", "GoVersion", "GitCommit",
                                                "BuildTime", "Os", "Arch", "Experimental")}
    return [{"Name": "Engine", "Version": server.get("Version", ""), "Details": details}]


def run_info(cli: Cli, o: Values, args: list[str]) -> int:
    from hithe.cli.main import VERSION
    from hithe.util.units import bytes_size

    if o["format"]:
        info = cli.client.get_json("/info")
        from hithe.cli.template import TemplateError, compile_template, parse_format
        try:
            sys.stdout.write(compile_template(parse_format(o["format"])[1]).render(info) + "\n")
        except TemplateError as exc:
            raise StatusError(64, str(exc)) from None
        return 0
    out = ["Client:", f" Version:    {VERSION}", " Context:    default", " Debug Mode: false", "", "Server:"]
    sys.stdout.write("\n".join(out) + "\n")
    sys.stdout.flush()
    info = cli.client.get_json("/info") or {}
    g = info.get
    lines = [f" Containers: {g('Containers', 0)}", f"  Running: {g('ContainersRunning', 0)}",
             f"  Paused: {g('ContainersPaused', 0)}", f"  Stopped: {g('ContainersStopped', 0)}",
             f" Images: {g('Images', 0)}", f" Server Version: {g('ServerVersion', '')}",
             f" Storage Driver: {g('Driver', '')}"]
    lines += [f"  {k}: {v}" for k, v in (g("DriverStatus") or [])]
    lines += [f" Logging Driver: {g('LoggingDriver', '')}", f" Cgroup Driver: {g('CgroupDriver', '')}",
              f" Cgroup Version: {g('CgroupVersion', '')}"]
    plugins = g("Plugins") or {}
    if plugins:
        lines.append(" Plugins:")
        for key in ("Volume", "Network", "Log"):
            if plugins.get(key):
                lines.append(f"  {key}: {' '.join(plugins[key])}")
    lines.append(f" Swarm: {(g('Swarm') or {}).get('LocalNodeState') or 'inactive'}")
    if g("Runtimes"):
        lines.append(f" Runtimes: {' '.join(sorted(g('Runtimes')))}")
    lines.append(f" Default Runtime: {g('DefaultRuntime', '')}")
    if g("InitBinary"):
        lines.append(f" Init Binary: {g('InitBinary')}")
    for label, key in (("containerd", "ContainerdCommit"), ("runc", "RuncCommit"), ("init", "InitCommit")):
        commit = (g(key) or {}).get("ID", "")
        lines.append(f" {label} version: {commit}")
    sec = g("SecurityOptions") or []
    if sec:
        lines.append(" Security Options:")
        for opt in sec:
            fields = dict(p.split("=", 1) for p in opt.split(",") if "=" in p)
            lines.append(f"  {fields.get('name', opt)}")
            for k, v in fields.items():
                if k != "name":
                    lines.append(f"   {k.capitalize()}: {v}")
    lines += [f" Kernel Version: {g('KernelVersion', '')}", f" Operating System: {g('OperatingSystem', '')}",
              f" OSType: {g('OSType', '')}", f" Architecture: {g('Architecture', '')}",
              f" CPUs: {g('NCPU', 0)}", f" Total Memory: {bytes_size(g('MemTotal') or 0)}",
              f" Name: {g('Name', '')}", f" ID: {g('ID', '')}",
              f" hithe Root Dir: {g('DockerRootDir', '')}", f" Debug Mode: {str(bool(g('Debug'))).lower()}",
              f" Experimental: {str(bool(g('ExperimentalBuild'))).lower()}"]
    if g("Labels"):
        lines.append(" Labels:")
        lines += [f"  {label}" for label in g("Labels")]
    reg = g("RegistryConfig") or {}
    insecure = list(reg.get("InsecureRegistryCIDRs") or [])
    insecure += [name for name, idx in (reg.get("IndexConfigs") or {}).items()
                 if not idx.get("Secure", True) and name not in insecure]
    if insecure:
        lines.append(" Insecure Registries:")
        lines += [f"  {r}" for r in insecure]
    if reg.get("Mirrors"):
        lines.append(" Registry Mirrors:")
        lines += [f"  {m}" for m in reg["Mirrors"]]
    lines.append(f" Live Restore Enabled: {str(bool(g('LiveRestoreEnabled'))).lower()}")
    sys.stdout.write("\n".join(lines) + "\n")
    for w in g("Warnings") or []:
        sys.stderr.write(w + "\n")
    return 0


class EventContext:
    """An events.Message for templates: Go field names, JSON tags for ``json``."""

    def __init__(self, msg: dict[str, Any]) -> None:
        self.msg = msg
        self.Status = msg.get("status", "")
        self.ID = msg.get("id", "")
        self.From = msg.get("from", "")
        self.Type = msg.get("Type", "")
        self.Action = msg.get("Action", "")
        self.Actor = msg.get("Actor") or {"ID": "", "Attributes": {}}
        self.Scope = msg.get("scope", "")
        self.Time = msg.get("time", 0)
        self.TimeNano = msg.get("timeNano", 0)

    def __json__(self) -> Any:
        from hithe.cli.template import GoStruct

        return GoStruct(self.msg)  # events.Message: JSON in struct order, not sorted


def format_event(msg: dict[str, Any]) -> str:
    """docker's prettyPrintEvent."""
    nano = msg.get("timeNano") or (msg.get("time") or 0) * 1_000_000_000
    text = ""
    if nano:
        secs, ns = divmod(int(nano), 1_000_000_000)
        lt = time.localtime(secs)
        z = time.strftime("%z", lt)
        zone = "Z" if z in ("+0000", "-0000") else f"{z[:3]}:{z[3:]}"
        text = time.strftime("%Y-%m-%dT%H:%M:%S", lt) + f".{ns:09d}{zone} "
    actor = msg.get("Actor") or {}
    text += f"{msg.get('Type', '')} {msg.get('Action', '')} {actor.get('ID', '')}"
    attrs = actor.get("Attributes") or {}
    if attrs:
        text += " (" + ", ".join(f"{k}={attrs[k]}" for k in sorted(attrs)) + ")"
    return text + "\n"


def run_events(cli: Cli, o: Values, args: list[str]) -> int:
    from hithe.util.gotime import UnitsError, get_timestamp

    now = time.time()
    try:
        since = get_timestamp(o["since"], now) if o["since"] else None
        until = get_timestamp(o["until"], now) if o["until"] else None
    except (UnitsError, ValueError) as exc:
        raise StatusError(1, str(exc)) from None
    tmpl = None
    if o["format"]:
        from hithe.cli.template import TemplateError, compile_template, parse_format
        try:
            tmpl = compile_template(parse_format(o["format"])[1])
        except TemplateError as exc:
            raise StatusError(64, str(exc)) from None
    params = {"since": since, "until": until, "filters": filters_json(o["filter"])}
    resp = cli.client.request("GET", "/events", params)
    for msg in resp.iter_json():
        if tmpl is not None:
            sys.stdout.write(tmpl.render(EventContext(msg)) + "\n")
        else:
            sys.stdout.write(format_event(msg))
        sys.stdout.flush()
    return 0


def run_df(cli: Cli, o: Values, args: list[str]) -> int:
    from hithe.cli.container_list import render as _render
    from hithe.cli.formatters import human_size

    df = cli.client.get_json("/system/df") or {}
    images = df.get("Images") or []
    containers = df.get("Containers") or []
    volumes = df.get("Volumes") or []
    cache = df.get("BuildCache") or []
    # docker's disk-usage formatter: images total is the daemon's LayersSize, and
    # only the unique part of images in use counts as not reclaimable
    img_size = df.get("LayersSize") or sum(i.get("Size") or 0 for i in images)
    img_active = sum(1 for i in images if (i.get("Containers") or 0) > 0)
    img_used = sum((i.get("Size") or 0) - (i.get("SharedSize") or 0) for i in images
                   if i.get("Containers") and i.get("Size", -1) != -1 and i.get("SharedSize", -1) != -1)
    img_reclaim = img_size - img_used
    ctr_size = sum(c.get("SizeRw") or 0 for c in containers)
    ctr_active = sum(1 for c in containers if c.get("State") in ("running", "paused", "restarting"))
    ctr_reclaim = sum(c.get("SizeRw") or 0 for c in containers
                      if c.get("State") not in ("running", "paused", "restarting"))
    vol_size = sum(max((v.get("UsageData") or {}).get("Size") or 0, 0) for v in volumes)
    vol_active = sum(1 for v in volumes if ((v.get("UsageData") or {}).get("RefCount") or 0) > 0)
    vol_reclaim = sum(max((v.get("UsageData") or {}).get("Size") or 0, 0) for v in volumes
                      if ((v.get("UsageData") or {}).get("RefCount") or 0) == 0)
    cache_size = sum(c.get("Size") or 0 for c in cache if not c.get("Shared"))
    cache_reclaim = sum(c.get("Size") or 0 for c in cache if not c.get("InUse") and not c.get("Shared"))

    def pct(part: int, total: int) -> str:
        return f"{human_size(part)} ({int(part * 100 / total) if total else 0}%)"

    rows = [
        {"Type": "Images", "TotalCount": str(len(images)), "Active": str(img_active),
         "Size": human_size(img_size),
         "Reclaimable": pct(img_reclaim, img_size) if img_size else human_size(img_reclaim)},
        {"Type": "Containers", "TotalCount": str(len(containers)), "Active": str(ctr_active),
         "Size": human_size(ctr_size), "Reclaimable": pct(ctr_reclaim, ctr_size) if ctr_size else human_size(0)},
        {"Type": "Local Volumes", "TotalCount": str(len(volumes)), "Active": str(vol_active),
         "Size": human_size(vol_size), "Reclaimable": pct(vol_reclaim, vol_size) if vol_size else human_size(0)},
        {"Type": "Build Cache", "TotalCount": str(len(cache)),
         "Active": str(sum(1 for c in cache if c.get("InUse"))),
         "Size": human_size(cache_size), "Reclaimable": human_size(cache_reclaim)},
    ]
    table = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}"
    headers = {"Type": "TYPE", "TotalCount": "TOTAL", "Active": "ACTIVE", "Size": "SIZE",
               "Reclaimable": "RECLAIMABLE"}
    sys.stdout.write(_render(o["format"] or table, rows, headers, table))
    return 0


def run_system_prune(cli: Cli, o: Values, args: list[str]) -> int:
    from hithe.cli.container_ops import confirm
    from hithe.cli.formatters import human_size
    from hithe.client.errors import APIError

    items = ["all stopped containers", "all networks not used by at least one container"]
    if o["volumes"]:
        items.append("all anonymous volumes not used by at least one container")
    items.append("all images without at least one container associated to them" if o["all"]
                 else "all dangling images")
    items.append("all build cache" if o["all"] else "unused build cache")
    warning = "WARNING! This will remove:\n" + "".join(f"  - {i}\n" for i in items)
    if not o["force"] and not confirm(cli, warning):
        return 0
    filters = list(o["filter"])
    total = 0
    steps: list[tuple[str, str, str, list[tuple[str, str]]]] = [
        ("/containers/prune", "ContainersDeleted", "Deleted Containers", filters)]
    if o["volumes"]:
        steps.append(("/volumes/prune", "VolumesDeleted", "Deleted Volumes", filters))
    steps.append(("/networks/prune", "NetworksDeleted", "Deleted Networks", filters))
    steps.append(("/images/prune", "ImagesDeleted", "Deleted Images",
                  [f for f in filters if f[0] != "dangling"] + [("dangling", "false" if o["all"] else "true")]))
    steps.append(("/build/prune", "CachesDeleted", "Deleted build cache objects", filters))
    for path, key, title, flt in steps:
        params: dict[str, Any] = {"filters": filters_json(flt)}
        if path == "/build/prune" and o["all"]:
            params["all"] = "1"
        try:
            report = cli.client.post_json(path, params) or {}
        except APIError as exc:
            if exc.status in (404, 501):
                continue  # the daemon does not manage this kind of object (yet)
            raise
        deleted = report.get(key) or []
        if deleted:
            lines = []
            for d in deleted:
                if isinstance(d, dict):
                    lines.append(f"untagged: {d['Untagged']}" if d.get("Untagged") else f"deleted: {d.get('Deleted', '')}")
                else:
                    lines.append(str(d))
            cli.out(f"{title}:\n" + "\n".join(lines) + "\n")
        total += report.get("SpaceReclaimed") or 0
    cli.out(f"Total reclaimed space: {human_size(total)}")
    return 0


VERSION = Command("version [OPTIONS]", "Show the hithe version information", [
    Flag("format", "f", help=JSON_FORMAT_HELP),
], run_version, args=("none",))
INFO = Command("info [OPTIONS]", "Display system-wide information", [
    Flag("format", "f", help=JSON_FORMAT_HELP),
], run_info, args=("none",), aliases=f"{BIN} system info, {BIN} info")
EVENTS = Command("events [OPTIONS]", "Get real time events from the server", [
    Flag("filter", "f", LIST, varname="filter", parse=parse_filter,
         help="Filter output based on conditions provided"),
    Flag("format", help=JSON_FORMAT_HELP),
    Flag("since", help="Show all events created since timestamp"),
    Flag("until", help="Stream events until this timestamp"),
], run_events, args=("none",), aliases=f"{BIN} system events, {BIN} events")
DF = Command("df [OPTIONS]", "Show hithe disk usage", [
    Flag("format", help=FORMAT_HELP),
    Flag("verbose", "v", BOOL, help="Show detailed information on space usage"),
], run_df, args=("none",))
PRUNE = Command("prune [OPTIONS]", "Remove unused data", [
    Flag("all", "a", BOOL, help="Remove all unused images not just dangling ones"),
    Flag("filter", "", LIST, varname="filter", parse=parse_filter,
         help="Provide filter values (e.g. \"label=<key>=<value>\")"),
    Flag("force", "f", BOOL, help="Do not prompt for confirmation"),
    Flag("volumes", "", BOOL, help="Prune anonymous volumes"),
], run_system_prune, args=("none",))
