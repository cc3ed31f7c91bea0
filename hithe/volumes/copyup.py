"""Docker's copy-up: a new (empty) volume gets what the image has at its mount path.

The source is a container's root filesystem, whose content comes from an
image nobody vouched for.  The mount path is resolved the way the container
sees it (hithe/containers/scope.py: symlinks stay inside the root), and the
copy works on directory file descriptors with O_NOFOLLOW throughout, so no
symlink in the image can make us read or write outside the rootfs or the
volume.  Symlinks are copied as symlinks; hard links become separate files
(linking by path inside a volume that another container may be changing is
what we avoid).
"""
from __future__ import annotations

import logging
import os
import stat

from hithe.archive.rootdir import RootDir
from hithe.containers.scope import Located, clean_components, resolve_in_scope

log = logging.getLogger("hithe.volumes")
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def is_empty(path: str) -> bool:
    fd = os.open(path, _DIR)
    try:
        return not os.listdir(fd)
    finally:
        os.close(fd)


def copy_up(rootfs: str, container_path: str, dest: str) -> bool:
    """Copy rootfs:container_path into the empty directory `dest`; False when there was nothing
    to copy (no such directory in the image, or `dest` not empty)."""
    with RootDir(rootfs) as root:
        parts = resolve_in_scope(root, clean_components(container_path))
        try:
            loc = Located(root, parts)
        except FileNotFoundError:
            return False
        with loc:
            try:
                st = loc.lstat()
            except FileNotFoundError:
                return False
            if not stat.S_ISDIR(st.st_mode):
                return False
            src = loc.open_dir()
    try:
        dst = os.open(dest, _DIR)
        try:
            if os.listdir(dst):
                return False
            _copy_dir(src, dst)
            # Docker's copyOwnership: the volume's root takes the image directory's owner and mode.
            os.fchown(dst, st.st_uid, st.st_gid)
            os.fchmod(dst, stat.S_IMODE(st.st_mode))
        finally:
            os.close(dst)
    finally:
        os.close(src)
    return True


def _copy_dir(src: int, dst: int) -> None:
    for name in os.listdir(src):
        try:
            st = os.stat(name, dir_fd=src, follow_symlinks=False)
        except FileNotFoundError:
            continue
        mode = st.st_mode
        try:
            if stat.S_ISDIR(mode):
                os.mkdir(name, 0o700, dir_fd=dst)
                s2 = os.open(name, _DIR, dir_fd=src)
                try:
                    d2 = os.open(name, _DIR, dir_fd=dst)
                    try:
                        _copy_dir(s2, d2)
                        os.fchown(d2, st.st_uid, st.st_gid)
                        os.fchmod(d2, stat.S_IMODE(mode))
                    finally:
                        os.close(d2)
                finally:
                    os.close(s2)
            elif stat.S_ISREG(mode):
                _copy_file(src, dst, name, st)
                continue  # times set on the fd already
            elif stat.S_ISLNK(mode):
                os.symlink(os.readlink(name, dir_fd=src), name, dir_fd=dst)
                os.chown(name, st.st_uid, st.st_gid, dir_fd=dst, follow_symlinks=False)
            elif stat.S_ISFIFO(mode) or stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
                os.mknod(name, mode, st.st_rdev, dir_fd=dst)
                os.chown(name, st.st_uid, st.st_gid, dir_fd=dst, follow_symlinks=False)
            else:
                continue  # sockets mean nothing in a copy
            os.utime(name, ns=(st.st_atime_ns, st.st_mtime_ns), dir_fd=dst, follow_symlinks=False)
        except OSError as e:
            log.warning("copy-up of %s: %s", name, e)


def _copy_file(src: int, dst: int, name: str, st: os.stat_result) -> None:
    fi = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=src)
    try:
        fo = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                     dir_fd=dst)
        try:
            left = st.st_size
            while left > 0:
                n = os.sendfile(fo, fi, None, min(left, 1 << 30))
                if n == 0:
                    break
                left -= n
            os.fchown(fo, st.st_uid, st.st_gid)
            os.fchmod(fo, stat.S_IMODE(st.st_mode))  # after chown, which drops setuid bits
            os.utime(fo, ns=(st.st_atime_ns, st.st_mtime_ns))
        finally:
            os.close(fo)
    finally:
        os.close(fi)
