"""Log options and keeping ``max-file`` generations behind conmon's back.

conmon rotates with ``--log-size-max N`` by writing ``PATH.tmp`` and renaming
it over ``PATH`` (ctr_logging.c, reopen_k8s_file): it keeps no old generation.
LogKeeper holds a hard link ``PATH.keep`` to the inode conmon writes; once
``PATH`` names another inode, ``PATH.keep`` is the complete previous
generation and becomes ``PATH.1`` (older ones shift up). The daemon calls
check() about once a second per running container and before reading logs.

A generation is lost only if conmon rotates twice between two checks, i.e. a
container writes more than max-size bytes in about a second.
"""
from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass

from ..errors import InvalidParameter

# Docker's `local` driver defaults (max-size 20m, max-file 5). Docker's json-file
# driver does not rotate unless asked; hithe turns rotation on by default as
# its spec asks, so each option left out falls back to these.
DEFAULT_MAX_SIZE = 20_000_000
DEFAULT_MAX_FILE = 5

# Options docker's json-file driver accepts (jsonfilelog.ValidateLogOpt).
# labels/env/tag only decorate `docker logs --details`: accepted, unused.
_KNOWN_OPTS = ("max-file", "max-size", "compress", "labels", "labels-regex",
               "env", "env-regex", "tag")

# go-units FromHumanSize: decimal multipliers (k = 1000), optional i/b suffix.
_SIZE = re.compile(r"^(\d+(\.\d+)*) ?([kmgtp])?i?b?$", re.IGNORECASE)
_MULT = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12, "p": 10**15}
_INT = re.compile(r"^[+-]?\d+$")
_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_FALSE = ("0", "f", "F", "FALSE", "false", "False")


@dataclass(frozen=True)
class LogConfig:
    max_size: int | None  # bytes per file (conmon --log-size-max); None: no rotation
    max_file: int  # files kept, the current one included
    compress: bool  # accepted like docker; hithe keeps rotated files uncompressed


def _from_human_size(value: str) -> int:
    m = _SIZE.match(value)
    if m is None:
        raise InvalidParameter(f"invalid size: '{value}'")
    try:
        size = float(m.group(1))
    except ValueError:  # "1.2.3" passes the pattern, not ParseFloat
        raise InvalidParameter(
            f'strconv.ParseFloat: parsing "{m.group(1)}": invalid syntax') from None
    return int(size * _MULT[(m.group(3) or "").lower()])


def _atoi(value: str) -> int:
    if not _INT.match(value):
        raise InvalidParameter(f'strconv.Atoi: parsing "{value}": invalid syntax')
    n = int(value)
    if not -(1 << 63) <= n < (1 << 63):
        raise InvalidParameter(f'strconv.Atoi: parsing "{value}": value out of range')
    return n


def _parse_bool(value: str) -> bool:
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise InvalidParameter(f'strconv.ParseBool: parsing "{value}": invalid syntax')


def parse_log_opts(opts: dict[str, str], *, default_max_size: int | None = DEFAULT_MAX_SIZE,
                   default_max_file: int = DEFAULT_MAX_FILE) -> LogConfig:
    """json-file ``--log-opt`` values -> LogConfig, with docker's messages.

    Pass the daemon's ``log-opts`` merged under the container's.
    """
    for key in opts:
        if key not in _KNOWN_OPTS:
            raise InvalidParameter(f"unknown log opt '{key}' for json-file log driver")
    max_size = default_max_size
    if "max-size" in opts:
        max_size = _from_human_size(opts["max-size"])
        if max_size <= 0:
            raise InvalidParameter("max-size must be a positive number")
    max_file = default_max_file
    if "max-file" in opts:
        max_file = _atoi(opts["max-file"])
        if max_file < 1:
            raise InvalidParameter("max-file cannot be less than 1")
    compress = False
    if "compress" in opts:
        compress = _parse_bool(opts["compress"])
        if compress and (max_file == 1 or max_size is None):
            raise InvalidParameter(
                "compress cannot be true when max-file is less than 2 or max-size is not set")
    return LogConfig(max_size=max_size, max_file=max_file, compress=compress)


