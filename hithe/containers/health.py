"""Health checks: the probe scheduler and the health state machine (moby's daemon/health.go).

One asyncio timer per monitored container, nothing else idles: when it fires,
a probe runs as an exec inside the container (hithe/containers/execs.py,
`run_probe`), its result goes through `record_result`, and the next timer is
set.  The monitor follows the container's life through the event bus
("start" resets to `starting`, "pause"/"die" stop probing and leave
`unhealthy` as Docker does, "unpause" resumes); `resume` re-adopts running
containers after a daemon restart.  The state (`State.Health` in Docker's
shape) lives in the container record and is saved when its status changes.
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hithe.containers import health_config
from hithe.containers.health_config import Timing
from hithe.containers.record import RUNNING, Container
from hithe.errors import HitheError, NotFound
from hithe.util.timefmt import parse_rfc3339, rfc3339_ns

if TYPE_CHECKING:
    from hithe.containers.execs import ExecService
    from hithe.containers.service import ContainerService
    from hithe.events.bus import Event, EventBus

log = logging.getLogger("hithe.health")

STARTING, HEALTHY, UNHEALTHY, NONE = "starting", "healthy", "unhealthy", "none"
MAX_LOG_ENTRIES = 5
MAX_OUTPUT = 4096


@dataclass
class ProbeResult:
    start_ns: int
    end_ns: int
    exit_code: int
    output: str

    def to_doc(self) -> dict[str, Any]:
        return {"Start": rfc3339_ns(self.start_ns), "End": rfc3339_ns(self.end_ns),
                "ExitCode": self.exit_code, "Output": self.output}


def new_health(previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """A (re)started container's health: starting, no failures; the log of earlier runs is kept."""
    return {"Status": STARTING, "FailingStreak": 0, "Log": list((previous or {}).get("Log") or [])}


def record_result(health: dict[str, Any], result: ProbeResult, timing: Timing, started_at_ns: int) -> bool:
    """Fold one probe result into `health` (in place); True when the status changed."""
    old = health.get("Status", STARTING)
    entries = health.setdefault("Log", [])
    entries.append(result.to_doc())
    del entries[:-MAX_LOG_ENTRIES]
    if result.exit_code == 0:
        health["FailingStreak"] = 0
        health["Status"] = HEALTHY
    else:
        # Failures while still starting, inside the start period, do not count.
        in_grace = old == STARTING and result.start_ns - started_at_ns < timing.start_period * 1e9
        if not in_grace:
            health["FailingStreak"] = int(health.get("FailingStreak", 0)) + 1
            if health["FailingStreak"] >= timing.retries:
                health["Status"] = UNHEALTHY
    return health["Status"] != old


def next_delay(timing: Timing, started_at: float, now: float, status: str) -> float:
    """Seconds until the next probe: the start interval while starting inside the start
    period, a probe right at the end of the start period, the interval otherwise."""
    elapsed = now - started_at
    if elapsed >= timing.start_period:
        return timing.interval
    remaining = timing.start_period - elapsed
    if remaining < timing.interval:
        return remaining
    return timing.start_interval if status == STARTING else timing.interval


def limit_output(data: bytes) -> str:
    """Docker keeps the first 4096 bytes of a probe's output, and says "..." when it cut."""
    text = data[:MAX_OUTPUT].decode(errors="replace")
    return text + "..." if len(data) > MAX_OUTPUT else text


def config_of(c: Container) -> dict[str, Any] | None:
    """The container's effective health config: its own, completed from the image's."""
    return health_config.merge(c.spec.healthcheck, c.image_config.get("Healthcheck"))


def health_status(c: Container) -> str:
    """What `ps --filter health=` compares: "none" without a health check."""
    return (c.state.health or {}).get("Status") or NONE


