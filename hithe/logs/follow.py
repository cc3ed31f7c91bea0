"""``docker logs -f``: keep reading as conmon appends, across rotations.

Polling, not inotify: a follower re-reads every 50-200 ms (faster while
data flows), and the container's exit event wakes it at once. That costs a
few syscalls per follower per tick, needs no inotify instance (the default
``max_user_instances`` is 128 per user, which many concurrent ``logs -f``
would exhaust unless shared through one loop-wide watcher), and it sees a
rename-over by comparing inodes, which an inotify watch on the old inode
would not report without a second watch on the directory. Humans and
scripts do not notice 0.1 s of latency.

conmon closes the old file before it renames the new one over PATH, so once
PATH names a new inode the old descriptor can be drained to its end and
dropped.
"""
from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import TypeVar

from .blocks import Batch, BlockProcessor, Query
from .frames import encode_batch
from .reader import LogReader
from .rotation import log_paths

POLL_MIN = 0.05
POLL_MAX = 0.2
CHUNK = 512 << 10  # read at most this much between yields to the loop
MAX_LINE = 1 << 20

T = TypeVar("T")


@dataclass
class _Cursor:
    fd: int
    dev: int
    ino: int
    offset: int  # start of the first line not yet processed


def _open(path: str, offset: int) -> _Cursor | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    st = os.fstat(fd)
    return _Cursor(fd, st.st_dev, st.st_ino, offset)


def _start(path: str, offset: int, ino: int | None, dev: int | None) -> list[_Cursor]:
    """Cursors to drain in order; the last one is the file being written.

    If conmon rotated after the history was read from inode ``ino``, that
    generation lives on as PATH.keep or PATH.N (LogKeeper): finish it and
    any newer generation before PATH.
    """
    if ino is None:
        cur = _open(path, offset)
        return [cur] if cur else []
    names = log_paths(path)  # oldest first, PATH last
    cursors: list[_Cursor] = []
    found = False
    for name in names:
        c = _open(name, 0)
        if c is None:
            continue
        if not found and c.ino == ino and (dev is None or c.dev == dev):
            found = True
            c.offset = offset
        if found:
            cursors.append(c)
        else:
            os.close(c.fd)
    if not found:  # that generation is gone: the current file from its start
        cur = _open(path, 0)
        return [cur] if cur else []
    return cursors


async def _follow_batches(path: str, *, start_offset: int, start_ino: int | None,
                          start_dev: int | None, exited: asyncio.Event | None,
                          query: Query, poll_min: float, poll_max: float
                          ) -> AsyncIterator[Batch]:
    proc = BlockProcessor(query)
    # Older generations to finish first (after a rotation), then PATH.
    queue = _start(path, start_offset, start_ino, start_dev)
    cur = queue.pop(0) if queue else None
    carry = b""
    delay = poll_min
    exiting = False
    try:
        while True:
            if cur is None:
                cur = _open(path, 0)
                carry = b""
            got = False
            while cur is not None:
                chunk = os.pread(cur.fd, CHUNK, cur.offset + len(carry))
                if not chunk:
                    break
                got = True
                j = chunk.rfind(b"\n")
                if j < 0:
                    carry += chunk
                    if len(carry) > MAX_LINE:  # not conmon output: skip it
                        cur.offset += len(carry)
                        carry = b""
                    continue
                block = b"".join((b"\n", carry, memoryview(chunk)[:j + 1]))
                cur.offset += len(block) - 1
                carry = chunk[j + 1:]
                batch = proc.process(block)
                if batch:
                    yield batch
                if proc.done:
                    return
                await asyncio.sleep(0)  # let the loop breathe between chunks
            if queue:
                # A finished generation: on to the next one.
                os.close(cur.fd)
                cur = queue.pop(0)
                carry = b""
                continue
            if cur is not None and os.fstat(cur.fd).st_size < cur.offset + len(carry):
                # Truncated in place (`truncate -s 0` is a common way to clear
                # docker logs); conmon appends (O_APPEND) from the new end.
                cur.offset = 0
                carry = b""
                continue
            if cur is not None and _replaced(path, cur):
                # Rotated: the old file is complete and was just drained.
                # An unterminated tail there is a torn record: drop it.
                os.close(cur.fd)
                cur = _open(path, 0)
                carry = b""
                continue
            # Drained for now: show lines still waiting for their end, as
            # docker shows each partial entry as it comes.
            batch = proc.flush()
            if batch:
                yield batch
            if exiting:
                return
            if query.until_ns is not None and time.time_ns() > query.until_ns:
                return  # nothing newer than --until can come
            if exited is not None and exited.is_set():
                exiting = True  # one more full pass: conmon wrote before exiting
                continue
            delay = poll_min if got else min(delay * 2, poll_max)
            await _wait(exited, delay)
    finally:
        for c in [cur, *queue]:
            if c is not None:
                os.close(c.fd)


def _replaced(path: str, cur: _Cursor) -> bool:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False  # removed: keep the descriptor until the exit event
    return (st.st_dev, st.st_ino) != (cur.dev, cur.ino)


