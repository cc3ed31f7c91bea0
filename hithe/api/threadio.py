"""Blocking work in a thread, bytes through the event loop.

Tar writers and extractors are plain blocking code over file objects. Two
adapters let them run in a worker thread while the event loop serves the
connection: ``thread_stream`` turns a writer into a streamed response body
(with back-pressure, and stopping the thread when the client goes away), and
``BodyFile`` gives a thread a blocking ``read()`` over a request body.
"""
from __future__ import annotations

import asyncio
import threading
from typing import Any, AsyncIterator, Callable

from hithe.api.message import BodyReader

_CHUNK = 256 * 1024
_QUEUED = 8  # chunks in flight: ~2 MiB of buffering per response


class ClientGone(Exception):
    """The client went away: raised inside the writer thread to stop it."""


class _QueueWriter:
    """A file-like sink for the worker thread, handing chunks to the response."""

    def __init__(self, loop: asyncio.AbstractEventLoop, q: "asyncio.Queue[bytes | None]",
                 gone: threading.Event) -> None:
        self.loop, self.q, self.gone = loop, q, gone
        self.buf = bytearray()

    def write(self, data: bytes) -> int:
        self.buf += data
        if len(self.buf) >= _CHUNK:
            self.flush()
        return len(data)

    def flush(self) -> None:
        if self.buf:
            chunk, self.buf = bytes(self.buf), bytearray()
            self.put(chunk)

    def put(self, item: bytes | None) -> None:
        fut = asyncio.run_coroutine_threadsafe(self.q.put(item), self.loop)
        while True:
            if self.gone.is_set():
                fut.cancel()
                raise ClientGone()
            try:
                fut.result(timeout=0.5)
                return
            except TimeoutError:
                continue  # queue full: the client reads slowly, or has gone (checked above)


async def thread_stream(produce: Callable[[Any], None], *, close: Callable[[], None] | None = None,
                        name: str = "stream") -> AsyncIterator[bytes]:
    """Run ``produce(writer)`` in a thread and yield what it writes.

    ``close`` runs once the producer is done, or at once if the response never
    starts. The status line has gone out by the time the producer fails, so
    its error is raised from the stream: the server then drops the connection
    without the final chunk, and the client sees a cut-off transfer rather
    than a short body that looks complete."""
    loop = asyncio.get_running_loop()
    q: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=_QUEUED)
    gone = threading.Event()
    w = _QueueWriter(loop, q, gone)
    err: list[BaseException] = []

    def work() -> None:
        try:
            produce(w)
            w.flush()
        except ClientGone:
            pass
        except BaseException as e:  # noqa: BLE001 - raised from the stream below
            err.append(e)
        finally:
            if close is not None:
                close()
            try:
                w.put(None)
            except ClientGone:
                pass

    started = False
    try:
        yield b""  # headers go out before the thread starts
        threading.Thread(target=work, daemon=True, name=name).start()
        started = True
        while True:
            chunk = await q.get()
            if chunk is None:
                break
            yield chunk
    finally:
        gone.set()
        if not started and close is not None:
            close()
    if err:
        raise err[0]


class BodyFile:
    """A blocking read() over the request body, for a worker thread: each chunk is fetched from the loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, reader: BodyReader | None) -> None:
        self.loop, self.reader = loop, reader
        self.buf = bytearray()
        self.eof = reader is None

    def _more(self) -> None:
        assert self.reader is not None
        try:
            chunk = asyncio.run_coroutine_threadsafe(self.reader.__anext__(), self.loop).result()
        except StopAsyncIteration:
            self.eof = True
            return
        self.buf += chunk

    def read(self, n: int = -1) -> bytes:
        while not self.eof and (n < 0 or len(self.buf) < n):
            self._more()
        if n < 0 or n >= len(self.buf):
            data, self.buf = bytes(self.buf), bytearray()
        else:
            data, self.buf = bytes(self.buf[:n]), self.buf[n:]
        return data

    def readinto(self, b: Any) -> int:
        data = self.read(len(b))
        b[:len(data)] = data
        return len(data)
