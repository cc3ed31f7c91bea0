"""Putting COPY/ADD sources into a build rootfs, with Docker's destination rules.

- several sources (or a wildcard): the destination must end with "/";
- a directory source: its *contents* go into the destination directory;
- a file source: into the destination when it ends with "/" or is an existing
  directory, else it becomes the destination path;
- ADD of a local tar archive (plain, gzip, bzip2, xz): extracted into the destination.
Everything lands owned by 0:0 unless --chown; --chmod sets the mode of what is copied.
The destination is resolved inside the rootfs (symlinks never lead out).
"""
from __future__ import annotations

import os
import posixpath
import stat
import tarfile
import tempfile
from dataclasses import dataclass
from typing import BinaryIO

from hithe.archive.extract import extract_tar
from hithe.archive.rootdir import RootDir
from hithe.build.sources import Source, SourceRoot
from hithe.containers.scope import Located, resolve_in_scope
from hithe.containers.users import resolve_user
from hithe.errors import InvalidParameter


@dataclass
class CopyRequest:
    verb: str                     # "COPY" or "ADD"
    dest: str                     # as expanded, relative to WORKDIR when not absolute
    workdir: str
    chown: str = ""
    chmod: int | None = None
    extract_archives: bool = False   # ADD of local files


def parse_chmod(text: str) -> int:
    try:
        mode = int(text, 8)
    except ValueError:
        raise InvalidParameter(f"invalid chmod parameter: {text}") from None
    if mode < 0 or mode > 0o7777:
        raise InvalidParameter(f"invalid chmod parameter: {text}")
    return mode


def _rewrite(src: BinaryIO, out: BinaryIO, mode: int | None, owner: tuple[int, int]) -> None:
    """Copy a tar, giving every entry the owner (and the mode, for --chmod)."""
    with tarfile.open(fileobj=src, mode="r|") as tin, \
            tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tout:
        for m in tin:
            m.uid, m.gid = owner
            m.uname = m.gname = ""
            if mode is not None and not m.issym():
                m.mode = mode
            tout.addfile(m, tin.extractfile(m) if m.isfile() else None)


def is_archive(path_fd: int, name: str) -> bool:
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=path_fd)
    except OSError:
        return False
    with os.fdopen(fd, "rb") as f:
        try:
            with tarfile.open(fileobj=f, mode="r:*") as tf:
                return tf.next() is not None
        except (tarfile.TarError, EOFError, OSError, ValueError):
            return False


def copy_into(rootfs: str, root: SourceRoot | None, sources: list[Source], req: CopyRequest,
              tmp_dir: str) -> None:
    """Blocking: copy `sources` (read from `root`) into the mounted `rootfs`."""
    dest = req.dest
    if not dest.startswith("/"):
        dest = posixpath.join(req.workdir or "/", dest)
    to_dir = req.dest.endswith("/") or req.dest.endswith("/.") or req.dest in (".", "")
    if len(sources) > 1 and not to_dir:
        raise InvalidParameter(f"When using {req.verb} with more than one source file, "
                               "the destination must be a directory and end with a /")
    with RootDir(rootfs) as rd:
        owner = (0, 0)
        if req.chown:
            uid, gid, _ = resolve_user(rootfs, req.chown)
            owner = (uid, gid)
        dparts = resolve_in_scope(rd, tuple(p for p in dest.split("/") if p), follow_last=True)
        try:
            with Located(rd, dparts) as loc:
                dest_is_dir = stat.S_ISDIR(loc.lstat().st_mode)
        except FileNotFoundError:
            dest_is_dir = False
        for src in sources:
            archive = (req.extract_archives and src.content is None and not src.is_dir
                       and _is_archive_src(root, src))
            if src.is_dir or archive or to_dir or dest_is_dir:
                target, arcname = dparts, (src.name or posixpath.basename("/".join(src.parts)))
            else:
                if not dparts:
                    raise InvalidParameter(f"{req.verb} failed: destination is the root directory")
                target, arcname = dparts[:-1], dparts[-1]
            fd = rd.open_dir(target, create=True)
            try:
                dest_path = f"/proc/self/fd/{fd}"
                if archive:
                    assert root is not None
                    with Located(root.root, src.parts) as loc:
                        f = os.fdopen(os.open(loc.name or ".", os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC,
                                              dir_fd=loc.dirfd), "rb")
                    with f:
                        extract_tar(f, dest_path, whiteouts="none",
                                    owner=owner if req.chown else None)
                    continue
                with tempfile.TemporaryFile(dir=tmp_dir) as raw, tempfile.TemporaryFile(dir=tmp_dir) as fixed:
                    if root is not None:
                        root.write_tar(src, raw, arcname)
                    else:
                        _content_tar(src, raw, arcname)
                    raw.seek(0)
                    _rewrite(raw, fixed, req.chmod, owner)
                    fixed.seek(0)
                    extract_tar(fixed, dest_path, whiteouts="none", owner=owner)
            finally:
                os.close(fd)


def _content_tar(src: Source, out: BinaryIO, arcname: str) -> None:
    import io
    ti = tarfile.TarInfo(arcname)
    ti.size, ti.mode, ti.mtime = len(src.content or b""), src.mode, src.mtime
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tf:
        tf.addfile(ti, io.BytesIO(src.content or b""))


def _is_archive_src(root: SourceRoot | None, src: Source) -> bool:
    if root is None or not src.parts:
        return False
    with Located(root.root, src.parts) as loc:
        return is_archive(loc.dirfd, loc.name or ".")
