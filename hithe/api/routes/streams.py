"""Long bodies produced in a worker thread (export) and streamed out."""
from __future__ import annotations

import asyncio
import threading
from typing import Any, AsyncIterator

from hithe.archive import write_tree_tar


class _QueueWriter:
    """A file-like sink handing chunks to the event loop, with back-pressure."""

    def __init__(self, loop: asyncio.AbstractEventLoop, q: "asyncio.Queue[bytes | None]") -> None:
        self.loop, self.q = loop, q
        self.buf = bytearray()

    def write(self, data: bytes) -> int:
        self.buf += data
        if len(self.buf) >= 256 * 1024:
            self.flush()
        return len(data)

    def flush(self) -> None:
        if self.buf:
            chunk, self.buf = bytes(self.buf), bytearray()
            asyncio.run_coroutine_threadsafe(self.q.put(chunk), self.loop).result()


async def export_stream(svc: Any, c: Any) -> AsyncIterator[bytes]:
    loop = asyncio.get_running_loop()
    q: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=8)
    d = svc.dir_of(c)
    err: list[BaseException] = []

    def work() -> None:
        w = _QueueWriter(loop, q)
        mounted_here = not c.state.running
        try:
            rootfs = svc.snap.mount(d, c.top_layer)
            try:
                write_tree_tar(rootfs, w)  # type: ignore[arg-type]
                w.flush()
            finally:
                if mounted_here and not c.state.running:
                    svc.snap.unmount(d)
        except BaseException as e:  # noqa: BLE001 - reported by closing the stream early
            err.append(e)
        finally:
            asyncio.run_coroutine_threadsafe(q.put(None), loop).result()

    threading.Thread(target=work, daemon=True).start()
    yield b""
    while True:
        chunk = await q.get()
        if chunk is None:
            break
        yield chunk
