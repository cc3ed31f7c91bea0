"""Byte ranges: ``Range`` on blob downloads (RFC 9110) and ``Content-Range`` on upload chunks (the spec's form)."""
from __future__ import annotations

import re
from dataclasses import dataclass

from hithe.distribution.server.errors import RegistryError

_RANGE_RE = re.compile(r"bytes=([0-9]*)-([0-9]*)")
_CHUNK_RE = re.compile(r"(?:bytes )?([0-9]+)-([0-9]+)")


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1


class Unsatisfiable(Exception):
    """The range lies outside the blob: answer 416 with ``Content-Range: bytes */SIZE``."""


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The one range to serve for a GET, or None for the whole blob.

    Anything we do not understand (other units, several ranges, garbage) is
    ignored, as RFC 9110 allows: the client then gets the whole body with 200.
    """
    if not header:
        return None
    m = _RANGE_RE.fullmatch(header.strip())
    if m is None:
        return None
    first, last = m.group(1), m.group(2)
    if not first and not last:
        return None
    if not first:  # suffix: the last N bytes
        n = int(last)
        if n == 0 or size == 0:
            raise Unsatisfiable()
        return ByteRange(max(0, size - n), size - 1)
    start = int(first)
    if last and int(last) < start:
        return None  # syntactically invalid: ignore the header
    if start >= size:
        raise Unsatisfiable()
    return ByteRange(start, min(int(last) if last else size - 1, size - 1))


def parse_chunk_range(header: str | None, offset: int, length: int | None) -> None:
    """Check a PATCH chunk's ``Content-Range: START-END`` against the upload so far.

    Chunks must arrive in order: START must be the current size, and END must
    agree with Content-Length when both are given.  A missing header means
    "append" (streamed uploads send none).
    """
    if header is None or header == "":
        return
    m = _CHUNK_RE.fullmatch(header.strip())
    if m is None:
        raise RegistryError("RANGE_INVALID", detail={"content-range": header[:100]})
    start, end = int(m.group(1)), int(m.group(2))
    if start != offset or end < start:
        raise RegistryError("RANGE_INVALID", f"chunk must start at {offset}",
                            detail={"content-range": header[:100]})
    if length is not None and end - start + 1 != length:
        raise RegistryError("SIZE_INVALID", detail={"content-range": header[:100], "content-length": length})
