"""logs -f: following conmon's file across rename-over rotation until exit."""
from __future__ import annotations

import asyncio
import os
import time

import pytest

from hithe.logs.follow import (
    follow_log_frames, follow_logs, iterate_in_thread, log_stream,
)
from hithe.logs.frames import decode_frames
from hithe.logs.k8sfile import STDERR, STDOUT
from hithe.logs.reader import LogReader
from hithe.logs.rotation import LogKeeper, log_paths

T0 = 1714558830_123456789
FAST = dict(poll_min=0.01, poll_max=0.02)


def rec(text: bytes, stream: str = "stdout", tag: str = "F", ns: int = T0) -> bytes:
    t = time.gmtime(ns // 10**9)
    return b"%04d-%02d-%02dT%02d:%02d:%02d.%09d+00:00 %s %s %s\n" % (
        t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, ns % 10**9,
        stream.encode(), tag.encode(), text)


def append(path: str, data: bytes) -> None:
    with open(path, "ab") as f:
        f.write(data)


def conmon_rotate(path: str) -> None:
    with open(path + ".tmp", "wb"):
        pass
    os.rename(path + ".tmp", path)


async def collect(agen, into: list) -> None:
    async for item in agen:
        into.append(item)


def run(coro, timeout: float = 10):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def test_follow_survives_rename_over_and_stops_on_exit(tmp_path):
    path = str(tmp_path / "ctr.log")
    append(path, rec(b"history"))
    start = os.path.getsize(path)

    async def main():
        exited = asyncio.Event()
        got: list = []
        task = asyncio.create_task(collect(
            follow_logs(path, start_offset=start, exited=exited, **FAST), got))
        await asyncio.sleep(0.05)
        append(path, rec(b"one") + rec(b"err", "stderr"))
        await asyncio.sleep(0.05)
        append(path, rec(b"two"))
        conmon_rotate(path)  # old inode complete; new one empty
        append(path, rec(b"three"))
        await asyncio.sleep(0.05)
        append(path, rec(b"four"))
        exited.set()  # written before exit: must still be read
        await task
        return got

    assert run(main()) == [(STDOUT, b"one\n"), (STDERR, b"err\n"), (STDOUT, b"two\n"),
                           (STDOUT, b"three\n"), (STDOUT, b"four\n")]


def test_follow_ends_promptly_when_already_exited(tmp_path):
    path = str(tmp_path / "ctr.log")
    append(path, rec(b"a") + rec(b"b"))

    async def main():
        exited = asyncio.Event()
        exited.set()
        t = time.monotonic()
        got = [x async for x in follow_logs(path, exited=exited, poll_min=1, poll_max=1)]
        return got, time.monotonic() - t

    got, took = run(main())
    assert got == [(STDOUT, b"a\n"), (STDOUT, b"b\n")]
    assert took < 0.5


def test_follow_partial_is_shown_when_drained(tmp_path):
    path = str(tmp_path / "ctr.log")
    append(path, b"")

    async def main():
        exited = asyncio.Event()
        got: list = []
        task = asyncio.create_task(collect(follow_logs(path, exited=exited, **FAST), got))
        append(path, rec(b"Password: ", tag="P"))
        for _ in range(100):
            await asyncio.sleep(0.01)
            if got:
                break
        seen = list(got)
        append(path, rec(b"ok"))
        exited.set()
        await task
        return seen, got

    seen, got = run(main())
    assert seen == [(STDOUT, b"Password: ")]
    assert got == [(STDOUT, b"Password: "), (STDOUT, b"ok\n")]


def test_follow_waits_for_torn_record(tmp_path):
    path = str(tmp_path / "ctr.log")
    whole = rec(b"complete later")
    append(path, whole[:20])

    async def main():
        exited = asyncio.Event()
        got: list = []
        task = asyncio.create_task(collect(follow_logs(path, exited=exited, **FAST), got))
        await asyncio.sleep(0.05)
        assert got == []
        append(path, whole[20:])
        exited.set()
        await task
        return got

    assert run(main()) == [(STDOUT, b"complete later\n")]


def test_follow_until_stops(tmp_path):
    path = str(tmp_path / "ctr.log")
    append(path, rec(b"in", ns=T0) + rec(b"out", ns=T0 + 10**9))

    async def main():
        return [x async for x in follow_logs(path, until_ns=T0 + 1, **FAST)]

    assert run(main()) == [(STDOUT, b"in\n")]


def test_history_then_follow_across_absorbed_rotation(tmp_path):
    """The history was read from inode A; before following starts, conmon
    appends to A, rotates, and the keeper moves A to PATH.1: nothing lost."""
    path = str(tmp_path / "ctr.log")
    append(path, rec(b"h1") + rec(b"h2"))
    keeper = LogKeeper(path, max_file=3)
    keeper.track()
    reader = LogReader(log_paths(path))
    assert [d for _, d in reader.lines()] == [b"h1\n", b"h2\n"]
    end = reader.end
    append(path, rec(b"late in A"))
    conmon_rotate(path)
    append(path, rec(b"in B"))
    assert keeper.check()
    conmon_rotate(path)  # and once more, not yet absorbed: B is PATH.keep
    append(path, rec(b"in C"))

    async def main():
        exited = asyncio.Event()
        exited.set()
        return [x async for x in follow_logs(path, start_offset=end.offset, start_ino=end.ino,
                                             start_dev=end.dev, exited=exited, **FAST)]

    assert run(main()) == [(STDOUT, b"late in A\n"), (STDOUT, b"in B\n"), (STDOUT, b"in C\n")]


def test_follow_frames_and_raw(tmp_path):
    path = str(tmp_path / "ctr.log")
    append(path, rec(b"o") + rec(b"e", "stderr") + rec(b"o2"))

    async def main(raw):
        exited = asyncio.Event()
        exited.set()
        return b"".join([b async for b in follow_log_frames(path, exited=exited, raw=raw,
                                                            **FAST)])

    assert decode_frames(run(main(False))) == [(1, b"o\n"), (2, b"e\n"), (1, b"o2\n")]
    assert run(main(True)) == b"o\ne\no2\n"


def test_log_stream_history_tail_then_follow(tmp_path):
    path = str(tmp_path / "ctr.log")
    append(path, b"".join(rec(b"old %d" % i) for i in range(10)))

    async def main():
        exited = asyncio.Event()
        out: list[bytes] = []

        async def consume():
            async for buf in log_stream(path, follow=True, exited=exited, tail=2,
                                        timestamps=True):
                out.append(buf)

        task = asyncio.create_task(consume())
        await asyncio.sleep(0.1)
        append(path, rec(b"new", "stderr"))
        await asyncio.sleep(0.3)  # default poll interval is at most 0.2 s
        exited.set()
        await task
        return decode_frames(b"".join(out))

    frames = run(main())
    ts = b"2024-05-01T10:20:30.123456789Z "
    assert frames == [(1, ts + b"old 8\n" + ts + b"old 9\n"), (2, ts + b"new\n")]


def test_log_stream_without_follow(tmp_path):
    path = str(tmp_path / "ctr.log")
    append(path, rec(b"x"))

    async def main():
        return b"".join([b async for b in log_stream(path, raw=True)])

    assert run(main()) == b"x\n"


def test_iterate_in_thread():
    async def main():
        assert [x async for x in iterate_in_thread(iter(range(100)), prefetch=2)] == list(
            range(100))

        closed = []

        def gen():
            try:
                for i in range(10**9):
                    yield i
            finally:
                closed.append(True)

        async for x in iterate_in_thread(gen()):
            if x == 3:
                break
        for _ in range(100):
            if closed:
                break
            await asyncio.sleep(0.01)
        assert closed

        def boom():
            yield 1
            raise OSError("disk gone")

        with pytest.raises(OSError, match="disk gone"):
            async for _ in iterate_in_thread(boom()):
                pass

    run(main())


def test_follow_after_truncate_in_place(tmp_path):
    path = str(tmp_path / "ctr.log")
    append(path, rec(b"before"))

    async def main():
        exited = asyncio.Event()
        got: list = []
        task = asyncio.create_task(collect(follow_logs(path, exited=exited, **FAST), got))
        await asyncio.sleep(0.05)
        os.truncate(path, 0)  # what users do to clear docker logs
        await asyncio.sleep(0.05)
        append(path, rec(b"after"))
        await asyncio.sleep(0.05)
        exited.set()
        await task
        return got

    assert run(main()) == [(STDOUT, b"before\n"), (STDOUT, b"after\n")]
