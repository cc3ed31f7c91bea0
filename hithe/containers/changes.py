"""docker diff: a container's filesystem changes, read from its overlay upper directory.

Docker's rules (overlay2, archive.OverlayChanges), which we keep:

* a char device 0/0 in the upper dir is a whiteout: the path was deleted (2);
* an opaque directory (trusted.overlay.opaque=y) that the image also has was
  deleted and made again: it is modified, what the image had in it and the
  new one lacks is deleted (what `docker diff` prints for `rm -rf d; mkdir d`);
* anything else present in the image's layers is modified (0), else added (1);
  a directory that still has the image's size, mode and mtime is not a
  change by itself, but the parent of an added or deleted path always shows
  as modified.

Where Docker is sloppy we are exact: the image's layers are looked up as the
merged view sees them (a whiteout or an opaque directory in a higher layer
hides the ones below), with lstat and component by component, so a symlink
in a layer is never followed.

What the runtime makes rather than the user is left out, as Docker's init
layer hides it: the /proc, /sys and /dev mount points when empty, and the
empty files runc creates under /etc to bind-mount hostname, hosts and
resolv.conf on (and /etc itself when those are its only change).
"""
from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass

from hithe.archive.whiteout import OVERLAY_OPAQUE_XATTR, is_overlay_whiteout

MODIFIED, ADDED, DELETED = 0, 1, 2
KIND_LETTER = {MODIFIED: "C", ADDED: "A", DELETED: "D"}

RUNTIME_MOUNTPOINTS = frozenset({("proc",), ("sys",), ("dev",)})
RUNTIME_FILES = frozenset({("etc", "hostname"), ("etc", "hosts"), ("etc", "resolv.conf")})

RelPath = tuple[str, ...]
_OPEN_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


@dataclass(frozen=True)
class Change:
    path: str
    kind: int

    def to_api(self) -> dict[str, object]:
        return {"Path": self.path, "Kind": self.kind}


def _is_opaque(target: int | str) -> bool:
    try:
        if isinstance(target, int):
            return os.getxattr(target, OVERLAY_OPAQUE_XATTR) == b"y"
        return os.getxattr(target, OVERLAY_OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError as e:
        if e.errno in (errno.ENODATA, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOENT):
            return False
        raise


class LowerView:
    """The image's layers (top first) as overlayfs merges them, for lookups by path."""

    def __init__(self, layers: list[str]) -> None:
        self.layers = layers

    def lookup(self, parts: RelPath) -> os.stat_result | None:
        for layer in self.layers:
            st, hides_below = self._in_layer(layer, parts)
            if st is not None:
                return st
            if hides_below:
                return None
        return None

    def listdir(self, parts: RelPath) -> set[str]:
        """Names the merged image shows in directory `parts`."""
        seen: set[str] = set()
        hidden: set[str] = set()
        for layer in self.layers:
            st, hides_below = self._in_layer(layer, parts)
            if st is None:
                if hides_below:
                    break
                continue
            if not stat.S_ISDIR(st.st_mode):
                break
            path = os.path.join(layer, *parts)
            for name in os.listdir(path):
                if name in seen or name in hidden:
                    continue
                try:
                    cst = os.lstat(os.path.join(path, name))
                except FileNotFoundError:
                    continue
                (hidden if is_overlay_whiteout(cst) else seen).add(name)
            if _is_opaque(path):
                break
        return seen

    @staticmethod
    def _in_layer(layer: str, parts: RelPath) -> tuple[os.stat_result | None, bool]:
        """(stat of the path in this layer, whether this layer hides it in the ones below)."""
        cur = layer
        for i, comp in enumerate(parts):
            cur = os.path.join(cur, comp)
            try:
                st = os.lstat(cur)  # `cur` holds only real directories so far
            except (FileNotFoundError, NotADirectoryError):
                return None, False
            if is_overlay_whiteout(st):
                return None, True
            if i == len(parts) - 1:
                return st, False
            if not stat.S_ISDIR(st.st_mode):
                return None, True  # a file here covers whatever directory the layers below had
            if _is_opaque(cur) and not os.path.lexists(os.path.join(cur, parts[i + 1])):
                return None, True
        return None, False


def _same_dir(a: os.stat_result, b: os.stat_result) -> bool:
    """Docker's test for "this directory itself did not change" (size, mode, mtime)."""
    if a.st_size != b.st_size or a.st_mode != b.st_mode:
        return False
    if a.st_mtime_ns == b.st_mtime_ns:
        return True
    # sameFsTime: equal seconds when one side has no sub-second part (a tar-extracted layer)
    return a.st_mtime_ns // 10**9 == b.st_mtime_ns // 10**9 and (
        a.st_mtime_ns % 10**9 == 0 or b.st_mtime_ns % 10**9 == 0)


