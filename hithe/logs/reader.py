"""Reading a container's logs (history): rotated files oldest first.

``read_log_frames`` is what the API serves (ready-to-send buffers, ~1 MiB
each); ``read_logs`` yields one ``(stream, line)`` per log line for callers
that want lines. Both read blocks with ``os.pread`` on descriptors opened up
front, so a LogKeeper shifting ``PATH.N`` names meanwhile cannot make us read
a generation twice or skip one.

Blocking file I/O: in the daemon, iterate these in a thread
(:func:`hithe.logs.follow.iterate_in_thread`).
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

from .blocks import _STRIP, Batch, BlockProcessor, Query
from .frames import encode_batch
from .k8sfile import STDERR, STDOUT, TS_LEN, parse_line, parse_ts

BLOCK = 512 << 10  # amortises per-block work, stays in cache (measured best)
MAX_LINE = 1 << 20  # conmon records are <= 8 KiB + header: longer is garbage
TAIL_BLOCK0 = 64 << 10  # tail reads backwards from 64 KiB, doubling
# After tail's N lines are found, how far back to look for the start of a
# line whose first chunks (P records) precede the window.
LOOKBACK = 1 << 20

_SHIFT = 48  # global position = file index << 48 | offset
_MASK = (1 << _SHIFT) - 1
_NAMES = {STDOUT: b" stdout ", STDERR: b" stderr "}


@dataclass(frozen=True)
class LogPosition:
    """Where a read stopped: the follower continues from here."""

    path: str
    dev: int
    ino: int
    offset: int  # just after the last complete line read


@dataclass
class _File:
    path: str
    fd: int
    dev: int
    ino: int
    limit: int  # size when opened: what this read covers


def _open_files(paths: list[str]) -> list[_File]:
    files: list[_File] = []
    for p in paths:
        try:
            fd = os.open(p, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            continue
        st = os.fstat(fd)
        # The same inode under two names (PATH.keep and PATH before a rotation
        # is absorbed): keep the newest name only.
        for i, f in enumerate(files):
            if (f.dev, f.ino) == (st.st_dev, st.st_ino):
                os.close(f.fd)
                del files[i]
                break
        files.append(_File(p, fd, st.st_dev, st.st_ino, st.st_size))
    return files


def _forward(files: list[_File], start: int, bs: int) -> Iterator[tuple[bytes, int, int, int]]:
    """Blocks of whole lines from global position ``start``.

    Yields (block, base, file index, end offset) with block = b"\\n" + lines.
    An incomplete line at the end of a file is left out (crashed writer in a
    rotated file; a record being written in the current one).
    """
    fi0, off0 = start >> _SHIFT, start & _MASK
    for fi in range(fi0, len(files)):
        f = files[fi]
        pos = off0 if fi == fi0 else 0  # first byte not yet emitted
        carry = b""
        dropping = False
        while True:
            want = f.limit - pos - len(carry)
            if want <= 0:
                break
            chunk = os.pread(f.fd, min(bs, want), pos + len(carry))
            if not chunk:
                break
            if dropping:  # inside an over-long garbage line: skip to its end
                k = chunk.find(b"\n")
                if k < 0:
                    pos += len(chunk)
                    continue
                pos += k + 1
                chunk = chunk[k + 1:]
                dropping = False
            j = chunk.rfind(b"\n")
            if j < 0:
                carry += chunk
                if len(carry) > MAX_LINE:
                    pos += len(carry)
                    carry = b""
                    dropping = True
                continue
            block = b"".join((b"\n", carry, memoryview(chunk)[:j + 1]))
            yield block, (fi << _SHIFT) | pos, fi, pos + len(block) - 1
            pos += len(block) - 1
            carry = chunk[j + 1:]
        yield b"", (fi << _SHIFT) | pos, fi, pos  # end-of-file marker


def _backward(files: list[_File]) -> Iterator[tuple[bytes, int]]:
    """Whole lines from the end backwards: (lines, global base), newest first."""
    for fi in range(len(files) - 1, -1, -1):
        f = files[fi]
        pos = f.limit
        right = b""  # start of a line whose beginning is further back
        trailing = True  # drop bytes after the last newline (incomplete line)
        bs = TAIL_BLOCK0
        while pos > 0:
            start = max(0, pos - bs)
            bs = min(bs * 2, BLOCK)
            data = os.pread(f.fd, pos - start, start)
            if right:
                data += right
                right = b""
            pos = start
            if trailing:
                k = data.rfind(b"\n")
                if k < 0:
                    continue
                data = data[:k + 1]
                trailing = False
            if start > 0:
                i = data.find(b"\n")
                if i < 0:
                    right = data
                    if len(right) > MAX_LINE:  # garbage: drop to previous newline
                        right = b""
                        trailing = True
                    continue
                right = data[:i + 1]
                data = data[i + 1:]
                base = start + i + 1
            else:
                base = 0
            if data:
                yield data, (fi << _SHIFT) | base


def _has_records(lines: bytes, stream: int) -> bool:
    """Does a block of whole lines hold a record of ``stream``? (A header
    sits 35 bytes into a line; the same bytes inside a text do not count.)"""
    needle = _NAMES[stream]
    q = lines.find(needle)
    while q != -1:
        if q == TS_LEN or (q > TS_LEN and lines[q - TS_LEN - 1] == 0x0A):
            return True
        q = lines.find(needle, q + 1)
    return False


def _tail_start(files: list[_File], n: int) -> tuple[int, dict[int, int]] | None:
    """Where to start so that the last ``n`` lines are produced.

    Lines are counted like the output: one per F record (a joined line ends
    there), plus a trailing open line per stream. Returns the global start
    and, per stream, the first position whose records belong to those lines
    (records of one stream's earlier line may sit between the other stream's
    lines). None: fewer than ``n`` lines, read everything.
    """
    count = 0
    seen = {STDOUT: False, STDERR: False}
    done = {STDOUT: False, STDERR: False}
    start: dict[int, int] = {}
    looked = -1  # bytes scanned since the n-th line was found (-1: not yet)

    def finish(at: int) -> tuple[int, dict[int, int]]:
        for s in (STDOUT, STDERR):
            if seen[s] and not done[s]:
                start[s] = at
        first = min(start.values(), default=at)
        return first, {s: start.get(s, first) for s in (STDOUT, STDERR)}

    for lines, base in _backward(files):
        if count < n:
            if b" P " not in lines:
                # Only full records: each well-formed one is a line; count
                # them in one C-level pass (the regex only matches headers).
                m = _STRIP.subn(b"", b"\n" + lines)[1]
                if count + m < n:
                    count += m
                    seen[STDOUT] = seen[STDOUT] or _has_records(lines, STDOUT)
                    seen[STDERR] = seen[STDERR] or _has_records(lines, STDERR)
                    continue
        else:
            # Skip blocks without records of a stream still to settle (an
            # unseen stream's first record met here would be a line before
            # the window: it must be seen to be excluded).
            pending = [s for s in (STDOUT, STDERR) if not done[s]]
            if not any(_has_records(lines, s) for s in pending):
                looked += len(lines)
                if looked > LOOKBACK:
                    return finish(base)
                continue
        arr = lines.split(b"\n")
        arr.pop()
        end = base + len(lines)
        for line in reversed(arr):
            after = end
            end -= len(line) + 1
            rec = parse_line(line)
            if rec is None or done[rec.stream]:
                continue
            try:
                parse_ts(rec.ts)  # as the forward pass does: bad lines count for nothing
            except ValueError:
                continue
            s = rec.stream
            new_line = rec.full or not seen[s]
            seen[s] = True
            if not new_line:
                continue
            if count >= n:
                # This line precedes the window: stream s starts after it.
                done[s] = True
                start[s] = after
                if all(done[t] or not seen[t] for t in (STDOUT, STDERR)):
                    return finish(after)
            else:
                count += 1
                if count == n:
                    looked = 0
        if looked >= 0:
            looked += len(lines)
            if looked > LOOKBACK:
                return finish(base)
    if count < n:
        return None
    return finish(0)  # reached the beginning of the oldest file


def _last_line_end(f: _File) -> int:
    """Offset just after the file's last newline (0 if none)."""
    pos = f.limit
    while pos > 0:
        start = max(0, pos - TAIL_BLOCK0)
        k = os.pread(f.fd, pos - start, start).rfind(b"\n")
        if k >= 0:
            return start + k + 1
        pos = start
    return 0


