"""conmon's ``k8s-file`` log format: parsing records and formatting timestamps.

conmon (src/ctr_logging.c, write_k8s_log) writes one record per line::

    2024-05-01T10:20:30.123456789+02:00 stdout F hello\\n
    2024-05-01T10:20:30.123456789+02:00 stderr P no newline yet\\n

* the timestamp is local time, always exactly 35 bytes (``%09ld`` nanoseconds and
  a ``+HH:MM`` offset), so the header ``TS STREAM TAG `` is 45 bytes for both
  streams -- the fast paths in :mod:`hithe.logs.blocks` rely on that width;
* ``F``: the chunk ended with the container's own newline, which is the line end;
* ``P``: a chunk without newline (conmon read it without one, or the line was
  longer than its 8 KiB read buffer); conmon appends a ``\\n`` that is not data.

Here live the per-record ("slow") pieces: timestamp conversion, one-line parsing
and the joining of partial chunks. Block-level fast paths are in ``blocks.py``.
"""
from __future__ import annotations

import calendar
import datetime as _dt
import re
import time
from dataclasses import dataclass, field
from typing import NamedTuple

STDOUT = 1
STDERR = 2

TS_LEN = 35  # len("2024-05-01T10:20:30.123456789+00:00")
HEADER_LEN = 45  # TS + " stdout F "

# A joined line larger than this is emitted in pieces: bounds memory when a
# container writes megabytes without a newline (conmon emits 8 KiB P chunks).
MAX_PENDING = 1 << 20

# header bytes 35..45 -> (stream, full)
HEADS: dict[bytes, tuple[int, bool]] = {
    b" stdout F ": (STDOUT, True),
    b" stdout P ": (STDOUT, False),
    b" stderr F ": (STDERR, True),
    b" stderr P ": (STDERR, False),
}
_STREAMS = {b"stdout": STDOUT, b"stderr": STDERR}
_TAGS = {b"F": True, b"P": False}

_GENERAL_TS = re.compile(
    rb"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)\Z")


class Record(NamedTuple):
    """One log line as docker shows it: partial chunks already joined."""

    stream: int  # STDOUT or STDERR
    ts_ns: int  # time of the line's first chunk, ns since the epoch
    data: bytes  # ends with b"\n" unless the line never got one


# --- timestamps --------------------------------------------------------------

# Keyed by b"YYYY-MM-DDTHH:MM+HH:MM": conmon's timestamps change minute rarely,
# so converting through a per-minute (or per-second) cache costs one dict
# lookup per line.
_EPOCH_MIN: dict[bytes, int] = {}
_EPOCH_SEC: dict[bytes, int] = {}  # b"YYYY-MM-DDTHH:MM:SS+HH:MM" -> epoch s
_UTC_MIN: dict[bytes, bytes] = {}
_CACHE_MAX = 8192


def offset_seconds(off: bytes) -> int:
    if off == b"Z":
        return 0
    if len(off) != 6 or off[3] != 0x3A or off[0] not in b"+-" or not (
            off[1:3].isdigit() and off[4:6].isdigit()):
        raise ValueError(f"bad UTC offset {off!r}")
    secs = int(off[1:3]) * 3600 + int(off[4:6]) * 60
    return -secs if off[0] == 0x2D else secs


def minute_epoch(key: bytes) -> int:
    """Epoch seconds of b"YYYY-MM-DDTHH:MM" + offset (validated)."""
    base = _EPOCH_MIN.get(key)
    if base is None:
        d = key[:16]
        if not (d[0:4].isdigit() and d[4] == 0x2D and d[5:7].isdigit() and d[7] == 0x2D
                and d[8:10].isdigit() and d[10] == 0x54 and d[11:13].isdigit()
                and d[13] == 0x3A and d[14:16].isdigit()):
            raise ValueError(f"bad timestamp {key!r}")
        # datetime() validates month/day/hour/minute ranges.
        t = _dt.datetime(int(d[0:4]), int(d[5:7]), int(d[8:10]), int(d[11:13]), int(d[14:16]))
        base = calendar.timegm(t.timetuple()) - offset_seconds(key[16:])
        if len(_EPOCH_MIN) >= _CACHE_MAX:
            _EPOCH_MIN.clear()
        _EPOCH_MIN[key] = base
    return base


