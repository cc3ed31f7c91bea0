"""Opening directories below an extraction root without ever leaving it.

A tar can plant a symlink ("a -> /etc", "a -> ../../..") and then ask for a
file under it ("a/passwd").  Checking names as strings is not enough, so every
write is done relative to a directory file descriptor that was reached from
the root fd with the symlinks interpreted *inside* the root, the way a
chrooted process would see them (this is also what Docker gets by unpacking
inside a chroot, and what containerd does with its in-scope resolution).

Fast path: openat2(2) with RESOLVE_IN_ROOT, one syscall, the kernel keeps
"/" and ".." pinned to the root.  Fallback (old kernels, or a component is
missing and must be created): a walk that opens one component at a time with
O_NOFOLLOW and, on a symlink, reads it and splices its target into the walk,
restarting from the root fd for absolute targets.  Neither path ever lets
the kernel follow a link on our behalf, so a concurrent rename can only move
us to another place inside the root.
"""
from __future__ import annotations

import ctypes
import errno
import os
import stat

from hithe.errors import InvalidParameter

from .paths import RelPath, display

_SYS_OPENAT2 = 437  # same number on every Linux architecture (added in 5.6)
_RESOLVE_NO_MAGICLINKS = 0x02
_RESOLVE_NO_SYMLINKS = 0x04
_RESOLVE_BENEATH = 0x08
_RESOLVE_IN_ROOT = 0x10
_MAX_LINKS = 40  # the kernel's own limit on symlinks in one lookup
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC


class _OpenHow(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]


def _load_syscall():
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.syscall
    except (OSError, AttributeError):
        return None
    fn.restype = ctypes.c_long
    return fn


_syscall = _load_syscall()
_openat2_works: bool | None = None if _syscall is not None else False


def _openat2(dirfd: int, path: str, resolve: int) -> int:
    """openat2(dirfd, path, O_DIRECTORY, resolve) or -errno; -ENOSYS if unusable."""
    global _openat2_works
    if _openat2_works is False:
        return -errno.ENOSYS
    how = _OpenHow(_DIR_FLAGS, 0, resolve)
    fd = _syscall(ctypes.c_long(_SYS_OPENAT2), ctypes.c_int(dirfd), ctypes.c_char_p(os.fsencode(path)),
                  ctypes.byref(how), ctypes.c_size_t(ctypes.sizeof(how)))
    if fd >= 0:
        _openat2_works = True
        return fd
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EPERM) and _openat2_works is None:
        # ENOSYS: old kernel.  EPERM: a seccomp filter that denies what it
        # does not know (older container runtimes).  Either way, walk.
        _openat2_works = False
    return -err


class RootDir:
    """A directory fd that acts as "/" for every path resolved below it."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd = os.open(path, _DIR_FLAGS)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> "RootDir":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open_dir(self, parts: RelPath, *, create: bool = False, follow: bool = True) -> int:
        """Open the directory at `parts` (relative to the root); caller closes.

        follow=True: symlinks on the way are resolved inside the root.
        follow=False: any symlink on the way is an error (used for metadata
        fix-ups at the end, where a path that became a symlink is stale).
        create=True: missing directories are made (mode 0755, like Docker's
        implied parents), including ones a symlink points to.
        Raises FileNotFoundError, NotADirectoryError or InvalidParameter.
        """
        if not parts:
            return os.dup(self.fd)
        resolve = _RESOLVE_IN_ROOT | _RESOLVE_NO_MAGICLINKS if follow else _RESOLVE_BENEATH | _RESOLVE_NO_SYMLINKS
        fd = _openat2(self.fd, "/".join(parts), resolve)
        if fd >= 0:
            return fd
        if fd == -errno.ENOENT and not create:
            raise FileNotFoundError(errno.ENOENT, "no such directory", display(parts))
        # Missing components to create, a non-directory or a symlink on the
        # way (precise error wanted), EAGAIN from a racing rename, or no
        # openat2 at all: do it step by step.
        return self._walk(parts, create=create, follow=follow)

    def _walk(self, parts: RelPath, *, create: bool, follow: bool) -> int:
        stack = [os.dup(self.fd)]  # stack[i] is the resolved i-th ancestor; [0] is the root
        todo = list(reversed(parts))
        links = 0
        try:
            while todo:
                comp = todo.pop()
                if comp in ("", "."):
                    continue
                if comp == "..":
                    # Parent of where we actually are, never above the root.
                    if len(stack) > 1:
                        os.close(stack.pop())
                    continue
                cur = stack[-1]
                try:
                    fd = os.open(comp, _DIR_FLAGS | os.O_NOFOLLOW, dir_fd=cur)
                except FileNotFoundError:
                    if not create:
                        raise FileNotFoundError(errno.ENOENT, "no such directory", display(parts)) from None
                    fd = self._mkdir(cur, comp)
                except OSError as e:
                    if e.errno not in (errno.ELOOP, errno.ENOTDIR):
                        raise
                    st = os.stat(comp, dir_fd=cur, follow_symlinks=False)
                    if not stat.S_ISLNK(st.st_mode):
                        raise NotADirectoryError(errno.ENOTDIR, "not a directory", display(parts)) from None
                    if not follow:
                        raise InvalidParameter(f"{display(parts)}: a symlink is on the way") from None
                    links += 1
                    if links > _MAX_LINKS:
                        raise InvalidParameter(
                            f"{display(parts)}: too many levels of symbolic links") from None
                    target = os.readlink(comp, dir_fd=cur)
                    if target.startswith("/"):
                        while len(stack) > 1:
                            os.close(stack.pop())
                    todo.extend(reversed(target.split("/")))
                    continue
                stack.append(fd)
            return stack.pop()
        finally:
            for fd in stack:
                os.close(fd)

    @staticmethod
    def _mkdir(parent: int, name: str) -> int:
        try:
            os.mkdir(name, 0o755, dir_fd=parent)
            created = True
        except FileExistsError:
            created = False  # someone (or a dangling entry) beat us; open whatever it is
        fd = os.open(name, _DIR_FLAGS | os.O_NOFOLLOW, dir_fd=parent)
        if created:
            os.fchmod(fd, 0o755)  # independent of the daemon's umask
        return fd
