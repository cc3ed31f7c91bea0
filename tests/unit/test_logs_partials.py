"""P (partial) records on the fast path: conmon-shaped logs against the models.

conmon reads a container's pipe in chunks of up to 8 KiB and writes one
record per line in the chunk: ``F`` for lines that ended in it, ``P`` for
the piece after its last newline. Real logs thus hold a P record every ~100
lines, often followed by the other stream's records. The fast path joins
them at the bytes level (blocks._merge_partials); here its output is checked
against a naive record-by-record model and against the processor's own
per-record path, and the per-record path is checked to stay out of the way.
"""
from __future__ import annotations

import random
import time

import pytest

from hithe.logs import blocks, k8sfile
from hithe.logs import reader as reader_mod
from hithe.logs.blocks import BlockProcessor, Query
from hithe.logs.frames import decode_frames
from hithe.logs.k8sfile import STDERR, STDOUT, docker_ts, parse_line, parse_ts
from hithe.logs.reader import LogReader

T0 = 1714558830_123456789  # 2024-05-01T10:20:30.123456789Z
S = 1_000_000_000
NAMES = {STDOUT: "stdout", STDERR: "stderr"}


def ts(ns: int, offset_min: int = 0) -> bytes:
    sec, frac = divmod(ns, S)
    t = time.gmtime(sec + offset_min * 60)
    sign = b"+" if offset_min >= 0 else b"-"
    off = abs(offset_min)
    return b"%04d-%02d-%02dT%02d:%02d:%02d.%09d%s%02d:%02d" % (
        t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, frac, sign,
        off // 60, off % 60)


def conmon_records(chunks: list[tuple[int, int, bytes]], offset_min: int = 0) -> bytes:
    """(stream, ns, bytes read from the pipe) -> k8s-file lines, as conmon
    writes them: every line ended in the chunk is an F record, the rest P."""
    out = []
    for stream, ns, data in chunks:
        head = ts(ns, offset_min) + b" " + NAMES[stream].encode()
        lines = data.split(b"\n")
        rest = lines.pop()
        out += [head + b" F " + line + b"\n" for line in lines]
        if rest:
            out.append(head + b" P " + rest + b"\n")
    return b"".join(out)


def pipe_reads(rng: random.Random, outputs: dict[int, bytes], max_read: int,
               mix: float = 0.5) -> list[tuple[int, int, bytes]]:
    """Interleaved reads of the streams' pipes: (stream, time, chunk)."""
    pos = {s: 0 for s in outputs}
    t = T0
    chunks = []
    cur = STDOUT
    while any(pos[s] < len(d) for s, d in outputs.items()):
        if rng.random() < mix or pos[cur] >= len(outputs[cur]):
            cur = rng.choice([s for s in outputs if pos[s] < len(outputs[s])])
        n = rng.randint(1, max_read)
        chunks.append((cur, t, outputs[cur][pos[cur]:pos[cur] + n]))
        pos[cur] += n
        t += rng.choice((0, 1, 997, S // 7))
    return chunks


TEXTS = [b"a", b"bc", b" ", b" P ", b"P", b"+00:00 stdout P ", b" stderr ", b" stdout F ",
         b"\r", b"\t", b"\xc3\xa9", b"x" * 70, b"2024-05-01T10:20:30.123456789+00:00 stderr P "]


def program_output(rng: random.Random, size: int, long_lines: bool = False,
                   open_end: bool = True) -> bytes:
    parts = []
    n = 0
    while n < size:
        line = b"".join(rng.choice(TEXTS) for _ in range(rng.randint(0, 12)))
        if long_lines and rng.random() < 0.05:
            line *= rng.randint(50, 400)
        parts.append(line + b"\n")
        n += len(parts[-1])
    out = b"".join(parts)
    if open_end and rng.random() < 0.5:  # a last line never ended
        out += b"no newline yet"
    return out


# --- the models ------------------------------------------------------------------

def model(files: list[bytes], *, stdout=True, stderr=True, since=0, until=None,
          timestamps=False) -> list[tuple[int, bytes]]:
    """docker's view, record by record (no tail here: see test_logs_reader)."""
    want = {STDOUT: stdout, STDERR: stderr}
    out: list[tuple[int, bytes, bytes]] = []
    cur: dict[int, tuple[bytes, bool, list[bytes]]] = {}
    stop = False
    for data in files:
        for line in data[:data.rfind(b"\n") + 1].split(b"\n")[:-1]:
            r = parse_line(line)
            if r is None or not want[r.stream]:
                continue
            try:
                ns = parse_ts(r.ts)
            except ValueError:
                continue
            if r.stream not in cur:
                if until is not None and ns > until:
                    stop = True
                    break
                cur[r.stream] = (r.ts, ns >= since, [])
            t, keep, parts = cur[r.stream]
            if r.full:
                del cur[r.stream]
                if keep:
                    out.append((r.stream, t, b"".join(parts) + r.text + b"\n"))
            else:
                parts.append(r.text)
        if stop:
            break
    for s in sorted(cur):
        t, keep, parts = cur[s]
        if keep and parts:
            out.append((s, t, b"".join(parts)))
    if timestamps:
        return [(s, docker_ts(t) + b" " + d) for s, t, d in out]
    return [(s, d) for s, _, d in out]


def coalesce(items):
    out: list[tuple[int, bytes]] = []
    for s, d in items:
        if out and out[-1][0] == s:
            out[-1] = (s, out[-1][1] + d)
        elif d:
            out.append((s, d))
    return out


@pytest.fixture
def slow_spy(monkeypatch):
    """Bytes handed to the per-record path."""
    seen = {"bytes": 0, "calls": 0}
    orig = BlockProcessor._slow

    def spy(self, block, base):
        seen["bytes"] += len(block) - 1
        seen["calls"] += 1
        return orig(self, block, base)

    monkeypatch.setattr(BlockProcessor, "_slow", spy)
    return seen


def write(tmp_path, files: list[bytes]) -> list[str]:
    paths = []
    for i, data in enumerate(files):
        p = tmp_path / f"c.log.{len(files) - i - 1}"
        p.write_bytes(data)
        paths.append(str(p))
    return paths


def check(paths, files, bs, **kw):
    want = model(files, **{k: v for k, v in kw.items() if k not in ("since_ns", "until_ns")},
                 since=kw.get("since_ns", 0), until=kw.get("until_ns"))
    got = list(LogReader(paths, block_size=bs, **kw).lines())
    assert got == want, (kw, bs)
    frames = b"".join(LogReader(paths, block_size=bs, **kw).frames())
    assert coalesce(decode_frames(frames)) == coalesce(want), (kw, bs)
    if kw.get("stdout", True) and kw.get("stderr", True):
        raw = b"".join(LogReader(paths, block_size=bs, merge=True, **kw).frames(raw=True))
        assert raw == b"".join(d for _, d in want), (kw, bs)


# --- conmon-shaped logs ------------------------------------------------------------

def test_conmon_chunks_one_stream_stay_on_the_fast_path(tmp_path, slow_spy):
    rng = random.Random(7)
    out = b"".join(b"line %06d %s\n" % (i, b"." * (i % 90)) for i in range(40000))
    chunks = pipe_reads(rng, {STDOUT: out}, 8192)
    data = conmon_records(chunks)
    assert data.count(b" stdout P ") > 300
    paths = write(tmp_path, [data])
    for ts_ in (False, True):
        got = b"".join(LogReader(paths, timestamps=ts_).frames())
        assert coalesce(decode_frames(got)) == coalesce(model([data], timestamps=ts_))
    assert slow_spy["bytes"] == 0
    # ... and the per-record path agrees, frame for frame once coalesced.
    fast = coalesce(decode_frames(b"".join(LogReader(paths).frames())))
    proc = BlockProcessor(Query())
    slow = proc._slow(b"\n" + data, 0)
    slow.extend(proc.flush())
    assert fast == coalesce(list(slow))


def test_partial_then_other_stream_moves_the_line(tmp_path, slow_spy):
    """A P record continued after the other stream's lines: the joined line
    comes out where it ends (docker prints lines once complete)."""
    t = T0
    recs = []
    for i in range(3000):
        t += 1000
        recs.append(ts(t) + b" stdout P out%d-" % i + b"\n")
        recs.append(ts(t + 1) + b" stderr F err%d" % i + b"\n")
        recs.append(ts(t + 2) + b" stderr P e" + b"\n")
        recs.append(ts(t + 3) + b" stdout F end%d" % i + b"\n")
        recs.append(ts(t + 4) + b" stderr F rr" + b"\n")
    data = b"".join(recs)
    paths = write(tmp_path, [data])
    for bs in (1000, 1 << 16):
        check(paths, [data], bs)
        check(paths, [data], bs, timestamps=True)
        check(paths, [data], bs, stderr=False)
    assert slow_spy["bytes"] == 0


@pytest.mark.parametrize("seed", range(30))
def test_random_conmon_logs_match_model(tmp_path, monkeypatch, seed):
    rng = random.Random(1000 + seed)
    monkeypatch.setattr(reader_mod, "BLOCK", rng.choice((500, 1 << 16)))
    two = rng.random() < 0.6
    outputs = {STDOUT: program_output(rng, rng.choice((2000, 30000, 200000)), rng.random() < 0.3)}
    if two:
        outputs[STDERR] = program_output(rng, rng.choice((500, 20000)))
    chunks = pipe_reads(rng, outputs, rng.choice((64, 700, 8192)), mix=rng.choice((0.05, 0.5)))
    offset = rng.choice((0, 0, 120, -330))
    data = conmon_records(chunks, offset)
    if rng.random() < 0.2:  # a record with another UTC offset (DST)
        lines = data.split(b"\n")
        i = rng.randrange(len(lines) - 1)
        r = parse_line(lines[i])
        if r is not None and len(r.ts) == 35:
            lines[i] = ts(parse_ts(r.ts), offset + 60) + lines[i][35:]
        data = b"\n".join(lines)
    # rotated files: cut anywhere between lines
    lines = data.splitlines(keepends=True)
    cuts = sorted(rng.sample(range(1, len(lines)), min(rng.randint(0, 2), len(lines) - 1)))
    files = [b"".join(lines[a:b]) for a, b in zip([0] + cuts, cuts + [len(lines)])]
    paths = write(tmp_path, files)
    all_ts = [c[1] for c in chunks]
    for _ in range(5):
        kw = dict(stdout=rng.random() < 0.85, stderr=rng.random() < 0.85,
                  timestamps=rng.random() < 0.4)
        if rng.random() < 0.3:
            kw["since_ns"] = rng.choice(all_ts) + rng.choice((-1, 0, 1))
        if rng.random() < 0.3:
            kw["until_ns"] = rng.choice(all_ts) + rng.choice((-1, 0, 1))
        check(paths, files, rng.choice((97, 1000, 1 << 16, 1 << 19)), **kw)


def test_lines_longer_than_a_block(tmp_path, monkeypatch):
    """Lines of many P records, longer than a block and than the hold limit."""
    monkeypatch.setattr(blocks, "_HOLD_MAX", 5000)
    rng = random.Random(3)
    out = b"".join(b"%d:" % i + b"y" * rng.choice((10, 3000, 40000)) + b"\n" for i in range(200))
    err = b"".join(b"e%d\n" % i for i in range(3000))
    data = conmon_records(pipe_reads(rng, {STDOUT: out, STDERR: err}, 1024, mix=0.3))
    paths = write(tmp_path, [data])
    for bs in (2000, 1 << 16):
        check(paths, [data], bs)
        check(paths, [data], bs, timestamps=True)


def test_max_pending_pieces_match_the_exact_path(tmp_path, monkeypatch):
    """Very long lines are emitted in MAX_PENDING pieces: as the slow path does."""
    monkeypatch.setattr(k8sfile, "MAX_PENDING", 3000)
    rng = random.Random(5)
    out = b"".join(b"z" * rng.choice((5, 2000, 9000)) + b"\n" for _ in range(300))
    data = conmon_records(pipe_reads(rng, {STDOUT: out}, 1500))
    paths = write(tmp_path, [data])
    for stamps in (False, True):
        proc = BlockProcessor(Query(timestamps=stamps))
        exact = list(proc._slow(b"\n" + data, 0)) + list(proc.flush())
        if stamps:  # pieces (no newline) got times of their own
            joined = b"".join(p for _, p in exact)
            assert joined.count(b"Z ") > joined.count(b"\n")
        for bs in (1000, 1 << 16):
            frames = b"".join(LogReader(paths, block_size=bs, timestamps=stamps).frames())
            assert coalesce(decode_frames(frames)) == coalesce(
                [(s, bytes(p)) for s, p in exact]), (stamps, bs)


def test_unfinished_line_at_file_and_data_ends(tmp_path):
    rec = lambda n, tag, text: ts(T0 + n) + b" stdout %s %s\n" % (tag, text)  # noqa: E731
    old = b"".join(rec(i, b"F", b"old%d" % i) for i in range(50)) + rec(60, b"P", b"spans ")
    new = rec(61, b"P", b"two ") + rec(62, b"F", b"files") + rec(63, b"P", b"never ended")
    paths = write(tmp_path, [old, new])
    for bs in (100, 1 << 16):
        check(paths, [old, new], bs)
        check(paths, [old, new], bs, timestamps=True)
        check(paths, [old, new], bs, since_ns=T0 + 61)
        check(paths, [old, new], bs, until_ns=T0 + 60)
    got = list(LogReader(paths, timestamps=True).lines())
    assert got[-2] == (STDOUT, docker_ts(ts(T0 + 60)) + b" spans two files\n")
    assert got[-1] == (STDOUT, docker_ts(ts(T0 + 63)) + b" never ended")


def test_processor_held_line_flushes_like_the_joiner():
    """A follower flushes when drained: a held P line shows, as with the joiner."""
    data = b"".join(ts(T0 + i) + b" stdout F l%d\n" % i for i in range(20))
    part = ts(T0 + 30) + b" stdout P Password: \n"
    rest = ts(T0 + 31) + b" stdout F ok\n"
    fast, slow = BlockProcessor(Query()), BlockProcessor(Query())

    def run(proc, step):
        got = []
        for kind, block in step:
            b = proc.process(block) if kind == "p" else proc.flush()
            got += [(s, bytes(x)) for s, x in b]
        return coalesce(got)

    steps = [("p", b"\n" + data + part), ("f", b""), ("p", b"\n" + rest), ("f", b"")]
    slow._fast = lambda block, base: slow._slow(block, base)  # type: ignore[method-assign]
    assert run(fast, steps) == run(slow, steps) == [
        (STDOUT, b"".join(b"l%d\n" % i for i in range(20)) + b"Password: ok\n")]
    assert run(BlockProcessor(Query()), steps[:2]) == [
        (STDOUT, b"".join(b"l%d\n" % i for i in range(20)) + b"Password: ")]


def test_tail_with_partials(tmp_path):
    rng = random.Random(11)
    outputs = {STDOUT: program_output(rng, 60000, open_end=False),
               STDERR: program_output(rng, 9000, open_end=False)}
    data = conmon_records(pipe_reads(rng, outputs, 700))
    paths = write(tmp_path, [data])
    full = model([data])  # (every line ended: the last n are the tail)
    for n in (1, 5, 100, 2000):
        assert list(LogReader(paths, tail=n).lines()) == full[-n:]