# --- generations -------------------------------------------------------------------

def _keep(path: str) -> str:
    return path + ".keep"


def rotated_paths(path: str) -> list[str]:
    """Older generations of ``path``, oldest first, ``path`` itself excluded.

    ``PATH.keep`` is listed last when it still holds a generation that check()
    has not yet moved to ``PATH.1`` (its inode differs from ``PATH``'s).
    """
    found: list[tuple[int, str]] = []
    prefix = os.path.basename(path) + "."
    try:
        names = os.listdir(os.path.dirname(path) or ".")
    except FileNotFoundError:
        return []
    for name in names:
        if name.startswith(prefix) and name[len(prefix):].isdigit():
            found.append((int(name[len(prefix):]), os.path.join(os.path.dirname(path), name)))
    out = [p for _, p in sorted(found, reverse=True)]
    try:
        keep = os.stat(_keep(path))
        cur = os.stat(path)
        if (keep.st_dev, keep.st_ino) != (cur.st_dev, cur.st_ino):
            out.append(_keep(path))
    except FileNotFoundError:
        pass
    return out


def log_paths(path: str) -> list[str]:
    """Every file to read for ``docker logs``, oldest first."""
    return rotated_paths(path) + [path]


_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock_for(path: str) -> threading.Lock:
    # check() may run from the periodic task and a logs request at once.
    with _locks_guard:
        return _locks.setdefault(path, threading.Lock())


class LogKeeper:
    """Keeps ``max_file`` generations of a conmon k8s-file log."""

    def __init__(self, path: str, max_file: int) -> None:
        self.path = path
        self.max_file = max(1, max_file)
        self._lock = _lock_for(path)

    def track(self) -> None:
        """Link the current inode as PATH.keep (call once conmon has created
        PATH, e.g. right after the container starts). Drops generations
        beyond max_file (the setting may have shrunk)."""
        with self._lock:
            self._prune()
            if self.max_file == 1:
                _unlink(_keep(self.path))
                return
            self._link_keep()

    def check(self) -> bool:
        """Absorb a rotation done by conmon; True if one was found."""
        if self.max_file == 1:
            return False
        with self._lock:
            try:
                cur = os.stat(self.path)
            except FileNotFoundError:
                return False
            try:
                keep = os.stat(_keep(self.path))
            except FileNotFoundError:
                self._link_keep()
                return False
            if (keep.st_dev, keep.st_ino) == (cur.st_dev, cur.st_ino):
                return False
            # PATH.keep is the previous generation, complete (conmon closed
            # it before renaming the new file over PATH).
            _unlink(f"{self.path}.{self.max_file - 1}")
            for i in range(self.max_file - 2, 0, -1):
                _rename(f"{self.path}.{i}", f"{self.path}.{i + 1}")
            os.rename(_keep(self.path), f"{self.path}.1")
            self._link_keep()
            return True

    def remove(self) -> None:
        """Delete every generation and the keep link (container removal)."""
        with self._lock:
            for p in rotated_paths(self.path):
                _unlink(p)
            _unlink(_keep(self.path))

    def _link_keep(self) -> None:
        tmp = _keep(self.path) + ".tmp"
        _unlink(tmp)
        try:
            os.link(self.path, tmp)
        except FileNotFoundError:
            return
        os.rename(tmp, _keep(self.path))  # atomic replace of the old link

    def _prune(self) -> None:
        prefix = self.path + "."
        for p in rotated_paths(self.path):
            suffix = p[len(prefix):]
            if suffix.isdigit() and int(suffix) >= self.max_file:
                _unlink(p)


def _unlink(p: str) -> None:
    try:
        os.unlink(p)
    except FileNotFoundError:
        pass


def _rename(src: str, dst: str) -> None:
    try:
        os.rename(src, dst)
    except FileNotFoundError:
        pass
