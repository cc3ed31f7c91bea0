"""The event bus behind `GET /events`: publish, keep a bounded history, fan out."""
from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Callable

HISTORY = 1024
log = logging.getLogger("hithe.events")


@dataclass
class Event:
    type: str            # container, image, network, volume, daemon
    action: str          # create, start, die, destroy, ...
    actor_id: str
    attributes: dict[str, str] = field(default_factory=dict)
    time_ns: int = 0

    def to_json(self) -> dict[str, Any]:
        secs = self.time_ns // 1_000_000_000
        doc: dict[str, Any] = {
            "Type": self.type, "Action": self.action,
            "Actor": {"ID": self.actor_id, "Attributes": self.attributes},
            "scope": "local", "time": secs, "timeNano": self.time_ns,
        }
        if self.type == "container":
            # Deprecated fields Docker still sends; older clients read them.
            doc.update({"status": self.action, "id": self.actor_id,
                        "from": self.attributes.get("image", "")})
        return doc


def matches(ev: Event, filters: dict[str, list[str]]) -> bool:
    for key, values in filters.items():
        if not values:
            continue
        if key == "type" and ev.type not in values:
            return False
        if key in ("event", "action") and not any(ev.action == v or ev.action.startswith(v + ":") for v in values):
            return False
        if key in ("container", "image", "volume", "network"):
            if ev.type != key and not (key == "image" and ev.type == "container"):
                return False
            cands = {ev.actor_id, ev.actor_id[:12], ev.attributes.get("name", "")}
            if key == "image" and ev.type == "container":
                cands = {ev.attributes.get("image", "")}
            if not any(v in cands or (len(v) >= 3 and ev.actor_id.startswith(v)) for v in values):
                return False
        if key == "label":
            ok = False
            for v in values:
                k, _, want = v.partition("=")
                if k in ev.attributes and (not want or ev.attributes[k] == want):
                    ok = True
            if not ok:
                return False
    return True


class EventBus:
    def __init__(self) -> None:
        self.history: deque[Event] = deque(maxlen=HISTORY)
        self._subs: set[asyncio.Queue[Event]] = set()
        self._listeners: list[Callable[[Event], None]] = []

    def listen(self, fn: Callable[[Event], None]) -> None:
        """Call `fn` synchronously for every event (in-daemon observers such as health checks)."""
        self._listeners.append(fn)

    def publish(self, type_: str, action: str, actor_id: str, attributes: dict[str, str] | None = None) -> None:
        ev = Event(type_, action, actor_id, dict(attributes or {}), time.time_ns())
        self.history.append(ev)
        for q in list(self._subs):
            q.put_nowait(ev)
        for fn in self._listeners:
            try:
                fn(ev)
            except Exception:  # noqa: BLE001 - an observer's bug must not break the publisher
                log.exception("event listener failed on %s %s", ev.type, ev.action)

    async def stream(self, *, since_ns: int | None, until_ns: int | None,
                     filters: dict[str, list[str]]) -> AsyncIterator[Event]:
        q: asyncio.Queue[Event] = asyncio.Queue()
        self._subs.add(q)
        try:
            if since_ns is not None:
                for ev in list(self.history):
                    if ev.time_ns >= since_ns and (until_ns is None or ev.time_ns <= until_ns) and matches(ev, filters):
                        yield ev
            if until_ns is not None and until_ns <= time.time_ns():
                return
            while True:
                timeout = None if until_ns is None else max(0.0, (until_ns - time.time_ns()) / 1e9)
                try:
                    ev = await asyncio.wait_for(q.get(), timeout)
                except asyncio.TimeoutError:
                    return
                if until_ns is not None and ev.time_ns > until_ns:
                    return
                if matches(ev, filters):
                    yield ev
        finally:
            self._subs.discard(q)
