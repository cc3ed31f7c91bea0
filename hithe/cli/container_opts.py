"""``run``/``create`` flags and their mapping to the create request body.

The body is built as the docker CLI builds it (cli/command/container/opts.go
``parse``): same fields, same defaults, same null-vs-empty choices, and keys
in Go's struct order, so that a daemon sees the same JSON from ``hithe run``
as from ``docker run``.
"""
from __future__ import annotations

import os
TYPE_CHECKING = False  # typing costs ~5 ms at start-up; annotations are strings anyway
if TYPE_CHECKING:
    from typing import Any

from hithe.cli import opts_parse as P
from hithe.cli.flags import BOOL, DURATION, INT, LIST, VALUE, Flag, Values

# flags kept out of Config/HostConfig (run adds detach/sig-proxy/detach-keys)
CREATE_ONLY = [
    Flag("name", help="Assign a name to the container"),
    Flag("platform", help="Set platform if server is multi-platform capable"),
    Flag("pull", default="missing", help='Pull image before running ("always", "missing", "never")'),
    Flag("quiet", "q", BOOL, help="Suppress the pull output"),
    Flag("disable-content-trust", "", BOOL, default=True, help="Skip image verification"),
    Flag("help", "", BOOL, help="Print usage"),
]

CONTAINER_FLAGS = [
    Flag("add-host", "", LIST, help="Add a custom host-to-IP mapping (host:ip)"),
    Flag("annotation", "", LIST, varname="map", default_text="map[]",
         help="Add an annotation to the container (passed through to the OCI runtime)"),
    Flag("attach", "a", LIST, parse=P.validate_attach, help="Attach to STDIN, STDOUT or STDERR"),
    Flag("blkio-weight", "", INT, varname="uint16", default_text="0",
         help="Block IO (relative weight), between 10 and 1000, or 0 to disable"),
    Flag("cap-add", "", LIST, help="Add Linux capabilities"),
    Flag("cap-drop", "", LIST, help="Drop Linux capabilities"),
    Flag("cgroup-parent", help="Optional parent cgroup for the container"),
    Flag("cgroupns", help="Cgroup namespace to use (host|private)"),
    Flag("cidfile", help="Write the container ID to the file"),
    Flag("cpu-period", "", INT, help="Limit CPU CFS (Completely Fair Scheduler) period"),
    Flag("cpu-quota", "", INT, help="Limit CPU CFS (Completely Fair Scheduler) quota"),
    Flag("cpu-rt-period", "", INT, help="Limit CPU real-time period in microseconds"),
    Flag("cpu-rt-runtime", "", INT, help="Limit CPU real-time runtime in microseconds"),
    Flag("cpu-shares", "c", INT, help="CPU shares (relative weight)"),
    Flag("cpus", "", VALUE, default=0, varname="decimal", parse=P.nano_cpus, help="Number of CPUs"),
    Flag("cpuset-cpus", help="CPUs in which to allow execution (0-3, 0,1)"),
    Flag("cpuset-mems", help="MEMs in which to allow execution (0-3, 0,1)"),
    Flag("device", "", LIST, help="Add a host device to the container"),
    Flag("device-cgroup-rule", "", LIST, help="Add a rule to the cgroup allowed devices list"),
    Flag("dns", "", LIST, help="Set custom DNS servers"),
    Flag("dns-opt", "", LIST, hidden=True, dest="dns-option", help="Set DNS options"),
    Flag("dns-option", "", LIST, help="Set DNS options"),
    Flag("dns-search", "", LIST, help="Set custom DNS search domains"),
    Flag("domainname", help="Container NIS domain name"),
    Flag("entrypoint", help="Overwrite the default ENTRYPOINT of the image"),
    Flag("env", "e", LIST, parse=P.validate_env, help="Set environment variables"),
    Flag("env-file", "", LIST, help="Read in a file of environment variables"),
    Flag("expose", "", LIST, help="Expose a port or a range of ports"),
    Flag("group-add", "", LIST, help="Add additional groups to join"),
    Flag("health-cmd", help="Command to run to check health"),
    Flag("health-interval", "", DURATION, default=0.0, default_text="0s",
         help="Time between running the check (ms|s|m|h)"),
    Flag("health-retries", "", INT, help="Consecutive failures needed to report unhealthy"),
    Flag("health-start-interval", "", DURATION, default=0.0, default_text="0s",
         help="Time between running the check during the start period (ms|s|m|h)"),
    Flag("health-start-period", "", DURATION, default=0.0, default_text="0s",
         help="Start period for the container to initialize before starting health-retries countdown (ms|s|m|h)"),
    Flag("health-timeout", "", DURATION, default=0.0, default_text="0s",
         help="Maximum time to allow one check to run (ms|s|m|h)"),
    Flag("hostname", "h", help="Container host name"),
    Flag("init", "", BOOL, help="Run an init inside the container that forwards signals and reaps processes"),
    Flag("interactive", "i", BOOL, help="Keep STDIN open even if not attached"),
    Flag("ip", help="IPv4 address (e.g., 172.30.100.104)"),
    Flag("ip6", help="IPv6 address (e.g., 2001:db8::33)"),
    Flag("ipc", help="IPC mode to use"),
    Flag("isolation", help="Container isolation technology"),
    Flag("label", "l", LIST, parse=P.validate_label, help="Set meta data on a container"),
    Flag("label-file", "", LIST, help="Read in a line delimited file of labels"),
    Flag("link", "", LIST, help="Add link to another container"),
    Flag("link-local-ip", "", LIST, help="Container IPv4/IPv6 link-local addresses"),
    Flag("log-driver", help="Logging driver for the container"),
    Flag("log-opt", "", LIST, help="Log driver options"),
    Flag("mac-address", help="Container MAC address (e.g., 92:d0:c6:0a:29:33)"),
    Flag("memory", "m", VALUE, default=0, varname="bytes", parse=P.mem_bytes, help="Memory limit"),
    Flag("memory-reservation", "", VALUE, default=0, varname="bytes", parse=P.mem_bytes,
         help="Memory soft limit"),
    Flag("memory-swap", "", VALUE, default=0, varname="bytes", parse=P.mem_swap_bytes,
         help="Swap limit equal to memory plus swap: '-1' to enable unlimited swap"),
    Flag("memory-swappiness", "", INT, default=-1, help="Tune container memory swappiness (0 to 100)"),
    Flag("mount", "", LIST, varname="mount", parse=P.parse_mount,
         help="Attach a filesystem mount to the container"),
    Flag("net", "", LIST, varname="network", hidden=True, dest="network",
         help="Connect a container to a network"),
    Flag("net-alias", "", LIST, hidden=True, dest="network-alias",
         help="Add network-scoped alias for the container"),
    Flag("network", "", LIST, varname="network", help="Connect a container to a network"),
    Flag("network-alias", "", LIST, help="Add network-scoped alias for the container"),
    Flag("no-healthcheck", "", BOOL, help="Disable any container-specified HEALTHCHECK"),
    Flag("oom-kill-disable", "", BOOL, help="Disable OOM Killer"),
    Flag("oom-score-adj", "", INT, help="Tune host's OOM preferences (-1000 to 1000)"),
    Flag("pid", help="PID namespace to use"),
    Flag("pids-limit", "", INT, help="Tune container pids limit (set -1 for unlimited)"),
    Flag("privileged", "", BOOL, help="Give extended privileges to this container"),
    Flag("publish", "p", LIST, help="Publish a container's port(s) to the host"),
    Flag("publish-all", "P", BOOL, help="Publish all exposed ports to random ports"),
    Flag("read-only", "", BOOL, help="Mount the container's root filesystem as read only"),
    Flag("restart", default="no", help="Restart policy to apply when a container exits"),
    Flag("rm", "", BOOL, help="Automatically remove the container and its associated anonymous volumes when it exits"),
    Flag("runtime", help="Runtime to use for this container"),
    Flag("security-opt", "", LIST, help="Security Options"),
    Flag("shm-size", "", VALUE, default=0, varname="bytes", parse=P.mem_bytes, help="Size of /dev/shm"),
    Flag("stop-signal", help="Signal to stop the container"),
    Flag("stop-timeout", "", INT, help="Timeout (in seconds) to stop a container"),
    Flag("storage-opt", "", LIST, help="Storage driver options for the container"),
    Flag("sysctl", "", LIST, varname="map", default_text="map[]", help="Sysctl options"),
    Flag("tmpfs", "", LIST, help="Mount a tmpfs directory"),
    Flag("tty", "t", BOOL, help="Allocate a pseudo-TTY"),
    Flag("ulimit", "", LIST, varname="ulimit", default_text="[]", parse=P.parse_ulimit,
         help="Ulimit options"),
    Flag("user", "u", help="Username or UID (format: <name|uid>[:<group|gid>])"),
    Flag("userns", help="User namespace to use"),
    Flag("uts", help="UTS namespace to use"),
    Flag("volume", "v", LIST, help="Bind mount a volume"),
    Flag("volume-driver", help="Optional volume driver for the container"),
    Flag("volumes-from", "", LIST, help="Mount volumes from the specified container(s)"),
    Flag("workdir", "w", help="Working directory inside the container"),
]


