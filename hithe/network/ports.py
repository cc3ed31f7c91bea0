"""Published ports: Docker's PortBindings/ExposedPorts to PortMaps, and host port allocation."""
from __future__ import annotations

import ipaddress
import random
import socket
import threading
from typing import Any

from hithe.errors import Conflict, InvalidParameter, SystemError_
from hithe.network.model import PortMap

PROTOS = ("tcp", "udp", "sctp")


def _port(text: str, what: str) -> tuple[int, int]:
    lo, dash, hi = text.partition("-")
    try:
        a, b = int(lo), int(hi) if dash else int(lo)
    except ValueError:
        raise InvalidParameter(f"invalid {what}: {text}") from None
    if not (0 < a <= 65535 and 0 < b <= 65535) or b < a:
        raise InvalidParameter(f"invalid {what}: {text}")
    return a, b


def parse_key(key: str) -> tuple[int, str]:
    """"80/tcp" (or "80") -> (80, "tcp")."""
    num, _, proto = str(key).partition("/")
    proto = (proto or "tcp").lower()
    if proto not in PROTOS:
        raise InvalidParameter(f"invalid proto: {proto}")
    a, b = _port(num, "containerPort")
    if a != b:
        raise InvalidParameter(f"invalid containerPort: {num}")
    return a, proto


def parse_bindings(bindings: dict[str, Any], exposed: dict[str, Any], publish_all: bool) -> list[PortMap]:
    """HostConfig.PortBindings (+ every exposed port with -P) as PortMaps, validated."""
    out: list[PortMap] = []
    seen: set[str] = set()
    for key, binds in (bindings or {}).items():
        port, proto = parse_key(key)
        seen.add(f"{port}/{proto}")
        for b in binds or [{}]:
            if not isinstance(b, dict):
                raise InvalidParameter(f"invalid port binding for {key}")
            ip = str(b.get("HostIp") or "")
            if ip.startswith("[") and ip.endswith("]"):
                ip = ip[1:-1]
            if ip:
                try:
                    addr = ipaddress.ip_address(ip)
                except ValueError:
                    raise InvalidParameter(f"invalid IP address: {ip}") from None
                if addr.version == 6:
                    if not addr.is_unspecified:
                        raise InvalidParameter(f"publishing on IPv6 address {ip} is not supported by hithe")
                    ip = ""
                if ip == "0.0.0.0":
                    ip = ""
            hp = str(b.get("HostPort") or "")
            lo = hi = 0
            if hp:
                try:
                    lo, hi = _port(hp, "hostPort")
                except InvalidParameter:
                    raise InvalidParameter(f'invalid port specification: "{hp}"') from None
            out.append(PortMap(port=port, proto=proto, host_ip=ip, host_port=lo,
                               host_port_end=hi if hi != lo else 0))
    if publish_all:
        for key in exposed:
            port, proto = parse_key(key)
            if f"{port}/{proto}" not in seen:
                out.append(PortMap(port=port, proto=proto))
    return out


def _ephemeral_range() -> tuple[int, int]:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            a, b = f.read().split()
            return int(a), int(b)
    except (OSError, ValueError):
        return 32768, 60999


def _host_free(ip: str, port: int, proto: str) -> bool:
    """Nothing on the host listens there (a DNAT would hide it from its clients)."""
    kind = socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM
    s = socket.socket(socket.AF_INET, kind)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((ip or "0.0.0.0", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


class PortAllocator:
    """Host ports in use by this daemon's containers, by (proto, host ip)."""

    def __init__(self) -> None:
        self._used: dict[tuple[str, int], set[str]] = {}   # (proto, port) -> host ips ("" = all)
        self._lock = threading.Lock()

    def _clash(self, proto: str, port: int, ip: str) -> bool:
        ips = self._used.get((proto, port), set())
        return bool(ips) and (ip == "" or "" in ips or ip in ips)

    def _take(self, proto: str, port: int, ip: str) -> None:
        self._used.setdefault((proto, port), set()).add(ip)

    def adopt(self, maps: list[PortMap]) -> None:
        with self._lock:
            for m in maps:
                self._take(m.proto, m.host_port, m.host_ip)

    def release(self, maps: list[PortMap]) -> None:
        with self._lock:
            self._drop(maps)

    def _drop(self, maps: list[PortMap]) -> None:
        for m in maps:
            ips = self._used.get((m.proto, m.host_port))
            if ips is not None:
                ips.discard(m.host_ip)
                if not ips:
                    del self._used[(m.proto, m.host_port)]

    def allocate(self, wanted: list[PortMap]) -> list[PortMap]:
        """Concrete host ports for `wanted`, all or none (Docker's messages on a clash)."""
        got: list[PortMap] = []
        with self._lock:
            try:
                for w in wanted:
                    got.append(self._one(w))
            except BaseException:
                self._drop(got)
                raise
        return got

    def _one(self, w: PortMap) -> PortMap:
        shown = w.host_ip or "0.0.0.0"
        if w.host_port and not w.host_port_end:
            if self._clash(w.proto, w.host_port, w.host_ip):
                raise Conflict(f"Bind for {shown}:{w.host_port} failed: port is already allocated")
            if not _host_free(w.host_ip, w.host_port, w.proto):
                raise SystemError_(f"Error starting userland proxy: listen {w.proto}4 {shown}:{w.host_port}: "
                                   "bind: address already in use")
            self._take(w.proto, w.host_port, w.host_ip)
            return PortMap(w.port, w.proto, w.host_ip, w.host_port)
        lo, hi = (w.host_port, w.host_port_end) if w.host_port else _ephemeral_range()
        candidates = list(range(lo, hi + 1))
        if not w.host_port:
            random.shuffle(candidates)  # random host ports for -P, as Docker hands them out
        for p in candidates:
            if not self._clash(w.proto, p, w.host_ip) and _host_free(w.host_ip, p, w.proto):
                self._take(w.proto, p, w.host_ip)
                return PortMap(w.port, w.proto, w.host_ip, p)
        raise Conflict(f"Bind for {shown}:{lo}-{hi} failed: port is already allocated")
