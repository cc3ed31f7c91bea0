"""Network and endpoint records (ours, not Docker's wire JSON; hithe/network/render.py makes that)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

PREDEFINED = ("bridge", "host", "none")


@dataclass
class Network:
    id: str
    name: str
    driver: str                  # bridge | host | null
    created: str
    subnet: str = ""             # "10.1.2.0/24"; empty for host/none
    gateway: str = ""
    ip_range: str = ""
    internal: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    bridge: str = ""             # the Linux bridge's name
    ipam_config: bool = False    # the user gave IPAM.Config (shown back as given)

    @property
    def predefined(self) -> bool:
        return self.name in PREDEFINED

    @property
    def user_defined(self) -> bool:
        return not self.predefined

    def to_doc(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_doc(cls, d: dict[str, Any]) -> "Network":
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


@dataclass
class PortMap:
    """One published port: container port/proto to host ip:port."""
    port: int
    proto: str
    host_ip: str = ""            # "" means every address (0.0.0.0)
    host_port: int = 0           # 0: pick one from the ephemeral range
    host_port_end: int = 0       # a range "8000-8010" to pick from, 0 when a single port

    def key(self) -> str:
        return f"{self.port}/{self.proto}"


@dataclass
class Endpoint:
    """A container's attachment to one network while it runs."""
    network_id: str
    endpoint_id: str
    ifname: str                  # inside the container: eth0, eth1, ...
    veth: str                    # the host side, enslaved to the bridge
    ip: str
    prefixlen: int
    gateway: str
    mac: str
    aliases: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)   # "name:alias"


@dataclass
class Attachment:
    """What a container asked for (kept while it exists) and what it has while running."""
    cid: str
    # network id -> {"aliases": [...], "links": [...], "ip": "..."}: the wanted endpoints
    wanted: dict[str, dict[str, Any]] = field(default_factory=dict)
    netns: str = ""
    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    ports: list[PortMap] = field(default_factory=list)        # bound host ports while running

    def to_doc(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_doc(cls, d: dict[str, Any]) -> "Attachment":
        return cls(cid=d["cid"], wanted=d.get("wanted") or {}, netns=d.get("netns") or "",
                   endpoints={k: Endpoint(**v) for k, v in (d.get("endpoints") or {}).items()},
                   ports=[PortMap(**p) for p in d.get("ports") or []])
