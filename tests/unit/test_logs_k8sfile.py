"""conmon k8s-file records: timestamps, parsing, joining partial chunks."""
from __future__ import annotations

import calendar
import time

import pytest

from hithe.logs import k8sfile
from hithe.logs.k8sfile import (
    STDERR, STDOUT, K8sParser, Record, docker_ts, format_ts, parse_line, parse_records, parse_ts,
)

T0 = 1714558830_123456789  # 2024-05-01T10:20:30.123456789Z


def ts(ns: int, offset_min: int = 0) -> bytes:
    """conmon's timestamp (local time with offset) for ns since the epoch."""
    sec, frac = divmod(ns, 1_000_000_000)
    t = time.gmtime(sec + offset_min * 60)
    sign = b"+" if offset_min >= 0 else b"-"
    off = abs(offset_min)
    return b"%04d-%02d-%02dT%02d:%02d:%02d.%09d%s%02d:%02d" % (
        t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, frac, sign,
        off // 60, off % 60)


def rec(ns: int, stream: str, tag: str, text: bytes, offset_min: int = 0) -> bytes:
    return ts(ns, offset_min) + b" %s %s " % (stream.encode(), tag.encode()) + text + b"\n"


def test_timestamp_width_is_fixed():
    assert len(ts(T0)) == k8sfile.TS_LEN == 35
    assert len(rec(T0, "stderr", "F", b"")) - 1 == k8sfile.HEADER_LEN


@pytest.mark.parametrize("offset", [0, 120, -300, 330, -570, 14 * 60])
def test_parse_ts_with_offsets(offset):
    assert parse_ts(ts(T0, offset)) == T0


def test_parse_ts_general_forms():
    assert parse_ts(b"2024-05-01T10:20:30Z") == 1714558830 * 10**9
    assert parse_ts(b"2024-05-01T10:20:30.5Z") == 1714558830 * 10**9 + 500_000_000
    assert parse_ts(b"2024-05-01T12:20:30.123456789+02:00") == T0
    assert parse_ts(b"2024-05-01T10:20:30.000001-00:00") == 1714558830 * 10**9 + 1000


@pytest.mark.parametrize("bad", [
    b"", b"garbage", b"2024-13-01T10:20:30.123456789+00:00", b"2024-05-01T10:20:30.12345678x+00:00",
    b"2024-05-01 10:20:30.123456789+00:00", b"2024-05-01T10:20:30.123456789+0000",
    b"2024-05-01T10:20:30.123456789+00:00 ", b"\x00" * 35,
])
def test_parse_ts_rejects(bad):
    with pytest.raises(ValueError):
        parse_ts(bad)


def test_format_ts_is_docker_rfc3339nanofixed():
    # jsonmessage.RFC3339NanoFixed: nine digits always, trailing zeros kept, UTC "Z".
    assert format_ts(T0) == b"2024-05-01T10:20:30.123456789Z"
    assert format_ts(1714558830 * 10**9) == b"2024-05-01T10:20:30.000000000Z"
    assert format_ts(1714558830 * 10**9 + 100) == b"2024-05-01T10:20:30.000000100Z"
    assert format_ts(0) == b"1970-01-01T00:00:00.000000000Z"


@pytest.mark.parametrize("offset", [0, 60, -60, 330, -570])
def test_docker_ts_converts_to_utc(offset):
    for ns in (T0, calendar.timegm((2023, 12, 31, 23, 59, 59)) * 10**9 + 7,
               calendar.timegm((2024, 3, 1, 0, 0, 1)) * 10**9):
        assert docker_ts(ts(ns, offset)) == format_ts(ns)


def test_parse_line():
    r = parse_line(rec(T0, "stderr", "P", b"x y")[:-1])
    assert (r.stream, r.full, r.text, r.ts) == (STDERR, False, b"x y", ts(T0))
    assert parse_line(rec(T0, "stdout", "F", b"")[:-1]).text == b""
    # not conmon's width but well-formed: still accepted
    r = parse_line(b"2024-05-01T10:20:30Z stdout F hi")
    assert (r.stream, r.full, r.text) == (STDOUT, True, b"hi")
    for bad in (b"", b"2024-05-01T10:20:30Z", b"2024-05-01T10:20:30Z stdin F x",
                b"2024-05-01T10:20:30Z stdout X x"):
        assert parse_line(bad) is None


def test_full_and_partial_lines_are_joined():
    data = (rec(T0, "stdout", "F", b"one")
            + rec(T0 + 1, "stdout", "P", b"tw")
            + rec(T0 + 2, "stderr", "F", b"err")
            + rec(T0 + 3, "stdout", "P", b"o ")
            + rec(T0 + 4, "stdout", "F", b"done")
            + rec(T0 + 5, "stdout", "F", b""))
    assert parse_records(data) == [
        Record(STDOUT, T0, b"one\n"),
        Record(STDERR, T0 + 2, b"err\n"),
        Record(STDOUT, T0 + 1, b"two done\n"),  # first chunk's timestamp
        Record(STDOUT, T0 + 5, b"\n"),
    ]


def test_open_partial_flushed_without_newline():
    data = rec(T0, "stdout", "F", b"a") + rec(T0 + 1, "stderr", "P", b"prompt> ")
    assert parse_records(data) == [Record(STDOUT, T0, b"a\n"), Record(STDERR, T0 + 1, b"prompt> ")]


def test_truncated_last_line_and_garbage_are_skipped():
    good = rec(T0, "stdout", "F", b"kept")
    data = (b"garbage line\n" + good + b"\x00\x00\x00\n" + rec(T0 + 1, "stdin", "F", b"no")
            + b"2024-99-01T10:20:30.123456789+00:00 stdout F bad date\n"
            + rec(T0 + 2, "stderr", "F", b"also kept") + rec(T0 + 3, "stdout", "F", b"torn")[:-7])
    assert parse_records(data) == [Record(STDOUT, T0, b"kept\n"),
                                   Record(STDERR, T0 + 2, b"also kept\n")]


def test_incremental_feed_matches_whole_parse():
    data = b"".join(rec(T0 + i, ("stdout", "stderr")[i % 3 == 0], "FP"[i % 4 == 1], b"l%d" % i)
                    for i in range(200))
    whole = parse_records(data)
    for step in (1, 7, 64, 1000):
        p = K8sParser()
        got = []
        for i in range(0, len(data), step):
            got += p.feed(data[i:i + step])
        got += p.close()
        assert got == whole


def test_huge_partial_line_is_emitted_in_pieces(monkeypatch):
    monkeypatch.setattr(k8sfile, "MAX_PENDING", 100)
    data = b"".join(rec(T0 + i, "stdout", "P", b"x" * 40) for i in range(5)) + rec(
        T0 + 9, "stdout", "F", b"end")
    out = parse_records(data)
    assert b"".join(r.data for r in out) == b"x" * 200 + b"end\n"
    assert len(out) == 2 and out[1].ts_ns == T0 + 3
