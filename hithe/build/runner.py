"""RUN: the command in a real container (conmon + runc), its output streamed as it comes.

The container is an ordinary one of the engine (so `ps -a` shows it while it
runs); its networking is what containers get today: loopback only, no bridge.
"""
from __future__ import annotations

import asyncio
from typing import Any, Callable

from hithe.client.stream import FrameReader
from hithe.containers.spec import CreateSpec
from hithe.errors import HitheError


async def create_build_container(containers: Any, image_id: str, cmd: list[str], *, env: list[str],
                                 workdir: str, user: str) -> Any:
    spec = CreateSpec(image=image_id, cmd=cmd, entrypoint=[""], env=env, working_dir=workdir,
                      user=user, network_mode="default")
    c, _ = await containers.create(spec, None)
    return c


async def run_container(containers: Any, c: Any, emit: Callable[[str], None]) -> int:
    """Start `c`, pass its output to `emit` line by line, return its exit code."""
    try:
        await containers.start(c.id)
    except HitheError as e:
        emit(e.message.rstrip("\n") + "\n")
        return c.state.exit_code or 127
    done = containers.register_wait(c.id, "not-running")
    frames = FrameReader()
    pending = b""
    stream = containers.logs(c, follow=True, stdout=True, stderr=True, since_ns=0, until_ns=None,
                             tail=None, timestamps=False)
    async for chunk in stream:
        for _, payload in frames.feed(chunk):
            pending += payload
            if b"\n" in pending:
                head, _, pending = pending.rpartition(b"\n")
                emit(head.decode("utf-8", "replace") + "\n")
    if pending:
        emit(pending.decode("utf-8", "replace"))
    return await asyncio.wait_for(done, 60)