def _endpoint(aliases: list[str] | None = None, links: list[str] | None = None,
              ipam: dict[str, Any] | None = None, mac: str = "",
              driver_opts: dict[str, str] | None = None, gw_priority: int = 0) -> dict[str, Any]:
    """network.EndpointSettings as the Go encoder writes it (all fields, struct order)."""
    return {"IPAMConfig": ipam, "Links": links, "Aliases": aliases, "MacAddress": mac,
            "DriverOpts": driver_opts, "GwPriority": gw_priority, "NetworkID": "",
            "EndpointID": "", "Gateway": "", "IPAddress": "", "IPPrefixLen": 0,
            "IPv6Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
            "DNSNames": None}


def _is_user_defined(mode: str) -> bool:
    base = mode.split(":", 1)[0]
    return base not in ("default", "bridge", "host", "none", "container") and mode != ""


def _network_attachment(value: str) -> dict[str, Any]:
    """--network NAME, or the advanced CSV form name=...,alias=...,ip=..."""
    if "=" not in value:
        return {"Target": value}
    att: dict[str, Any] = {"Target": ""}
    for field in value.split(","):
        k, _, v = field.partition("=")
        if k == "name":
            att["Target"] = v
        elif k == "alias":
            att.setdefault("Aliases", []).append(v)
        elif k == "ip":
            att["IPv4Address"] = v
        elif k == "ip6":
            att["IPv6Address"] = v
        elif k == "mac-address":
            att["MacAddress"] = v
        elif k == "link-local-ip":
            att.setdefault("LinkLocalIPs", []).append(v)
        elif k == "driver-opt":
            dk, _, dv = v.partition("=")
            att.setdefault("DriverOpts", {})[dk] = dv
        elif k == "gw-priority":
            att["GwPriority"] = int(v)
        else:
            raise ValueError(f"invalid field key {k}")
    return att


