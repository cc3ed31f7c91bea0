"""The network service: networks (create, list, remove, prune, connect) and their state.

Records live in SQLite (tables `networks` and `net_attach`); the host side (bridges, the nft
table, DNS listeners) is rebuilt from them at start-up. Container plumbing is in sandbox.py.
"""
from __future__ import annotations

import ipaddress
import logging
import os
import secrets
import threading
from typing import Any, Callable

from hithe.daemon.config import DaemonConfig
from hithe.errors import Conflict, Forbidden, InvalidParameter, NotFound
from hithe.events.bus import EventBus
from hithe.metadata.db import Database, dump, load
from hithe.network import ipam, nft
from hithe.network.model import PREDEFINED, Attachment, Network
from hithe.network.ports import PortAllocator
from hithe.network.sandbox import Sandboxes
from hithe.util.timefmt import rfc3339_now

log = logging.getLogger("hithe.network")

SCHEMA = """
CREATE TABLE IF NOT EXISTS networks (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS net_attach (cid TEXT PRIMARY KEY, doc TEXT NOT NULL);
"""


def default_bridge_name(instance: str) -> str:
    """Per instance, so several daemons run side by side (interface names stop at 15 bytes)."""
    return "hithe0" if instance == "hithe" else "ht" + instance[-8:]


