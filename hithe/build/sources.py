"""COPY/ADD sources: resolved inside their root (build context or another image), never outside.

Every source path is cleaned, matched (Go filepath.Match for wildcards) and
resolved with symlinks followed *inside* the root, so a link in the context
pointing at /etc/passwd names <context>/etc/passwd, never the host's file.
Each source is turned into a tar stream (the project's safe tar writer,
walking through directory fds); the checksum of those streams is the
cache key of the step (names, modes, owners, contents — not times).
"""
from __future__ import annotations

import hashlib
import io
import os
import posixpath
import stat
import tarfile
from dataclasses import dataclass
from typing import BinaryIO

from hithe.archive.create import write_entry_tar
from hithe.archive.rootdir import RootDir
from hithe.build.match import go_match, has_magic
from hithe.containers.scope import Located, resolve_in_scope
from hithe.errors import InvalidParameter, NotFound


@dataclass
class Source:
    display: str                 # as the user wrote it
    parts: tuple[str, ...] = ()  # resolved, relative to the root
    is_dir: bool = False
    content: bytes | None = None  # a heredoc or a downloaded URL
    name: str = ""               # file name for content sources
    mode: int = 0o644
    mtime: int = 0


class SourceRoot:
    """The context directory, or the mounted rootfs of an image (COPY --from)."""

    def __init__(self, path: str, what: str = "build context") -> None:
        self.root = RootDir(path)
        self.what = what

    def close(self) -> None:
        self.root.close()

    def _clean(self, src: str) -> tuple[str, ...]:
        cleaned = posixpath.normpath("/" + src if self.what != "build context" else src)
        if self.what == "build context" and (cleaned == ".." or cleaned.startswith("../")):
            raise InvalidParameter(f"Forbidden path outside the build context: {src} ()")
        return tuple(p for p in cleaned.split("/") if p not in ("", "."))

    def resolve(self, src: str, verb: str) -> list[Source]:
        parts = self._clean(src)
        if any(has_magic(p) for p in parts):
            found = self._glob(parts)
            return [self._source(src, p) for p in found]
        try:
            return [self._source(src, resolve_in_scope(self.root, parts, follow_last=True), check=True)]
        except FileNotFoundError:
            raise self._missing(src, verb) from None

    def _missing(self, src: str, verb: str) -> NotFound:
        if self.what == "build context":
            return NotFound(f"{verb} failed: file not found in build context or excluded by "
                            f".dockerignore: stat {src}: file does not exist")
        return NotFound(f"{verb} failed: stat {src}: file does not exist")

    def _source(self, shown: str, parts: tuple[str, ...], check: bool = False) -> Source:
        with Located(self.root, parts) as loc:
            st = loc.lstat()
        return Source(display=shown, parts=parts, is_dir=stat.S_ISDIR(st.st_mode))

    def _glob(self, pattern: tuple[str, ...]) -> list[tuple[str, ...]]:
        level: list[tuple[str, ...]] = [()]
        for comp in pattern:
            nxt: list[tuple[str, ...]] = []
            for base in level:
                try:
                    fd = self.root.open_dir(resolve_in_scope(self.root, base))
                except (FileNotFoundError, NotADirectoryError):
                    continue
                try:
                    names = sorted(os.listdir(fd))
                finally:
                    os.close(fd)
                if has_magic(comp):
                    nxt += [base + (n,) for n in names if go_match(comp, n)]
                elif comp in names:
                    nxt.append(base + (comp,))
            level = nxt
        return [resolve_in_scope(self.root, p) for p in level]

    def write_tar(self, src: Source, out: BinaryIO, arcname: str) -> None:
        """The source as a tar: a directory's contents (named ./...), or one entry named `arcname`."""
        if src.content is not None:
            ti = tarfile.TarInfo(arcname)
            ti.size, ti.mode, ti.mtime = len(src.content), src.mode, src.mtime
            with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tf:
                tf.addfile(ti, io.BytesIO(src.content))
            return
        with Located(self.root, src.parts) as loc:
            if src.is_dir:
                fd = loc.open_dir()
                try:
                    write_entry_tar(fd, None, ".", out)
                finally:
                    os.close(fd)
            else:
                write_entry_tar(loc.dirfd, loc.name, arcname, out)


class _HashSink:
    def __init__(self) -> None:
        self.buf = bytearray()

    def write(self, data: bytes) -> int:
        self.buf += data
        return len(data)


def checksum(root: SourceRoot | None, sources: list[Source]) -> str:
    """Docker's `file:<hash>` / `dir:<hash>` / `multi:<hash>`: contents and metadata, never mtimes."""
    h = hashlib.sha256()
    for src in sources:
        sink = _HashSink()
        if src.content is not None or root is None:
            h.update(b"content\0" + (src.content or b"") + b"\0%o" % src.mode)
            continue
        root.write_tar(src, sink, posixpath.basename("/".join(src.parts)) or ".")  # type: ignore[arg-type]
        with tarfile.open(fileobj=io.BytesIO(bytes(sink.buf)), mode="r:") as tf:
            for m in tf:
                h.update(f"{m.name}\0{m.mode:o}\0{m.uid}\0{m.gid}\0{m.size}\0{m.type!r}\0{m.linkname}\0".encode())
                if m.isfile():
                    f = tf.extractfile(m)
                    if f is not None:
                        h.update(f.read())
    kind = "multi" if len(sources) > 1 else ("dir" if sources and sources[0].is_dir else "file")
    return f"{kind}:{h.hexdigest()}"
