"""Reading k8s-file logs as docker shows them: lines, frames, raw; filters; tail."""
from __future__ import annotations

import os
import random
import time

import pytest

from hithe.logs import reader as reader_mod
from hithe.logs.frames import decode_frames, encode_frames
from hithe.logs.k8sfile import STDERR, STDOUT, docker_ts, parse_line, parse_ts
from hithe.logs.reader import LogReader, read_log_frames, read_logs

T0 = 1714558830_123456789  # 2024-05-01T10:20:30.123456789Z
S = 1_000_000_000


def ts(ns: int, offset_min: int = 0) -> bytes:
    sec, frac = divmod(ns, S)
    t = time.gmtime(sec + offset_min * 60)
    sign = b"+" if offset_min >= 0 else b"-"
    off = abs(offset_min)
    return b"%04d-%02d-%02dT%02d:%02d:%02d.%09d%s%02d:%02d" % (
        t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, frac, sign,
        off // 60, off % 60)


def rec(ns: int, stream: str, tag: str, text: bytes, offset_min: int = 0) -> bytes:
    return ts(ns, offset_min) + b" %s %s " % (stream.encode(), tag.encode()) + text + b"\n"


def write(tmp_path, name: str, data: bytes) -> str:
    p = tmp_path / name
    p.write_bytes(data)
    return str(p)


def coalesce(items):
    out: list[tuple[int, bytes]] = []
    for s, d in items:
        if out and out[-1][0] == s:
            out[-1] = (s, out[-1][1] + d)
        elif d:
            out.append((s, d))
    return out


# --- a naive model of the semantics, record by record ----------------------------

def reference(files: list[bytes], *, stdout=True, stderr=True, since=0, until=None,
              tail=None, timestamps=False) -> list[tuple[int, bytes]]:
    recs = []
    for data in files:
        for line in data[:data.rfind(b"\n") + 1].split(b"\n")[:-1]:
            r = parse_line(line)
            if r is None:
                continue
            try:
                ns = parse_ts(r.ts)
            except ValueError:
                continue
            recs.append((r.stream, r.ts, ns, r.full, r.text))
    groups, open_ = [], {}
    for i, (s, _, _, full, _) in enumerate(recs):
        g = open_.get(s)
        if g is None:
            g = open_[s] = []
            groups.append(g)
        g.append(i)
        if full:
            del open_[s]
    if tail is not None:
        groups = sorted(groups, key=lambda g: g[-1])[max(0, len(groups) - tail):] if tail else []
    selected = sorted(i for g in groups for i in g)
    want = {STDOUT: stdout, STDERR: stderr}
    out, cur = [], {}
    for i in selected:
        s, tsb, ns, full, text = recs[i]
        if not want[s]:
            continue
        if s not in cur:
            if until is not None and ns > until:
                break
            cur[s] = (tsb, ns >= since, [])
        tsb, keep, parts = cur[s]
        if full:
            del cur[s]
            if keep:
                out.append((s, tsb, b"".join(parts) + text + b"\n"))
        else:
            parts.append(text)
    for s in sorted(cur):
        tsb, keep, parts = cur[s]
        if keep and parts:
            out.append((s, tsb, b"".join(parts)))
    if timestamps:
        return [(s, docker_ts(t) + b" " + d) for s, t, d in out]
    return [(s, d) for s, _, d in out]


# --- deterministic cases -------------------------------------------------------------

def sample() -> bytes:
    return (rec(T0, "stdout", "F", b"out one")
            + rec(T0 + 1 * S, "stderr", "F", b"err one")
            + rec(T0 + 2 * S, "stdout", "P", b"out ")
            + rec(T0 + 3 * S, "stderr", "F", b"err two")
            + rec(T0 + 4 * S, "stdout", "F", b"two")
            + rec(T0 + 5 * S, "stdout", "F", b""))


def test_full_and_partial_lines(tmp_path):
    p = write(tmp_path, "c.log", sample())
    assert list(read_logs([p])) == [
        (STDOUT, b"out one\n"), (STDERR, b"err one\n"), (STDERR, b"err two\n"),
        (STDOUT, b"out two\n"), (STDOUT, b"\n")]


def test_stream_filters(tmp_path):
    p = write(tmp_path, "c.log", sample())
    assert b"".join(d for _, d in read_logs([p], stderr=False)) == b"out one\nout two\n\n"
    assert list(read_logs([p], stdout=False)) == [(STDERR, b"err one\n"), (STDERR, b"err two\n")]
    assert list(read_logs([p], stdout=False, stderr=False)) == []


def test_since_until(tmp_path):
    p = write(tmp_path, "c.log", sample())
    got = list(read_logs([p], since_ns=T0 + 1 * S, until_ns=T0 + 3 * S))
    # "out two" started at T0+2s (its first chunk): inside the window, whole
    assert got == [(STDERR, b"err one\n"), (STDERR, b"err two\n"), (STDOUT, b"out two\n")]
    assert list(read_logs([p], since_ns=T0 + 4 * S)) == [(STDOUT, b"\n")]  # "two" joined to T0+2
    assert list(read_logs([p], since_ns=T0 + 2 * S, until_ns=T0 + 2 * S)) == [(STDOUT, b"out ")]
    assert list(read_logs([p], until_ns=T0 - 1)) == []


def test_timestamps_format(tmp_path):
    data = (rec(T0, "stdout", "F", b"a", offset_min=120)
            + rec(1714558830 * S, "stderr", "F", b"b", offset_min=-300)
            + rec(1714558830 * S + 100, "stdout", "F", b"c"))
    p = write(tmp_path, "c.log", data)
    assert list(read_logs([p], timestamps=True)) == [
        (STDOUT, b"2024-05-01T10:20:30.123456789Z a\n"),
        (STDERR, b"2024-05-01T10:20:30.000000000Z b\n"),
        (STDOUT, b"2024-05-01T10:20:30.000000100Z c\n")]


def test_timestamps_partial_line_gets_first_chunk_time(tmp_path):
    p = write(tmp_path, "c.log", sample())
    lines = [d for s, d in read_logs([p], timestamps=True) if s == STDOUT]
    assert lines[1] == b"2024-05-01T10:20:32.123456789Z out two\n"


def test_truncated_last_line_and_garbage(tmp_path):
    good = rec(T0, "stdout", "F", b"ok")
    p = write(tmp_path, "c.log", b"junk\n\n" + good + rec(T0 + 1, "stdout", "F", b"torn")[:-3])
    assert list(read_logs([p])) == [(STDOUT, b"ok\n")]
    r = LogReader([p])
    assert b"".join(r.frames(raw=True)) == b"ok\n"
    assert r.end.offset == len(b"junk\n\n" + good)  # follow resumes at the torn record


def test_frames_layout(tmp_path):
    p = write(tmp_path, "c.log", sample())
    buf = b"".join(read_log_frames([p]))
    # 8-byte header: stream, 3 zero bytes, big-endian length
    assert buf[:8] == b"\x01\x00\x00\x00" + (8).to_bytes(4, "big")
    assert buf[8:16] == b"out one\n"
    assert coalesce(decode_frames(buf)) == coalesce(list(read_logs([p])))


def test_raw_for_tty(tmp_path):
    p = write(tmp_path, "c.log", sample())
    assert b"".join(read_log_frames([p], raw=True)) == b"out one\nerr one\nerr two\nout two\n\n"
    assert b"".join(read_log_frames([p], raw=True, stderr=False)) == b"out one\nout two\n\n"


def test_encode_decode_frames_roundtrip():
    runs = [(1, b"a\n"), (2, b"bb\n"), (1, b"c" * 70000)]
    assert decode_frames(encode_frames(runs)) == runs
    with pytest.raises(ValueError):
        decode_frames(encode_frames(runs)[:-1])


def test_tail_across_rotated_files(tmp_path):
    lines = [rec(T0 + i, "stdout", "F", b"line %d" % i) for i in range(30)]
    paths = [write(tmp_path, "c.log.2", b"".join(lines[:10])),
             write(tmp_path, "c.log.1", b"".join(lines[10:20])),
             write(tmp_path, "c.log", b"".join(lines[20:]))]
    for n in (0, 1, 5, 10, 11, 25, 30, 100):
        got = [d for _, d in read_logs(paths, tail=n)]
        assert got == [b"line %d\n" % i for i in range(max(0, 30 - n), 30)]
    assert len(list(read_logs(paths))) == 30


def test_tail_keeps_partial_chunks_before_the_window(tmp_path):
    data = (rec(T0, "stdout", "F", b"0")
            + rec(T0 + 1, "stdout", "P", b"a")
            + rec(T0 + 2, "stderr", "F", b"x")
            + rec(T0 + 3, "stdout", "F", b"b"))
    p = write(tmp_path, "c.log", data)
    assert list(read_logs([p], tail=1)) == [(STDOUT, b"ab\n")]
    assert list(read_logs([p], tail=2)) == [(STDERR, b"x\n"), (STDOUT, b"ab\n")]


def test_tail_does_not_read_everything(tmp_path, monkeypatch):
    line = rec(T0, "stdout", "F", b"x" * 60)
    p = write(tmp_path, "big.log", line * 200_000)  # ~21 MB
    read = []
    real = os.pread

    def counting(fd, n, off):
        read.append(n)
        return real(fd, n, off)

    monkeypatch.setattr(reader_mod.os, "pread", counting)
    assert list(read_logs([p], tail=20)) == [(STDOUT, b"x" * 60 + b"\n")] * 20
    assert sum(read) < 256 << 10


def test_missing_files_and_empty(tmp_path):
    assert list(read_logs([str(tmp_path / "nope")])) == []
    p = write(tmp_path, "empty.log", b"")
    r = LogReader([p])
    assert list(r.lines()) == [] and r.end.offset == 0


def test_same_inode_listed_twice_is_read_once(tmp_path):
    p = write(tmp_path, "c.log", rec(T0, "stdout", "F", b"once"))
    os.link(p, p + ".keep")
    assert list(read_logs([p + ".keep", p])) == [(STDOUT, b"once\n")]


def test_end_position_names_newest_file(tmp_path):
    old = write(tmp_path, "c.log.1", rec(T0, "stdout", "F", b"a"))
    new = write(tmp_path, "c.log", rec(T0 + 1, "stdout", "F", b"b"))
    r = LogReader([old, new])
    assert [d for _, d in r.lines()] == [b"a\n", b"b\n"]
    st = os.stat(new)
    assert (r.end.ino, r.end.offset) == (st.st_ino, st.st_size)
    r = LogReader([old, new], tail=0)
    assert list(r.lines()) == [] and r.end.offset == st.st_size


def test_text_that_looks_like_headers(tmp_path):
    tricky = [b" stdout F ", b"+00:00 stderr F x", b" stderr " * 5, b"P P P",
              ts(T0) + b" stderr F inner"]
    data = b"".join(rec(T0 + i, ("stdout", "stderr")[i % 2], "F", t) for i, t in enumerate(tricky))
    p = write(tmp_path, "c.log", data * 40)
    want = reference([data * 40])
    assert list(read_logs([p])) == want
    assert coalesce(decode_frames(b"".join(read_log_frames([p])))) == coalesce(want)
    assert list(read_logs([p], timestamps=True)) == reference([data * 40], timestamps=True)


# --- randomized comparison with the model (all fast paths, block edges) ---------------

ALPHABET = [b"a", b"b", b" ", b"  ", b"x y", b"\t", b"\xc3\xa9", b"\r", b" P ", b" stdout ",
            b" stderr F ", b"+00:00 stdout F ", b"\x00", b"Z"]


def gen_log(rng: random.Random, n: int, mode: str, *, partial: float, bad: float,
            offset: int) -> list[bytes]:
    t = T0
    out = []
    stream = "stdout"
    for i in range(n):
        t += rng.choice((0, 1, 1000, S // 3))
        if mode == "random":
            stream = "stderr" if rng.random() < 0.3 else "stdout"
        elif mode == "burst" and rng.random() < 0.05:
            stream = "stderr" if stream == "stdout" else "stdout"
        tag = "P" if rng.random() < partial else "F"
        text = b"".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 12)))
        if tag == "P" and not text:
            text = b"p"
        off = offset if offset != 999 else rng.choice((0, 60))  # 999: changing offsets
        out.append(rec(t, stream, tag, text, off))
        if rng.random() < bad:
            out.append(rng.choice([b"\n", b"junk\n", b"\x00" * 50 + b"\n",
                                   ts(t)[:20] + b" stdout F cut\n",
                                   b"2024-05-01T10:20:30.123456789+00:00 stdin F x\n"]))
    return out


