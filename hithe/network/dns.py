"""The embedded DNS server of user-defined networks: container names, aliases and links.

One UDP listener per user network, on the network's gateway address (containers get it as their
nameserver). Other names go to the daemon's or the host's resolvers; under
HITHE_REGISTRY_LOOPBACK_ONLY=1 / HITHE_DNS_LOOPBACK_ONLY=1 (the tests) only to loopback ones.
"""
from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import socket
from typing import Any

import dns.flags
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from hithe.util import egress

log = logging.getLogger("hithe.dns")
TTL = 600


def _loopback_only() -> bool:
    return egress.loopback_only() or os.environ.get("HITHE_DNS_LOOPBACK_ONLY") == "1"


def upstreams(configured: list[str]) -> list[str]:
    servers = list(configured)
    if not servers:
        try:
            with open("/etc/resolv.conf") as f:
                servers = [ln.split()[1] for ln in f if ln.startswith("nameserver") and len(ln.split()) > 1]
        except OSError:
            servers = []
    if _loopback_only():
        servers = [s for s in servers if _is_loopback(s)]
    return servers


def _is_loopback(s: str) -> bool:
    try:
        return ipaddress.ip_address(s).is_loopback
    except ValueError:
        return False


def names_in(svc: Any, nid: str, src_ip: str) -> dict[str, str]:
    """name -> address as seen by the container at src_ip on network nid."""
    table: dict[str, str] = {}
    by_id: dict[str, str] = {}
    for a in list(svc.att.values()):
        ep = a.endpoints.get(nid)
        if ep is None:
            continue
        by_id[a.cid] = ep.ip
        names = [a.cid[:12]] + list(ep.aliases)
        if svc.container_get is not None:
            try:
                c = svc.container_get(a.cid)
                names += [c.name, c.hostname]
            except Exception:  # noqa: BLE001 - removed meanwhile
                pass
        for name in names:
            if name:
                table.setdefault(name.lower(), ep.ip)
    net = svc.nets.get(nid)
    if net is not None:
        for k, v in list(table.items()):
            table.setdefault(f"{k}.{net.name.lower()}", v)
    # links of the asking container: its aliases for others
    for a in list(svc.att.values()):
        ep = a.endpoints.get(nid)
        if ep is None or ep.ip != src_ip or svc.container_get is None:
            continue
        for link in ep.links:
            name, _, alias = link.partition(":")
            try:
                other = svc.container_get(name.lstrip("/"))
            except Exception:  # noqa: BLE001
                continue
            if other.id in by_id:
                table[(alias.split("/")[-1] or other.name).lower()] = by_id[other.id]
    return table


class _Proto(asyncio.DatagramProtocol):
    def __init__(self, server: "DNSServer", nid: str) -> None:
        self.server, self.nid = server, nid
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        asyncio.ensure_future(self.server.answer(self, data, addr))


class DNSServer:
    def __init__(self, svc: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.svc = svc
        self.loop = loop
        self.listeners: dict[str, Any] = {}

    def listen(self, nid: str, ip: str) -> None:
        async def go() -> None:
            if nid in self.listeners:
                return
            try:
                tr, _ = await self.loop.create_datagram_endpoint(lambda: _Proto(self, nid), local_addr=(ip, 53))
                self.listeners[nid] = tr
            except OSError as e:
                log.warning("embedded DNS on %s:53: %s", ip, e)
        asyncio.ensure_future(go())

    def close(self, nid: str) -> None:
        tr = self.listeners.pop(nid, None)
        if tr is not None:
            tr.close()

    def close_all(self) -> None:
        for nid in list(self.listeners):
            self.close(nid)

    async def answer(self, proto: _Proto, data: bytes, addr: tuple[str, int]) -> None:
        try:
            q = dns.message.from_wire(data)
        except Exception:  # noqa: BLE001 - garbage in, nothing out
            return
        if not q.question:
            return
        out = self.resolve(proto.nid, addr[0], q)
        if out is None:
            out = await self.forward(q, data)
        if out is not None and proto.transport is not None:
            proto.transport.sendto(out, addr)

    def resolve(self, nid: str, src: str, q: dns.message.Message) -> bytes | None:
        rr = q.question[0]
        name = rr.name.to_text().rstrip(".").lower()
        table = names_in(self.svc, nid, src)
        r = dns.message.make_response(q)
        r.flags |= dns.flags.RA
        if rr.rdtype == dns.rdatatype.PTR and name.endswith(".in-addr.arpa"):
            ip = ".".join(reversed(name[: -len(".in-addr.arpa")].split(".")))
            hits = [n for n, a in table.items() if a == ip and "." not in n]
            if not hits:
                return None
            r.answer.append(dns.rrset.from_text(rr.name, TTL, "IN", "PTR", hits[0] + "."))
            return r.to_wire()
        if name not in table:
            return None
        if rr.rdtype == dns.rdatatype.A:
            r.answer.append(dns.rrset.from_text(rr.name, TTL, "IN", "A", table[name]))
        return r.to_wire()   # AAAA and others for a known name: no data

    async def forward(self, q: dns.message.Message, data: bytes) -> bytes | None:
        servers = upstreams(list(self.svc.cfg.dns))
        if not servers:
            r = dns.message.make_response(q)
            r.set_rcode(dns.rcode.SERVFAIL)
            return r.to_wire()
        return await self.loop.run_in_executor(None, _ask, servers, data)


def _ask(servers: list[str], data: bytes) -> bytes | None:
    for s in servers:
        sock = socket.socket(socket.AF_INET6 if ":" in s else socket.AF_INET, socket.SOCK_DGRAM)
        sock.settimeout(2)
        try:
            sock.sendto(data, (s, 53))
            return sock.recv(65535)
        except OSError:
            continue
        finally:
            sock.close()
    return None
