"""Reading tar headers from an untrusted stream.

The stdlib `tarfile` parses headers for us (ustar, GNU long names, PAX,
sparse); it is never allowed to extract anything.  This module hardens the
reading side:

* `tarfile` in stream mode quietly treats a truncated or garbled header in
  the middle of an archive as its end, so a damaged layer would apply
  half-way without an error.  Go's archive/tar (Docker) reports it; so do we.
* PAX and GNU long-name headers are read into memory whole; a hostile size
  there is refused before any byte is read.
* PAX records are checked before tarfile's regular expressions see them:
  on Python before 3.11.10 those backtrack quadratically on crafted input
  (CVE-2024-6232), enough to hang the daemon on one pulled layer.
* Errors from the source stream (a bad gzip CRC, an xz format error, a reset
  socket) surface as InvalidParameter, with the cause attached.
"""
from __future__ import annotations

import io
import re
import tarfile
from decimal import Decimal, InvalidOperation
from typing import BinaryIO, Iterator

from hithe.errors import InvalidParameter

from .compression import open_decompressed
from .whiteout import is_ignored_xattr

XATTR_PREFIX = "SCHILY.xattr."
# GNU long names/links: PATH_MAX is 4 KiB; 1 MiB leaves room and bounds memory.
MAX_LONGNAME_HEADER = 1 << 20
# PAX records hold paths (4 KiB) and xattrs (64 KiB at most on Linux
# filesystems); 256 KiB is generous and keeps the regex work below small.
MAX_PAX_HEADER = 256 << 10
# Longest run of digits allowed in PAX data: the cost of tarfile's unanchored
# "\d+ keyword=" searches grows with (size x longest run).
_MAX_DIGIT_RUN = 128
_PAX_TYPES = (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE)
_LONGNAME_TYPES = (tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK)
_DIGITS = re.compile(rb"\d+")
READ_BUFSIZE = 1 << 20


class _CheckedHeader(tarfile.TarInfo):
    """TarInfo whose parsing turns silent give-ups into errors."""

    @classmethod
    def fromtarfile(cls, tf):  # type: ignore[override]
        try:
            return super().fromtarfile(tf)
        except (tarfile.EOFHeaderError, tarfile.EmptyHeaderError):
            raise  # a zero block, or the stream ended on a block boundary: a normal end
        except tarfile.TruncatedHeaderError:
            raise InvalidParameter("invalid tar archive: truncated header (the archive is cut short)") from None
        except tarfile.HeaderError as e:
            raise InvalidParameter(f"invalid tar archive: bad header ({e})") from None
        except (ValueError, OverflowError, UnicodeError) as e:
            raise InvalidParameter(f"invalid tar archive: malformed header ({e})") from None

    def _proc_member(self, tf):  # type: ignore[override]
        limit = MAX_PAX_HEADER if self.type in _PAX_TYPES else MAX_LONGNAME_HEADER
        if self.type in _PAX_TYPES + _LONGNAME_TYPES and self.size > limit:
            raise InvalidParameter(
                f"invalid tar archive: extended header of {self.size} bytes (limit {limit})")
        return super()._proc_member(tf)

    def _proc_pax(self, tf):  # type: ignore[override]
        # Read the records ourselves, check them, then let tarfile parse the
        # same bytes (it reads them again from the replaying wrapper).
        data = tf.fileobj.read(self._block(self.size))
        check_pax_records(data[: self.size])
        real = tf.fileobj
        tf.fileobj = _Replayed(data, real)
        try:
            return super()._proc_pax(tf)
        finally:
            tf.fileobj = real


def check_pax_records(buf: bytes) -> None:
    """Refuse PAX data that is not a clean sequence of "LEN key=value\n" records."""
    if any(len(run) > _MAX_DIGIT_RUN for run in _DIGITS.findall(buf)):
        raise InvalidParameter("invalid tar archive: malformed PAX header (overlong number)")
    pos = 0
    while pos < len(buf):
        space = buf.find(b" ", pos, pos + 21)
        field = buf[pos:space] if space > pos else b""
        if not field.isdigit():
            raise InvalidParameter("invalid tar archive: malformed PAX header (bad record length)")
        end = pos + int(field)
        if end <= space + 2 or end > len(buf) or buf[end - 1] != 0x0A or buf.find(b"=", space + 1, end) < 0:
            raise InvalidParameter("invalid tar archive: malformed PAX header (bad record)")
        pos = end


