"""Docker's multiplexed stream framing (``stdcopy``).

Each frame: 1 byte stream id (0 stdin, 1 stdout, 2 stderr, 3 systemerr),
3 zero bytes, uint32 big-endian payload length, then the payload. Used for
non-TTY containers; TTY containers get the raw bytes.
"""
from __future__ import annotations

import struct
from collections.abc import Iterable

_HDR = struct.Struct(">BxxxL")
MAX_FRAME = 0xFFFFFFFF


def frame_header(stream: int, size: int) -> bytes:
    return _HDR.pack(stream, size)


def encode_frames(runs: Iterable[tuple[int, bytes | memoryview]]) -> bytes:
    """Frame each (stream, payload) and concatenate into one buffer."""
    parts: list[bytes | memoryview] = []
    pack = _HDR.pack
    for stream, payload in runs:
        if len(payload):
            parts.append(pack(stream, len(payload)))
            parts.append(payload)
    return b"".join(parts)


def encode_batch(streams: list[int], payloads: list) -> bytes:
    """Like encode_frames over parallel lists, without a Python-level loop
    (non-empty payloads only: a block yields a few thousand runs)."""
    heads = list(map(_HDR.pack, streams, map(len, payloads)))
    parts: list = [b""] * (2 * len(heads))
    parts[::2] = heads
    parts[1::2] = payloads
    return b"".join(parts)


def decode_frames(data: bytes) -> list[tuple[int, bytes]]:
    """Inverse of encode_frames (for tests and the client); strict."""
    out: list[tuple[int, bytes]] = []
    pos = 0
    while pos < len(data):
        if len(data) - pos < _HDR.size:
            raise ValueError("truncated frame header")
        stream, size = _HDR.unpack_from(data, pos)
        if data[pos + 1:pos + 4] != b"\0\0\0":
            raise ValueError("bad frame header padding")
        pos += _HDR.size
        if len(data) - pos < size:
            raise ValueError("truncated frame payload")
        out.append((stream, data[pos:pos + size]))
        pos += size
    return out
