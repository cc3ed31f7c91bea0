"""What a build was asked for (POST /build's query, parsed)."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class BuildOptions:
    tags: list[str] = field(default_factory=list)
    dockerfile: str = "Dockerfile"
    build_args: dict[str, str | None] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    target: str = ""
    no_cache: bool = False
    quiet: bool = False
    rm: bool = True
    force_rm: bool = False
    pull: bool = False
    registry_auth: dict[str, dict[str, str]] = field(default_factory=dict)  # X-Registry-Config
