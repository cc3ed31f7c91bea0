"""A container's networking: its namespace, endpoints, published ports, hosts and resolv.conf.

A mixin of NetworkService (service.py). `setup` runs at start (after the netns is made, before
`runc create`), `teardown` at exit; both run in worker threads.
"""
from __future__ import annotations

import ipaddress
import logging
import os
import secrets
from typing import Any

from hithe.errors import Forbidden, HitheError, InvalidParameter, NotFound
from hithe.network import ipam
from hithe.network.model import Attachment, Endpoint, Network
from hithe.network.ports import parse_bindings

log = logging.getLogger("hithe.network")


def _mode_network(mode: str) -> str | None:
    """The network a NetworkMode names, None for host/none/container:."""
    if mode in ("", "default"):
        return "bridge"
    if mode in ("host", "none") or mode.startswith("container:"):
        return None
    return mode


class Sandboxes:
    # --- create -------------------------------------------------------------
    def wanted_for(self, spec: Any) -> dict[str, dict[str, Any]]:
        """Validate a create spec's networking; returns network id -> wanted endpoint settings."""
        if spec.network_mode.startswith("container:"):
            raise InvalidParameter("--network container:<name> is not supported by hithe yet")
        parse_bindings(spec.port_bindings, spec.exposed_ports, spec.publish_all)  # Docker's errors early
        eps = (spec.networking_config or {}).get("EndpointsConfig") or {}
        if not isinstance(eps, dict):
            raise InvalidParameter("invalid NetworkingConfig.EndpointsConfig")
        names: list[str] = []
        first = _mode_network(spec.network_mode)
        if first is not None:
            names.append(first)
        elif eps and spec.network_mode in ("host", "none"):
            extra = [k for k in eps if k != spec.network_mode]
            if extra:
                raise InvalidParameter(f"container cannot be disconnected from host network or connected "
                                       f"to host network" if spec.network_mode == "host" else
                                       "Container cannot be connected to network endpoints: none")
        for k in eps:
            if k not in names and k not in ("host", "none", spec.network_mode):
                names.append(k)
        out: dict[str, dict[str, Any]] = {}
        links = list(spec.extra_host_config.get("Links") or [])
        for i, name in enumerate(names):
            n = self.get(name)  # type: ignore[attr-defined]
            cfg = eps.get(name) or (eps.get(spec.network_mode) if i == 0 else None) or {}
            want = self._endpoint_wish(n, cfg if isinstance(cfg, dict) else {})
            if i == 0 and links:
                want["links"] = sorted(set(want["links"]) | set(links))
            out[n.id] = want
        return out

    def _endpoint_wish(self, n: Network, cfg: dict[str, Any]) -> dict[str, Any]:
        aliases = [str(x) for x in cfg.get("Aliases") or []]
        links = [str(x) for x in cfg.get("Links") or []]
        ip = str(((cfg.get("IPAMConfig") or {}).get("IPv4Address")) or "")
        if n.driver != "bridge":
            raise InvalidParameter(f"container cannot be connected to network {n.name}")
        if aliases and not n.user_defined:
            raise InvalidParameter("network-scoped alias is supported only for containers in user defined networks")
        if ip:
            if not n.user_defined or not n.ipam_config:
                raise InvalidParameter("user specified IP address is supported only when connecting to networks "
                                       "with user configured subnets")
            try:
                if ipaddress.IPv4Address(ip) not in ipaddress.IPv4Network(n.subnet):
                    raise ValueError
            except ValueError:
                raise InvalidParameter(f"invalid endpoint settings: user specified IP address {ip} is not in "
                                       f"the network's subnet {n.subnet}") from None
        return {"aliases": aliases, "links": links, "ip": ip}

    def register(self, cid: str, wanted: dict[str, dict[str, Any]]) -> None:
        with self.lock:  # type: ignore[attr-defined]
            a = Attachment(cid=cid, wanted=wanted)
            self.att[cid] = a  # type: ignore[attr-defined]
            self.save_attachment(a)  # type: ignore[attr-defined]

    def forget(self, cid: str) -> None:
        """The container is removed."""
        a = self.att.get(cid)  # type: ignore[attr-defined]
        if a is None:
            return
        if a.netns or a.endpoints:
            self.teardown_id(cid)
        with self.lock:  # type: ignore[attr-defined]
            self.att.pop(cid, None)  # type: ignore[attr-defined]
            self.db.execute("DELETE FROM net_attach WHERE cid=?", (cid,))  # type: ignore[attr-defined]

    # --- start / stop -------------------------------------------------------
    def primary_endpoint(self, a: Attachment) -> Endpoint | None:
        for nid in a.wanted:
            if nid in a.endpoints:
                return a.endpoints[nid]
        return next(iter(a.endpoints.values()), None)

    def setup(self, c: Any) -> str | None:
        """Namespace, endpoints and ports for a starting container; the netns path for runc (None: runc's own)."""
        a = self.att.get(c.id)  # type: ignore[attr-defined]
        if a is None or not a.wanted:
            self._write_files(c, None, [])
            return None
        if a.netns or a.endpoints:
            self.teardown_id(c.id)
        nl = self.nl()  # type: ignore[attr-defined]
        path = os.path.join(self.netns_dir, c.id)  # type: ignore[attr-defined]
        nl.create_netns(path)
        a.netns = path
        try:
            for i, (nid, want) in enumerate(list(a.wanted.items())):
                self._plumb(a, nid, want, f"eth{i}", default_route=(i == 0))
            ep = self.primary_endpoint(a)
            n = self.nets[ep.network_id] if ep else None  # type: ignore[attr-defined]
            if ep is not None and n is not None and not n.internal:
                want = parse_bindings(c.spec.port_bindings, {**(c.image_config.get("ExposedPorts") or {}),
                                                             **c.spec.exposed_ports}, c.spec.publish_all)
                a.ports = self.ports.allocate(want)  # type: ignore[attr-defined]
            self.save_attachment(a)  # type: ignore[attr-defined]
            if a.ports:
                self.apply_rules()  # type: ignore[attr-defined]
            self._write_files(c, a, self._link_hosts(c, a))
        except BaseException:
            self.teardown_id(c.id)
            raise
        for nid in a.endpoints:
            self.event("connect", self.nets[nid], container=c.id)  # type: ignore[attr-defined]
        return path

    def _plumb(self, a: Attachment, nid: str, want: dict[str, Any], ifname: str, default_route: bool) -> None:
        n = self.nets.get(nid)  # type: ignore[attr-defined]
        if n is None:
            raise NotFound(f"network {nid} not found")
        with self.lock:  # type: ignore[attr-defined]
            pool = self.addrs[nid]  # type: ignore[attr-defined]
            ip = pool.reserve(want["ip"]) if want.get("ip") else pool.allocate()
        ep = Endpoint(network_id=nid, endpoint_id=secrets.token_hex(32), ifname=ifname,
                      veth="veth" + secrets.token_hex(4)[:7], ip=ip,
                      prefixlen=ipaddress.IPv4Network(n.subnet).prefixlen, gateway=n.gateway,
                      mac=ipam.mac_for(ip), aliases=list(want.get("aliases") or []),
                      links=list(want.get("links") or []))
        a.endpoints[nid] = ep  # recorded first: a failure below releases it with the rest
        self.nl().plumb(a.netns, n.bridge, ep.veth, ifname, ip, ep.prefixlen, n.gateway, ep.mac,  # type: ignore[attr-defined]
                        default_route)

    def teardown(self, c: Any) -> None:
        self.teardown_id(c.id)

    def teardown_id(self, cid: str) -> None:
        """Release addresses and ports; the netns goes (its veths with it, freed by the kernel later)."""
        a = self.att.get(cid)  # type: ignore[attr-defined]
        if a is None or not (a.netns or a.endpoints or a.ports):
            return
        had_ports = bool(a.ports)
        with self.lock:  # type: ignore[attr-defined]
            for nid, ep in a.endpoints.items():
                if nid in self.addrs:  # type: ignore[attr-defined]
                    self.addrs[nid].release(ep.ip)  # type: ignore[attr-defined]
            self.ports.release(a.ports)  # type: ignore[attr-defined]
            left = list(a.endpoints)
            a.endpoints, a.ports = {}, []
            path, a.netns = a.netns, ""
            self.save_attachment(a)  # type: ignore[attr-defined]
        if path:
            from hithe.network.netlink import Netlink
            Netlink.remove_netns(path)
        if had_ports:
            try:
                self.apply_rules()  # type: ignore[attr-defined]
            except HitheError as e:
                log.warning("nft after %s stopped: %s", cid[:12], e)
        for nid in left:
            if nid in self.nets:  # type: ignore[attr-defined]
                self.event("disconnect", self.nets[nid], container=cid)  # type: ignore[attr-defined]

    # --- connect / disconnect -----------------------------------------------
    def connect(self, c: Any, ref: str, cfg: dict[str, Any]) -> None:
        n = self.get(ref)  # type: ignore[attr-defined]
        a = self.att.get(c.id)  # type: ignore[attr-defined]
        if c.spec.network_mode in ("host", "none") or c.spec.network_mode.startswith("container:"):
            raise Forbidden(f"container sharing network namespace with another container or host cannot "
                            f"be connected to any other network" if c.spec.network_mode != "none" else
                            "container cannot be disconnected from host network or connected to host network"
                            if n.name == "host" else f"Container cannot be connected to network endpoints: none, {n.name}")
        if a is None:
            a = Attachment(cid=c.id)
            self.att[c.id] = a  # type: ignore[attr-defined]
        if n.id in a.wanted:
            raise Forbidden(f"endpoint with name {c.name} already exists in network {n.name}")
        want = self._endpoint_wish(n, cfg)
        if c.state.running and a.netns:
            self._plumb(a, n.id, want, f"eth{len(a.endpoints)}", default_route=not a.endpoints)
        a.wanted[n.id] = want
        self.save_attachment(a)  # type: ignore[attr-defined]
        if c.state.running:
            self._write_files(c, a, self._link_hosts(c, a))
        self.event("connect", n, container=c.id)  # type: ignore[attr-defined]

    def disconnect(self, c: Any, ref: str, force: bool) -> None:
        n = self.get(ref)  # type: ignore[attr-defined]
        a = self.att.get(c.id)  # type: ignore[attr-defined]
        if a is None or n.id not in a.wanted:
            if force:
                return
            raise Forbidden(f"container {c.id} is not connected to network {n.name}")
        with self.lock:  # type: ignore[attr-defined]
            a.wanted.pop(n.id)
            ep = a.endpoints.pop(n.id, None)
            moved_ports = False
            if ep is not None:
                self.addrs[n.id].release(ep.ip)  # type: ignore[attr-defined]
                if a.ports and not a.endpoints:
                    self.ports.release(a.ports)  # type: ignore[attr-defined]
                    a.ports = []
                moved_ports = True
            self.save_attachment(a)  # type: ignore[attr-defined]
        if ep is not None:
            self.nl().delete_link_later(ep.veth)  # type: ignore[attr-defined]
            if moved_ports:
                self.apply_rules()  # type: ignore[attr-defined]
        self.event("disconnect", n, container=c.id)  # type: ignore[attr-defined]

    # --- files --------------------------------------------------------------
    def _link_hosts(self, c: Any, a: Attachment) -> list[str]:
        """--link targets as hosts entries ("alias name:ip"), resolved now."""
        out = []
        ep = self.primary_endpoint(a)
        if ep is None or self.container_get is None:  # type: ignore[attr-defined]
            return out
        for link in ep.links:
            name, _, alias = link.partition(":")
            try:
                other = self.container_get(name.lstrip("/"))  # type: ignore[attr-defined]
            except HitheError:
                continue
            oa = self.att.get(other.id)  # type: ignore[attr-defined]
            oep = oa.endpoints.get(ep.network_id) if oa else None
            if oep is not None:
                names = " ".join(dict.fromkeys([alias.split("/")[-1] or other.name, other.name]))
                out.append(f"{names}:{oep.ip}")
        return out

    def _write_files(self, c: Any, a: Attachment | None, link_hosts: list[str]) -> None:
        if self.container_dir is None:  # type: ignore[attr-defined]
            return
        from hithe.containers.files import write_files
        ep = self.primary_endpoint(a) if a else None
        n = self.nets.get(ep.network_id) if ep else None  # type: ignore[attr-defined]
        cfg = self.cfg  # type: ignore[attr-defined]
        nameservers = None
        options = list(c.spec.dns_options)
        if n is not None and n.user_defined:
            nameservers = [n.gateway]   # the embedded DNS answers on the gateway
            if not options:
                options = ["ndots:0"]
        write_files(self.container_dir(c), hostname=c.hostname, domainname=c.spec.domainname,  # type: ignore[attr-defined]
                    dns=list(c.spec.dns) or list(cfg.dns), dns_search=list(c.spec.dns_search) or list(cfg.dns_search),
                    dns_options=options, extra_hosts=list(c.spec.extra_hosts) + link_hosts,
                    ip=ep.ip if ep else None, host_network=c.spec.network_mode == "host",
                    nameservers=nameservers)
