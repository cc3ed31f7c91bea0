"""Writing directory trees as tar streams: rootfs export and layer diffs.

Entries are named like `docker export` and Docker's layer tars name them:
relative, no leading "./", directories with a trailing "/" ("bin/",
"bin/busybox"), the root itself omitted.  Order is deterministic: a
depth-first walk with each directory's entries sorted by their bytes (what
Go's filepath.WalkDir does), so the same tree gives the same tar, hence the
same layer digest.  Times are whole seconds and user/group names are left
empty (the host's names mean nothing in the image), again as Docker does.

The tree may belong to a running container, so it is walked through
directory fds with O_NOFOLLOW: a file swapped for a symlink mid-walk is
skipped, never followed out of the tree, and one that vanished is left out.
"""
from __future__ import annotations

import errno
import os
import stat
import tarfile
from typing import BinaryIO, Callable

from hithe.errors import SystemError_

from .headers import XATTR_PREFIX
from .whiteout import (OVERLAY_OPAQUE_XATTR, WHITEOUT_OPAQUE, WHITEOUT_PREFIX, is_ignored_xattr,
                       is_overlay_whiteout)

_OPEN_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: if a regular file was replaced by a FIFO after we looked,
# opening it must not hang the export.
_OPEN_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK
_STREAM_BUFSIZE = 64 * 1024
_COPY_BUFSIZE = 1 << 20
_NODE_TYPES = {stat.S_IFCHR: tarfile.CHRTYPE, stat.S_IFBLK: tarfile.BLKTYPE, stat.S_IFIFO: tarfile.FIFOTYPE}
# Entries that disappear or change kind while we walk a live tree.
_VANISHED = (errno.ENOENT, errno.ELOOP, errno.ENOTDIR, errno.ENXIO)
_UNREPRESENTABLE = ("trusted.overlay.redirect", "trusted.overlay.metacopy")


def write_tree_tar(src: str, out: BinaryIO, *, exclude: Callable[[str], bool] | None = None) -> None:
    """Write the tree under `src` to `out` as a tar (what `docker export` gives).

    `exclude` receives each entry's relative name ("etc/hosts", no trailing
    slash); returning True leaves the entry, and for a directory everything
    below it, out.
    """
    _TreeWriter(out, layer=False, exclude=exclude).run(src)


def write_layer_tar(upper: str, out: BinaryIO, *, exclude_top: frozenset[str] | set[str] = frozenset(),
                    exclude: Callable[[str], bool] | None = None) -> int:
    """Write an overlayfs upper directory to `out` as an OCI layer tar.

    Overlay whiteouts (char device 0/0) become ".wh.NAME" empty files, opaque
    directories get a "DIR/.wh..wh..opq" entry right after their own, and no
    trusted.overlay.* xattr is written.  Names in `exclude_top` are left out
    at the top level only, and only while empty (a directory with no
    entries, not opaque, or a zero-length file): the mountpoints runc
    creates (proc, sys, dev) are not part of the container's changes, but
    something the user put there is. `exclude` works as in write_tree_tar.
    Returns the number of entries written (0: the container changed nothing).
    """
    w = _TreeWriter(out, layer=True, exclude=exclude, exclude_top=frozenset(exclude_top))
    w.run(upper)
    return len(w.tf.members)


def write_entry_tar(dirfd: int, name: str | None, arcname: str, out: BinaryIO) -> None:
    """Write one entry of `dirfd` (a directory with all below it) as a tar whose top entry is `arcname`.

    `name` is looked up in `dirfd` without following a symlink; None stands for
    `dirfd` itself.  Children are named below `arcname` ("d/a.txt"; "./a.txt"
    for "."; "/bin" for "/"), which is what `docker cp` reads from
    GET /containers/{id}/archive.
    """
    w = _TreeWriter(out, layer=False)
    if name is None:
        st = os.fstat(dirfd)
        w.tf.addfile(w._header(arcname, st, tarfile.DIRTYPE, w._xattrs(dirfd, arcname)))
        w._walk(dirfd, arcname if arcname.endswith("/") else arcname + "/")
    else:
        w._add(dirfd, name, arcname, os.stat(name, dir_fd=dirfd, follow_symlinks=False), top=False)
    w.finish()


