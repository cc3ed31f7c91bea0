"""Which URL a registry name means, and with which TLS rules (dockerd's).

``docker.io`` (and its old names) is served by ``registry-1.docker.io``.
Every other domain is its own host.  A registry is *insecure* when it is
listed in ``insecure-registries`` (as ``host[:port]`` or as a CIDR its
address falls in) or is on 127.0.0.0/8: then HTTPS is tried without
verification and plain HTTP is the fallback, as dockerd does.  Names are not
resolved to check the CIDRs (dockerd does): an engine should not leak DNS
queries for registries it was told nothing about, and ``localhost`` is the
one name whose address is known without asking.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from hithe.errors import InvalidParameter

DOCKER_HUB_DOMAINS = ("docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com")
DOCKER_HUB_HOST = "registry-1.docker.io"
INDEX_SERVER = "https://index.docker.io/v1/"
_LOOPBACK = ipaddress.ip_network("127.0.0.0/8")
_LOOPBACK6 = ipaddress.ip_network("::1/128")


@dataclass(frozen=True)
class Endpoint:
    host: str            # host[:port] as it goes in URLs: registry-1.docker.io, 127.0.0.1:5000
    insecure: bool       # HTTP allowed, TLS unverified

    def url(self, scheme: str, path: str) -> str:
        return f"{scheme}://{self.host}{path}"

    @property
    def schemes(self) -> tuple[str, ...]:
        return ("https", "http") if self.insecure else ("https",)


def registry_host(domain: str) -> str:
    """The host serving a reference's domain (``docker.io`` → ``registry-1.docker.io``)."""
    if domain in DOCKER_HUB_DOMAINS or domain == "":
        return DOCKER_HUB_HOST
    return domain


def domain_of_server(server: str) -> str:
    """A login ``serveraddress`` (``https://index.docker.io/v1/``, ``http://h:5000``, ``h:5000``)
    reduced to the registry domain it names."""
    s = server.strip()
    for prefix in ("https://", "http://"):
        if s.startswith(prefix):
            s = s[len(prefix):]
    s = s.split("/", 1)[0]
    if not s:
        raise InvalidParameter(f"invalid registry address: {server!r}")
    return "docker.io" if s in DOCKER_HUB_DOMAINS else s


def _split_host(host: str) -> str:
    """The bare host of host[:port] (IPv6 in brackets)."""
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    bare = _split_host(host)
    if bare == "localhost":
        return ipaddress.ip_address("127.0.0.1")
    try:
        return ipaddress.ip_address(bare)
    except ValueError:
        return None


def is_loopback(host: str) -> bool:
    addr = _address(host)
    return addr is not None and (addr in _LOOPBACK if addr.version == 4 else addr in _LOOPBACK6)


class InsecurePolicy:
    """``insecure-registries`` from daemon.json / ``--insecure-registry``, plus loopback."""

    def __init__(self, entries: list[str] | None = None) -> None:
        self.names: set[str] = set()
        self.nets: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = [_LOOPBACK, _LOOPBACK6]
        for e in entries or []:
            e = e.strip()
            for prefix in ("http://", "https://"):
                if e.startswith(prefix):
                    e = e[len(prefix):]
            e = e.rstrip("/")
            if "/" in e:
                try:
                    self.nets.append(ipaddress.ip_network(e, strict=False))
                    continue
                except ValueError:
                    raise InvalidParameter(f"insecure registry {e} is not valid") from None
            if e:
                self.names.add(e)

    def is_insecure(self, host: str) -> bool:
        if host in self.names or _split_host(host) in self.names:
            return True
        addr = _address(host)
        return addr is not None and any(addr in n for n in self.nets if n.version == addr.version)

    def endpoint(self, domain: str) -> Endpoint:
        host = registry_host(domain)
        return Endpoint(host=host, insecure=self.is_insecure(host))
