"""Drive a CLI inside a real pseudo-terminal, as a person at a terminal would."""
from __future__ import annotations

import os
import select
import subprocess
import sys
import time


class PtyProc:
    def __init__(self, args: list[str], env: dict[str, str], cwd: str, prog: list[str] | None = None) -> None:
        self.master, slave = os.openpty()
        self.proc = subprocess.Popen([*(prog or [sys.executable, "-m", "hithe.cli.main"]), *args], stdin=slave,
                                     stdout=slave, stderr=slave, env=env, cwd=cwd, start_new_session=True)
        os.close(slave)
        self.buf = b""

    def send(self, data: str | bytes) -> None:
        os.write(self.master, data.encode() if isinstance(data, str) else data)

    def expect(self, needle: str, timeout: float = 10) -> str:
        end = time.time() + timeout
        while needle.encode() not in self.buf:
            left = end - time.time()
            if left <= 0:
                raise AssertionError(f"did not see {needle!r}; screen so far: {self.buf[-500:]!r}")
            r, _, _ = select.select([self.master], [], [], left)
            if r:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:
                    chunk = b""
                if not chunk:
                    raise AssertionError(f"terminal closed before {needle!r}; screen: {self.buf[-500:]!r}")
                self.buf += chunk
        return self.buf.decode(errors="replace")

    def wait(self, timeout: float = 15) -> int:
        end = time.time() + timeout
        while self.proc.poll() is None and time.time() < end:
            r, _, _ = select.select([self.master], [], [], 0.1)
            if r:
                try:
                    self.buf += os.read(self.master, 4096)
                except OSError:
                    pass
        rc = self.proc.wait(max(0.1, end - time.time()))
        os.close(self.master)
        return rc
