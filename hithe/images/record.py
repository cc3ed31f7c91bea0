"""Image records: the OCI image config plus what the engine knows about it."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Image:
    id: str                          # "sha256:<config digest>"
    config: dict[str, Any]           # the OCI/Docker image config document
    top_layer: str | None            # chain ID of the topmost layer
    size: int                        # uncompressed bytes of all layers
    created: str                     # RFC3339 from the config
    parent: str = ""                 # local parent image (builds, commits)
    repo_digests: list[str] = field(default_factory=list)
    repo_tags: list[str] = field(default_factory=list)  # filled from the refs table
    manifest: str = ""               # digest of the OCI manifest in the content store

    @property
    def diff_ids(self) -> list[str]:
        return list(self.config.get("rootfs", {}).get("diff_ids", []))

    @property
    def container_config(self) -> dict[str, Any]:
        return self.config.get("config") or {}

    def to_doc(self) -> dict[str, Any]:
        return {"id": self.id, "config": self.config, "top_layer": self.top_layer, "size": self.size,
                "created": self.created, "parent": self.parent, "repo_digests": self.repo_digests,
                "manifest": self.manifest}

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> "Image":
        return cls(id=doc["id"], config=doc["config"], top_layer=doc.get("top_layer"), size=doc["size"],
                   created=doc["created"], parent=doc.get("parent", ""),
                   repo_digests=doc.get("repo_digests", []), manifest=doc.get("manifest", ""))
