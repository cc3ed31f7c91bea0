"""An image archive (docker save / OCI layout tar) indexed for random access.

`docker load` input is untrusted.  We never extract it: one pass over the
(spooled, uncompressed) tar records where each member's data starts, how long
it is and its sha256, and whether it is a symlink or hard link.  Manifests
then name members by path; a path is cleaned like a member name (climbing
above the archive root is an error) and links are followed lexically inside
the archive, never on the host.  Data is read back from the spool file by
offset, so nothing but the small JSON documents is ever held in memory.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tarfile
from dataclasses import dataclass
from typing import Any, BinaryIO

from hithe.archive.compression import detect_compression, open_decompressed
from hithe.archive.headers import TarReader
from hithe.archive.paths import RelPath, clean_member_name
from hithe.errors import InvalidParameter

# A docker archive has a handful of members per layer; this bounds memory
# for an archive made of millions of empty entries.
MAX_MEMBERS = 200_000
# manifest.json, index.json, configs: a few KiB normally; big enough for
# images with thousands of history entries, small enough to parse in memory.
MAX_JSON = 16 << 20
MAX_LINK_HOPS = 40
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Member:
    kind: str          # "file", "dir", "symlink", "hardlink", "other"
    offset: int        # where the data starts in the uncompressed tar
    size: int
    sha256: str        # "sha256:<hex>" of the data (files only)
    link: str = ""     # symlink target as written, or hard link target name


def decompress_to(spool: str) -> str:
    """The path of an uncompressed copy of `spool` (itself when it is plain tar), next to it."""
    with open(spool, "rb") as f:
        kind = detect_compression(f.read(8))
    if kind == "none":
        return spool
    out = spool + ".tar"
    try:
        with open(spool, "rb") as src, open(out, "wb") as dst:
            try:
                shutil.copyfileobj(open_decompressed(src), dst, _CHUNK)  # type: ignore[misc]
            except InvalidParameter:
                raise
            except (OSError, EOFError, ValueError) as e:  # bad CRC, truncated stream, format errors
                if isinstance(e, OSError) and e.errno is not None:
                    raise  # a real I/O error on our side (ENOSPC): not the archive's fault
                raise InvalidParameter(f"cannot decompress the archive ({kind}): {e}") from None
            except Exception as e:  # noqa: BLE001 - zstandard raises its own error type
                raise InvalidParameter(f"cannot decompress the archive ({kind}): {e}") from None
    except BaseException:
        _unlink(out)
        raise
    return out


class ArchiveIndex:
    """Members of an uncompressed tar file by cleaned path."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.members: dict[RelPath, Member] = {}
        with open(path, "rb") as f:
            reader = TarReader(f)
            for ti in reader:
                if len(self.members) >= MAX_MEMBERS:
                    raise InvalidParameter(f"invalid archive: more than {MAX_MEMBERS} entries")
                name = clean_member_name(ti.name)
                if not name:
                    continue  # the root entry "./"
                self.members[name] = self._record(reader, ti)

    @staticmethod
    def _record(reader: TarReader, ti: tarfile.TarInfo) -> Member:
        if ti.isreg() and not ti.issparse():
            h = hashlib.sha256()
            src = reader.extractfile(ti)
            try:
                while data := src.read(_CHUNK):
                    h.update(data)
            except tarfile.TarError as e:  # the archive ends inside this member
                raise InvalidParameter(f"invalid tar archive: {ti.name}: {e}") from None
            return Member("file", ti.offset_data, ti.size, "sha256:" + h.hexdigest())
        if ti.isdir():
            return Member("dir", 0, 0, "")
        if ti.issym():
            return Member("symlink", 0, 0, "", ti.linkname)
        if ti.islnk():
            return Member("hardlink", 0, 0, "", ti.linkname)
        return Member("other", 0, 0, "")

    def has(self, name: str) -> bool:
        try:
            return self.resolve(name) is not None
        except InvalidParameter:
            return False

    def resolve(self, name: str) -> Member:
        """The regular file `name` refers to, links followed inside the archive."""
        parts = clean_member_name(name)
        for _ in range(MAX_LINK_HOPS):
            parts = self._resolve_dirs(parts, name)
            m = self.members.get(parts)
            if m is None:
                raise InvalidParameter(f"invalid archive: {name} not found in the archive")
            if m.kind == "file":
                return m
            if m.kind == "symlink":
                parts = _link_target(parts, m.link, name)
            elif m.kind == "hardlink":
                parts = clean_member_name(m.link, what="link")
            else:
                raise InvalidParameter(f"invalid archive: {name} is not a regular file")
        raise InvalidParameter(f"invalid archive: too many levels of links at {name}")

    def _resolve_dirs(self, parts: RelPath, name: str) -> RelPath:
        """Follow symlinked directories among the leading components (docker 20.10 writes none,
        but a loader following paths on disk would, so we do the same, in scope)."""
        for _ in range(MAX_LINK_HOPS):
            for i in range(1, len(parts)):
                m = self.members.get(parts[:i])
                if m is not None and m.kind == "symlink":
                    parts = _link_target(parts[:i], m.link, name) + parts[i:]
                    break
            else:
                return parts
        raise InvalidParameter(f"invalid archive: too many levels of links at {name}")

    def open(self, name: str) -> BinaryIO:
        m = self.resolve(name)
        return _Section(open(self.path, "rb"), m.offset, m.size)  # type: ignore[return-value]

    def read_bytes(self, name: str, limit: int = MAX_JSON) -> tuple[bytes, Member]:
        m = self.resolve(name)
        if m.size > limit:
            raise InvalidParameter(f"invalid archive: {name} is too large ({m.size} bytes, limit {limit})")
        with open(self.path, "rb") as f:
            f.seek(m.offset)
            data = f.read(m.size)
        if len(data) != m.size or "sha256:" + hashlib.sha256(data).hexdigest() != m.sha256:
            raise InvalidParameter(f"invalid archive: cannot read {name} back")  # the spool changed
        return data, m

    def read_json(self, name: str, limit: int = MAX_JSON) -> tuple[Any, bytes, Member]:
        data, m = self.read_bytes(name, limit)
        return parse_json(data, name), data, m


def parse_json(data: bytes, what: str) -> Any:
    try:
        return json.loads(data)
    except RecursionError:
        raise InvalidParameter(f"invalid archive: {what} is nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise InvalidParameter(f"invalid archive: {what} is not valid JSON: {e}") from None


def _link_target(at: RelPath, target: str, name: str) -> RelPath:
    """Where a symlink at `at` points, as a path inside the archive.  An absolute target
    is taken from the archive root and ".." stops there, as FollowSymlinkInScope does."""
    base = "" if target.startswith("/") else "/".join(at[:-1])
    joined = "/" + (base + "/" if base else "") + target
    return clean_member_name(joined, what=f"link in {name}")


class _Section(io.RawIOBase):
    """`size` bytes of a file from `offset` on."""

    def __init__(self, f: BinaryIO, offset: int, size: int) -> None:
        super().__init__()
        self._f = f
        self._f.seek(offset)
        self._left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        n = min(len(buf), self._left)
        if n <= 0:
            return 0
        data = self._f.read(n)
        buf[: len(data)] = data
        self._left -= len(data)
        return len(data)

    def close(self) -> None:
        self._f.close()
        super().close()


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