class _ExactReader:
    """Serves exactly `size` bytes of a file that may change while we read.

    The header already promised `size`; a file that shrank is padded with
    zeros and one that grew is cut, so the tar stream stays well-formed.
    """

    def __init__(self, f: BinaryIO, size: int) -> None:
        self._f = f
        self._left = size

    def read(self, n: int) -> bytes:
        want = min(n, self._left)
        if want <= 0:
            return b""
        data = self._f.read(want)
        if len(data) < want:
            data += bytes(want - len(data))
        self._left -= want
        return data


class _TreeWriter:
    def __init__(self, out: BinaryIO, *, layer: bool, exclude: Callable[[str], bool] | None = None,
                 exclude_top: frozenset[str] = frozenset()) -> None:
        self.out = out
        self.layer = layer
        self.exclude = exclude
        self.exclude_top = exclude_top
        self.tf = tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT,
                               bufsize=_STREAM_BUFSIZE, copybufsize=_COPY_BUFSIZE)
        self.first_name: dict[tuple[int, int], str] = {}  # (dev, ino) -> first name, for hardlinks

    def run(self, src: str) -> None:
        fd = os.open(src, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            self._walk(fd, "")
        finally:
            os.close(fd)
        self.finish()

    def finish(self) -> None:
        # Only a complete walk gets the end-of-archive marker: on an error the
        # reader sees a truncated archive rather than a valid partial one.
        self.tf.close()
        flush = getattr(self.out, "flush", None)
        if flush is not None:
            flush()

    def _walk(self, dirfd: int, prefix: str) -> None:
        for name in sorted(os.listdir(dirfd), key=os.fsencode):
            rel = prefix + name
            if self.exclude is not None and self.exclude(rel):
                continue
            try:
                st = os.stat(name, dir_fd=dirfd, follow_symlinks=False)
                self._add(dirfd, name, rel, st, top=not prefix)
            except OSError as e:
                if e.errno not in _VANISHED:
                    raise

    def _add(self, dirfd: int, name: str, rel: str, st: os.stat_result, *, top: bool) -> None:
        fmt = stat.S_IFMT(st.st_mode)
        if fmt == stat.S_IFDIR:
            self._add_dir(dirfd, name, rel, top=top)
            return
        if self.layer and is_overlay_whiteout(st):
            # Checked before hardlinks: the kernel may share one whiteout inode.
            self._add_empty(rel.rpartition("/")[0], WHITEOUT_PREFIX + name, st, 0o600)
            return
        if top and self._drop_at_top(name, st):
            return
        if fmt == stat.S_IFREG:
            self._add_file(dirfd, name, rel)
            return
        if fmt not in (stat.S_IFLNK, *_NODE_TYPES):
            return  # sockets have no tar form; Docker skips them too
        if self._add_hardlink(rel, st):
            return
        path = f"/proc/self/fd/{dirfd}/{name}"  # xattr calls take no dir fd
        if fmt == stat.S_IFLNK:
            ti = self._header(rel, st, tarfile.SYMTYPE, self._xattrs(path, rel))
            ti.linkname = os.readlink(name, dir_fd=dirfd)
        else:
            ti = self._header(rel, st, _NODE_TYPES[fmt], self._xattrs(path, rel))
            ti.devmajor, ti.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
        self.tf.addfile(ti)

    def _add_dir(self, dirfd: int, name: str, rel: str, *, top: bool) -> None:
        fd = os.open(name, _OPEN_DIR, dir_fd=dirfd)
        try:
            st = os.fstat(fd)
            xattrs = self._xattrs(fd, rel)
            opaque = self.layer and xattrs.get(OVERLAY_OPAQUE_XATTR) == b"y"
            if top and self.layer and not opaque and name in self.exclude_top and not os.listdir(fd):
                return
            self.tf.addfile(self._header(rel, st, tarfile.DIRTYPE, xattrs))
            if opaque:
                self._add_empty(rel, WHITEOUT_OPAQUE, st, st.st_mode & 0o777)
            self._walk(fd, rel + "/")
        finally:
            os.close(fd)

    def _add_file(self, dirfd: int, name: str, rel: str) -> None:
        fd = os.open(name, _OPEN_FILE, dir_fd=dirfd)
        with open(fd, "rb", closefd=True) as f:
            st = os.fstat(fd)  # of what we opened: the size we promise is the size we read
            if not stat.S_ISREG(st.st_mode) or self._add_hardlink(rel, st):
                return
            ti = self._header(rel, st, tarfile.REGTYPE, self._xattrs(fd, rel))
            ti.size = st.st_size
            self.tf.addfile(ti, _ExactReader(f, st.st_size))

    def _add_hardlink(self, rel: str, st: os.stat_result) -> bool:
        """Write a link entry if this inode was already written; remember it otherwise."""
        if st.st_nlink < 2:
            return False
        key = (st.st_dev, st.st_ino)
        first = self.first_name.get(key)
        if first is None:
            self.first_name[key] = rel
            return False
        ti = self._header(rel, st, tarfile.LNKTYPE, {})
        ti.linkname = first
        self.tf.addfile(ti)
        return True

    def _add_empty(self, dir_rel: str, name: str, st: os.stat_result, mode: int) -> None:
        """A whiteout marker: an empty file carrying the owner and time of what it stands for."""
        ti = self._header(f"{dir_rel}/{name}" if dir_rel else name, st, tarfile.REGTYPE, {})
        ti.mode = mode
        self.tf.addfile(ti)

    def _drop_at_top(self, name: str, st: os.stat_result) -> bool:
        return (self.layer and name in self.exclude_top
                and stat.S_ISREG(st.st_mode) and st.st_size == 0)

    def _xattrs(self, target: int | str, rel: str) -> dict[str, bytes]:
        xattrs = _read_xattrs(target)
        if self.layer:
            # A renamed directory (redirect) or a metadata-only copy-up
            # (metacopy) keeps its content in a lower layer: the upper dir
            # alone is then not the diff, and a layer made from it would be
            # silently wrong.  The snapshotter mounts with these features off.
            for key in _UNREPRESENTABLE:
                if key in xattrs:
                    raise SystemError_(
                        f"cannot make a layer from {rel}: it carries {key}; mount overlayfs "
                        "with redirect_dir=off and metacopy=off")
        return xattrs

    @staticmethod
    def _header(rel: str, st: os.stat_result, kind: bytes, xattrs: dict[str, bytes]) -> tarfile.TarInfo:
        ti = tarfile.TarInfo(rel)
        ti.type = kind
        ti.mode = st.st_mode & 0o7777
        ti.uid, ti.gid = st.st_uid, st.st_gid
        ti.uname = ti.gname = ""
        ti.mtime = int(st.st_mtime)
        for key in sorted(xattrs):
            if is_ignored_xattr(key):
                continue
            ti.pax_headers[XATTR_PREFIX + key] = xattrs[key].decode("utf-8", "surrogateescape")
        return ti


def _read_xattrs(target: int | str) -> dict[str, bytes]:
    """All xattrs of `target`: an open fd, or a path whose last component is not followed."""
    nofollow = {} if isinstance(target, int) else {"follow_symlinks": False}
    try:
        names = os.listxattr(target, **nofollow)
    except OSError as e:
        if e.errno in (errno.ENOTSUP, errno.EOPNOTSUPP):
            return {}
        raise
    out: dict[str, bytes] = {}
    for key in names:
        try:
            out[key] = os.getxattr(target, key, **nofollow)
        except OSError as e:
            if e.errno != errno.ENODATA:  # removed since listxattr
                raise
    return out
