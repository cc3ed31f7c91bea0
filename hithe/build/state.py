"""What one build stage carries from step to step: its image, config and variables."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DEFAULT_SHELL = ["/bin/sh", "-c"]
# Docker's predefined build args: usable without an ARG line, never reported as unused,
# and left out of the image history.
PROXY_ARGS = frozenset({"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",
                        "ftp_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"})


@dataclass
class Stage:
    name: str
    index: int
    image_id: str = ""                 # "" while on scratch with no step yet
    parent_config: dict[str, Any] = field(default_factory=dict)   # the whole image config document
    config: dict[str, Any] = field(default_factory=dict)          # its "config" part, being changed
    args: dict[str, str | None] = field(default_factory=dict)      # ARGs declared in this stage
    author: str = ""
    cmd_set: bool = False              # a CMD was given in this stage (ENTRYPOINT keeps it)

    @property
    def env_list(self) -> list[str]:
        return list(self.config.get("Env") or [])

    def env_map(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for e in self.env_list:
            k, _, v = e.partition("=")
            out[k] = v
        return out

    def set_env(self, key: str, value: str) -> None:
        env = [e for e in self.env_list if e.partition("=")[0] != key]
        env.append(f"{key}={value}")
        self.config["Env"] = env

    @property
    def shell(self) -> list[str]:
        return list(self.config.get("Shell") or DEFAULT_SHELL)

    def expansion_env(self, build_args: dict[str, str | None]) -> dict[str, str]:
        """Variables for expansion: the declared ARGs (with the user's values), ENV winning."""
        out: dict[str, str] = {}
        for k, default in self.args.items():
            v = build_args.get(k) if build_args.get(k) is not None else default
            if v is not None:
                out[k] = v
        out.update(self.env_map())
        return out

    def run_args(self, build_args: dict[str, str | None]) -> list[str]:
        """K=V of the ARGs a RUN sees in its environment, in declaration order (ENV overrides)."""
        env = self.env_map()
        out = []
        for k, default in self.args.items():
            v = build_args.get(k) if build_args.get(k) is not None else default
            if v is not None and k not in env:
                out.append(f"{k}={v}")
        return out