class LogReader:
    """One read of a container's log files (oldest first).

    Iterate one of runs(), frames(), lines() once. Afterwards ``end`` tells
    where the newest file was read up to (None if the read stopped at until
    or there were no files), for :func:`hithe.logs.follow.follow_logs`.
    """

    def __init__(self, paths: list[str], *, stdout: bool = True, stderr: bool = True,
                 since_ns: int = 0, until_ns: int | None = None, tail: int | None = None,
                 timestamps: bool = False, merge: bool = False, block_size: int = BLOCK) -> None:
        self.paths = list(paths)
        self.query = Query(stdout=stdout, stderr=stderr, since_ns=since_ns,
                           until_ns=until_ns, timestamps=timestamps, merge=merge)
        self.tail = tail if tail is not None and tail >= 0 else None
        self.block_size = block_size
        self.end: LogPosition | None = None

    def runs(self) -> Iterator[Batch]:
        """Per block, a Batch of (stream, payload) runs, in order."""
        files = _open_files(self.paths)
        try:
            yield from self._runs(files)
        finally:
            for f in files:
                os.close(f.fd)

    def _runs(self, files: list[_File]) -> Iterator[Batch]:
        if not files:
            return
        proc = BlockProcessor(self.query)
        start = 0
        newest = len(files) - 1
        if self.tail == 0:  # nothing old; `end` still set for a follower
            start = (newest << _SHIFT) | _last_line_end(files[newest])
        elif self.tail is not None:
            found = _tail_start(files, self.tail)
            if found is not None:
                start, skip = found
                proc.set_skip(skip)
        for block, base, fi, end in _forward(files, start, self.block_size):
            if not block:
                if fi == newest:
                    f = files[fi]
                    self.end = LogPosition(f.path, f.dev, f.ino, end)
                continue
            runs = proc.process(block, base)
            if runs:
                yield runs
            if proc.done:
                self.end = None
                break
        runs = proc.flush()
        if runs:
            yield runs

    def frames(self, raw: bool = False) -> Iterator[bytes]:
        """Ready-to-send buffers: stdcopy frames, or raw bytes for TTYs."""
        for batch in self.runs():
            yield b"".join(batch.payloads) if raw else encode_batch(batch.streams, batch.payloads)

    def lines(self) -> Iterator[tuple[int, bytes]]:
        """One (stream, line) per log line; a line never ended has no b"\\n"."""
        for batch in self.runs():
            for stream, payload in batch:
                parts = bytes(payload).split(b"\n")
                last = parts.pop()
                for p in parts:
                    yield stream, p + b"\n"
                if last:
                    yield stream, last


def read_logs(paths: list[str], *, stdout: bool = True, stderr: bool = True,
              since_ns: int = 0, until_ns: int | None = None, tail: int | None = None,
              timestamps: bool = False) -> Iterator[tuple[int, bytes]]:
    """Log lines of ``paths`` (oldest first) as (stream, bytes)."""
    return LogReader(paths, stdout=stdout, stderr=stderr, since_ns=since_ns,
                     until_ns=until_ns, tail=tail, timestamps=timestamps).lines()


def read_log_frames(paths: list[str], *, stdout: bool = True, stderr: bool = True,
                    since_ns: int = 0, until_ns: int | None = None, tail: int | None = None,
                    timestamps: bool = False, raw: bool = False) -> Iterator[bytes]:
    """Buffers of docker's multiplexed stream (or raw bytes for TTY containers)."""
    return LogReader(paths, stdout=stdout, stderr=stderr, since_ns=since_ns,
                     until_ns=until_ns, tail=tail, timestamps=timestamps,
                     merge=raw).frames(raw=raw)
