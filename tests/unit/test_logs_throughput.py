"""Throughput of the log reader on 100 MB (~1.5 M lines): printed, not asserted.

Also on conmon-shaped output: a program writing 65-byte lines, read by conmon
in 8 KiB chunks, so a P record every ~126 lines (as in real logs).

Run with ``-s`` to see the numbers (they are printed even without it).
dockerd's json-file decoder does roughly 150-250 MB/s.
"""
from __future__ import annotations

import os
import random
import time

from hithe.logs.frames import decode_frames
from hithe.logs.reader import read_log_frames, read_logs

SIZE = 100_000_000
WORDS = [b"alpha", b"beta", b"gamma", b"delta", b"error", b"GET /index.html", b"200", b"user=42"]


def make_log(path: str, stderr_share: float, seed: int = 1) -> int:
    """~67-byte lines like a busy web service; one 1 MB pattern, repeated."""
    rng = random.Random(seed)
    lines = []
    size = 0
    i = 0
    while size < 1_000_000:
        sec, ns = divmod(i * 1000, 10**9)
        stream = b"stderr" if rng.random() < stderr_share else b"stdout"
        text = b" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 5)))
        line = b"2024-05-01T10:20:%02d.%09d+00:00 %s F %s\n" % (30 + sec, ns, stream, text)
        lines.append(line)
        size += len(line)
        i += 1
    block = b"".join(lines)
    with open(path, "wb") as f:
        for _ in range(SIZE // len(block) + 1):
            f.write(block)
    return os.path.getsize(path)


def best_of(n: int, fn) -> float:
    best = float("inf")
    for _ in range(n):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def test_throughput_100mb(tmp_path, capsys):
    rows = []
    for label, share in (("stdout only", 0.0), ("10% stderr, interleaved", 0.1)):
        path = str(tmp_path / "ctr.log")
        size = make_log(path, share)
        nlines = sum(1 for _ in read_logs([path], tail=None)) if share else None
        frames = best_of(2, lambda: sum(len(b) for b in read_log_frames([path])))
        raw = best_of(2, lambda: sum(len(b) for b in read_log_frames([path], raw=True)))
        stamped = best_of(1, lambda: sum(len(b) for b in read_log_frames([path],
                                                                          timestamps=True)))
        lines = best_of(1, lambda: sum(1 for _ in read_logs([path])))
        tail = best_of(3, lambda: list(read_logs([path], tail=20)))
        rows.append((label, size, nlines, frames, raw, stamped, lines, tail))
        # sanity: the frames decode and carry every byte of text
        first = next(iter(read_log_frames([path])))
        assert decode_frames(first)
        os.unlink(path)
    with capsys.disabled():
        print()
        for label, size, nlines, frames, raw, stamped, lines, tail in rows:
            mb = size / 1e6
            print(f"logs throughput, {mb:.0f} MB, {label}"
                  + (f" ({nlines / 1e6:.2f} M lines)" if nlines else "") + ":")
            print(f"  frames {mb / frames:6.0f} MB/s   raw (tty) {mb / raw:6.0f} MB/s   "
                  f"frames -t {mb / stamped:6.0f} MB/s   read_logs lines {mb / lines:6.0f} MB/s"
                  f"   tail 20: {tail * 1000:.1f} ms")


def make_conmon_log(path: str) -> tuple[int, int]:
    """stdout of ``yes <64 bytes>`` as conmon 2.1.6 logs it: one timestamp per
    8 KiB read, F records for the lines ended in it, a P record for the rest.
    Returns (file size, bytes of text docker shows)."""
    line = b"hithe benchmark log line %06d, sixty-five bytes with its newline\n"
    out = b"".join(line % i for i in range(8192))  # 8192 * 65: whole 8 KiB reads
    recs = []
    for k in range(0, len(out), 8192):
        sec, ns = divmod(k * 4, 10**9)
        head = b"2026-11-28T02:53:%02d.%09d+00:00 stdout " % (40 + sec, ns)
        lines = out[k:k + 8192].split(b"\n")
        rest = lines.pop()
        recs += [head + b"F " + t + b"\n" for t in lines]
        if rest:
            recs.append(head + b"P " + rest + b"\n")
    block = b"".join(recs)
    n = SIZE // len(block) + 1
    with open(path, "wb") as f:
        for _ in range(n):
            f.write(block)
    return os.path.getsize(path), len(out) * n


def test_throughput_conmon_partials_100mb(tmp_path, capsys):
    path = str(tmp_path / "ctr.log")
    size, text = make_conmon_log(path)
    with open(path, "rb") as f:
        head = f.read(2_000_000)
    partials = head.count(b" stdout P ")
    assert head.count(b" stdout F ") // partials in range(120, 130)
    frames = best_of(2, lambda: sum(len(b) for b in read_log_frames([path])))
    got = []
    raw = best_of(2, lambda: got.append(sum(len(b) for b in read_log_frames([path], raw=True))))
    assert got == [text, text]  # every byte the program wrote, nothing else
    stamped = best_of(1, lambda: sum(len(b) for b in read_log_frames([path], timestamps=True)))
    lines = best_of(1, lambda: sum(1 for _ in read_logs([path])))
    os.unlink(path)
    with capsys.disabled():
        mb = size / 1e6
        print(f"\nlogs throughput, {mb:.0f} MB, conmon chunks (a P record every "
              f"~{head.count(b' stdout F ') // partials} lines):")
        print(f"  frames {mb / frames:6.0f} MB/s   raw (tty) {mb / raw:6.0f} MB/s   "
              f"frames -t {mb / stamped:6.0f} MB/s   read_logs lines {mb / lines:6.0f} MB/s")
