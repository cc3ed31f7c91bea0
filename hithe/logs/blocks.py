"""Turning blocks of k8s-file lines into docker output, fast.

CPython spends ~100 ns on every object it creates, and 100 MB of logs hold
~1.5 M lines, so nothing here may touch lines one by one in the common case.
A block is ``b"\\n" + whole lines``; when every line in it is a full (``F``)
record with conmon's fixed 45-byte header, the output is built by C-level
calls over the whole block:

* without timestamps, one ``re.subn`` replaces every ``\\nHEADER`` by ``\\n``;
  its count doubles as validation (a match needs a newline then exactly 35
  non-newline bytes, so it can only happen at a line start);
* with timestamps, one ``re.subn`` turns ``+00:00 stdout F `` into ``Z ``
  where a lookbehind proves it sits at a header position (local times are
  first moved to UTC with one ``bytes.replace`` per minute the block spans);
* stream changes are found with ``bytes.find`` of `` stderr ``/`` stdout ``
  checked to sit 36 bytes after a newline, and each run's payload length is
  arithmetic (headers shrink by a constant per line), so runs are slices of
  the converted block.

When the last block had one stream (always so for a TTY), a pattern naming
that stream does the same and validates it too: no search for stream changes.

P records (conmon ends a record without newline where its 8 KiB read of the
pipe ended mid-line: ~1 in 100 lines of real logs) are joined first, also at
the bytes level: each P line is cut out and the record ending the line gets
the first P's header and the P texts in front of its text (see
``_merge_partials``); lines not finished at the end of a block are held back
and go in front of the next one. That costs a find per stream and one join,
so it is done while P records keep coming, and else only for a block that
fails the F-only validation.

Anything else -- P records continued in a way conmon does not write, lines
reaching MAX_PENDING, a line left open by the per-record path, malformed
lines, a UTC-offset change with ``-t``, a since/until boundary inside the
block, tail's per-stream start -- goes through the per-record path, which is
exact (a line left open there is followed per record up to its end only).
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import accumulate, repeat
from operator import itemgetter, mul, sub

from . import k8sfile
from .k8sfile import (
    HEADER_LEN, HEADS, STDERR, STDOUT, TS_LEN, Joined, LineJoiner, docker_ts, format_ts,
    minute_epoch, offset_seconds, parse_line, parse_ts,
)

# A payload is bytes or a memoryview slice of a converted block.
Payload = bytes | memoryview


@dataclass
class Batch:
    """Consecutive runs of output: streams[i] owns payloads[i] (whole lines).

    Parallel lists rather than tuples so that framing can be done with
    C-level map() calls over all runs of a block at once.
    """

    streams: list[int]
    payloads: list[Payload]

    def __bool__(self) -> bool:
        return bool(self.payloads)

    def __iter__(self) -> Iterator[tuple[int, Payload]]:
        return zip(self.streams, self.payloads)

    def add(self, stream: int, payload: Payload) -> None:
        self.streams.append(stream)
        self.payloads.append(payload)

    def extend(self, other: "Batch") -> None:
        self.streams += other.streams
        self.payloads += other.payloads


_STRIP = re.compile(rb"\n.{%d} std(?:out|err) F " % TS_LEN)
# One stream only (validates that too; ~10% faster than the alternation).
_STRIP_ONE = {STDOUT: re.compile(rb"\n.{%d} stdout F " % TS_LEN),
              STDERR: re.compile(rb"\n.{%d} stderr F " % TS_LEN)}
_UTC_OUT = b"+00:00 stdout F "
_UTC_ERR = b"+00:00 stderr F "
_UTC_HDR = re.compile(rb"\+00:00 std(?:out|err) F (?<=\n.{29}\+00:00 std(?:out|err) F )")
_TS_SHRINK = len(_UTC_OUT) - 2  # header becomes "...Z " : 45 -> 31 bytes
_NEEDLE = {STDOUT: b" stderr ", STDERR: b" stdout "}  # what ends a run of the key
_HEAD_OUT, _HEAD_ERR = b" stdout F ", b" stderr F "
_HEADER_SET = frozenset((_HEAD_OUT, _HEAD_ERR, b" stdout P ", b" stderr P "))
_HEAD = itemgetter(slice(TS_LEN, HEADER_LEN))
_HEAD_TS = itemgetter(slice(29, HEADER_LEN))  # from the UTC offset on
_TS29 = itemgetter(slice(0, 29))
_TEXT = itemgetter(slice(HEADER_LEN, None))
# Runs shorter than this on average (after a few) make a block "dense":
# per-run arithmetic costs ~1.5 us a run, per-line splitting ~0.25 us a line.
_DENSE_MIN_RUNS = 16
_DENSE_RUN_BYTES = 512


_UTC = b"+00:00"
_HDR_BY_OFFSET: dict[tuple[bytes, bytes], re.Pattern[bytes]] = {}


def _offset_header(off: bytes, name: bytes = rb"std(?:out|err)") -> re.Pattern[bytes]:
    """Matches "OFFSET stdout F " only at a header position (lookbehind);
    ``name``: the stream name(s) allowed (a regex)."""
    pat = _HDR_BY_OFFSET.get((off, name))
    if pat is None:
        o = re.escape(off)
        pat = re.compile(rb"%s %s F (?<=\n.{29}%s %s F )" % (o, name, o, name))
        _HDR_BY_OFFSET[(off, name)] = pat
    return pat


def _utc_minutes(block: bytes, off: bytes) -> bytes | None:
    """Rewrite every line's local "YYYY-MM-DDTHH:MM" to UTC, or None.

    All lines must carry offset ``off`` (the ends are checked; a line with
    another one leaves a count short). Offsets are whole minutes, so seconds
    and fractions stay; each minute the block spans is one C-level replace of
    "\\n" + local prefix -- only a line start can follow a newline.
    """
    last = block.rfind(b"\n", 0, len(block) - 1) + 1
    if block[last + 29:last + TS_LEN] != off:
        return None
    try:
        delta = offset_seconds(off)
        first_min = minute_epoch(block[1:17] + off)
        last_min = minute_epoch(block[last:last + 16] + off)
    except ValueError:
        return None
    if not 0 <= last_min - first_min <= 3600 or delta == 0:
        return None
    pairs = []
    total = 0
    for m in range(first_min, last_min + 1, 60):
        src = b"\n" + format_ts((m + delta) * 1_000_000_000)[:16]
        c = block.count(src)
        if c:
            pairs.append((src, b"\n" + format_ts(m * 1_000_000_000)[:16]))
            total += c
    if total != block.count(b"\n") - 1:
        return None
    # A replacement's result is another minute's local label (m - delta):
    # order the passes so that it is never rewritten twice.
    for src, dst in (pairs if delta > 0 else reversed(pairs)):
        block = block.replace(src, dst)
    return block


_NAMES = (b" stdout ", b" stderr ")
_STREAM_NAME = {STDOUT: b"stdout", STDERR: b"stderr"}
# A trailing unfinished line longer than this is not held back for the next
# block (re-reading it each block would go quadratic): the joiner takes it.
_HOLD_MAX = 256 << 10


def _next_record(block: bytes, name: bytes, pos: int) -> int:
    """Start of the first line at or after ``pos`` (a line start) whose
    header names stream ``name`` (b" stdout "), or -1."""
    if block.startswith(name, pos + TS_LEN):
        return pos
    q = block.find(name, pos + TS_LEN)
    while q != -1 and block[q - TS_LEN - 1] != 0x0A:
        q = block.find(name, q + 1)
    return q if q == -1 else q - TS_LEN


def _merge_partials(block: bytes, names: tuple[bytes, ...] = _NAMES
                    ) -> tuple[bytes, int, int] | None:
    """Join P records with the records that continue them, at the bytes level.

    conmon writes a ``P`` record when a read of the container's pipe ends
    mid-line; the line goes on in that stream's next record, and docker
    shows it once complete, stamped with its first chunk's time. So each P
    line is cut out and the record that ends the line gets the first P's
    header (tag F) and the P texts in front of its own text::

        T1 stdout P ab / T2 stderr F x / T3 stdout F cd
        ->  T2 stderr F x / T1 stdout F abcd

    ``names``: the streams whose P records are looked for (b" stdout ").
    Returns ``(merged, cut, found)``: ``merged`` is ``block[:cut]`` with
    those joined, ``block[cut:]`` the lines from the start of the first line
    not finished in this block on (empty when ``cut == len(block)``);
    ``found`` counts the P records seen. A P record not looked for or not
    found (another UTC offset) stays as it is: the F-only validation that
    follows fails on it. None when a line would reach MAX_PENDING or a
    record is not what conmon writes: per-record decisions needed. Lines
    can move behind later ones, so time bounds must be taken from the block
    as read. Cost: a scan for a 16-byte needle per stream (a fifth of the
    F-only conversion), a few finds per P record and one join.
    """
    find = block.find
    # P records: "+HH:MM stdout P " 29 bytes into a line (a long needle is
    # a fast search), with the first line's UTC offset: one written with
    # another offset is left as it is, and then fails validation later.
    off = block[1 + 29:1 + TS_LEN]
    recs: list[tuple[int, int, bytes]] = []  # (line start, its "\n", stream)
    for name in names:
        needle = off + name + b"P "
        q = find(needle, 30)
        while q != -1:
            if block[q - 30] == 0x0A:
                e = find(b"\n", q + 16)
                recs.append((q - 29, e, name))
                q = find(needle, e + 30)
            else:
                q = find(needle, q + 1)
    recs.sort()
    if not recs:
        return block, len(block), 0
    mv = memoryview(block)
    max_pending = k8sfile.MAX_PENDING
    # A chain: [first line start, texts, size, start of the F line ending it].
    chains: list[list] = []
    open_: dict[bytes, list] = {}
    expect: dict[bytes, int] = {}  # where a chain's next P record must be
    for s, e, name in recs:
        ch = open_.get(name)
        if ch is None:
            ch = [s, [], 0, -1]
            chains.append(ch)
        elif expect.pop(name, -1) != s:
            return None
        ch[1].append(mv[s + HEADER_LEN:e])
        ch[2] += e - s - HEADER_LEN
        if ch[2] >= max_pending:
            return None
        c = _next_record(block, name, e + 1)
        if c == -1:  # goes on after this block
            open_[name] = ch
            continue
        tag = block[c + TS_LEN + 8:c + HEADER_LEN]
        if tag == b"P ":
            open_[name] = ch
            expect[name] = c
        elif tag == b"F ":
            ch[3] = c
            open_.pop(name, None)
        else:
            return None
    if expect:  # a P record the search did not see (another UTC offset)
        return None
    # Hold back lines not finished here, and any line ending among them.
    cut = len(block)
    moved = True
    while moved:
        moved = False
        for ch in chains:
            if ch[0] < cut and not 0 <= ch[3] < cut:
                cut = ch[0]
                moved = True
    # Edits in block order: (start, stop, bytes to put instead).
    edits: list[tuple[int, int, list]] = []
    for s, e, _ in recs:
        if s < cut:
            edits.append((s, e + 1, []))
    for first, texts, _, c in chains:
        if first < cut:
            edits.append((c, c + HEADER_LEN, [mv[first:first + HEADER_LEN - 2], b"F ", *texts]))
    edits.sort(key=itemgetter(0))
    pieces: list[Payload] = []
    add, more = pieces.append, pieces.extend
    prev = 0
    for start, stop, ins in edits:
        add(mv[prev:start])
        more(ins)
        prev = stop
    add(mv[prev:cut])
    return b"".join(pieces), cut, len(recs)


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
        # The last block had one stream: try that first (with merge, where
        # streams are not searched, it stays off once a block had two).
        self._single = True

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
        batch = self._convert(block, False)
        if batch is not None:
            return batch
        if b" P " in block:
            return self._joined(block, base, verdict)
        return self._slow(block, base)

    def _joined(self, block: bytes, base: int, verdict: str) -> Batch:
        """The fast path over the block with its P records joined."""
        names = _NAMES
        if self._single and verdict != "skip":
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
                batch = self._convert(src, True)
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

    def _convert(self, src: bytes, joined: bool) -> Batch | None:
        """Runs of a block of F records in conmon's layout, every line kept
        (time bounds are checked by the caller); None if a line is not such a
        record. ``joined``: P records were joined already."""
        q = self.q
        # With -t, local timestamps are first rewritten to UTC minutes.
        off = _UTC
        if q.timestamps:
            off = src[1 + 29:1 + TS_LEN]
            if off != _UTC:
                src = _utc_minutes(src, off)
                if src is None:
                    return None
        whole = q.merge and self._want[STDOUT] and self._want[STDERR]
        if self._single:
            # The last block had one stream (and a TTY's log has only
            # stdout): a pattern naming it converts and validates in one
            # pass, no search for stream changes.
            batch = self._one_stream(src, off)
            if batch is not None:
                return batch
            if not joined and b" P " in src:
                return None  # likely P records: the caller joins them
            self._single = False
        bounds = None if whole else self._bounds(src)
        if bounds is None and not whole:
            return self._dense(src, off)
        if bounds is not None and len(bounds) == 1:
            self._single = True
        # Lines per run (validation below).
        counts = (None if bounds is None else
                  list(map(src.count, repeat(b"\n"), bounds, bounds[1:] + [len(src) - 1])))
        if q.timestamps:
            # "...789+02:00 stdout F text" -> "...789Z text": the lookbehind
            # pins the match to a header position; the literal prefix keeps
            # the regex engine on its fast search.
            conv, m = _offset_header(off).subn(b"Z ", src)
            shrink = _TS_SHRINK
        else:
            conv, m = _STRIP.subn(b"\n", src)
            shrink = HEADER_LEN
        # (Each match keeps its newline: the result has as many, fewer bytes.)
        if m != (conv.count(b"\n") - 1 if counts is None else sum(counts)):
            return None
        if bounds is None:
            return Batch([STDOUT], [memoryview(conv)[1:]])
        return self._runs(src, conv, shrink, bounds, counts)

    def _one_stream(self, src: bytes, off: bytes) -> Batch | None:
        """All lines F records of the first line's stream, or None."""
        stream = STDOUT if src.startswith(b"stdout", TS_LEN + 2) else STDERR
        if self.q.timestamps:
            conv, m = _offset_header(off, _STREAM_NAME[stream]).subn(b"Z ", src)
        else:
            conv, m = _STRIP_ONE[stream].subn(b"\n", src)
        if m != conv.count(b"\n") - 1:  # (see _convert)
            return None
        if not self._want[stream]:
            return Batch([], [])
        return Batch([STDOUT if self.q.merge else stream], [memoryview(conv)[1:]])

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

    def _bounds(self, block: bytes) -> list[int] | None:
        """Positions of the "\\n" before each run's first line (run = lines
        of one stream); None when runs are short, where per-line work wins."""
        find = block.find
        end = len(block) - 1
        bounds = [0]
        first = STDOUT if block.startswith(b"stdout", TS_LEN + 2) else STDERR
        needle, other = _NEEDLE[first], _NEEDLE[STDOUT if first == STDERR else STDERR]
        q = find(needle, HEADER_LEN, end)
        while q != -1:
            # Only a header sits 36 bytes after a newline (line start + 35).
            if block[q - TS_LEN - 1] == 0x0A:
                bounds.append(q - TS_LEN - 1)
                if len(bounds) >= _DENSE_MIN_RUNS and q < len(bounds) * _DENSE_RUN_BYTES:
                    return None
                needle, other = other, needle
                q = find(needle, q + HEADER_LEN, end)
            else:
                q = find(needle, q + 1, end)
        return bounds

    def _runs(self, block: bytes, conv: bytes, shrink: int, bounds: list[int],
              counts: list[int]) -> Batch:
        mv = memoryview(conv)
        want = self._want
        end = len(block) - 1  # the last line's "\n"
        first = STDOUT if block.startswith(b"stdout", TS_LEN + 2) else STDERR
        nxt = bounds[1:]
        nxt.append(end)
        # A run's payload = its raw bytes minus a constant per line.
        sizes = list(map(sub, map(sub, nxt, bounds), map(mul, counts, repeat(shrink))))
        offs = list(accumulate(sizes, initial=1))
        payloads: list[Payload] = list(map(mv.__getitem__, map(slice, offs, offs[1:])))
        n = len(payloads)
        second = STDERR if first == STDOUT else STDOUT
        if want[first] and want[second]:
            if self.q.merge:
                return Batch([STDOUT] * n, payloads)
            streams = [first, second] * (n // 2) + [first] * (n % 2)
            return Batch(streams, payloads)
        k = 0 if want[first] else 1
        if not want[first] and not want[second]:
            return Batch([], [])
        kept = payloads[k::2]
        stream = STDOUT if self.q.merge else (first if k == 0 else second)
        return Batch([stream] * len(kept), kept)

    def _dense(self, src: bytes, off: bytes) -> Batch | None:
        """Many short runs: split into lines, group with list.index (C loops).

        ``src``: F records only, local minutes already UTC with timestamps;
        None if a line is not such a record."""
        q = self.q
        want = self._want
        lines = src[1:-1].split(b"\n")
        n = len(lines)
        if q.timestamps:
            heads = list(map(_HEAD_TS, lines))
            o, e = off + b" stdout F ", off + b" stderr F "
        else:
            heads = list(map(_HEAD, lines))
            o, e = _HEAD_OUT, _HEAD_ERR
        if heads.count(o) + heads.count(e) != n:
            return None
        if q.timestamps:  # "...789+00:00 stdout F text" -> "...789Z text"
            texts = list(map(b"Z ".join, zip(map(_TS29, lines), map(_TEXT, lines))))
        else:
            texts = list(map(_TEXT, lines))
        streams: list[int] = []
        payloads: list[Payload] = []
        add_s, add_p = streams.append, payloads.append
        index, join = heads.index, b"\n".join
        want_o, want_e = want[STDOUT], want[STDERR]
        tag_o, tag_e = (STDOUT, STDOUT) if q.merge else (STDOUT, STDERR)
        # Alternate: a stdout run up to the next stderr line, then back.
        i = 0
        in_out = heads[0] == o
        while i < n:
            if in_out:
                try:
                    j = index(e, i)
                except ValueError:
                    j = n
                if want_o:
                    add_s(tag_o)
                    add_p(join(texts[i:j]) + b"\n")
            else:
                try:
                    j = index(o, i)
                except ValueError:
                    j = n
                if want_e:
                    add_s(tag_e)
                    add_p(join(texts[i:j]) + b"\n")
            i = j
            in_out = not in_out
        return Batch(streams, payloads)

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
