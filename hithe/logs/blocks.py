"""Turning blocks of k8s-file lines into docker output, fast.

CPython spends ~100 ns on every object it creates, and 100 MB of logs hold
~1.5 M lines, so nothing here may touch lines one by one in the common case.
A block is ``b"\\n" + whole lines``; when every line in it is a full (``F``)
record with conmon's fixed 45-byte header, the output is built by C-level
calls over the whole block (the F-only conversion, :mod:`hithe.logs.convert`).

P records (conmon ends a record without newline where its 8 KiB read of the
pipe ended mid-line: ~1 in 100 lines of real logs) are joined first, also at
the bytes level: each P line is cut out and the record ending the line gets
the first P's header and the P texts in front of its text (see
``_merge_partials`` in :mod:`hithe.logs.partials`); lines not finished at the
end of a block are held back and go in front of the next one. That costs a
find per stream and one join, so it is done while P records keep coming, and
else only for a block that fails the F-only validation.

Anything else -- P records continued in a way conmon does not write, lines
reaching MAX_PENDING, a line left open by the per-record path, malformed
lines, a UTC-offset change with ``-t``, a since/until boundary inside the
block, tail's per-stream start -- goes through the per-record path, which is
exact (a line left open there is followed per record up to its end only).
"""
from __future__ import annotations

from dataclasses import dataclass

# Re-exported: importable from here as before the split (reader.py, follow.py).
from .batch import Batch, Payload  # noqa: F401
from .convert import _HEAD_ERR, _HEAD_OUT, _STRIP, BlockConverter  # noqa: F401
from .k8sfile import (
    HEADER_LEN, HEADS, STDERR, STDOUT, TS_LEN, Joined, LineJoiner, docker_ts, parse_line, parse_ts,
)
from .partials import _NAMES, _merge_partials

_HEADER_SET = frozenset((_HEAD_OUT, _HEAD_ERR, b" stdout P ", b" stderr P "))
# A trailing unfinished line longer than this is not held back for the next
# block (re-reading it each block would go quadratic): the joiner takes it.
_HOLD_MAX = 256 << 10


@dataclass
class Query:
    stdout: bool = True
    stderr: bool = True
    since_ns: int = 0  # keep lines with ts >= since_ns (0: no limit)
    until_ns: int | None = None  # stop at the first line with ts > until_ns
    timestamps: bool = False
    merge: bool = False  # caller ignores streams (TTY raw stream): no run split