def _endpoints(o: Values) -> dict[str, Any]:
    networks = [_network_attachment(v) for v in o["network"]]
    aliases, links = o["network-alias"], o["link"]
    ip, ip6, mac, lla = o["ip"], o["ip6"], o["mac-address"], o["link-local-ip"]
    if not networks:
        networks = [{"Target": "default"}]
        implicit = True
    else:
        implicit = False
    out: dict[str, Any] = {}
    user_defined = non_user = False
    for i, n in enumerate(networks):
        target = n["Target"]
        if _is_user_defined(target):
            user_defined = True
        else:
            non_user = True
        if i == 0:
            # the old single-network flags apply to the first network
            if aliases:
                n["Aliases"] = list(aliases)
            if links and _is_user_defined(target):
                n["Links"] = list(links)
            if ip:
                n["IPv4Address"] = ip
            if ip6:
                n["IPv6Address"] = ip6
            if mac:
                n["MacAddress"] = mac
            if lla:
                n["LinkLocalIPs"] = list(lla)
        if not target.strip():
            raise ValueError("no name set for network")
        if not _is_user_defined(target):
            if n.get("Aliases"):
                raise ValueError("network-scoped aliases are only supported for user-defined networks")
            if n.get("Links"):
                raise ValueError("links are only supported for user-defined networks")
        ipam = None
        if n.get("IPv4Address") or n.get("IPv6Address") or n.get("LinkLocalIPs"):
            ipam = {}  # EndpointIPAMConfig fields are all omitempty
            if n.get("IPv4Address"):
                ipam["IPv4Address"] = n["IPv4Address"]
            if n.get("IPv6Address"):
                ipam["IPv6Address"] = n["IPv6Address"]
            if n.get("LinkLocalIPs"):
                ipam["LinkLocalIPs"] = n["LinkLocalIPs"]
        ep = _endpoint(n.get("Aliases"), n.get("Links"), ipam, n.get("MacAddress", ""),
                       n.get("DriverOpts"), n.get("GwPriority", 0))
        if target in out:
            raise ValueError(f'network "{target}" is specified multiple times')
        # a single explicit network without options is left to the daemon
        if i == 0 and len(networks) == 1 and not implicit and ep == _endpoint():
            continue
        out[target] = ep
    if user_defined and non_user:
        raise ValueError("conflicting options: cannot attach both user-defined and non-user-defined network-modes")
    return out


