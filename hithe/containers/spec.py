"""What a user asked for when creating a container: our record, not Docker's wire JSON.

`parse_create` validates Docker's `POST /containers/create` body into a
CreateSpec; hithe/containers/render.py turns it back into Docker's shape for
`inspect`. Fields the engine does not act on yet are still kept (in `extra`)
so inspect shows what the user sent.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hithe.containers.health_config import parse_healthcheck
from hithe.errors import InvalidParameter

RESTART_POLICIES = ("", "no", "always", "on-failure", "unless-stopped")


@dataclass
class RestartPolicy:
    name: str = "no"
    maximum_retry_count: int = 0


@dataclass
class LogConfig:
    type: str = "json-file"
    config: dict[str, str] = field(default_factory=dict)


@dataclass
class CreateSpec:
    image: str
    cmd: list[str] | None = None
    entrypoint: list[str] | None = None
    env: list[str] = field(default_factory=list)
    working_dir: str = ""
    user: str = ""
    hostname: str = ""
    domainname: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    tty: bool = False
    open_stdin: bool = False
    stdin_once: bool = False
    attach_stdin: bool = False
    attach_stdout: bool = True
    attach_stderr: bool = True
    stop_signal: str = ""
    stop_timeout: int | None = None
    exposed_ports: dict[str, Any] = field(default_factory=dict)
    volumes: dict[str, Any] = field(default_factory=dict)
    # host config
    init: bool = False
    restart: RestartPolicy = field(default_factory=RestartPolicy)
    auto_remove: bool = False
    log: LogConfig = field(default_factory=LogConfig)
    privileged: bool = False
    cap_add: list[str] = field(default_factory=list)
    cap_drop: list[str] = field(default_factory=list)
    binds: list[str] = field(default_factory=list)
    mounts: list[dict[str, Any]] = field(default_factory=list)
    port_bindings: dict[str, Any] = field(default_factory=dict)
    publish_all: bool = False
    network_mode: str = "default"
    dns: list[str] = field(default_factory=list)
    dns_search: list[str] = field(default_factory=list)
    dns_options: list[str] = field(default_factory=list)
    extra_hosts: list[str] = field(default_factory=list)
    memory: int = 0
    memory_swap: int = 0
    nano_cpus: int = 0
    cpu_shares: int = 0
    cpu_quota: int = 0
    cpu_period: int = 0
    pids_limit: int | None = None
    ulimits: list[dict[str, Any]] = field(default_factory=list)
    tmpfs: dict[str, str] = field(default_factory=dict)
    readonly_rootfs: bool = False
    security_opt: list[str] = field(default_factory=list)
    shm_size: int = 64 * 1024 * 1024
    sysctls: dict[str, str] = field(default_factory=dict)
    oom_score_adj: int = 0
    # raw host config fields we keep only to show them back
    extra_host_config: dict[str, Any] = field(default_factory=dict)
    networking_config: dict[str, Any] = field(default_factory=dict)
    healthcheck: dict[str, Any] | None = None   # Docker's HealthConfig, validated (health_config.py)


def _list(v: Any, what: str) -> list[str] | None:
    if v is None:
        return None
    if isinstance(v, str):
        return [v]
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise InvalidParameter(f"invalid {what}: must be a list of strings")
    return list(v)


def _int(v: Any, what: str, default: int = 0) -> int:
    if v is None:
        return default
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise InvalidParameter(f"json: cannot unmarshal {type(v).__name__} into Go struct field {what} of type int64")
    return int(v)


def _dict(v: Any, what: str) -> dict[str, Any]:
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise InvalidParameter(f"json: cannot unmarshal {type(v).__name__} into Go struct field {what}")
    return dict(v)


def parse_restart(rp: dict[str, Any]) -> RestartPolicy:
    name = rp.get("Name") or "no"
    if name not in RESTART_POLICIES:
        raise InvalidParameter(f"invalid restart policy: unknown policy '{name}'; use one of "
                               "'no', 'always', 'on-failure', or 'unless-stopped'")
    count = _int(rp.get("MaximumRetryCount"), "MaximumRetryCount")
    if count and name != "on-failure":
        raise InvalidParameter("invalid restart policy: maximum retry count can only be used with 'on-failure'")
    if count < 0:
        raise InvalidParameter("invalid restart policy: maximum retry count cannot be negative")
    return RestartPolicy(name=name, maximum_retry_count=count)


_HC_KNOWN = {"Init", "RestartPolicy", "AutoRemove", "LogConfig", "Privileged", "CapAdd", "CapDrop",
             "Binds", "Mounts", "PortBindings", "PublishAllPorts", "NetworkMode", "Dns", "DnsSearch",
             "DnsOptions", "ExtraHosts", "Memory", "MemorySwap", "NanoCpus", "CpuShares", "CpuQuota",
             "CpuPeriod", "PidsLimit", "Ulimits", "Tmpfs", "ReadonlyRootfs", "SecurityOpt", "ShmSize",
             "Sysctls", "OomScoreAdj"}


def _refuse_unbuilt(spec: CreateSpec) -> None:
    """Say so, rather than silently run a container without what the user asked for.

    Networks and published ports are checked by the network service (they need its records)."""
    if not isinstance(spec.network_mode, str):
        raise InvalidParameter("invalid NetworkMode: must be a string")


def parse_create(body: Any) -> CreateSpec:
    if not isinstance(body, dict):
        raise InvalidParameter("invalid JSON: the request body must be a JSON object")
    image = body.get("Image")
    if not image or not isinstance(image, str):
        raise InvalidParameter("No command specified" if image == "" else "config cannot be empty in order to create a container")
    hc = _dict(body.get("HostConfig"), "HostConfig")
    rp = _dict(hc.get("RestartPolicy"), "RestartPolicy")
    lc = _dict(hc.get("LogConfig"), "LogConfig")
    stop_timeout = body.get("StopTimeout")
    spec = CreateSpec(
        image=image,
        cmd=_list(body.get("Cmd"), "Cmd"),
        entrypoint=_list(body.get("Entrypoint"), "Entrypoint"),
        env=_list(body.get("Env"), "Env") or [],
        working_dir=body.get("WorkingDir") or "",
        user=body.get("User") or "",
        hostname=body.get("Hostname") or "",
        domainname=body.get("Domainname") or "",
        labels={str(k): str(v) for k, v in _dict(body.get("Labels"), "Labels").items()},
        tty=bool(body.get("Tty")),
        open_stdin=bool(body.get("OpenStdin")),
        stdin_once=bool(body.get("StdinOnce")),
        attach_stdin=bool(body.get("AttachStdin")),
        attach_stdout=bool(body.get("AttachStdout", True)),
        attach_stderr=bool(body.get("AttachStderr", True)),
        stop_signal=body.get("StopSignal") or "",
        stop_timeout=None if stop_timeout is None else _int(stop_timeout, "StopTimeout"),
        exposed_ports=_dict(body.get("ExposedPorts"), "ExposedPorts"),
        volumes=_dict(body.get("Volumes"), "Volumes"),
        init=bool(hc.get("Init")),
        restart=parse_restart(rp),
        auto_remove=bool(hc.get("AutoRemove")),
        log=LogConfig(type=lc.get("Type") or "json-file",
                      config={str(k): str(v) for k, v in _dict(lc.get("Config"), "LogConfig.Config").items()}),
        privileged=bool(hc.get("Privileged")),
        cap_add=_list(hc.get("CapAdd"), "CapAdd") or [],
        cap_drop=_list(hc.get("CapDrop"), "CapDrop") or [],
        binds=_list(hc.get("Binds"), "Binds") or [],
        mounts=list(hc.get("Mounts") or []),
        port_bindings=_dict(hc.get("PortBindings"), "PortBindings"),
        publish_all=bool(hc.get("PublishAllPorts")),
        network_mode=hc.get("NetworkMode") or "default",
        dns=_list(hc.get("Dns"), "Dns") or [],
        dns_search=_list(hc.get("DnsSearch"), "DnsSearch") or [],
        dns_options=_list(hc.get("DnsOptions"), "DnsOptions") or [],
        extra_hosts=_list(hc.get("ExtraHosts"), "ExtraHosts") or [],
        memory=_int(hc.get("Memory"), "Memory"),
        memory_swap=_int(hc.get("MemorySwap"), "MemorySwap"),
        nano_cpus=_int(hc.get("NanoCpus"), "NanoCpus"),
        cpu_shares=_int(hc.get("CpuShares"), "CpuShares"),
        cpu_quota=_int(hc.get("CpuQuota"), "CpuQuota"),
        cpu_period=_int(hc.get("CpuPeriod"), "CpuPeriod"),
        pids_limit=None if not hc.get("PidsLimit") else _int(hc.get("PidsLimit"), "PidsLimit"),
        ulimits=list(hc.get("Ulimits") or []),
        tmpfs={str(k): str(v) for k, v in _dict(hc.get("Tmpfs"), "Tmpfs").items()},
        readonly_rootfs=bool(hc.get("ReadonlyRootfs")),
        security_opt=_list(hc.get("SecurityOpt"), "SecurityOpt") or [],
        shm_size=_int(hc.get("ShmSize"), "ShmSize") or 64 * 1024 * 1024,
        sysctls={str(k): str(v) for k, v in _dict(hc.get("Sysctls"), "Sysctls").items()},
        oom_score_adj=_int(hc.get("OomScoreAdj"), "OomScoreAdj"),
        extra_host_config={k: v for k, v in hc.items() if k not in _HC_KNOWN},
        networking_config=_dict(body.get("NetworkingConfig"), "NetworkingConfig"),
        healthcheck=parse_healthcheck(body.get("Healthcheck")),
    )
    _refuse_unbuilt(spec)
    if spec.auto_remove and spec.restart.name not in ("", "no"):
        raise InvalidParameter("conflicting options: cannot specify both --restart and --rm")
    if spec.memory and spec.memory < 6 * 1024 * 1024:
        raise InvalidParameter("Minimum memory limit allowed is 6MB")
    if spec.log.type not in ("json-file", "k8s-file", "none", "local"):
        raise InvalidParameter(f'logger: no log driver named \'{spec.log.type}\' is registered')
    return spec
