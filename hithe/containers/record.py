"""Container records and their state machine."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from hithe.containers.mountspec import MountPoint
from hithe.containers.spec import CreateSpec, LogConfig, RestartPolicy
from hithe.errors import Conflict
from hithe.util.timefmt import ZERO_TIME

# Docker's states, and which moves between them are allowed.
CREATED, RUNNING, PAUSED, RESTARTING, REMOVING, EXITED, DEAD = (
    "created", "running", "paused", "restarting", "removing", "exited", "dead")


@dataclass
class State:
    status: str = CREATED
    pid: int = 0
    exit_code: int = 0
    oom_killed: bool = False
    error: str = ""
    started_at: str = ZERO_TIME
    finished_at: str = ZERO_TIME
    conmon_pid: int = 0
    restart_count: int = 0
    # the user stopped it (stop/kill): restart policies other than "always" stay quiet
    manually_stopped: bool = False
    # Docker's State.Health ({"Status", "FailingStreak", "Log"}) once a health check ran; see health.py
    health: dict[str, Any] | None = None

    @property
    def running(self) -> bool:
        return self.status in (RUNNING, PAUSED)


@dataclass
class Container:
    id: str
    name: str
    created: str
    spec: CreateSpec
    image_id: str
    top_layer: str | None
    path: str                  # resolved entrypoint + cmd
    args: list[str]
    env: list[str]             # image env merged with the user's
    working_dir: str
    user: str
    hostname: str
    stop_signal: str
    image_config: dict[str, Any] = field(default_factory=dict)
    state: State = field(default_factory=State)
    mounts: list[MountPoint] = field(default_factory=list)   # volumes, binds, tmpfs (not --tmpfs)

    @property
    def short_id(self) -> str:
        return self.id[:12]

    def require_not_running(self, action: str) -> None:
        if self.state.running:
            raise Conflict(f"cannot {action} container {self.id}: container is running")

    def to_doc(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> "Container":
        sd = dict(doc["spec"])
        sd["restart"] = RestartPolicy(**sd["restart"])
        sd["log"] = LogConfig(**sd["log"])
        d = dict(doc)
        d["spec"] = CreateSpec(**sd)
        d["state"] = State(**doc["state"])
        d["mounts"] = [MountPoint.from_doc(m) for m in doc.get("mounts") or []]
        return cls(**d)