def _security_opts(values: list[str]) -> tuple[list[str] | None, list[str] | None, list[str] | None]:
    opts: list[str] = []
    masked = readonly = None
    for opt in values:
        k, eq, v = opt.partition("=")
        if not eq and k != "no-new-privileges":
            k, eq, v = opt.partition(":")
        if (not eq or not v) and k != "no-new-privileges":
            raise ValueError(f'invalid --security-opt: "{opt}"')
        if opt == "systempaths=unconfined":
            masked, readonly = [], []
            continue
        if k == "seccomp" and v not in ("unconfined", "builtin"):
            import json
            try:
                with open(v, "rb") as fh:
                    profile = json.loads(fh.read())
            except OSError as exc:
                raise ValueError(f"opening seccomp profile ({v}) failed: {exc}") from None
            except ValueError as exc:
                raise ValueError(f"compacting json for seccomp profile ({v}) failed: {exc}") from None
            opt = "seccomp=" + json.dumps(profile, separators=(",", ":"))
        opts.append(opt)
    # docker filters the slice in place: an empty list (not null) once any was given
    return (opts if values else None), masked, readonly


def _healthcheck(o: Values) -> dict[str, Any] | None:
    have = (o["health-cmd"] or o["health-interval"] or o["health-timeout"]
            or o["health-start-period"] or o["health-retries"] or o["health-start-interval"])
    if o["no-healthcheck"]:
        if have:
            raise ValueError("--no-healthcheck conflicts with --health-* options")
        return {"Test": ["NONE"]}
    if not have:
        return None
    for name in ("health-interval", "health-timeout", "health-retries",
                 "health-start-period", "health-start-interval"):
        if o[name] < 0:
            raise ValueError(f"--{name} cannot be negative")
    hc: dict[str, Any] = {}
    if o["health-cmd"]:
        hc["Test"] = ["CMD-SHELL", o["health-cmd"]]
    for key, name in (("Interval", "health-interval"), ("Timeout", "health-timeout"),
                      ("StartPeriod", "health-start-period"),
                      ("StartInterval", "health-start-interval")):
        if o[name]:
            hc[key] = int(round(o[name] * 1e9))
    if o["health-retries"]:
        hc["Retries"] = o["health-retries"]
    return hc


def _volumes(o: Values) -> tuple[dict[str, Any], list[str] | None]:
    volumes: dict[str, Any] = {}
    binds: list[str] = []
    for spec in o["volume"]:
        src, dst, mode = P.split_volume(spec)
        if not dst:
            raise ValueError(f"invalid spec: {spec}: empty section between colons")
        if not src:
            volumes[spec] = {}
            continue
        if src.startswith(".") and not os.path.isabs(src):
            src = os.path.abspath(src)
            spec = ":".join(x for x in (src, dst, mode) if x)
        binds.append(spec)
    return volumes, (binds or None)


