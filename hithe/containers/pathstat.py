"""The X-Docker-Container-Path-Stat header: Docker's ContainerPathStat, base64 JSON.

`mode` is a Go os.FileMode, not a Unix st_mode: the permission bits stay
where they are, but the file type and the setuid/setgid/sticky bits move to
the top of the word (ModeDir is 1<<31, ModeSymlink 1<<27, ...).  Clients
(docker CLI, docker-py, our CLI) test those bits to tell a directory from a
file before they copy.
"""
from __future__ import annotations

import base64
import json
import os
import stat
from dataclasses import dataclass

from hithe.util.timefmt import rfc3339_ns

HEADER = "X-Docker-Container-Path-Stat"

MODE_DIR = 1 << 31
MODE_SYMLINK = 1 << 27
MODE_DEVICE = 1 << 26
MODE_NAMED_PIPE = 1 << 25
MODE_SOCKET = 1 << 24
MODE_SETUID = 1 << 23
MODE_SETGID = 1 << 22
MODE_CHAR_DEVICE = 1 << 21
MODE_STICKY = 1 << 20

_TYPES = {
    stat.S_IFDIR: MODE_DIR,
    stat.S_IFLNK: MODE_SYMLINK,
    stat.S_IFBLK: MODE_DEVICE,
    stat.S_IFCHR: MODE_DEVICE | MODE_CHAR_DEVICE,
    stat.S_IFIFO: MODE_NAMED_PIPE,
    stat.S_IFSOCK: MODE_SOCKET,
}


def go_file_mode(st_mode: int) -> int:
    """Go's os.FileMode for a Unix st_mode (what os.Lstat(...).Mode() returns)."""
    mode = st_mode & 0o777
    mode |= _TYPES.get(stat.S_IFMT(st_mode), 0)
    if st_mode & stat.S_ISUID:
        mode |= MODE_SETUID
    if st_mode & stat.S_ISGID:
        mode |= MODE_SETGID
    if st_mode & stat.S_ISVTX:
        mode |= MODE_STICKY
    return mode


@dataclass(frozen=True)
class PathStat:
    name: str
    size: int
    mode: int          # Go os.FileMode
    mtime: str         # RFC3339Nano
    link_target: str = ""

    @classmethod
    def from_stat(cls, name: str, st: os.stat_result, link_target: str = "") -> "PathStat":
        return cls(name=name, size=st.st_size, mode=go_file_mode(st.st_mode),
                   mtime=rfc3339_ns(st.st_mtime_ns), link_target=link_target)

    @property
    def is_dir(self) -> bool:
        return bool(self.mode & MODE_DIR)

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "size": self.size, "mode": self.mode, "mtime": self.mtime,
                "linkTarget": self.link_target}

    def header_value(self) -> str:
        raw = json.dumps(self.to_json(), separators=(",", ":")).encode()
        return base64.b64encode(raw).decode("ascii")


def decode_header(value: str) -> dict[str, object]:
    """The JSON carried by the header (tests and clients); {} when it is malformed."""
    try:
        return json.loads(base64.b64decode(value + "=" * (-len(value) % 4)))
    except ValueError:
        return {}
