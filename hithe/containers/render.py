"""Docker's JSON shapes for a container: `inspect` and the `ps` summary."""
from __future__ import annotations

import os
from typing import Any

from hithe.containers import health_config
from hithe.containers.mountspec import render_mounts
from hithe.containers.record import Container
from hithe.util.timefmt import parse_rfc3339


def _host_config(c: Container) -> dict[str, Any]:
    s = c.spec
    hc: dict[str, Any] = {
        "Binds": s.binds or None, "ContainerIDFile": "",
        "LogConfig": {"Type": s.log.type, "Config": s.log.config},
        "NetworkMode": s.network_mode, "PortBindings": s.port_bindings,
        "RestartPolicy": {"Name": s.restart.name, "MaximumRetryCount": s.restart.maximum_retry_count},
        "AutoRemove": s.auto_remove, "VolumeDriver": "", "VolumesFrom": None,
        "ConsoleSize": [0, 0], "CapAdd": s.cap_add or None, "CapDrop": s.cap_drop or None,
        "CgroupnsMode": "host", "Dns": s.dns, "DnsOptions": s.dns_options, "DnsSearch": s.dns_search,
        "ExtraHosts": s.extra_hosts or None, "GroupAdd": None, "IpcMode": "private", "Cgroup": "",
        "Links": None, "OomScoreAdj": s.oom_score_adj, "PidMode": "", "Privileged": s.privileged,
        "PublishAllPorts": s.publish_all, "ReadonlyRootfs": s.readonly_rootfs,
        "SecurityOpt": s.security_opt or None, "Tmpfs": s.tmpfs or None, "UTSMode": "", "UsernsMode": "",
        "ShmSize": s.shm_size, "Sysctls": s.sysctls or None, "Runtime": "runc", "Isolation": "",
        "CpuShares": s.cpu_shares, "Memory": s.memory, "NanoCpus": s.nano_cpus, "CgroupParent": "",
        "BlkioWeight": 0, "BlkioWeightDevice": [], "BlkioDeviceReadBps": [], "BlkioDeviceWriteBps": [],
        "BlkioDeviceReadIOps": [], "BlkioDeviceWriteIOps": [], "CpuPeriod": s.cpu_period,
        "CpuQuota": s.cpu_quota, "CpuRealtimePeriod": 0, "CpuRealtimeRuntime": 0, "CpusetCpus": "",
        "CpusetMems": "", "Devices": [], "DeviceCgroupRules": None, "DeviceRequests": None,
        "MemoryReservation": 0, "MemorySwap": s.memory_swap, "MemorySwappiness": None,
        "OomKillDisable": None, "PidsLimit": s.pids_limit, "Ulimits": s.ulimits or None, "CpuCount": 0,
        "CpuPercent": 0, "IOMaximumIOps": 0, "IOMaximumBandwidth": 0, "Mounts": s.mounts or None,
        "Init": s.init or None,
        "MaskedPaths": None if s.privileged else ["/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys",
                                                   "/proc/latency_stats", "/proc/timer_list",
                                                   "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
                                                   "/sys/firmware", "/sys/devices/virtual/powercap"],
        "ReadonlyPaths": None if s.privileged else ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                                     "/proc/sysrq-trigger"],
    }
    hc.update(s.extra_host_config)
    return hc


def _config(c: Container) -> dict[str, Any]:
    s = c.spec
    img = c.image_config
    cfg: dict[str, Any] = {
        "Hostname": c.hostname, "Domainname": s.domainname, "User": c.user,
        "AttachStdin": s.attach_stdin, "AttachStdout": s.attach_stdout, "AttachStderr": s.attach_stderr,
        "Tty": s.tty, "OpenStdin": s.open_stdin, "StdinOnce": s.stdin_once, "Env": c.env,
        "Cmd": s.cmd if s.cmd else (img.get("Cmd") if s.entrypoint is None else None),
        "Image": s.image, "Volumes": s.volumes or img.get("Volumes") or None,
        "WorkingDir": c.working_dir, "Entrypoint": s.entrypoint if s.entrypoint is not None else img.get("Entrypoint"),
        "OnBuild": None, "Labels": {**(img.get("Labels") or {}), **s.labels},
    }
    ports = {**(img.get("ExposedPorts") or {}), **s.exposed_ports}
    if ports:
        cfg["ExposedPorts"] = ports
    if c.stop_signal and c.stop_signal != "SIGTERM" or s.stop_signal:
        cfg["StopSignal"] = c.stop_signal
    if s.stop_timeout is not None:
        cfg["StopTimeout"] = s.stop_timeout
    hc = health_config.merge(s.healthcheck, img.get("Healthcheck"))
    if hc is not None:
        cfg["Healthcheck"] = hc
    return cfg


