"""Safe tar extraction: layers into snapshots, rootfs tarballs into images.

Only headers come from `tarfile`; every filesystem change is ours, made
relative to a directory fd obtained through RootDir (symlinks resolved inside
the destination), with the final component never followed: files are created
with O_EXCL|O_NOFOLLOW, metadata is set on the fd we created or with
AT_SYMLINK_NOFOLLOW.  Nothing the archive says can reach outside `dest`.

What is kept, as Docker keeps it: numeric uid/gid, the full mode including
setuid/setgid/sticky, device nodes, xattrs (minus the overlay namespace) and
mtimes.  An existing entry is replaced (a directory is merged into when the
new entry is a directory too, otherwise removed with its tree first).
"""
from __future__ import annotations

import os
import stat
import tarfile
from dataclasses import dataclass, field
from typing import BinaryIO, Literal

from hithe.errors import InvalidParameter

from .fsops import (chmod_nofollow, copy_to_fd, lstat_at, proc_path, remove_all_except, remove_at,
                    set_times, set_xattrs)
from .headers import TarReader, member_mtime_ns, member_xattrs
from .paths import RelPath, clean_member_name, display
from .rootdir import RootDir
from .whiteout import (OVERLAY_OPAQUE_XATTR, WHITEOUT_META_PREFIX, WHITEOUT_OPAQUE,
                       whiteout_target)

WhiteoutMode = Literal["overlay", "delete", "none"]
_MODES = ("overlay", "delete", "none")
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_OPEN_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_DEVICE_KINDS = {tarfile.CHRTYPE: stat.S_IFCHR, tarfile.BLKTYPE: stat.S_IFBLK, tarfile.FIFOTYPE: stat.S_IFIFO}


@dataclass
class ExtractStats:
    """What an extraction did.

    files: entries created or updated (any type; whiteouts not counted);
    bytes: regular-file content written;
    warnings: things skipped without failing (e.g. xattrs the filesystem
    does not support, device nodes when not privileged).
    """
    files: int = 0
    bytes: int = 0
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Meta:
    """The metadata of one member, decoded once."""
    uid: int
    gid: int
    mode: int
    mtime_ns: int | None
    xattrs: dict[str, bytes]


class DirNonDirConflict(InvalidParameter):
    """An entry would replace a directory by a non-directory or the reverse (no_overwrite_dir_nondir)."""

    def __init__(self, parts: RelPath, existing_is_dir: bool) -> None:
        what = "directory" if existing_is_dir else "non-directory"
        super().__init__(f"cannot overwrite {what} {display(parts)!r}")
        self.parts = parts
        self.existing_is_dir = existing_is_dir


def extract_tar(stream: BinaryIO, dest: str, *, whiteouts: WhiteoutMode = "overlay",
                same_owner: bool = True, owner: tuple[int, int] | None = None,
                no_overwrite_dir_nondir: bool = False) -> ExtractStats:
    """Extract the tar read from `stream` (plain, gzip, bzip2, xz or zstd) into `dest`.

    whiteouts="overlay": ".wh.NAME" becomes the overlayfs whiteout (char
    device 0/0) and ".wh..wh..opq" marks its directory opaque — for
    unpacking a layer into its own snapshot directory.
    whiteouts="delete": ".wh.NAME" removes NAME and ".wh..wh..opq" removes
    what lower layers left in its directory — for applying a layer onto a
    plain directory that already holds the layers below.
    whiteouts="none": whiteout names are ordinary files (a rootfs tarball).
    same_owner=False leaves files owned by the caller; owner=(uid, gid) gives
    every entry that owner instead of the archive's (docker cp --archive).
    no_overwrite_dir_nondir=True refuses (DirNonDirConflict) to replace an
    existing directory by a non-directory or the reverse (docker cp's PUT).

    Member names: a leading "/" is dropped, ".." is resolved and may not climb
    above `dest` in a relative name (InvalidParameter), the root entry "." is
    skipped.  Raises InvalidParameter for malformed, truncated or hostile
    archives; what was extracted before the error stays (callers extract
    into a fresh directory and discard it on failure).
    """
    if whiteouts not in _MODES:
        raise ValueError(f"whiteouts must be one of {_MODES}, not {whiteouts!r}")
    os.makedirs(dest, mode=0o755, exist_ok=True)
    with RootDir(dest) as root:
        ex = _Extractor(root, whiteouts, same_owner)
        ex.owner, ex.no_overwrite_dir_nondir = owner, no_overwrite_dir_nondir
        try:
            reader = TarReader(stream)
            for member in reader:
                ex.apply(member, reader)
            ex.finish()
            reader.drain()
        except tarfile.TarError as e:
            # tarfile's own "unexpected end of data" when a member is cut short
            raise InvalidParameter(f"invalid tar archive: {e} (the archive is truncated or corrupt)") from None
        return ex.stats