def parse_ts(ts: bytes) -> int:
    """RFC3339(Nano) timestamp -> ns since the epoch; ValueError if malformed."""
    if len(ts) == TS_LEN:
        # conmon's fixed form: one dict lookup per distinct second.
        base = _EPOCH_SEC.get(ts[:19] + ts[29:])
        frac = ts[20:29]
        if base is not None and ts[19] == 0x2E and frac.isdigit():
            return base * 1_000_000_000 + int(frac)
        return _parse_fixed(ts)
    m = _GENERAL_TS.match(ts)
    if m is None:
        raise ValueError(f"bad timestamp {ts!r}")
    key = b"%s-%s-%sT%s:%s" % m.group(1, 2, 3, 4, 5) + m.group(8)
    frac = (m.group(7) or b"").ljust(9, b"0")
    return (minute_epoch(key) + int(m.group(6))) * 1_000_000_000 + int(frac)


def _parse_fixed(ts: bytes) -> int:
    sec, frac = ts[17:19], ts[20:29]
    if not (ts[16] == 0x3A and ts[19] == 0x2E and sec.isdigit() and frac.isdigit()
            and int(sec) < 61):
        raise ValueError(f"bad timestamp {ts!r}")
    base = minute_epoch(ts[:16] + ts[29:]) + int(sec)
    if len(_EPOCH_SEC) >= _CACHE_MAX:
        _EPOCH_SEC.clear()
    _EPOCH_SEC[ts[:19] + ts[29:]] = base
    return base * 1_000_000_000 + int(frac)


def format_ts(ns: int) -> bytes:
    """ns since the epoch -> docker's ``RFC3339NanoFixed`` in UTC.

    ``docker logs -t`` formats with jsonmessage.RFC3339NanoFixed
    ("2006-01-02T15:04:05.000000000Z07:00"): always nine fraction digits, unlike
    Go's RFC3339Nano which trims trailing zeros; json-file times are UTC -> "Z".
    """
    sec, frac = divmod(ns, 1_000_000_000)
    t = time.gmtime(sec)
    return b"%04d-%02d-%02dT%02d:%02d:%02d.%09dZ" % (
        t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, frac)


def docker_ts(ts: bytes) -> bytes:
    """conmon timestamp bytes -> docker's timestamp (30 bytes, UTC, "Z")."""
    if len(ts) == TS_LEN and ts[19] == 0x2E:
        off = ts[29:]
        if off == b"+00:00":
            return ts[:29] + b"Z"
        key = ts[:16] + off
        utc = _UTC_MIN.get(key)
        if utc is None:
            utc = format_ts(minute_epoch(key) * 1_000_000_000)[:16]
            if len(_UTC_MIN) >= _CACHE_MAX:
                _UTC_MIN.clear()
            _UTC_MIN[key] = utc
        # Offsets are whole minutes, so seconds and fraction carry over as is.
        return utc + ts[16:29] + b"Z"
    return format_ts(parse_ts(ts))


# --- one record ----------------------------------------------------------------

class RawRecord(NamedTuple):
    stream: int
    ts: bytes  # as written by conmon
    full: bool  # F (True) or P (False)
    text: bytes  # without the line's "\n"


def parse_line(line: bytes) -> RawRecord | None:
    """One file line (without its "\\n") -> RawRecord, or None if malformed.

    The timestamp is not validated here (callers that need it call parse_ts).
    """
    head = HEADS.get(line[TS_LEN:HEADER_LEN])
    if head is not None:
        return RawRecord(head[0], line[:TS_LEN], head[1], line[HEADER_LEN:])
    # Not conmon's fixed width: accept any RFC3339 timestamp, split on spaces.
    parts = line.split(b" ", 3)
    if len(parts) < 3:
        return None
    stream = _STREAMS.get(parts[1])
    full = _TAGS.get(parts[2])
    if stream is None or full is None:
        return None
    return RawRecord(stream, parts[0], full, parts[3] if len(parts) == 4 else b"")