class NetworkService(Sandboxes):
    def __init__(self, db: Database, events: EventBus, cfg: DaemonConfig) -> None:
        self.db = db
        self.events = events
        self.cfg = cfg
        self.table = cfg.instance
        self.netns_dir = os.path.join(cfg.exec_root, "netns")
        self.pools = ipam.parse_pools(cfg.default_address_pools)
        self.lock = threading.RLock()
        self.ports = PortAllocator()
        self._nl: Any = None
        self._nl_ready = threading.Event()
        self._nl_error: BaseException | None = None
        self._nft_lock = threading.Lock()
        self._nft_last = ""
        self.loop: Any = None
        self.dns: Any = None                  # hithe.network.dns.DNSServer, set by start()
        # set by the engine: container lookups (name, hostname) for DNS and links
        self.container_get: Callable[[str], Any] | None = None
        self.container_dir: Callable[[Any], str] | None = None
        db.execute("SELECT 1")
        for stmt in SCHEMA.strip().split(";"):
            if stmt.strip():
                db.execute(stmt)
        self.nets: dict[str, Network] = {}
        for (doc,) in db.query("SELECT doc FROM networks"):
            n = Network.from_doc(load(doc))
            self.nets[n.id] = n
        self.att: dict[str, Attachment] = {}
        for (doc,) in db.query("SELECT doc FROM net_attach"):
            a = Attachment.from_doc(load(doc))
            self.att[a.cid] = a
        self.addrs: dict[str, ipam.AddressPool] = {}
        self._ensure_predefined()
        for n in self.nets.values():
            if n.subnet:
                self.addrs[n.id] = ipam.AddressPool(n.subnet, n.gateway, n.ip_range)
        for a in self.att.values():  # what running containers hold survives a daemon restart
            for nid, ep in a.endpoints.items():
                if nid in self.addrs:
                    self.addrs[nid].used.add(ipaddress.IPv4Address(ep.ip))
            self.ports.adopt(a.ports)

    # --- records ------------------------------------------------------------
    def _save(self, n: Network) -> None:
        self.db.execute("INSERT OR REPLACE INTO networks(id, name, doc) VALUES(?, ?, ?)",
                        (n.id, n.name, dump(n.to_doc())))

    def save_attachment(self, a: Attachment) -> None:
        self.db.execute("INSERT OR REPLACE INTO net_attach(cid, doc) VALUES(?, ?)", (a.cid, dump(a.to_doc())))

    def _ensure_predefined(self) -> None:
        by_name = {n.name: n for n in self.nets.values()}
        for name, driver in (("host", "host"), ("none", "null")):
            if name not in by_name:
                n = Network(id=secrets.token_hex(32), name=name, driver=driver, created=rfc3339_now())
                self.nets[n.id] = n
                self._save(n)
        bridge_name = self.cfg.bridge or default_bridge_name(self.cfg.instance)
        n = by_name.get("bridge")
        if self.cfg.bip:
            try:
                iface = ipaddress.IPv4Interface(self.cfg.bip)
            except ValueError:
                raise InvalidParameter(f"invalid bip {self.cfg.bip!r}") from None
            subnet, gw = str(iface.network), str(iface.ip)
        elif n is not None and n.subnet:
            subnet, gw = n.subnet, n.gateway
        else:
            subnet = gw = ""   # picked once netlink can see the host's routes
        if n is None:
            n = Network(id=secrets.token_hex(32), name="bridge", driver="bridge", created=rfc3339_now())
            self.nets[n.id] = n
        n.bridge, n.subnet, n.gateway = bridge_name, subnet, gw
        n.options = {"com.docker.network.bridge.default_bridge": "true",
                     "com.docker.network.bridge.enable_icc": "true",
                     "com.docker.network.bridge.enable_ip_masquerade": "true",
                     "com.docker.network.bridge.host_binding_ipv4": "0.0.0.0",
                     "com.docker.network.bridge.name": bridge_name,
                     "com.docker.network.driver.mtu": "1500"}
        self._save(n)

    def all(self) -> list[Network]:
        return list(self.nets.values())

    def get(self, ref: str) -> Network:
        """Full ID, exact name, then unique ID prefix (Docker's order)."""
        if ref in self.nets:
            return self.nets[ref]
        for n in self.nets.values():
            if n.name == ref:
                return n
        hits = [n for n in self.nets.values() if ref and n.id.startswith(ref)]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise NotFound(f"network {ref} is ambiguous ({len(hits)} matches found based on ID prefix)")
        raise NotFound(f"network {ref} not found")

    @property
    def bridge_net(self) -> Network:
        return self.get("bridge")

    def containers_of(self, n: Network) -> list[str]:
        return [a.cid for a in self.att.values() if n.id in a.endpoints]

    # --- host side: netlink, nft, DNS ----------------------------------------
    def start(self, loop: Any) -> None:
        """At daemon start: import pyroute2 and set the host up in the background (the API answers at once)."""
        self.loop = loop
        from hithe.network.dns import DNSServer
        self.dns = DNSServer(self, loop)
        threading.Thread(target=self._warm_up, name="net-init", daemon=True).start()

    def _warm_up(self) -> None:
        try:
            from hithe.network.netlink import Netlink
            nl = Netlink(alias=self.cfg.instance)
            self._nl = nl
            with self.lock:
                b = self.bridge_net
                if not b.subnet:
                    b.subnet = str(ipam.pick_subnet(self.pools, self._used_subnets(nl, exclude=b)))
                    b.gateway = str(next(ipaddress.IPv4Network(b.subnet).hosts()))
                    self._save(b)
                    self.addrs[b.id] = ipam.AddressPool(b.subnet, b.gateway)
            if self.cfg.ip_forward:
                try:
                    with open("/proc/sys/net/ipv4/ip_forward", "w") as f:
                        f.write("1")
                except OSError:
                    pass
            for n in list(self.nets.values()):
                if n.driver == "bridge":
                    nl.ensure_bridge(n.bridge, n.gateway, ipaddress.IPv4Network(n.subnet).prefixlen)
            self.apply_rules()
            for n in list(self.nets.values()):
                if n.driver == "bridge" and n.user_defined:
                    self._dns_listen(n)
        except BaseException as e:  # noqa: BLE001 - reported on first use
            log.error("network set-up failed: %s", e)
            self._nl_error = e
        finally:
            self._nl_ready.set()

    def nl(self) -> Any:
        self._nl_ready.wait(60)
        if self._nl is None:
            from hithe.errors import SystemError_
            raise SystemError_(f"networking is unavailable: {self._nl_error}")
        return self._nl

    def _used_subnets(self, nl: Any, exclude: Network | None = None) -> list[ipaddress.IPv4Network]:
        used = [ipaddress.IPv4Network(n.subnet) for n in self.nets.values()
                if n.subnet and n is not exclude]
        for r in nl.host_routes():
            try:
                used.append(ipaddress.IPv4Network(r, strict=False))
            except ValueError:
                pass
        return used

    def rules(self) -> nft.Ruleset:
        rs = nft.Ruleset(table=self.table)
        for n in self.nets.values():
            if n.driver == "bridge" and n.subnet:
                rs.bridges.append(nft.BridgeRules(n.bridge, n.subnet, n.internal))
        for a in self.att.values():
            ep = self.primary_endpoint(a)
            if ep is None:
                continue
            br = self.nets[ep.network_id].bridge
            for p in a.ports:
                rs.dnats.append(nft.DNAT(p.proto, p.host_ip, p.host_port, ep.ip, p.port, br))
        return rs

    def apply_rules(self) -> None:
        """Re-render our table; one `nft -f` only when the text changed."""
        with self._nft_lock:
            with self.lock:
                text = nft.render(self.rules())
            if text != self._nft_last:
                nft.apply(text)
                self._nft_last = text

    def _dns_listen(self, n: Network) -> None:
        if self.loop is not None and self.dns is not None:
            self.loop.call_soon_threadsafe(self.dns.listen, n.id, n.gateway)

    def event(self, action: str, n: Network, **attrs: str) -> None:
        """Network events; safe from worker threads."""
        a = {"name": n.name, "type": n.driver, **attrs}
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self.events.publish, "network", action, n.id, a)
        else:
            self.events.publish("network", action, n.id, a)

    # --- API: create / remove / prune ---------------------------------------
    def create(self, name: str, driver: str, configs: list[dict[str, str]], internal: bool,
               labels: dict[str, str], options: dict[str, str]) -> Network:
        """Blocking (netlink): call in a worker thread."""
        if not name:
            raise InvalidParameter("network name cannot be empty")
        import re
        if not re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*", name):
            raise InvalidParameter(f'invalid network name "{name}": must match [a-zA-Z0-9][a-zA-Z0-9_.-]*')
        driver = driver or "bridge"
        if name in PREDEFINED:
            raise Forbidden(f"operation is not permitted on predefined {name} network ")
        if driver != "bridge":
            raise NotFound(f"plugin \"{driver}\" not found" if driver not in ("host", "null", "overlay", "macvlan", "ipvlan")
                           else f"{driver} driver is not supported by hithe")
        if len(configs) > 1:
            raise InvalidParameter("hithe supports one IPv4 IPAM config per network")
        nl = self.nl()
        with self.lock:
            if any(n.name == name for n in self.nets.values()):
                raise Conflict(f"network with name {name} already exists")
            nid = secrets.token_hex(32)
            bridge = options.get("com.docker.network.bridge.name") or "br-" + nid[:12]
            if len(bridge) > 15 or not re.fullmatch(r"[a-zA-Z0-9_.-]+", bridge):
                raise InvalidParameter(f"invalid bridge name {bridge!r}")
            if any(n.bridge == bridge for n in self.nets.values()):
                raise Conflict(f"bridge name {bridge} is already used by another network")
            used = self._used_subnets(nl)
            if configs:
                c = configs[0]
                if not c.get("Subnet"):
                    if c.get("Gateway") or c.get("IPRange"):
                        raise InvalidParameter("ipam config must have a subnet when a gateway or ip range is given")
                    subnet = str(ipam.pick_subnet(self.pools, used))
                    subnet, gw, rng = ipam.parse_config(subnet, "", "")
                else:
                    subnet, gw, rng = ipam.parse_config(c["Subnet"], c.get("Gateway", ""), c.get("IPRange", ""))
                    net = ipaddress.IPv4Network(subnet)
                    for n in self.nets.values():
                        if n.subnet and net.overlaps(ipaddress.IPv4Network(n.subnet)):
                            raise Forbidden(f"invalid pool request: Pool overlaps with other one on this address space")
            else:
                subnet, gw, rng = ipam.parse_config(str(ipam.pick_subnet(self.pools, used)), "", "")
            n = Network(id=nid, name=name, driver="bridge", created=rfc3339_now(), subnet=subnet, gateway=gw,
                        ip_range=rng, internal=internal, labels=dict(labels), options=dict(options),
                        bridge=bridge, ipam_config=bool(configs))
            self.nets[nid] = n
            self.addrs[nid] = ipam.AddressPool(subnet, gw, rng)
            self._save(n)
        try:
            nl.ensure_bridge(bridge, gw, ipaddress.IPv4Network(subnet).prefixlen)
            self.apply_rules()
        except BaseException:
            self._forget(n)
            raise
        self._dns_listen(n)
        self.event("create", n)
        return n

    def _forget(self, n: Network) -> None:
        with self.lock:
            self.nets.pop(n.id, None)
            self.addrs.pop(n.id, None)
            self.db.execute("DELETE FROM networks WHERE id=?", (n.id,))
        try:
            self.apply_rules()
        except Exception as e:  # noqa: BLE001
            log.warning("nft after removing %s: %s", n.name, e)
        if self._nl is not None:
            self._nl.delete_link_later(n.bridge)

    def remove(self, ref: str) -> None:
        n = self.get(ref)
        if n.predefined:
            raise Forbidden(f"{n.name} is a pre-defined network and cannot be removed")
        with self.lock:
            users = self.containers_of(n) + [a.cid for a in self.att.values()
                                             if n.id in a.wanted and n.id not in a.endpoints]
            if users:
                raise Forbidden(f"error while removing network: network {n.name} id {n.id} has active endpoints")
            self.nets.pop(n.id, None)
        if self.dns is not None and self.loop is not None:
            self.loop.call_soon_threadsafe(self.dns.close, n.id)
        self._forget(n)
        self.event("destroy", n)

    def prune(self, keep: Callable[[Network], bool]) -> list[str]:
        gone = []
        for n in list(self.nets.values()):
            if n.predefined or keep(n):
                continue
            try:
                self.remove(n.id)
            except Forbidden:
                continue
            gone.append(n.name)
        return gone

    def close(self) -> None:
        """Daemon shutdown: stop answering DNS; bridges, rules and namespaces stay for running containers."""
        if self.dns is not None:
            self.dns.close_all()
        if self._nl is not None:
            try:
                self._nl.close()
            except Exception:  # noqa: BLE001
                pass
