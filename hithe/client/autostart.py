"""Start hithed in the background when nothing listens on the default socket.

Architecture contract §2: only for the default socket, only as root, and
``HITHE_NO_AUTOSTART=1`` turns it off.  The daemon runs in its own session so
that it outlives the CLI and gets no terminal signals (Ctrl-C in the shell).
"""
from __future__ import annotations

import os
import socket
import sys
import time

LOG_CANDIDATES = ("/var/log/hithe.log", "/run/hithe/hithed.log")
WAIT_SECONDS = 10.0


def enabled() -> bool:
    return os.geteuid() == 0 and not os.environ.get("HITHE_NO_AUTOSTART")


def _open_log() -> int:
    for path in LOG_CANDIDATES:
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
        except OSError:
            continue
    return os.open(os.devnull, os.O_WRONLY)


def _pings(path: str) -> bool:
    """True when the daemon answers ``GET /_ping`` with a 2xx status."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(1.0)
    try:
        s.connect(path)
        s.sendall(b"GET /_ping HTTP/1.1\r\nHost: api.moby.localhost\r\nConnection: close\r\n\r\n")
        head = s.recv(64)
        return head.startswith(b"HTTP/1.") and head[9:10] == b"2"
    except OSError:
        return False
    finally:
        s.close()


def maybe_start_daemon(path: str) -> bool:
    """Start hithed and wait for it; False when auto-start does not apply or failed."""
    if not enabled():
        return False
    import subprocess

    log_fd = _open_log()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "hithe.daemon.main"],
            stdin=subprocess.DEVNULL, stdout=log_fd, stderr=log_fd,
            start_new_session=True, close_fds=True, cwd="/")
    except OSError:
        return False
    finally:
        os.close(log_fd)
    sys.stderr.write(f"hithe: started hithed (pid {proc.pid})\n")
    sys.stderr.flush()
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if _pings(path):
            return True
        if proc.poll() is not None:
            return False  # the daemon died; the caller reports "Cannot connect"
        time.sleep(0.05)
    return False