def _ports(o: Values) -> tuple[dict[str, Any], dict[str, Any]]:
    exposed: dict[str, Any] = {}
    bindings: dict[str, list[dict[str, str]]] = {}
    for raw in o["publish"]:
        for port, ip, host in P.parse_port_spec(P.convert_publish_long(raw)):
            exposed[port] = {}
            bindings.setdefault(port, []).append({"HostIp": ip, "HostPort": host})
    for e in o["expose"]:
        for port in P.parse_expose(e):
            exposed[port] = {}
    return exposed, bindings


def build_config(o: Values, image: str, cmd_args: list[str], *, tty_size: tuple[int, int] = (0, 0)
                 ) -> dict[str, Any]:
    """The POST /containers/create body for ``run``/``create`` flags.

    Raises ValueError with docker's message for invalid combinations."""
    attach = o["attach"]
    attach_stdin = "stdin" in attach or o["interactive"]
    attach_stdout = "stdout" in attach or not attach
    attach_stderr = "stderr" in attach or not attach
    swappiness = o["memory-swappiness"]
    if swappiness != -1 and not 0 <= swappiness <= 100:
        raise ValueError(f"invalid value: {swappiness}. Valid memory swappiness range is 0-100")
    volumes, binds = _volumes(o)
    tmpfs = {}
    for t in o["tmpfs"]:
        k, _, v = t.partition(":")
        tmpfs[k] = v
    entrypoint: list[str] | None = None
    if o["entrypoint"]:
        entrypoint = [o["entrypoint"]]
    elif "entrypoint" in o.changed:
        entrypoint = [""]  # --entrypoint= resets the image's entrypoint
    exposed, bindings = _ports(o)
    env: list[str] = []
    for path in o["env-file"]:
        env += P.read_kv_file(path, lookup_env=True)
    env += o["env"]
    labels: list[str] = []
    for path in o["label-file"]:
        labels += P.read_kv_file(path, lookup_env=False)
    labels += o["label"]
    restart = P.parse_restart_policy(o["restart"])
    if o["rm"] and restart["Name"] not in ("", "no"):
        raise ValueError("conflicting options: cannot specify both --restart and --rm")
    log_opts = P.kv_to_map(o["log-opt"])
    if o["log-driver"] == "none" and o["log-opt"]:
        raise ValueError("invalid logging opts for driver none")
    security, masked, readonly = _security_opts(o["security-opt"])
    storage: dict[str, str] = {}
    for s in o["storage-opt"]:
        k, eq, v = s.partition("=")
        if not eq:
            raise ValueError("invalid storage option")
        storage[k] = v
    cap_add, cap_drop = P.normalize_caps(o["cap-add"], o["cap-drop"])
    devices = []
    for d in o["device"]:
        parts = d.split(":")
        src, dst, perms = parts[0], parts[0], "rwm"
        if len(parts) >= 2:
            if set(parts[1]) <= set("rwm") and parts[1]:
                perms = parts[1]
            else:
                dst = parts[1]
        if len(parts) == 3:
            perms = parts[2]
        devices.append({"PathOnHost": src, "PathInContainer": dst, "CgroupPermissions": perms})
    extra_hosts = [_extra_host(h) for h in o["add-host"]] or None

    config: dict[str, Any] = {
        "Hostname": o["hostname"], "Domainname": o["domainname"], "User": o["user"],
        "AttachStdin": attach_stdin, "AttachStdout": attach_stdout, "AttachStderr": attach_stderr,
    }
    if exposed:
        config["ExposedPorts"] = dict(sorted(exposed.items()))
    config.update({
        "Tty": o["tty"], "OpenStdin": o["interactive"],
        "StdinOnce": bool(o["interactive"] and attach_stdin),
        "Env": env or None, "Cmd": list(cmd_args) or None,
    })
    hc = _healthcheck(o)
    if hc is not None:
        config["Healthcheck"] = hc
    config.update({"Image": image, "Volumes": volumes, "WorkingDir": o["workdir"],
                   "Entrypoint": entrypoint, "OnBuild": None,
                   "Labels": P.kv_to_map(labels)})
    if o["stop-signal"]:
        config["StopSignal"] = o["stop-signal"]
    if "stop-timeout" in o.changed:
        config["StopTimeout"] = o["stop-timeout"]

    host: dict[str, Any] = {
        "Binds": binds, "ContainerIDFile": o["cidfile"],
        "LogConfig": {"Type": o["log-driver"], "Config": log_opts},
        "NetworkMode": (_network_attachment(o["network"][0])["Target"] if o["network"] else "default"),
        "PortBindings": dict(sorted(bindings.items())), "RestartPolicy": restart,
        "AutoRemove": o["rm"], "VolumeDriver": o["volume-driver"],
        "VolumesFrom": o["volumes-from"] or None, "ConsoleSize": list(tty_size),
    }
    if o["annotation"]:
        host["Annotations"] = P.kv_to_map(o["annotation"])
    host.update({
        "CapAdd": cap_add, "CapDrop": cap_drop, "CgroupnsMode": o["cgroupns"],
        "Dns": list(o["dns"]), "DnsOptions": list(o["dns-option"]), "DnsSearch": list(o["dns-search"]),
        "ExtraHosts": extra_hosts, "GroupAdd": o["group-add"] or None, "IpcMode": o["ipc"],
        "Cgroup": "", "Links": o["link"] or None, "OomScoreAdj": o["oom-score-adj"],
        "PidMode": o["pid"], "Privileged": o["privileged"], "PublishAllPorts": o["publish-all"],
        "ReadonlyRootfs": o["read-only"], "SecurityOpt": security,
    })
    if storage:
        host["StorageOpt"] = storage
    if tmpfs:
        host["Tmpfs"] = tmpfs
    host.update({"UTSMode": o["uts"], "UsernsMode": o["userns"], "ShmSize": o["shm-size"]})
    if o["sysctl"]:
        host["Sysctls"] = P.kv_to_map(o["sysctl"])
    if o["runtime"]:
        host["Runtime"] = o["runtime"]
    host.update({
        "Isolation": o["isolation"], "CpuShares": o["cpu-shares"], "Memory": o["memory"],
        "NanoCpus": o["cpus"], "CgroupParent": o["cgroup-parent"], "BlkioWeight": o["blkio-weight"],
        "BlkioWeightDevice": [], "BlkioDeviceReadBps": [], "BlkioDeviceWriteBps": [],
        "BlkioDeviceReadIOps": [], "BlkioDeviceWriteIOps": [],
        "CpuPeriod": o["cpu-period"], "CpuQuota": o["cpu-quota"],
        "CpuRealtimePeriod": o["cpu-rt-period"], "CpuRealtimeRuntime": o["cpu-rt-runtime"],
        "CpusetCpus": o["cpuset-cpus"], "CpusetMems": o["cpuset-mems"], "Devices": devices,
        "DeviceCgroupRules": o["device-cgroup-rule"] or None, "DeviceRequests": None,
        "MemoryReservation": o["memory-reservation"], "MemorySwap": o["memory-swap"],
        "MemorySwappiness": swappiness, "OomKillDisable": o["oom-kill-disable"],
        "PidsLimit": o["pids-limit"],
        "Ulimits": sorted(o["ulimit"], key=lambda u: u["Name"]),
        "CpuCount": 0, "CpuPercent": 0, "IOMaximumIOps": 0, "IOMaximumBandwidth": 0,
    })
    if o["mount"]:
        host["Mounts"] = list(o["mount"])
    host["MaskedPaths"] = masked
    host["ReadonlyPaths"] = readonly
    if "init" in o.changed:
        host["Init"] = o["init"]

    config["HostConfig"] = host
    config["NetworkingConfig"] = {"EndpointsConfig": _endpoints(o)}
    return config


def _extra_host(value: str) -> str:
    """--add-host name:ip or name=ip; an IPv6 address may be in brackets."""
    name, eq, ip = value.partition("=")
    if not eq:
        name, colon, ip = value.partition(":")
        if not colon:
            raise ValueError(f"bad format for add-host: {value!r}")
    if ip.startswith("[") and ip.endswith("]"):
        ip = ip[1:-1]
    if ip != "host-gateway":
        import ipaddress
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            raise ValueError(f"invalid IP address in add-host: {ip!r}") from None
    return f"{name}:{ip}"
