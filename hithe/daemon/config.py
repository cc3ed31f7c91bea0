"""hithed's configuration: dockerd's flag names, /etc/hithe/daemon.json, per-instance names."""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field

from hithe.errors import InvalidParameter

DEFAULT_SOCKET = "unix:///run/hithe/hithe.sock"
DEFAULT_DATA_ROOT = "/var/lib/hithe"
DEFAULT_EXEC_ROOT = "/run/hithe"
DEFAULT_CONFIG = "/etc/hithe/daemon.json"


@dataclass
class DaemonConfig:
    socket: str = "/run/hithe/hithe.sock"
    data_root: str = DEFAULT_DATA_ROOT
    exec_root: str = DEFAULT_EXEC_ROOT
    pidfile: str = ""
    config_file: str = DEFAULT_CONFIG
    bridge: str = ""
    bip: str = ""
    dns: list[str] = field(default_factory=list)
    dns_search: list[str] = field(default_factory=list)
    insecure_registries: list[str] = field(default_factory=list)
    registry_mirrors: list[str] = field(default_factory=list)
    log_level: str = "info"
    log_opts: dict[str, str] = field(default_factory=dict)
    default_address_pools: list[dict] = field(default_factory=list)
    ip_forward: bool = True          # dockerd's --ip-forward: enable net.ipv4.ip_forward
    instance: str = "hithe"

    @property
    def cgroup_parent(self) -> str:
        return self.instance

    @property
    def init_path(self) -> str | None:
        for p in ("/usr/bin/tini-static", "/usr/bin/catatonit", "/usr/libexec/podman/catatonit"):
            if os.path.exists(p):
                return p
        return shutil.which("tini-static")


def instance_name(data_root: str) -> str:
    """Whatever a daemon creates on the host is named per instance, so several can run side by side."""
    if os.path.abspath(data_root) == DEFAULT_DATA_ROOT:
        return "hithe"
    return "hithe-" + hashlib.sha256(os.path.abspath(data_root).encode()).hexdigest()[:8]


def _socket_path(host: str) -> str:
    if host.startswith("unix://"):
        return host[len("unix://"):]
    if host.startswith("/"):
        return host
    raise InvalidParameter(f"unsupported host {host!r}: only unix:// sockets are served")


def parse_args(argv: list[str]) -> DaemonConfig:
    ap = argparse.ArgumentParser(prog="hithed", description="hithe daemon: the Docker Engine API on a unix socket")
    ap.add_argument("-H", "--host", action="append", help=f"socket to listen on (default {DEFAULT_SOCKET})")
    ap.add_argument("--data-root")
    ap.add_argument("--exec-root")
    ap.add_argument("-p", "--pidfile")
    ap.add_argument("--config-file", default=DEFAULT_CONFIG)
    ap.add_argument("-b", "--bridge")
    ap.add_argument("--bip")
    ap.add_argument("--dns", action="append")
    ap.add_argument("--dns-search", action="append")
    # a Go bool flag: bare --ip-forward means true, --ip-forward=false turns it off
    ap.add_argument("--ip-forward", nargs="?", const="true", choices=["true", "false"])
    ap.add_argument("--insecure-registry", action="append")
    ap.add_argument("--registry-mirror", action="append")
    ap.add_argument("-l", "--log-level")
    ap.add_argument("--log-opt", action="append", help="default log options (key=value)")
    ap.add_argument("-v", "--version", action="store_true")
    a = ap.parse_args(argv)
    file_cfg: dict = {}
    if a.config_file and os.path.exists(a.config_file):
        try:
            with open(a.config_file) as f:
                file_cfg = json.load(f)
        except ValueError as e:
            raise SystemExit(f"hithed: unable to configure the daemon: invalid {a.config_file}: {e}")
    cfg = DaemonConfig(config_file=a.config_file)
    hosts = a.host or file_cfg.get("hosts") or [DEFAULT_SOCKET]
    cfg.socket = _socket_path(hosts[0])
    cfg.data_root = os.path.abspath(a.data_root or file_cfg.get("data-root") or DEFAULT_DATA_ROOT)
    cfg.exec_root = os.path.abspath(a.exec_root or file_cfg.get("exec-root") or DEFAULT_EXEC_ROOT)
    cfg.pidfile = a.pidfile or file_cfg.get("pidfile") or os.path.join(cfg.exec_root, "hithed.pid")
    cfg.bridge = a.bridge or file_cfg.get("bridge") or ""
    cfg.bip = a.bip or file_cfg.get("bip") or ""
    cfg.dns = a.dns or file_cfg.get("dns") or []
    cfg.dns_search = a.dns_search or file_cfg.get("dns-search") or []
    cfg.insecure_registries = a.insecure_registry or file_cfg.get("insecure-registries") or []
    cfg.registry_mirrors = a.registry_mirror or file_cfg.get("registry-mirrors") or []
    cfg.log_level = a.log_level or file_cfg.get("log-level") or "info"
    cfg.log_opts = dict(file_cfg.get("log-opts") or {})
    for kv in a.log_opt or []:
        k, _, v = kv.partition("=")
        cfg.log_opts[k] = v
    cfg.default_address_pools = file_cfg.get("default-address-pools") or []
    cfg.ip_forward = (a.ip_forward == "true") if a.ip_forward else bool(file_cfg.get("ip-forward", True))
    cfg.instance = instance_name(cfg.data_root)
    if a.version:
        from hithe import __version__
        print(f"hithed version {__version__}")
        raise SystemExit(0)
    return cfg
