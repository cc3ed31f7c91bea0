"""Docker's JSON for networks and for a container's NetworkSettings / Ports."""
from __future__ import annotations

from typing import Any

from hithe.network.model import Attachment, Network, PortMap


def network(n: Network, svc: Any) -> dict[str, Any]:
    containers: dict[str, Any] = {}
    for a in list(svc.att.values()):
        ep = a.endpoints.get(n.id)
        if ep is None:
            continue
        name = ""
        if svc.container_get is not None:
            try:
                name = svc.container_get(a.cid).name
            except Exception:  # noqa: BLE001
                pass
        containers[a.cid] = {"Name": name, "EndpointID": ep.endpoint_id, "MacAddress": ep.mac,
                             "IPv4Address": f"{ep.ip}/{ep.prefixlen}", "IPv6Address": ""}
    cfg = []
    if n.subnet:
        c = {"Subnet": n.subnet, "Gateway": n.gateway}
        if n.ip_range:
            c["IPRange"] = n.ip_range
        cfg.append(c)
    return {
        "Name": n.name, "Id": n.id, "Created": n.created, "Scope": "local", "Driver": n.driver,
        "EnableIPv4": True, "EnableIPv6": False,
        "IPAM": {"Driver": "default", "Options": None if n.predefined else {}, "Config": cfg},
        "Internal": n.internal, "Attachable": False, "Ingress": False, "ConfigFrom": {"Network": ""},
        "ConfigOnly": False, "Containers": containers, "Options": dict(n.options), "Labels": dict(n.labels),
    }


def _ports(a: Attachment | None, exposed: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {k: None for k in exposed}
    for p in (a.ports if a else []):
        out.setdefault(p.key(), None)
        if out[p.key()] is None:
            out[p.key()] = []
        out[p.key()].append({"HostIp": p.host_ip or "0.0.0.0", "HostPort": str(p.host_port)})
    return out


def settings(c: Any, svc: Any) -> dict[str, Any]:
    """inspect's NetworkSettings in Docker's shape."""
    a: Attachment | None = svc.att.get(c.id)
    exposed = {**(c.image_config.get("ExposedPorts") or {}), **c.spec.exposed_ports}
    nets: dict[str, Any] = {}
    top: dict[str, Any] = {"EndpointID": "", "Gateway": "", "IPAddress": "", "IPPrefixLen": 0, "MacAddress": ""}
    mode = c.spec.network_mode
    if mode in ("host", "none"):
        n = svc.get(mode)
        nets[mode] = _endpoint(n, None, {})
    for nid, want in (a.wanted.items() if a else []):
        n = svc.nets.get(nid)
        if n is None:
            continue
        ep = a.endpoints.get(nid) if a else None
        nets[n.name] = _endpoint(n, ep, want, c)
        if n.name == "bridge" and ep is not None:
            top = {"EndpointID": ep.endpoint_id, "Gateway": ep.gateway, "IPAddress": ep.ip,
                   "IPPrefixLen": ep.prefixlen, "MacAddress": ep.mac}
    running = a is not None and bool(a.netns)
    return {
        "Bridge": "", "SandboxID": (c.id if running else ""), "SandboxKey": (a.netns if running else ""),
        "HairpinMode": False, "LinkLocalIPv6Address": "", "LinkLocalIPv6PrefixLen": 0,
        "Ports": _ports(a, exposed) if running else {}, "SecondaryIPAddresses": None,
        "SecondaryIPv6Addresses": None, **top, "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0,
        "IPv6Gateway": "", "Networks": nets,
    }


def _endpoint(n: Network, ep: Any, want: dict[str, Any], c: Any = None) -> dict[str, Any]:
    ipam = {"IPv4Address": want["ip"]} if want.get("ip") else None
    aliases = list(want.get("aliases") or []) or None
    dns_names = None
    if c is not None and n.user_defined:
        dns_names = [c.name] + list(want.get("aliases") or []) + [c.id[:12]]
    return {
        "IPAMConfig": ipam, "Links": list(want.get("links") or []) or None, "Aliases": aliases,
        "MacAddress": ep.mac if ep else "", "DriverOpts": None, "GwPriority": 0, "NetworkID": n.id,
        "EndpointID": ep.endpoint_id if ep else "", "Gateway": ep.gateway if ep else "",
        "IPAddress": ep.ip if ep else "", "IPPrefixLen": ep.prefixlen if ep else 0, "IPv6Gateway": "",
        "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0, "DNSNames": dns_names,
    }


def summary_ports(c: Any, svc: Any) -> list[dict[str, Any]]:
    """`GET /containers/json` Ports: published ones, and exposed-only ones without a host side."""
    a: Attachment | None = svc.att.get(c.id)
    out: list[dict[str, Any]] = []
    published: set[str] = set()
    for p in (a.ports if a and a.netns else []):
        published.add(p.key())
        out.append({"IP": p.host_ip or "0.0.0.0", "PrivatePort": p.port, "PublicPort": p.host_port,
                    "Type": p.proto})
    exposed = {**(c.image_config.get("ExposedPorts") or {}), **c.spec.exposed_ports}
    for k in exposed:
        num, _, proto = k.partition("/")
        if k not in published and num.isdigit():
            out.append({"PrivatePort": int(num), "Type": proto or "tcp"})
    return out


def summary_networks(c: Any, svc: Any) -> dict[str, Any]:
    return {"Networks": settings(c, svc)["Networks"]}


__all__ = ["network", "settings", "summary_ports", "summary_networks", "PortMap"]
