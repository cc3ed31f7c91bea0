"""Filesystem primitives relative to directory fds, none following symlinks.

Each takes a parent directory fd obtained through RootDir and a single name
component, so what they touch is pinned inside the extraction root however
the tree changes around them.
"""
from __future__ import annotations

import errno
import os
import shutil
import stat
from typing import BinaryIO, Callable, Iterator

from hithe.errors import InvalidParameter

from .paths import RelPath

_COPY_CHUNK = 1 << 20
_OPEN_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def lstat_at(dirfd: int, name: str) -> os.stat_result | None:
    """lstat of `name` in `dirfd`, None if there is nothing there."""
    try:
        return os.stat(name, dir_fd=dirfd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def remove_at(dirfd: int, name: str) -> None:
    """Remove whatever `name` is; a directory goes with its whole tree."""
    st = lstat_at(dirfd, name)
    if st is None:
        return
    if stat.S_ISDIR(st.st_mode):
        shutil.rmtree(name, dir_fd=dirfd)  # fd-based walk, never follows symlinks
    else:
        os.unlink(name, dir_fd=dirfd)


def remove_all_except(dirfd: int, dir_parts: RelPath, keep: set[RelPath]) -> None:
    """Empty the directory `dirfd` (at `dir_parts`) of all paths not in `keep`.

    Kept directories are descended into: an opaque directory hides the whole
    lower subtree, so only what is in `keep` survives at any depth (moby's
    layer applier walks the same way).
    """
    for name in os.listdir(dirfd):
        child = dir_parts + (name,)
        if child not in keep:
            remove_at(dirfd, name)
            continue
        st = lstat_at(dirfd, name)
        if st is not None and stat.S_ISDIR(st.st_mode):
            sub = os.open(name, _OPEN_DIR, dir_fd=dirfd)
            try:
                remove_all_except(sub, child, keep)
            finally:
                os.close(sub)


def copy_to_fd(src: BinaryIO, fd: int) -> int:
    """Stream `src` into `fd` in 1 MiB pieces; returns the byte count."""
    buf = bytearray(_COPY_CHUNK)
    view = memoryview(buf)
    total = 0
    while True:
        n = src.readinto(view)  # type: ignore[attr-defined]
        if not n:
            return total
        done = 0
        while done < n:
            done += os.write(fd, view[done:n])
        total += n


def proc_path(dirfd: int, name: str) -> str:
    """A path for calls that take no dir fd (xattrs); the fd pins the parent."""
    return f"/proc/self/fd/{dirfd}/{name}"


def chmod_nofollow(parent: int, name: str, mode: int) -> None:
    """chmod a non-symlink (device, fifo) by name without following a link."""
    try:
        os.chmod(name, mode, dir_fd=parent, follow_symlinks=False)
        return
    except NotImplementedError:
        pass  # libc without fchmodat(AT_SYMLINK_NOFOLLOW): pin the inode instead
    except OSError as e:
        if e.errno not in (errno.ENOTSUP, errno.EOPNOTSUPP):
            raise
    fd = os.open(name, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent)
    try:
        os.chmod(f"/proc/self/fd/{fd}", mode)
    finally:
        os.close(fd)


def set_times(call: Callable[[tuple[int, int]], None], mtime_ns: int) -> None:
    """Set atime = mtime through `call` (an os.utime partial)."""
    try:
        call((mtime_ns, mtime_ns))
    except (OverflowError, ValueError):
        pass  # a timestamp the filesystem cannot hold is not worth failing for


def set_xattrs(target: int | str, xattrs: dict[str, bytes]) -> Iterator[tuple[str, str]]:
    """Set xattrs on an fd, or on a path whose last component is not followed.

    Yields (name, reason) for attributes the filesystem or our privileges
    do not allow (Docker warns and goes on for those); a name or value the
    kernel calls malformed is the archive's fault.
    """
    for key, value in xattrs.items():
        try:
            if isinstance(target, int):
                os.setxattr(target, key, value)
            else:
                os.setxattr(target, key, value, follow_symlinks=False)
        except OSError as e:
            if e.errno in (errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM):
                yield key, e.strerror or str(e)
            elif e.errno in (errno.EINVAL, errno.ERANGE, errno.E2BIG):
                raise InvalidParameter(f"invalid tar archive: bad xattr {key!r}") from None
            else:
                raise
