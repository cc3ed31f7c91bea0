"""inotify through ctypes, readable from an asyncio loop (exit files, log growth)."""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import struct
from typing import Iterator

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_libc.inotify_add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]

IN_MODIFY = 0x2
IN_CLOSE_WRITE = 0x8
IN_MOVED_TO = 0x80
IN_CREATE = 0x100
IN_IGNORED = 0x8000
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000
_EVENT = struct.Struct("iIII")


class Inotify:
    def __init__(self) -> None:
        fd = _libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if fd < 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
        self.fd = fd

    def add_watch(self, path: str, mask: int) -> int:
        wd = _libc.inotify_add_watch(self.fd, path.encode(), mask)
        if wd < 0:
            err = ctypes.get_errno()
            raise OSError(err, f"inotify_add_watch {path}: {os.strerror(err)}")
        return wd

    def read_events(self) -> Iterator[tuple[int, int, str]]:
        """(wd, mask, name) for every queued event; empty when nothing is pending."""
        try:
            buf = os.read(self.fd, 65536)
        except BlockingIOError:
            return
        off = 0
        while off + _EVENT.size <= len(buf):
            wd, mask, _cookie, length = _EVENT.unpack_from(buf, off)
            off += _EVENT.size
            name = buf[off:off + length].rstrip(b"\0").decode(errors="replace")
            off += length
            yield wd, mask, name

    def close(self) -> None:
        os.close(self.fd)