def split_files(rng: random.Random, lines: list[bytes], torn: bool) -> list[bytes]:
    cuts = sorted(rng.sample(range(1, len(lines)), min(rng.randint(0, 2), len(lines) - 1)))
    files = []
    for a, b in zip([0] + cuts, cuts + [len(lines)]):
        data = b"".join(lines[a:b])
        if torn and rng.random() < 0.5:
            data += rec(T0, "stdout", "F", b"torn")[:rng.randint(1, 48)]
        files.append(data)
    return files


@pytest.mark.parametrize("seed", range(40))
def test_random_logs_match_model(tmp_path, monkeypatch, seed):
    rng = random.Random(seed)
    monkeypatch.setattr(reader_mod, "TAIL_BLOCK0", rng.choice((40, 300, 4096)))
    monkeypatch.setattr(reader_mod, "BLOCK", rng.choice((500, 1 << 16)))
    mode = rng.choice(("random", "burst", "stdout"))
    lines = gen_log(rng, rng.randint(1, 1500), mode,
                    partial=rng.choice((0, 0, 0.05, 0.4)), bad=rng.choice((0, 0, 0.01)),
                    offset=rng.choice((0, 0, 120, -330, 999)))
    files = split_files(rng, lines, torn=rng.random() < 0.3)
    paths = [write(tmp_path, f"c.log.{len(files) - i - 1}", d) for i, d in enumerate(files)]
    all_ts = [parse_ts(r.ts) for r in filter(None, (parse_line(x[:-1]) for x in lines))
              if _valid(r.ts)]
    for _ in range(6):
        kw = dict(stdout=rng.random() < 0.85, stderr=rng.random() < 0.85,
                  timestamps=rng.random() < 0.4)
        if rng.random() < 0.3 and all_ts:
            kw["since"] = rng.choice(all_ts) + rng.choice((-1, 0, 1))
        if rng.random() < 0.3 and all_ts:
            kw["until"] = rng.choice(all_ts) + rng.choice((-1, 0, 1))
        if rng.random() < 0.4:
            kw["tail"] = rng.choice((0, 1, 2, 7, 50, 400, 5000))
        want = reference(files, **kw)
        args = dict(stdout=kw["stdout"], stderr=kw["stderr"], since_ns=kw.get("since", 0),
                    until_ns=kw.get("until"), tail=kw.get("tail"), timestamps=kw["timestamps"])
        bs = rng.choice((97, 1000, 1 << 16))
        got = list(LogReader(paths, block_size=bs, **args).lines())
        assert got == want, (kw, bs)
        frames = b"".join(LogReader(paths, block_size=bs, **args).frames())
        assert coalesce(decode_frames(frames)) == coalesce(want), (kw, bs)
        raw = b"".join(LogReader(paths, block_size=bs, merge=True, **args).frames(raw=True))
        assert raw == b"".join(d for _, d in want), (kw, bs)


