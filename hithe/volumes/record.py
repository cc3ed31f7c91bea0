"""Volume records and Docker's JSON shape for them."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Docker 23+ marks anonymous volumes with this label; `volume prune` (API >= 1.42) removes
# only those unless asked for all=true.
ANONYMOUS_LABEL = "com.docker.volume.anonymous"


@dataclass
class Volume:
    name: str
    driver: str
    created_at: str                      # RFC 3339, seconds
    mountpoint: str                      # <data-root>/volumes/<name>/_data
    labels: dict[str, str] | None = None  # None: the creator gave none (Docker shows null)
    options: dict[str, str] | None = None
    scope: str = "local"

    @property
    def anonymous(self) -> bool:
        return ANONYMOUS_LABEL in (self.labels or {})

    def to_doc(self) -> dict[str, Any]:
        return {"name": self.name, "driver": self.driver, "created_at": self.created_at,
                "mountpoint": self.mountpoint, "labels": self.labels, "options": self.options,
                "scope": self.scope}

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> "Volume":
        return cls(**doc)


@dataclass
class Usage:
    size: int = -1       # -1: not computed (Docker's value outside `system df`)
    ref_count: int = -1


def render(v: Volume, usage: Usage | None = None, status: dict[str, Any] | None = None) -> dict[str, Any]:
    """Docker's Volume object, keys in Go's struct order."""
    doc: dict[str, Any] = {
        "CreatedAt": v.created_at, "Driver": v.driver, "Labels": v.labels,
        "Mountpoint": v.mountpoint, "Name": v.name, "Options": v.options, "Scope": v.scope,
    }
    if status:
        doc["Status"] = status
    if usage is not None:
        doc["UsageData"] = {"RefCount": usage.ref_count, "Size": usage.size}
    return doc

