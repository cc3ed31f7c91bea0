"""Address management: subnets for networks from the default pools, addresses within a subnet."""
from __future__ import annotations

import ipaddress
from typing import Iterable

from hithe.errors import Forbidden, InvalidParameter

# dockerd's default-address-pools
DEFAULT_POOLS = [{"base": "172.17.0.0/16", "size": 16}, {"base": "172.18.0.0/16", "size": 16},
                 {"base": "172.19.0.0/16", "size": 16}, {"base": "172.20.0.0/14", "size": 16},
                 {"base": "172.24.0.0/14", "size": 16}, {"base": "172.28.0.0/14", "size": 16},
                 {"base": "192.168.0.0/16", "size": 20}]


def parse_pools(pools: list[dict]) -> list[tuple[ipaddress.IPv4Network, int]]:
    out = []
    for p in pools or DEFAULT_POOLS:
        try:
            base = ipaddress.IPv4Network(str(p["base"]), strict=False)
            size = int(p["size"])
        except (KeyError, ValueError, TypeError) as e:
            raise InvalidParameter(f"invalid default-address-pools entry {p!r}: {e}") from None
        if not base.prefixlen <= size <= 30:
            raise InvalidParameter(f"invalid default-address-pools entry {p!r}: size must be /{base.prefixlen}../30")
        out.append((base, size))
    return out


def pick_subnet(pools: list[tuple[ipaddress.IPv4Network, int]],
                used: Iterable[ipaddress.IPv4Network]) -> ipaddress.IPv4Network:
    """The first pool subnet overlapping none of `used` (our networks and the host's routes)."""
    used = list(used)
    for base, size in pools:
        for sub in base.subnets(new_prefix=size):
            if not any(sub.overlaps(u) for u in used):
                return sub
    raise Forbidden("could not find an available, non-overlapping IPv4 address pool among the "
                    "defaults to assign to the network")


def parse_config(subnet: str, gateway: str, ip_range: str) -> tuple[str, str, str]:
    """Validate a user's IPAM.Config entry; returns (subnet, gateway, ip_range) normalised."""
    try:
        net = ipaddress.IPv4Network(subnet, strict=False)
    except ValueError:
        raise InvalidParameter(f"invalid subnet {subnet}: invalid CIDR address: {subnet}") from None
    if net.prefixlen > 30:
        raise InvalidParameter(f"invalid subnet {subnet}: too small for a network")
    if gateway:
        try:
            gw = ipaddress.IPv4Address(gateway)
        except ValueError:
            raise InvalidParameter(f"invalid gateway address {gateway}") from None
        if gw not in net:
            raise InvalidParameter(f"no matching subnet for gateway {gateway}")
    else:
        gw = next(net.hosts())
    if ip_range:
        try:
            rng = ipaddress.IPv4Network(ip_range, strict=False)
        except ValueError:
            raise InvalidParameter(f"invalid ip-range {ip_range}") from None
        if not rng.subnet_of(net):
            raise InvalidParameter(f"no matching subnet for range {ip_range}")
        ip_range = str(rng)
    return str(net), str(gw), ip_range


class AddressPool:
    """Addresses handed out in one network's subnet (the gateway is never handed out)."""

    def __init__(self, subnet: str, gateway: str, ip_range: str = "") -> None:
        self.net = ipaddress.IPv4Network(subnet)
        self.gateway = ipaddress.IPv4Address(gateway)
        self.range = ipaddress.IPv4Network(ip_range) if ip_range else self.net
        self.used: set[ipaddress.IPv4Address] = set()
        self._next = int(self.range.network_address) + 1

    def reserve(self, ip: str) -> str:
        """A specific address (--ip): in the subnet, not the gateway, not taken."""
        try:
            a = ipaddress.IPv4Address(ip)
        except ValueError:
            raise InvalidParameter(f"invalid IPv4 address: {ip}") from None
        if a not in self.net or a in (self.net.network_address, self.net.broadcast_address):
            raise InvalidParameter(f"invalid endpoint settings: user specified IP address {ip} is "
                                   f"not in the network's subnet {self.net}")
        if a == self.gateway or a in self.used:
            raise Forbidden(f"Address already in use")
        self.used.add(a)
        return str(a)

    def allocate(self) -> str:
        """The next free address after the last one handed out (Docker's sequential order)."""
        lo = int(self.range.network_address) + (0 if self.range != self.net else 1)
        hi = int(self.range.broadcast_address) - (0 if self.range != self.net else 1)
        if self.range != self.net:  # an ip-range never reaches the subnet's own network/broadcast
            lo = max(lo, int(self.net.network_address) + 1)
            hi = min(hi, int(self.net.broadcast_address) - 1)
        n = hi - lo + 1
        start = self._next if lo <= self._next <= hi else lo
        for i in range(n):
            cand = ipaddress.IPv4Address(lo + (start - lo + i) % n)
            if cand != self.gateway and cand not in self.used:
                self.used.add(cand)
                self._next = int(cand) + 1
                return str(cand)
        raise Forbidden(f"no available IPv4 addresses on this network's address pools: {self.net}")

    def release(self, ip: str) -> None:
        try:
            self.used.discard(ipaddress.IPv4Address(ip))
        except ValueError:
            pass


def mac_for(ip: str) -> str:
    """Docker's MAC for an address: 02:42 and the four bytes of the IPv4 address."""
    b = ipaddress.IPv4Address(ip).packed
    return "02:42:" + ":".join(f"{x:02x}" for x in b)
