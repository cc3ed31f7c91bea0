"""Paths inside a container's root filesystem, resolved the way the container sees them.

`docker cp` takes a path as the container would read it: absolute symlinks
start again at the container's "/", ".." never climbs above it.  Docker gets
that with FollowSymlinkInScope (a string walk over the host path); we walk
the components ourselves with directory fds that are opened beneath the
root without following anything (RootDir.open_dir(follow=False)), reading
each symlink and splicing its target into the walk.  The result is a list of
plain components with no symlink left in it, except the last one when the
caller asked not to follow it; whoever uses it opens it again with
follow=False, so a directory swapped for a symlink meanwhile makes the
operation fail rather than leave the root.

Lexical rules are Docker's (filepath.Join("/", path) then
PreserveTrailingDotOrSeparator): ".." in the requested path is resolved
lexically first, and a trailing "/" or "/." means "follow the last component
too" and keeps its meaning for naming ("d/." copies d's contents).
"""
from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass

from hithe.archive.rootdir import RootDir
from hithe.errors import InvalidParameter

RelPath = tuple[str, ...]
# FollowSymlinkInScope's own limit; a loop inside the container fails, not hangs.
MAX_SYMLINKS = 255


@dataclass(frozen=True)
class ContainerPath:
    """A requested path, cleaned: `parts` below "/", whether the last is followed, its display name."""
    parts: RelPath
    follow_last: bool
    name: str          # filepath.Base of Docker's absPath: "d", "." for "d/.", "/" for the root

    @property
    def absolute(self) -> str:
        return "/" + "/".join(self.parts)


def clean_components(path: str) -> RelPath:
    """filepath.Clean("/" + path) as components: "." and "" vanish, ".." stops at "/"."""
    out: list[str] = []
    for comp in path.split("/"):
        if comp in ("", "."):
            continue
        if comp == "..":
            if out:
                out.pop()
            continue
        out.append(comp)
    return tuple(out)


def parse_container_path(path: str) -> ContainerPath:
    if "\x00" in path:
        raise InvalidParameter("path contains a NUL byte")
    parts = clean_components(path)
    dot = path == "." or path.endswith("/.")
    slash = path.endswith("/")
    if dot:
        name = "."
    elif parts:
        name = parts[-1]
    else:
        name = "/"
    return ContainerPath(parts, follow_last=dot or slash or not parts, name=name)


def _lstat_in(root: RootDir, parent: RelPath, name: str) -> os.stat_result | None:
    """lstat of parent/name below the root, following nothing; None when it is not there."""
    try:
        fd = root.open_dir(parent, follow=False)
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        return os.stat(name, dir_fd=fd, follow_symlinks=False)
    except (FileNotFoundError, NotADirectoryError):
        return None
    finally:
        os.close(fd)


def _readlink_in(root: RootDir, parent: RelPath, name: str) -> str:
    fd = root.open_dir(parent, follow=False)
    try:
        return os.readlink(name, dir_fd=fd)
    finally:
        os.close(fd)


def resolve_in_scope(root: RootDir, parts: RelPath, *, follow_last: bool = True) -> RelPath:
    """Resolve symlinks in `parts` as the container would, never above its root.

    Missing components are kept as they are (Docker's rule: the result may
    name something that does not exist yet).  Raises InvalidParameter on a
    symlink loop, or when the tree changes under us into something unsafe.
    """
    done: list[str] = []
    todo = list(reversed(parts))
    links = 0
    while todo:
        comp = todo.pop()
        if comp in ("", "."):
            continue
        if comp == "..":
            if done:
                done.pop()
            continue
        if not todo and not follow_last:
            done.append(comp)
            break
        st = _lstat_in(root, tuple(done), comp)
        if st is None or not stat.S_ISLNK(st.st_mode):
            done.append(comp)
            continue
        links += 1
        if links > MAX_SYMLINKS:
            raise InvalidParameter(f"too many links in /{'/'.join(parts)}")
        target = _readlink_in(root, tuple(done), comp)
        if target.startswith("/"):
            done.clear()  # an absolute target starts again at the container's root
        todo.extend(reversed(target.split("/")))
    return tuple(done)


class Located:
    """An entry below the root, pinned by its parent directory's fd (or the root itself)."""

    def __init__(self, root: RootDir, parts: RelPath) -> None:
        self.parts = parts
        if parts:
            try:
                self.dirfd = root.open_dir(parts[:-1], follow=False)
            except (FileNotFoundError, NotADirectoryError) as e:
                raise FileNotFoundError(errno.ENOENT, "not found", "/" + "/".join(parts)) from e
            self.name: str | None = parts[-1]
        else:
            self.dirfd = os.dup(root.fd)
            self.name = None

    def lstat(self) -> os.stat_result:
        """Raises FileNotFoundError when nothing is there."""
        if self.name is None:
            return os.fstat(self.dirfd)
        try:
            return os.stat(self.name, dir_fd=self.dirfd, follow_symlinks=False)
        except NotADirectoryError as e:
            raise FileNotFoundError(errno.ENOENT, "not found", "/" + "/".join(self.parts)) from e

    def open_dir(self) -> int:
        """An fd of this entry as a directory (never through a symlink); caller closes."""
        if self.name is None:
            return os.dup(self.dirfd)
        return os.open(self.name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                       dir_fd=self.dirfd)

    def close(self) -> None:
        if self.dirfd >= 0:
            os.close(self.dirfd)
            self.dirfd = -1

    def __enter__(self) -> "Located":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
