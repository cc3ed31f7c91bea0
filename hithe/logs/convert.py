"""The F-only conversion: a block of full records into runs, by C-level calls.

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
Blocks of many short runs are split into lines and grouped with C loops.
"""
from __future__ import annotations

import re
from itertools import accumulate, repeat
from operator import itemgetter, mul, sub
from typing import TYPE_CHECKING

from .batch import Batch, Payload
from .k8sfile import HEADER_LEN, STDERR, STDOUT, TS_LEN, format_ts, minute_epoch, offset_seconds

if TYPE_CHECKING:
    from .blocks import Query


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


_STREAM_NAME = {STDOUT: b"stdout", STDERR: b"stderr"}


class BlockConverter:
    """Runs of blocks of F records in conmon's layout, for a query.

    ``want`` is the processor's stream -> kept map. ``single``: the last
    block had one stream, so that is tried first (with merge, where streams
    are not searched, it stays off once a block had two); the processor
    reads it to choose the P records to look for.
    """

    def __init__(self, query: Query, want: dict[int, bool]) -> None:
        self.q = query
        self._want = want
        self.single = True

    def convert(self, src: bytes, joined: bool) -> Batch | None:
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
        if self.single:
            # The last block had one stream (and a TTY's log has only
            # stdout): a pattern naming it converts and validates in one
            # pass, no search for stream changes.
            batch = self._one_stream(src, off)
            if batch is not None:
                return batch
            if not joined and b" P " in src:
                return None  # likely P records: the caller joins them
            self.single = False
        bounds = None if whole else self._bounds(src)
        if bounds is None and not whole:
            return self._dense(src, off)
        if bounds is not None and len(bounds) == 1:
            self.single = True
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
        if m != conv.count(b"\n") - 1:  # (see convert)
            return None
        if not self._want[stream]:
            return Batch([], [])
        return Batch([STDOUT if self.q.merge else stream], [memoryview(conv)[1:]])

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
