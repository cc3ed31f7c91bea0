"""docker cp, daemon side: stat a path, tar it out, extract a tar into a directory.

All of it works on running and stopped containers alike: the rootfs overlay
is mounted on demand (as `export` does) and held by a use count, so two
copies at once do not unmount it under each other, and a container that is
running keeps its mount.  Every path is resolved inside the rootfs
(scope.py); extraction goes through the project's safe extractor, handed
the destination as an fd path so nothing on the way is looked up again.

These functions block (mounts, disk): callers run them in worker threads.
"""
from __future__ import annotations

import errno
import json
import os
import stat
import threading
from typing import Any, BinaryIO

from hithe.archive.create import write_entry_tar
from hithe.archive.extract import DirNonDirConflict, extract_tar
from hithe.archive.rootdir import RootDir
from hithe.containers.pathstat import PathStat
from hithe.containers.record import Container
from hithe.containers.scope import ContainerPath, Located, parse_container_path, resolve_in_scope
from hithe.containers.users import resolve_user
from hithe.errors import InvalidParameter, NotFound, SystemError_

_mount_lock = threading.Lock()
_mount_users: dict[str, int] = {}


class RootfsHold:
    """The container's rootfs mounted and opened as a RootDir until close()."""

    def __init__(self, svc: Any, c: Container) -> None:
        self.svc, self.c = svc, c
        self.dir = svc.dir_of(c)
        with _mount_lock:
            rootfs = svc.snap.mount(self.dir, c.top_layer)
            # Opened under the lock: a concurrent release cannot unmount between the two.
            self.root = RootDir(rootfs)
            _mount_users[self.dir] = _mount_users.get(self.dir, 0) + 1

    def close(self) -> None:
        if self.root.fd < 0:
            return
        self.root.close()
        with _mount_lock:
            left = _mount_users.get(self.dir, 1) - 1
            if left > 0:
                _mount_users[self.dir] = left
                return
            _mount_users.pop(self.dir, None)
            if not self.c.state.running:
                self.svc.snap.unmount(self.dir)

    def __enter__(self) -> "RootfsHold":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def not_found(path: str, ref: str) -> NotFound:
    # Docker names the container the way the user did (name or ID).
    return NotFound(f"Could not find the file {path} in container {ref}")


def _stat_located(root: RootDir, cp: ContainerPath, loc: Located) -> PathStat:
    st = loc.lstat()
    target = ""
    if stat.S_ISLNK(st.st_mode):
        # Docker shows where the link leads inside the container, fully resolved.
        target = "/" + "/".join(resolve_in_scope(root, cp.parts, follow_last=True))
    return PathStat.from_stat(cp.name, st, target)


def _locate(root: RootDir, cp: ContainerPath) -> Located:
    return Located(root, resolve_in_scope(root, cp.parts, follow_last=cp.follow_last))


def stat_path(svc: Any, c: Container, ref: str, path: str) -> PathStat:
    cp = parse_container_path(path)
    with RootfsHold(svc, c) as hold:
        try:
            with _locate(hold.root, cp) as loc:
                return _stat_located(hold.root, cp, loc)
        except FileNotFoundError:
            raise not_found(path, ref) from None


class ArchiveSource:
    """A path located and stat'ed, its mount held until the tar is written (or closed)."""

    def __init__(self, svc: Any, c: Container, ref: str, path: str) -> None:
        cp = parse_container_path(path)
        self.hold = RootfsHold(svc, c)
        self.loc: Located | None = None
        try:
            self.loc = _locate(self.hold.root, cp)
            self.stat = _stat_located(self.hold.root, cp, self.loc)
        except FileNotFoundError:
            self.close()
            raise not_found(path, ref) from None
        except BaseException:
            self.close()
            raise
        self.arcname = cp.name

    def write_to(self, out: BinaryIO) -> None:
        """Write the tar: the entry itself named after the request ("d", "." or "/"), then what is below."""
        assert self.loc is not None
        loc = self.loc
        try:
            if loc.name is None or (self.stat.is_dir and self.arcname == "."):
                fd = loc.open_dir()
                try:
                    write_entry_tar(fd, None, self.arcname, out)
                finally:
                    os.close(fd)
            else:
                write_entry_tar(loc.dirfd, loc.name, self.arcname, out)
        finally:
            self.close()

    def close(self) -> None:
        if self.loc is not None:
            self.loc.close()
            self.loc = None
        self.hold.close()


def extract_to_dir(svc: Any, c: Container, ref: str, path: str, body: BinaryIO, *,
                   copy_uid_gid: bool, no_overwrite_dir_nondir: bool) -> None:
    """Extract the tar `body` into the directory `path` (the last component followed, as Docker does)."""
    cp = parse_container_path(path)
    with RootfsHold(svc, c) as hold:
        resolved = resolve_in_scope(hold.root, cp.parts, follow_last=True)
        try:
            with Located(hold.root, resolved) as loc:
                if not stat.S_ISDIR(loc.lstat().st_mode):
                    raise InvalidParameter("extraction point is not a directory")
                dest_fd = loc.open_dir()
        except FileNotFoundError:
            raise not_found(path, ref) from None
        try:
            if c.spec.readonly_rootfs:
                raise InvalidParameter("container rootfs is marked read-only")
            owner = None
            if copy_uid_gid and c.user:
                uid, gid, _ = resolve_user(hold.root.path, c.user)
                owner = (uid, gid)
            dest = "/" + "/".join(resolved)
            try:
                # The fd's /proc path reopens exactly this directory, whatever is renamed meanwhile.
                extract_tar(body, f"/proc/self/fd/{dest_fd}", whiteouts="none", owner=owner,
                            no_overwrite_dir_nondir=no_overwrite_dir_nondir)
            except DirNonDirConflict as e:
                full = dest.rstrip("/") + "/" + "/".join(e.parts)
                # Docker's wording, paths quoted the way Go's %q does it.
                if e.existing_is_dir:
                    msg = f"cannot overwrite directory {json.dumps(full)} with non-directory {json.dumps(dest)}"
                else:
                    msg = f"cannot overwrite non-directory {json.dumps(full)} with directory {json.dumps(dest)}"
                raise SystemError_(msg) from None
            except OSError as e:
                if e.errno == errno.ENOSPC:
                    raise SystemError_(f"extracting into {dest}: no space left on device") from None
                raise SystemError_(f"extracting into {dest}: {e.strerror or e}") from None
        finally:
            os.close(dest_fd)
