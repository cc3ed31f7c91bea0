"""Docker's multiplexed stdout/stderr framing."""
from __future__ import annotations

import os

import pytest

from hithe.client.stream import DemuxError, FrameReader, copy_stream, demux, frame


def test_frame_header_layout() -> None:
    assert frame(1, b"hi") == b"\x01\x00\x00\x00\x00\x00\x00\x02hi"
    assert frame(2, b"x" * 300)[:8] == b"\x02\x00\x00\x00\x00\x00\x01\x2c"


def test_demux_split_anywhere() -> None:
    data = frame(1, b"out\n") + frame(2, b"err\n") + frame(1, b"") + frame(1, b"more")
    for size in (1, 3, 7, 8, 9, len(data)):
        chunks = [data[i:i + size] for i in range(0, len(data), size)]
        assert list(demux(chunks)) == [(1, b"out\n"), (2, b"err\n"), (1, b""), (1, b"more")]


def test_demux_truncated_frame() -> None:
    with pytest.raises(DemuxError):
        list(demux([frame(1, b"hello")[:-2]]))


def test_frame_reader_pending() -> None:
    r = FrameReader()
    assert list(r.feed(b"\x01\x00\x00\x00")) == [] and r.pending == 4


def _pipe_copy(payload: list[bytes], tty: bool) -> tuple[bytes, bytes]:
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    it = iter(payload)
    copy_stream(lambda: next(it, b""), out_w, err_w, tty)
    os.close(out_w)
    os.close(err_w)
    out = os.read(out_r, 65536)
    err = os.read(err_r, 65536)
    os.close(out_r)
    os.close(err_r)
    return out, err


def test_copy_stream_routes_streams() -> None:
    data = frame(1, b"a") + frame(2, b"b") + frame(1, b"c")
    assert _pipe_copy([data[:5], data[5:]], tty=False) == (b"ac", b"b")


def test_copy_stream_tty_is_raw() -> None:
    raw = frame(2, b"not a frame")
    assert _pipe_copy([raw], tty=True) == (raw, b"")


def test_system_error_frame() -> None:
    with pytest.raises(DemuxError) as exc:
        _pipe_copy([frame(3, b"daemon broke")], tty=False)
    assert "daemon broke" in str(exc.value)