def _runtime_made(parts: RelPath, st: os.stat_result, fd: int, lower: LowerView) -> bool:
    if parts in RUNTIME_FILES:
        return stat.S_ISREG(st.st_mode) and st.st_size == 0 and lower.lookup(parts) is None
    if parts in RUNTIME_MOUNTPOINTS and stat.S_ISDIR(st.st_mode):
        sub = os.open(parts[0], _OPEN_DIR, dir_fd=fd)
        try:
            return not os.listdir(sub) and not _is_opaque(sub)
        finally:
            os.close(sub)
    return False


def compute_changes(upper: str, lower_layers: list[str]) -> list[Change]:
    """The changes in `upper` relative to the image layers (top first), parents before children."""
    lower = LowerView(lower_layers)
    try:
        fd = os.open(upper, _OPEN_DIR)
    except FileNotFoundError:
        return []
    try:
        return _walk(fd, (), lower)
    finally:
        os.close(fd)


def _walk(fd: int, parts: RelPath, lower: LowerView) -> list[Change]:
    out: list[Change] = []
    for name in sorted(os.listdir(fd), key=os.fsencode):
        cparts = parts + (name,)
        path = "/" + "/".join(cparts)
        try:
            st = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            continue  # removed while we walk a running container's upper dir
        if _runtime_made(cparts, st, fd, lower):
            continue
        if is_overlay_whiteout(st):
            out.append(Change(path, DELETED))
            continue
        if not stat.S_ISDIR(st.st_mode):
            out.append(Change(path, ADDED if lower.lookup(cparts) is None else MODIFIED))
            continue
        try:
            sub = os.open(name, _OPEN_DIR, dir_fd=fd)
        except (FileNotFoundError, NotADirectoryError, OSError):
            continue  # swapped for something else meanwhile
        was = lower.lookup(cparts)
        try:
            below = _walk(sub, cparts, lower)
            only_runtime = bool(os.listdir(sub)) and not below and _only_runtime_children(sub, cparts, lower)
            if was is not None and stat.S_ISDIR(was.st_mode) and _is_opaque(sub):
                # Replaced: the image's entries the new directory lacks are gone.
                present = set(os.listdir(sub))
                below += [Change(f"{path}/{n}", DELETED) for n in sorted(lower.listdir(cparts) - present,
                                                                       key=os.fsencode)]
        finally:
            os.close(sub)
        if was is None:
            kind: int | None = ADDED
        elif stat.S_ISDIR(was.st_mode) and (_same_dir(st, was) or (
                only_runtime and (st.st_mode, st.st_uid, st.st_gid) == (was.st_mode, was.st_uid, was.st_gid))):
            # Unchanged by itself; still shown when something right below it came or went.
            kind = MODIFIED if any(ch.kind != MODIFIED and ch.path.rpartition("/")[0] == path
                                   for ch in below) else None
        else:
            kind = MODIFIED
        if kind is not None:
            out.append(Change(path, kind))
        out.extend(below)
    return out


def _only_runtime_children(fd: int, parts: RelPath, lower: LowerView) -> bool:
    for name in os.listdir(fd):
        try:
            st = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            continue
        if not _runtime_made(parts + (name,), st, fd, lower):
            return False
    return True