async def _wait(event: asyncio.Event | None, delay: float) -> None:
    if event is None:
        await asyncio.sleep(delay)
        return
    try:
        await asyncio.wait_for(event.wait(), delay)
    except asyncio.TimeoutError:
        pass


async def follow_logs(path: str, *, start_offset: int = 0, start_ino: int | None = None,
                      start_dev: int | None = None, exited: asyncio.Event | None = None,
                      stdout: bool = True, stderr: bool = True, since_ns: int = 0,
                      until_ns: int | None = None, timestamps: bool = False,
                      poll_min: float = POLL_MIN, poll_max: float = POLL_MAX
                      ) -> AsyncIterator[tuple[int, bytes]]:
    """Lines appended to ``path`` from ``start_offset`` on, as (stream, line).

    ``start_ino``/``start_dev`` (from LogReader.end) name the file the offset
    belongs to, in case conmon rotated after the history was read. Ends once
    ``exited`` is set and everything written has been read, or at until_ns.
    """
    query = Query(stdout=stdout, stderr=stderr, since_ns=since_ns, until_ns=until_ns,
                  timestamps=timestamps)
    async for batch in _follow_batches(path, start_offset=start_offset, start_ino=start_ino,
                                       start_dev=start_dev, exited=exited, query=query,
                                       poll_min=poll_min, poll_max=poll_max):
        for stream, payload in batch:
            parts = bytes(payload).split(b"\n")
            last = parts.pop()
            for p in parts:
                yield stream, p + b"\n"
            if last:
                yield stream, last


async def follow_log_frames(path: str, *, start_offset: int = 0, start_ino: int | None = None,
                            start_dev: int | None = None, exited: asyncio.Event | None = None,
                            stdout: bool = True, stderr: bool = True, since_ns: int = 0,
                            until_ns: int | None = None, timestamps: bool = False,
                            raw: bool = False, poll_min: float = POLL_MIN,
                            poll_max: float = POLL_MAX) -> AsyncIterator[bytes]:
    """follow_logs as ready-to-send buffers (stdcopy frames, or raw for TTY)."""
    query = Query(stdout=stdout, stderr=stderr, since_ns=since_ns, until_ns=until_ns,
                  timestamps=timestamps, merge=raw)
    async for batch in _follow_batches(path, start_offset=start_offset, start_ino=start_ino,
                                       start_dev=start_dev, exited=exited, query=query,
                                       poll_min=poll_min, poll_max=poll_max):
        yield b"".join(batch.payloads) if raw else encode_batch(batch.streams, batch.payloads)


async def iterate_in_thread(it: Iterator[T], *, prefetch: int = 4) -> AsyncIterator[T]:
    """Run a blocking iterator in a worker thread; items arrive in order.

    The thread runs up to ``prefetch`` items ahead (bounded memory). Closing
    the async iterator early (wrap it in ``contextlib.aclosing`` when you may
    stop before the end) stops the thread at its next item.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[bool, object]] = asyncio.Queue(prefetch)
    stop = threading.Event()

    def put(item: tuple[bool, object]) -> None:
        try:
            fut = asyncio.run_coroutine_threadsafe(queue.put(item), loop)
        except RuntimeError:  # the loop is gone: nobody is listening
            stop.set()
            return
        while not stop.is_set():
            try:
                fut.result(timeout=0.5)
                return
            except TimeoutError:
                continue
        fut.cancel()

    def work() -> None:
        try:
            for item in it:
                if stop.is_set():
                    break
                put((True, item))
            put((False, None))
        except BaseException as exc:  # handed to the consumer
            put((False, exc))
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=work, name="hithe-logs", daemon=True)
    thread.start()
    try:
        while True:
            ok, item = await queue.get()
            if not ok:
                if isinstance(item, BaseException):
                    raise item
                return
            yield item  # type: ignore[misc]
    finally:
        stop.set()


async def log_stream(path: str, *, follow: bool = False, exited: asyncio.Event | None = None,
                     raw: bool = False, stdout: bool = True, stderr: bool = True,
                     since_ns: int = 0, until_ns: int | None = None, tail: int | None = None,
                     timestamps: bool = False) -> AsyncIterator[bytes]:
    """What GET /containers/{id}/logs sends: history, then (follow) new data.

    The history is read in a thread; following continues from exactly where
    it stopped (same inode and offset), so nothing is shown twice or lost.
    Call LogKeeper.check() first so that a pending rotation is absorbed.
    """
    reader = LogReader(log_paths(path), stdout=stdout, stderr=stderr, since_ns=since_ns,
                       until_ns=until_ns, tail=tail, timestamps=timestamps, merge=raw)
    async for buf in iterate_in_thread(reader.frames(raw=raw)):
        yield buf
    if not follow:
        return
    end = reader.end
    if end is None and reader.query.until_ns is not None:
        return  # stopped at --until: nothing newer may be shown
    async for buf in follow_log_frames(
            path, start_offset=end.offset if end else 0, start_ino=end.ino if end else None,
            start_dev=end.dev if end else None, exited=exited, stdout=stdout, stderr=stderr,
            since_ns=since_ns, until_ns=until_ns, timestamps=timestamps, raw=raw):
        yield buf