class _Replayed:
    """tarfile's stream with some already-read bytes put back in front."""

    def __init__(self, head: bytes, inner) -> None:
        self._head = head
        self._inner = inner

    def read(self, size: int) -> bytes:
        if not self._head:
            return self._inner.read(size)
        out, self._head = self._head[:size], self._head[size:]
        if len(out) < size:
            out += self._inner.read(size - len(out))
        return out

    def tell(self) -> int:
        return self._inner.tell() - len(self._head)

    def __getattr__(self, name: str):
        return getattr(self._inner, name)


class _GuardedSource(io.RawIOBase):
    """Reads the (decompressed) source; any failure there is the archive's fault."""

    def __init__(self, src: BinaryIO) -> None:
        super().__init__()
        self._src = src
        self.total = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        try:
            data = self._src.read(size)
        except InvalidParameter:
            raise
        except Exception as e:  # gzip/bz2/lzma/zstd errors, EOFError, socket errors
            raise InvalidParameter(f"cannot read the archive: {e or type(e).__name__}") from e
        self.total += len(data)
        return data

    def readinto(self, buf) -> int:  # type: ignore[override]
        data = self.read(len(buf))
        buf[: len(data)] = data
        return len(data)


class TarReader:
    """Iterate over the members of a (possibly compressed) tar stream.

    Members come in archive order; the data of the current member must be
    read, if at all, before asking for the next one.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self._src = _GuardedSource(open_decompressed(stream))
        self._tf: tarfile.TarFile | None = None
        try:
            self._tf = tarfile.open(fileobj=self._src, mode="r|", tarinfo=_CheckedHeader,
                                    bufsize=READ_BUFSIZE)
        except tarfile.ReadError as e:
            if self._src.total == 0:
                return  # an empty stream is an empty archive, as for Go's tar reader
            raise InvalidParameter(f"invalid tar archive: {e}") from None

    def __iter__(self) -> Iterator[tarfile.TarInfo]:
        tf = self._tf
        if tf is None:
            return
        while True:
            try:
                member = tf.next()
            except tarfile.TarError as e:
                raise InvalidParameter(f"invalid tar archive: {e}") from None
            if member is None:
                return
            # Stream mode keeps every header it has seen; we never look back.
            tf.members.clear()
            yield member

    def extractfile(self, member: tarfile.TarInfo) -> BinaryIO:
        assert self._tf is not None
        f = self._tf.extractfile(member)
        assert f is not None
        return f  # type: ignore[return-value]

    def drain(self) -> None:
        """Read what follows the end-of-archive marker.

        Consuming the whole stream checks the compressed trailer (gzip CRC
        and length) and leaves a socket or digest-computing reader at its
        end, as a caller that verifies the layer digest expects.
        """
        while self._src.read(READ_BUFSIZE):
            pass


def member_xattrs(member: tarfile.TarInfo) -> dict[str, bytes]:
    """Extended attributes recorded in the member's PAX headers.

    Values were decoded with surrogateescape by tarfile; encoding back the
    same way restores binary values such as security.capability byte-exact.
    """
    out: dict[str, bytes] = {}
    for key, value in member.pax_headers.items():
        if not key.startswith(XATTR_PREFIX):
            continue
        name = key[len(XATTR_PREFIX):]
        if not name or is_ignored_xattr(name):
            continue
        out[name] = value.encode("utf-8", "surrogateescape")
    return out


def member_mtime_ns(member: tarfile.TarInfo) -> int | None:
    """Modification time in nanoseconds; PAX fractions kept exactly."""
    raw = member.pax_headers.get("mtime")
    try:
        if raw is not None:
            return int(Decimal(raw) * 1_000_000_000)
        return int(member.mtime) * 1_000_000_000
    except (InvalidOperation, ValueError, TypeError, OverflowError):
        return None