class HealthMonitor:
    def __init__(self, containers: "ContainerService", execs: "ExecService", events: "EventBus") -> None:
        self.svc = containers
        self.execs = execs
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._gen: dict[str, int] = {}       # the current monitoring run per container
        self._tasks: set[asyncio.Task[None]] = set()
        self._next_gen = 0
        events.listen(self._on_event)

    # --- following the container's life -------------------------------------
    def _on_event(self, ev: "Event") -> None:
        if ev.type != "container":
            return
        action = ev.action
        if action not in ("start", "unpause", "pause", "die", "destroy"):
            return
        try:
            c = self.svc.get(ev.actor_id)
        except (NotFound, HitheError):
            self._stop_timer(ev.actor_id)
            return
        if action == "start":
            self.begin(c, reset=True)
        elif action == "unpause":
            self.begin(c, reset=False)
        else:
            self.end(c, save=action != "destroy")

    def resume(self) -> None:
        """After a daemon restart: probe the running containers again, from `starting`."""
        for c in self.svc.all():
            if c.state.status == RUNNING:
                self.begin(c, reset=True)

    def begin(self, c: Container, *, reset: bool) -> None:
        if health_config.probe_command(config_of(c)) is None:
            return
        self._stop_timer(c.id)
        if reset or c.state.health is None:
            c.state.health = new_health(c.state.health)
        self._next_gen += 1
        self._gen[c.id] = self._next_gen
        self._schedule(c, self._next_gen)

    def end(self, c: Container, *, save: bool = True) -> None:
        """Stop probing; Docker reports a container whose monitor stopped as unhealthy."""
        was_active = self._stop_timer(c.id)
        if was_active and c.state.health is not None:
            c.state.health["Status"] = UNHEALTHY
            if save:
                self.svc._save(c)

    def _stop_timer(self, cid: str) -> bool:
        handle = self._timers.pop(cid, None)
        if handle is not None:
            handle.cancel()
        return self._gen.pop(cid, None) is not None

    # --- probing --------------------------------------------------------------
    def _schedule(self, c: Container, gen: int) -> None:
        timing = Timing.of(config_of(c) or {})
        status = (c.state.health or {}).get("Status", STARTING)
        delay = next_delay(timing, parse_rfc3339(c.state.started_at), time.time(), status)
        loop = asyncio.get_running_loop()
        self._timers[c.id] = loop.call_later(max(0.0, delay), self._fire, c.id, gen)

    def _fire(self, cid: str, gen: int) -> None:
        self._timers.pop(cid, None)
        if self._gen.get(cid) != gen:
            return
        try:
            c = self.svc.get(cid)
        except HitheError:
            self._gen.pop(cid, None)
            return
        task = asyncio.get_running_loop().create_task(self._probe(c, gen))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _probe(self, c: Container, gen: int) -> None:
        cfg = config_of(c) or {}
        cmd = health_config.probe_command(cfg)
        if cmd is None:
            return
        timing = Timing.of(cfg)
        start = time.time_ns()
        try:
            code, data, timed_out = await self.execs.run_probe(c, cmd, timing.timeout)
            output = limit_output(data)
        except HitheError as e:
            code, output, timed_out = -1, e.message, False
        except Exception as e:  # noqa: BLE001 - a probe error is a failed probe, never a dead monitor
            log.warning("health check of %s: %s", c.short_id, e)
            code, output, timed_out = -1, str(e), False
        if timed_out:
            msg = f"Health check exceeded timeout ({health_config.go_duration_string(timing.timeout_ns)})"
            code, output = -1, f"{msg}: {output}" if output else msg
        if self._gen.get(c.id) != gen or c.state.health is None:
            return   # stopped while probing: the result no longer counts, as in Docker
        result = ProbeResult(start, time.time_ns(), code, output)
        started_ns = int(parse_rfc3339(c.state.started_at) * 1e9)
        if record_result(c.state.health, result, timing, started_ns):
            self.svc._save(c)
            self.svc._event(c, "health_status: " + c.state.health["Status"])
        self._schedule(c, gen)
