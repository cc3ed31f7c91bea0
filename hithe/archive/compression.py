"""Transparent decompression of layer and import streams.

Layers arrive from registries (gzip, sometimes zstd), from `docker load`
(plain tar) and from `docker import` (anything a user had lying around: gzip,
bzip2, xz).  Docker decides by magic bytes, never by media type or file name,
so we do the same.  Streams are often sockets or pipes, so sniffing must not
seek: we read the first few bytes and replay them in front of the rest.
"""
from __future__ import annotations

import bz2
import gzip
import io
import lzma
from typing import BinaryIO

from hithe.errors import InvalidParameter

GZIP_MAGIC = b"\x1f\x8b"
BZIP2_MAGIC = b"BZh"
XZ_MAGIC = b"\xfd7zXZ\x00"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"

# Longest magic we test for; reading more would only delay a slow producer.
_SNIFF_LEN = len(XZ_MAGIC)
# Decompressors pull from us in small reads; a buffer in front of the raw
# stream keeps that from turning into one syscall per 8 KiB.
_BUFFER_SIZE = 256 * 1024


class _Replay(io.RawIOBase):
    """A raw reader that yields `head` first, then whatever `src` still has.

    This is the "small buffered wrapper" that lets us peek at a non-seekable
    stream: the bytes we looked at are not lost, they are served again.
    """

    def __init__(self, head: bytes, src: BinaryIO) -> None:
        super().__init__()
        self._head = memoryview(head)
        self._src = src

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:  # type: ignore[override]
        want = len(buf)
        if want == 0:
            return 0
        if self._head:
            n = min(want, len(self._head))
            buf[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        readinto = getattr(self._src, "readinto", None)
        if readinto is not None:
            got = readinto(buf)
            return got or 0
        data = self._src.read(want)
        if not data:
            return 0
        buf[: len(data)] = data
        return len(data)


def _read_exactly(src: BinaryIO, n: int) -> bytes:
    """Read up to `n` bytes, looping because a pipe may hand out fewer."""
    chunks: list[bytes] = []
    have = 0
    while have < n:
        data = src.read(n - have)
        if not data:
            break
        chunks.append(data)
        have += len(data)
    return b"".join(chunks)


def detect_compression(head: bytes) -> str:
    """Name the compression format of a stream from its first bytes."""
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(BZIP2_MAGIC):
        return "bzip2"
    if head.startswith(XZ_MAGIC):
        return "xz"
    if head.startswith(ZSTD_MAGIC):
        return "zstd"
    return "none"


def open_decompressed(stream: BinaryIO) -> BinaryIO:
    """Return a reader of the uncompressed bytes of `stream`.

    Works on pipes and sockets: nothing is seeked.  Plain (uncompressed)
    input is passed through, already buffered.
    """
    head = _read_exactly(stream, _SNIFF_LEN)
    raw = io.BufferedReader(_Replay(head, stream), buffer_size=_BUFFER_SIZE)
    kind = detect_compression(head)
    if kind == "gzip":
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    if kind == "bzip2":
        return bz2.BZ2File(raw, mode="rb")  # type: ignore[return-value]
    if kind == "xz":
        return lzma.LZMAFile(raw, mode="rb")  # type: ignore[return-value]
    if kind == "zstd":
        try:
            import zstandard  # type: ignore[import-not-found]
        except ImportError:
            raise InvalidParameter("zstd-compressed layers need the zstandard module") from None
        # read_across_frames: layers may be written as several frames.
        return zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)
    return raw  # type: ignore[return-value]


def compress_gzip_writer(out: BinaryIO, *, level: int = 6) -> BinaryIO:
    """Wrap `out` so that writes are gzip-compressed.

    The gzip header carries no file name and mtime 0 so that compressing the
    same tar twice gives the same bytes, hence the same layer digest.  Level 6
    is what Go's gzip (and therefore Docker) uses by default; 9 costs much
    more time for a few percent.  Closing the returned writer finishes the
    gzip stream but leaves `out` open.
    """
    return gzip.GzipFile(filename="", mode="wb", fileobj=out, compresslevel=level, mtime=0)  # type: ignore[return-value]
