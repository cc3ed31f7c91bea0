"""In-memory, per-container coordination: waits, attach-before-start, locks."""
from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass, field


@dataclass
class RunState:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    exit_waiters: list[asyncio.Future[int]] = field(default_factory=list)
    removed_waiters: list[asyncio.Future[int]] = field(default_factory=list)
    # attach requests that arrived before start: connected between `runc create` and `runc start`
    pending_attach: list[asyncio.Future[socket.socket]] = field(default_factory=list)
    restart_task: asyncio.Task[None] | None = None
    exited: asyncio.Event = field(default_factory=asyncio.Event)
    handling_exit: bool = False   # an exit is being recorded; a second report of it is ignored

    def notify_exit(self, code: int) -> None:
        for f in self.exit_waiters:
            if not f.done():
                f.set_result(code)
        self.exit_waiters.clear()
        self.exited.set()

    def notify_removed(self, code: int) -> None:
        self.notify_exit(code)
        for f in self.removed_waiters:
            if not f.done():
                f.set_result(code)
        self.removed_waiters.clear()
        for f in self.pending_attach:
            if not f.done():
                f.cancel()