class _Extractor:
    def __init__(self, root: RootDir, whiteouts: str, same_owner: bool) -> None:
        self.root = root
        self.whiteouts = whiteouts
        self.same_owner = same_owner
        self.owner: tuple[int, int] | None = None
        self.no_overwrite_dir_nondir = False
        self.stats = ExtractStats()
        # Directory metadata is applied at the end: creating children would
        # bump the mtime, and a read-only or setgid mode would get in the way.
        self.dirs: dict[RelPath, _Meta] = {}
        # For whiteouts="delete": what this archive put in place, so that an
        # opaque marker removes only what came from lower layers.
        self.extracted: set[RelPath] = set()

    # -- dispatch ---------------------------------------------------------

    def apply(self, member: tarfile.TarInfo, reader: TarReader) -> None:
        parts = clean_member_name(member.name)
        if not parts:
            return  # the root entry "./": dest is the caller's, leave it alone
        if self.whiteouts != "none":
            if parts[0].startswith(WHITEOUT_META_PREFIX) and parts != (WHITEOUT_OPAQUE,):
                return  # AUFS bookkeeping, not content
            if parts[-1] == WHITEOUT_OPAQUE:
                self._opaque(parts[:-1])
                return
            target = whiteout_target(parts[-1])
            if target is not None:
                self._whiteout(parts, target, member)
                return
        if self.whiteouts == "delete":
            self._remember(parts)
        parent = self._open_parent(parts)
        try:
            if self.no_overwrite_dir_nondir:
                existing = lstat_at(parent, parts[-1])
                if existing is not None and stat.S_ISDIR(existing.st_mode) != member.isdir():
                    raise DirNonDirConflict(parts, stat.S_ISDIR(existing.st_mode))
            if self._create(parent, parts, member, reader):
                self.stats.files += 1
        finally:
            os.close(parent)

    def _create(self, parent: int, parts: RelPath, member: tarfile.TarInfo, reader: TarReader) -> bool:
        """Put the member in place under `parent`; False if it was skipped."""
        if member.isdir():
            self._make_dir(parent, parts, member)
        elif member.isreg():
            self._make_file(parent, parts, member, reader)
        elif member.issym():
            self._make_symlink(parent, parts, member)
        elif member.islnk():
            return self._make_hardlink(parent, parts, member)
        elif member.type in _DEVICE_KINDS:
            return self._make_node(parent, parts, member)
        else:
            raise InvalidParameter(
                f"invalid tar archive: {display(parts)} has unsupported type {member.type!r}")
        return True

    def _open_parent(self, parts: RelPath) -> int:
        try:
            return self.root.open_dir(parts[:-1], create=True)
        except NotADirectoryError:
            raise InvalidParameter(
                f"cannot extract {display(parts)}: a parent of it is not a directory") from None

    # -- entry kinds ----------------------------------------------------------

    def _make_dir(self, parent: int, parts: RelPath, member: tarfile.TarInfo) -> None:
        name = parts[-1]
        existing = lstat_at(parent, name)
        if existing is None or not stat.S_ISDIR(existing.st_mode):
            if existing is not None:
                os.unlink(name, dir_fd=parent)
            os.mkdir(name, 0o700, dir_fd=parent)  # final mode at the end
        meta = self._meta(member)
        fd = os.open(name, _OPEN_DIR, dir_fd=parent)
        try:
            self._own(fd, meta)
            self._xattrs(fd, meta, parts)
        finally:
            os.close(fd)
        self.dirs[parts] = meta

    def _make_file(self, parent: int, parts: RelPath, member: tarfile.TarInfo, reader: TarReader) -> None:
        name = parts[-1]
        remove_at(parent, name)
        meta = self._meta(member)
        fd = os.open(name, _NEW_FILE, 0o600, dir_fd=parent)
        try:
            try:
                self.stats.bytes += copy_to_fd(reader.extractfile(member), fd)
            except BaseException:
                # Do not leave a short file that looks like the real thing.
                os.unlink(name, dir_fd=parent)
                raise
            self._own(fd, meta)
            os.fchmod(fd, meta.mode)  # after chown, which clears setuid/setgid
            self._xattrs(fd, meta, parts)  # after chown, which clears security.capability
            if meta.mtime_ns is not None:
                set_times(lambda ns: os.utime(fd, ns=ns), meta.mtime_ns)
        finally:
            os.close(fd)

    def _make_symlink(self, parent: int, parts: RelPath, member: tarfile.TarInfo) -> None:
        name = parts[-1]
        if not member.linkname:
            raise InvalidParameter(f"invalid tar archive: symlink {display(parts)} has an empty target")
        remove_at(parent, name)
        # The target is stored verbatim; it is only ever followed inside the root.
        os.symlink(member.linkname, name, dir_fd=parent)
        meta = self._meta(member)
        self._own_at(parent, name, meta)
        self._xattrs(proc_path(parent, name), meta, parts)
        if meta.mtime_ns is not None:
            set_times(lambda ns: os.utime(name, ns=ns, dir_fd=parent, follow_symlinks=False), meta.mtime_ns)

    def _make_hardlink(self, parent: int, parts: RelPath, member: tarfile.TarInfo) -> bool:
        name = parts[-1]
        tparts = clean_member_name(member.linkname, what="hardlink target")
        what = f"hardlink {display(parts)} -> {member.linkname}"
        if not tparts:
            raise InvalidParameter(f"invalid tar archive: {what}: cannot link to the root")
        if tparts == parts:
            return False  # a link to itself: nothing to do
        try:
            tparent = self.root.open_dir(tparts[:-1])
        except (FileNotFoundError, NotADirectoryError):
            raise InvalidParameter(f"invalid tar archive: {what}: target does not exist") from None
        try:
            tst = lstat_at(tparent, tparts[-1])
            if tst is None:
                raise InvalidParameter(f"invalid tar archive: {what}: target does not exist")
            if stat.S_ISDIR(tst.st_mode):
                raise InvalidParameter(f"invalid tar archive: {what}: target is a directory")
            existing = lstat_at(parent, name)
            if existing is not None and (existing.st_dev, existing.st_ino) == (tst.st_dev, tst.st_ino):
                return False  # already the same inode (e.g. reached through a symlinked dir)
            remove_at(parent, name)
            # linkat without AT_SYMLINK_FOLLOW: a symlink target is linked
            # itself, never what it points to.  The inode keeps the metadata
            # of its first entry, as with GNU tar.
            os.link(tparts[-1], name, src_dir_fd=tparent, dst_dir_fd=parent, follow_symlinks=False)
            return True
        finally:
            os.close(tparent)

    def _make_node(self, parent: int, parts: RelPath, member: tarfile.TarInfo) -> bool:
        name = parts[-1]
        remove_at(parent, name)
        kind = _DEVICE_KINDS[member.type]
        try:
            os.mknod(name, kind | 0o600, os.makedev(member.devmajor, member.devminor), dir_fd=parent)
        except PermissionError:
            # Unprivileged (or in a user namespace): Docker skips devices too.
            self.stats.warnings.append(f"skipped device node {display(parts)}: not permitted")
            return False
        meta = self._meta(member)
        self._own_at(parent, name, meta)
        chmod_nofollow(parent, name, meta.mode)
        self._xattrs(proc_path(parent, name), meta, parts)
        if meta.mtime_ns is not None:
            set_times(lambda ns: os.utime(name, ns=ns, dir_fd=parent, follow_symlinks=False), meta.mtime_ns)
        return True

    # -- whiteouts ------------------------------------------------------------

    def _whiteout(self, parts: RelPath, target: str, member: tarfile.TarInfo) -> None:
        if target in ("", ".", "..") or "/" in target:
            raise InvalidParameter(f"invalid tar archive: malformed whiteout {member.name!r}")
        parent = self._open_parent(parts)
        try:
            remove_at(parent, target)
            if self.whiteouts == "overlay":
                os.mknod(target, stat.S_IFCHR, os.makedev(0, 0), dir_fd=parent)
                if self.same_owner:
                    os.chown(target, member.uid, member.gid, dir_fd=parent, follow_symlinks=False)
        finally:
            os.close(parent)
        self.extracted.discard(parts[:-1] + (target,))

    def _opaque(self, dir_parts: RelPath) -> None:
        fd = self._open_parent(dir_parts + (WHITEOUT_OPAQUE,))
        try:
            if self.whiteouts == "overlay":
                os.setxattr(fd, OVERLAY_OPAQUE_XATTR, b"y")
            else:
                remove_all_except(fd, dir_parts, self.extracted)
        finally:
            os.close(fd)

    def _remember(self, parts: RelPath) -> None:
        # Implied parents count as this archive's too, or an opaque marker
        # further down the archive would remove them with their new children.
        for i in range(len(parts), 0, -1):
            if parts[:i] in self.extracted:
                break
            self.extracted.add(parts[:i])

    # -- metadata -------------------------------------------------------------

    def _meta(self, member: tarfile.TarInfo) -> _Meta:
        uid, gid = self.owner if self.owner is not None else (member.uid, member.gid)
        return _Meta(uid=uid, gid=gid, mode=member.mode & 0o7777,
                     mtime_ns=member_mtime_ns(member), xattrs=member_xattrs(member))

    def _own(self, fd: int, meta: _Meta) -> None:
        if self.same_owner:
            os.fchown(fd, meta.uid, meta.gid)

    def _own_at(self, parent: int, name: str, meta: _Meta) -> None:
        if self.same_owner:
            os.chown(name, meta.uid, meta.gid, dir_fd=parent, follow_symlinks=False)

    def _xattrs(self, target: int | str, meta: _Meta, parts: RelPath) -> None:
        for key, err in set_xattrs(target, meta.xattrs):
            self.stats.warnings.append(f"xattr {key} on {display(parts)} not set: {err}")

    def finish(self) -> None:
        """Apply directory modes and times, deepest first, after all children."""
        for parts in sorted(self.dirs, key=len, reverse=True):
            meta = self.dirs[parts]
            try:
                # follow=False: if a later entry swapped the path for a
                # symlink, this record is stale and must not land elsewhere.
                fd = self.root.open_dir(parts, follow=False)
            except (OSError, InvalidParameter):
                continue  # replaced or deleted later in the archive
            try:
                os.fchmod(fd, meta.mode)
                if meta.mtime_ns is not None:
                    set_times(lambda ns: os.utime(fd, ns=ns), meta.mtime_ns)
            finally:
                os.close(fd)
