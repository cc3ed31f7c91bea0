"""hithe's own nftables table: rendered as text from our state, applied in one `nft -f` batch.

Only our table is ever touched: the batch (re)creates `ip <table>` atomically, so rules of other
engines (docker's, iptables-nft's) are left as they are.
"""
from __future__ import annotations

import subprocess
from dataclasses import dataclass, field

from hithe.errors import SystemError_


@dataclass
class BridgeRules:
    bridge: str
    subnet: str
    internal: bool = False


@dataclass
class DNAT:
    proto: str
    host_ip: str          # "" = every local address
    host_port: int
    ip: str               # the container's address
    port: int
    bridge: str


@dataclass
class Ruleset:
    table: str
    bridges: list[BridgeRules] = field(default_factory=list)
    dnats: list[DNAT] = field(default_factory=list)


def _q(name: str) -> str:
    return '"' + name.replace('"', "") + '"'


def render(rs: Ruleset) -> str:
    """The whole table, as `nft -f` reads it; an empty table is created first so `delete` never fails."""
    t = rs.table
    out = [f"table ip {t} {{}}", f"delete table ip {t}", f"table ip {t} {{"]
    out += ["  chain prerouting {", "    type nat hook prerouting priority dstnat; policy accept;",
            "    fib daddr type local jump ports", "  }",
            "  chain output {", "    type nat hook output priority -100; policy accept;",
            "    fib daddr type local jump ports", "  }",
            "  chain ports {"]
    for d in rs.dnats:
        dst = f"ip daddr {d.host_ip} " if d.host_ip else ""
        out.append(f"    {dst}{d.proto} dport {d.host_port} dnat to {d.ip}:{d.port}")
    out += ["  }", "  chain postrouting {", "    type nat hook postrouting priority srcnat; policy accept;"]
    for b in rs.bridges:
        br = _q(b.bridge)
        # the host's 127.0.0.1 cannot be a source on the bridge: hide it (route_localnet publishing)
        out.append(f"    oifname {br} ip saddr 127.0.0.0/8 masquerade")
        # a container reaching its own network through a published port (hairpin)
        out.append(f"    oifname {br} ip saddr {b.subnet} ip daddr {b.subnet} ct status dnat masquerade")
        if not b.internal:
            out.append(f"    ip saddr {b.subnet} oifname != {br} masquerade")
    out += ["  }", "  chain forward {", "    type filter hook forward priority filter; policy accept;"]
    for b in rs.bridges:
        br = _q(b.bridge)
        if b.internal:
            out.append(f"    iifname {br} oifname != {br} drop")
            out.append(f"    oifname {br} iifname != {br} drop")
        out.append(f"    iifname {br} accept")
        out.append(f"    oifname {br} accept")
    out += ["  }", "}"]
    return "\n".join(out) + "\n"


def apply(text: str) -> None:
    try:
        r = subprocess.run(["nft", "-f", "-"], input=text.encode(), capture_output=True, timeout=30)
    except FileNotFoundError:
        raise SystemError_("nft not found: install nftables to publish ports and NAT containers") from None
    if r.returncode != 0:
        raise SystemError_("nft: " + r.stderr.decode(errors="replace").strip())


def delete_table(table: str) -> None:
    subprocess.run(["nft", "-f", "-"], input=f"table ip {table} {{}}\ndelete table ip {table}\n".encode(),
                   capture_output=True, timeout=30)