def _state(c: Container) -> dict[str, Any]:
    st = c.state
    return {
        "Status": st.status, "Running": st.running, "Paused": st.status == "paused",
        "Restarting": st.status == "restarting", "OOMKilled": st.oom_killed, "Dead": st.status == "dead",
        "Pid": st.pid, "ExitCode": st.exit_code, "Error": st.error, "StartedAt": st.started_at,
        "FinishedAt": st.finished_at,
        **({"Health": st.health} if st.health is not None else {}),
    }


def _network_settings(c: Container) -> dict[str, Any]:
    return {
        "Bridge": "", "SandboxID": "", "SandboxKey": "", "HairpinMode": False,
        "LinkLocalIPv6Address": "", "LinkLocalIPv6PrefixLen": 0, "Ports": {},
        "SecondaryIPAddresses": None, "SecondaryIPv6Addresses": None, "EndpointID": "", "Gateway": "",
        "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "IPAddress": "", "IPPrefixLen": 0,
        "IPv6Gateway": "", "MacAddress": "", "Networks": {},
    }


def inspect(c: Container, container_dir: str, log_path: str, size: tuple[int, int] | None = None,
            net: dict[str, Any] | None = None) -> dict[str, Any]:
    """`net`: NetworkSettings from the network service (hithe/network/render.py)."""
    doc: dict[str, Any] = {
        "Id": c.id, "Created": c.created, "Path": c.path, "Args": c.args, "State": _state(c),
        "Image": c.image_id, "ResolvConfPath": os.path.join(container_dir, "resolv.conf"),
        "HostnamePath": os.path.join(container_dir, "hostname"),
        "HostsPath": os.path.join(container_dir, "hosts"), "LogPath": log_path, "Name": "/" + c.name,
        "RestartCount": c.state.restart_count, "Driver": "overlay2", "Platform": "linux",
        "MountLabel": "", "ProcessLabel": "", "AppArmorProfile": "", "ExecIDs": None,
        "HostConfig": _host_config(c),
        "GraphDriver": {"Name": "overlay2", "Data": {
            "MergedDir": os.path.join(container_dir, "rootfs"),
            "UpperDir": os.path.join(container_dir, "upper"),
            "WorkDir": os.path.join(container_dir, "work")}},
        "Mounts": render_mounts(c.mounts), "Config": _config(c), "NetworkSettings": net if net is not None else _network_settings(c),
    }
    if size is not None:
        doc["SizeRw"], doc["SizeRootFs"] = size
    return doc


def _command_string(c: Container) -> str:
    # Docker quotes arguments containing spaces in the `ps` COMMAND column.
    args = [f"'{a}'" if " " in a else a for a in c.args]
    return " ".join([c.path] + args) if c.path else " ".join(args)


def summary(c: Container, size: tuple[int, int] | None = None, ports: list[dict[str, Any]] | None = None,
            networks: dict[str, Any] | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "Id": c.id, "Names": ["/" + c.name], "Image": c.spec.image, "ImageID": c.image_id,
        "Command": _command_string(c), "Created": int(parse_rfc3339(c.created)), "Ports": ports or [],
        "Labels": {**(c.image_config.get("Labels") or {}), **c.spec.labels}, "State": c.state.status,
        "Status": status_text(c), "HostConfig": {"NetworkMode": c.spec.network_mode},
        "NetworkSettings": {"Networks": networks or {}}, "Mounts": render_mounts(c.mounts),
    }
    if size is not None:
        doc["SizeRw"], doc["SizeRootFs"] = size
    return doc


def status_text(c: Container) -> str:
    """The human STATUS text Docker computes server-side for `ps`."""
    import time
    from hithe.util.units import container_status
    return container_status(_state(c), time.time())
