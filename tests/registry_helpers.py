"""Start hithe-registry as a process on 127.0.0.1 and talk raw HTTP to it (shared by the registry tests)."""
from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass


@dataclass
class Registry:
    root: str
    proc: subprocess.Popen
    port: int
    log: str
    tls: ssl.SSLContext | None = None
    auth: str | None = None

    def conn(self) -> http.client.HTTPConnection:
        if self.tls is not None:
            return http.client.HTTPSConnection("127.0.0.1", self.port, context=self.tls, timeout=60)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)

    def request(self, method: str, path: str, body=None, headers: dict | None = None,
                conn: http.client.HTTPConnection | None = None):
        c = conn or self.conn()
        h = dict(headers or {})
        if self.auth and "Authorization" not in h:
            h["Authorization"] = self.auth
        c.request(method, path, body=body, headers=h, encode_chunked=not isinstance(body, (bytes, type(None))))
        r = c.getresponse()
        data = r.read()
        if conn is None:
            c.close()
        return r, data

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_registry(root: str, *args: str, scheme: str = "http") -> Registry:
    log = os.path.join(os.path.dirname(root), f"registry-{time.monotonic_ns()}.log")
    exe = shutil.which("hithe-registry", path=os.path.dirname(sys.executable))
    cmd = [exe] if exe else [sys.executable, "-m", "hithe.distribution.server.main"]
    with open(log, "wb") as out:
        proc = subprocess.Popen([*cmd, "serve", "--addr", "127.0.0.1:0", "--root", root, *args],
                                stdout=out, stderr=out, start_new_session=True)
    deadline = time.time() + 15
    while time.time() < deadline:
        m = re.search(rf"listening on {scheme}://127\.0\.0\.1:(\d+)", open(log).read())
        if m:
            return Registry(root, proc, int(m.group(1)), log)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("hithe-registry did not start: " + open(log).read()[-2000:])