class BlockProcessor:
    """Stateful converter: blocks in, runs ``(stream, payload)`` out.

    ``skip`` (set by tail) maps a stream to the first global position whose
    records are kept; ``done`` turns True once a line past ``until_ns`` is seen.
    """

    def __init__(self, query: Query) -> None:
        self.q = query
        self.joiner = LineJoiner()
        self.done = False
        self.skip: dict[int, int] = {}
        self.skip_end = 0
        self._want = {STDOUT: query.stdout, STDERR: query.stderr}
        # Lines (raw records) of an unfinished line held back by the fast
        # path: they go in front of the next block, or to flush().
        self._held = b""
        self._held_base = 0
        self._partials = False  # the last block had P records: join first
        # The F-only conversion; its ``single``: the last block had one stream.
        self._conv = BlockConverter(query, self._want)

    def set_skip(self, skip: dict[int, int]) -> None:
        self.skip = skip
        self.skip_end = max(skip.values(), default=0)

    # -- entry points -------------------------------------------------------

    def process(self, block: bytes, base: int = 0) -> Batch:
        """``block`` = b"\\n" + whole lines; ``base`` = position of block[1]."""
        if self.done or len(block) < 2:
            return Batch([], [])
        if self._held:
            block = b"".join((b"\n", self._held, memoryview(block)[1:]))
            base = self._held_base
            self._held = b""
        if base < self.skip_end:
            return self._slow(block, base)
        if not self.joiner.idle:
            return self._resume(block, base)
        return self._fast(block, base)

    def flush(self) -> Batch:
        """Emit lines still open (no trailing newline): end of the data."""
        held, self._held = self._held, b""
        if held and not self.done:
            batch = self._slow(b"\n" + held, self._held_base)  # opens the line
            if self.done:
                return batch  # (flushed already)
            batch.extend(self._coalesce(self.joiner.flush()))
            return batch
        return self._coalesce(self.joiner.flush())

    # -- fast path -------------------------------------------------------------

    def _fast(self, block: bytes, base: int) -> Batch:
        """A block with no line open before it (joiner idle, no tail skip).

        P records are joined first while they keep coming (looking for them
        costs a scan per stream); otherwise the F-only conversion runs and
        only a block failing its validation is searched for them.
        """
        q = self.q
        verdict = "fast"
        if q.since_ns or q.until_ns is not None:
            verdict = self._time_verdict(block)
            if verdict == "stop":
                self.done = True
                return Batch([], [])
            if verdict == "slow":
                return self._slow(block, base)
        if self._partials:
            return self._joined(block, base, verdict)
        if verdict == "skip":  # no line starting here is kept
            if b" P " in block:  # but one may go on in the next block
                return self._joined(block, base, verdict)
            return Batch([], [])
        batch = self._conv.convert(block, False)
        if batch is not None:
            return batch
        if b" P " in block:
            return self._joined(block, base, verdict)
        return self._slow(block, base)

    def _joined(self, block: bytes, base: int, verdict: str) -> Batch:
        """The fast path over the block with its P records joined."""
        names = _NAMES
        if self._conv.single and verdict != "skip":
            # One stream lately: search its P records only. Another
            # stream's would be left as they are and fail validation (no
            # validation with "skip": there held lines must all be found).
            names = (b" stdout " if block.startswith(b"stdout", TS_LEN + 2) else b" stderr ",)
        while True:
            merged = _merge_partials(block, names)
            if merged is None:
                self._partials = True
                return self._slow(block, base)
            src, cut, found = merged
            if verdict == "skip" or len(src) < 2:
                batch: Batch | None = Batch([], [])
            else:
                batch = self._conv.convert(src, True)
            self._partials = found > 0
            if batch is not None:
                break
            if names is _NAMES:
                return self._slow(block, base)
            names = _NAMES
        if cut < len(block):
            held = block[cut:]
            if len(held) > _HOLD_MAX:  # the joiner takes it from here
                batch.extend(self._slow(b"\n" + held, base + cut - 1))
            else:
                self._held, self._held_base = held, base + cut - 1
        return batch

    def _resume(self, block: bytes, base: int) -> Batch:
        """Lines left open by the exact path: it goes on up to the record
        that closes them; the rest of the block is then a fresh one."""
        batch = Batch([], [])
        for _ in range(4):
            split = self._open_end(block)
            if split is None:
                break
            batch.extend(self._slow(block[:split + 1], base))
            if self.done or split + 2 > len(block):
                return batch
            block, base = block[split:], base + split
            if self.joiner.idle:
                batch.extend(self._fast(block, base))
                return batch
        batch.extend(self._slow(block, base))
        return batch

    def _open_end(self, block: bytes) -> int | None:
        """Position of the "\\n" ending the first F record of each open
        stream (the last of them), None if one has none in ``block``."""
        end = 0
        for stream in self.joiner.open_streams:
            needle = _HEAD_OUT if stream == STDOUT else _HEAD_ERR
            q = block.find(needle, TS_LEN + 1)
            while q != -1 and block[q - TS_LEN - 1] != 0x0A:
                q = block.find(needle, q + 1)
            if q == -1:
                return None
            end = max(end, block.find(b"\n", q))
        return end

    def _time_verdict(self, block: bytes) -> str:
        q = self.q
        last = block.rfind(b"\n", 0, len(block) - 1) + 1
        if (block[1 + TS_LEN:1 + HEADER_LEN] not in _HEADER_SET
                or block[last + TS_LEN:last + HEADER_LEN] not in _HEADER_SET):
            return "slow"  # the ends must be real records to bound the block
        try:
            first_ns = parse_ts(block[1:1 + TS_LEN])
            last_ns = parse_ts(block[last:last + TS_LEN])
        except ValueError:
            return "slow"
        # conmon stamps with CLOCK_REALTIME in write order: timestamps are
        # non-decreasing in a file, so the ends of a block bound all of it.
        if q.since_ns and last_ns < q.since_ns:
            return "skip"
        if q.until_ns is not None and first_ns > q.until_ns:
            return "stop"
        if first_ns >= q.since_ns and (q.until_ns is None or last_ns <= q.until_ns):
            return "fast"
        return "slow"

    # -- exact per-record path ---------------------------------------------------

    def _slow(self, block: bytes, base: int) -> Batch:
        q = self.q
        want = self._want
        joiner = self.joiner
        opened = joiner.open_streams
        skip = self.skip if base < self.skip_end else None
        since, until = q.since_ns, q.until_ns
        out: list[Joined] = []
        emit = out.append
        heads = HEADS
        pos = base
        for line in block[1:-1].split(b"\n"):
            lpos = pos
            pos += len(line) + 1
            head = heads.get(line[TS_LEN:HEADER_LEN])
            if head is not None:  # conmon's fixed width
                stream, full = head
                ts, text = line[:TS_LEN], line[HEADER_LEN:]
            else:
                rec = parse_line(line)
                if rec is None:
                    continue
                stream, ts, full, text = rec
            if not want[stream] or (skip is not None and lpos < skip.get(stream, 0)):
                continue
            try:
                ts_ns = parse_ts(ts)
            except ValueError:
                continue  # crashed writer / garbage: skip the line
            if stream not in opened:
                if until is not None and ts_ns > until:
                    self.done = True
                    break
                if full:  # a whole line in one record
                    if ts_ns >= since:
                        emit(Joined(stream, ts, ts_ns, text + b"\n"))
                    continue
                joiner.start(stream, ts, ts_ns, ts_ns >= since)
            line_out = joiner.add(stream, full, text)
            if line_out is not None:
                emit(line_out)
        batch = self._coalesce(out)
        if self.done:
            batch.extend(self.flush())
        return batch

    def _coalesce(self, lines: list[Joined]) -> Batch:
        merge, stamp = self.q.merge, self.q.timestamps
        batch = Batch([], [])
        parts: list[bytes] = []
        cur = 0
        for j in lines:
            stream = STDOUT if merge else j.stream
            if stream != cur and parts:
                batch.add(cur, b"".join(parts))
                parts = []
            cur = stream
            if stamp:
                parts.append(docker_ts(j.ts) + b" ")
            parts.append(j.data)
        if parts:
            batch.add(cur, b"".join(parts))
        return batch