# --- joining partial chunks -----------------------------------------------------

@dataclass
class _Open:
    ts: bytes
    ts_ns: int
    keep: bool  # False: the line's first chunk was filtered out (since/tail)
    parts: list[bytes] = field(default_factory=list)
    size: int = 0


class Joined(NamedTuple):
    stream: int
    ts: bytes  # conmon timestamp of the first chunk
    ts_ns: int
    data: bytes


class LineJoiner:
    """Joins P chunks with the following records of the same stream.

    Docker's json-file keeps partial chunks as separate entries, but
    ``docker logs`` prints their concatenation; one joined line gets one
    timestamp (its first chunk's) and is filtered as one entry.
    """

    def __init__(self) -> None:
        self._open: dict[int, _Open] = {}

    @property
    def idle(self) -> bool:
        return not self._open

    def is_open(self, stream: int) -> bool:
        return stream in self._open

    @property
    def open_streams(self) -> dict:
        """stream -> open line (read-only use: fast membership tests)."""
        return self._open

    def start(self, stream: int, ts: bytes, ts_ns: int, keep: bool) -> None:
        """Begin a line (call when not is_open(stream))."""
        self._open[stream] = _Open(ts, ts_ns, keep)

    def add(self, stream: int, full: bool, text: bytes) -> Joined | None:
        """Append a chunk to the open line; return the line once complete."""
        cur = self._open[stream]
        if full:
            del self._open[stream]
            if not cur.keep:
                return None
            if cur.parts:
                cur.parts.append(text)
                cur.parts.append(b"\n")
                return Joined(stream, cur.ts, cur.ts_ns, b"".join(cur.parts))
            return Joined(stream, cur.ts, cur.ts_ns, text + b"\n")
        if cur.keep:
            cur.parts.append(text)
            cur.size += len(text)
            if cur.size >= MAX_PENDING:
                # Emit what we have; the rest continues as a new entry, as
                # docker does for its 16 KiB partial messages.
                del self._open[stream]
                return Joined(stream, cur.ts, cur.ts_ns, b"".join(cur.parts))
        return None

    def flush(self) -> list[Joined]:
        """Lines still waiting for their end, in stream order (no newline)."""
        out = [Joined(s, o.ts, o.ts_ns, b"".join(o.parts))
               for s, o in sorted(self._open.items()) if o.keep and o.parts]
        self._open.clear()
        return out


# --- convenience parser -----------------------------------------------------------

class K8sParser:
    """Incremental parser: feed file bytes, get Records (partials joined).

    Malformed lines are skipped; an incomplete trailing line waits for more
    data and is dropped by close() (a writer that crashed mid-record).
    """

    def __init__(self) -> None:
        self._joiner = LineJoiner()
        self._carry = b""

    def feed(self, data: bytes) -> list[Record]:
        buf = self._carry + data if self._carry else data
        end = buf.rfind(b"\n")
        if end < 0:
            self._carry = buf
            return []
        self._carry = buf[end + 1:]
        out: list[Record] = []
        joiner = self._joiner
        for line in buf[:end].split(b"\n"):
            rec = parse_line(line)
            if rec is None:
                continue
            try:
                ts_ns = parse_ts(rec.ts)
            except ValueError:
                continue
            if not joiner.is_open(rec.stream):
                joiner.start(rec.stream, rec.ts, ts_ns, True)
            done = joiner.add(rec.stream, rec.full, rec.text)
            if done is not None:
                out.append(Record(done.stream, done.ts_ns, done.data))
        return out

    def close(self) -> list[Record]:
        self._carry = b""
        return [Record(j.stream, j.ts_ns, j.data) for j in self._joiner.flush()]


def parse_records(data: bytes) -> list[Record]:
    """Parse a whole k8s-file log (bytes) into Records."""
    p = K8sParser()
    return p.feed(data) + p.close()