def _valid(t: bytes) -> bool:
    try:
        parse_ts(t)
        return True
    except ValueError:
        return False


@pytest.mark.parametrize("offset", [330, -480, 60])
@pytest.mark.parametrize("mode", ["stdout", "burst", "random"])
def test_local_time_to_utc_across_midnight(tmp_path, offset, mode):
    midnight = 1714608000 * S  # 2024-05-02T00:00:00Z
    rng = random.Random(offset)
    lines = []
    for i in range(4000):
        ns = midnight - 2 * 60 * S + i * (S // 16) + 7
        stream = "stderr" if (mode == "random" and rng.random() < 0.3) or (
            mode == "burst" and (i // 300) % 3 == 1) else "stdout"
        lines.append(rec(ns, stream, "F", b"line %d" % i, offset))
    data = b"".join(lines)
    p = write(tmp_path, "c.log", data)
    want = reference([data], timestamps=True)
    assert want[0][1].startswith(b"2024-05-01T23:58:00.000000007Z line 0")
    for bs in (500, 1 << 16, 1 << 20):
        assert list(LogReader([p], timestamps=True, block_size=bs).lines()) == want
        frames = b"".join(LogReader([p], timestamps=True, block_size=bs).frames())
        assert coalesce(decode_frames(frames)) == coalesce(want)
