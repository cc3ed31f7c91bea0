"""A recording fake daemon for the CLI tests (tests/unit/test_cli_*.py): it serves
canned replies on a unix socket and records the requests the CLI sends."""
from __future__ import annotations

import json
import socket
import threading
from typing import Any, Callable

import pytest

from hithe.client.http import BufferedSocket, ProtocolError, iter_chunked

class Req:
    def __init__(self, method: str, target: str, headers: dict[str, str], body: bytes) -> None:
        from urllib.parse import unquote_plus

        self.method, self.target, self.headers, self.body = method, target, headers, body
        path, _, query = target.partition("?")
        self.path = path.split("/", 2)[2] if path.startswith("/v1.") else path.lstrip("/")
        self.query: dict[str, list[str]] = {}
        for part in filter(None, query.split("&")):
            k, _, v = part.partition("=")
            self.query.setdefault(unquote_plus(k), []).append(unquote_plus(v))

    def json(self) -> Any:
        return json.loads(self.body)


def reply(status: int, obj: Any = None, reason: str = "OK", raw: bytes | None = None) -> bytes:
    body = raw if raw is not None else (b"" if obj is None else json.dumps(obj).encode())
    ctype = "application/json" if raw is None else "application/octet-stream"
    return (f"HTTP/1.1 {status} {reason}\r\nApi-Version: 1.45\r\nContent-Type: {ctype}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


Handler = Callable[["Req", socket.socket], "bytes | None"]


class HTTPFake:
    """A unix-socket HTTP/1.1 server for client tests: reads each request (keep-alive,
    content-length or chunked body) and answers with what ``handle`` returns; None means
    the handler took the connection over (hijack). Counts the connections it accepted."""

    def __init__(self, path: str, backlog: int = 16) -> None:
        self.connections = 0
        self.srv = socket.socket(socket.AF_UNIX)
        self.srv.bind(path)
        self.srv.listen(backlog)
        threading.Thread(target=self._accept, daemon=True).start()

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes,
               conn: socket.socket) -> bytes | None:
        raise NotImplementedError

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.srv.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        r = BufferedSocket(conn)
        try:
            while True:
                line = r.readline()
                if not line:
                    return
                method, target, _ = line.decode().split(" ", 2)
                headers: dict[str, str] = {}
                while True:
                    h = r.readline()
                    if h in (b"\r\n", b""):
                        break
                    k, _, v = h.decode().partition(":")
                    headers[k.strip().lower()] = v.strip()
                if headers.get("transfer-encoding") == "chunked":
                    body = b"".join(iter_chunked(r))
                else:
                    body = r.read_exact(int(headers.get("content-length", "0")))
                out = self.handle(method, target, headers, body, conn)
                if out is None:
                    return
                conn.sendall(out)
        except (OSError, ProtocolError):
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self.srv.close()


class FakeDaemon(HTTPFake):
    """Routes (method, path glob) to handlers; a handler returns the bytes to send,
    or None when it took the connection over (hijack)."""

    def __init__(self, path: str) -> None:
        self.routes: list[tuple[str, str, Handler]] = []
        self.requests: list[Req] = []
        super().__init__(path)

    def on(self, method: str, path: str, handler: Handler | bytes) -> None:
        h = handler if callable(handler) else (lambda req, conn, data=handler: data)
        self.routes.insert(0, (method, path, h))

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes,
               conn: socket.socket) -> bytes | None:
        req = Req(method, target, headers, body)
        if req.path != "_ping":
            self.requests.append(req)
        return self._dispatch(req, conn)

    def _dispatch(self, req: Req, conn: socket.socket) -> bytes | None:
        import fnmatch

        if req.path == "_ping":
            return b"HTTP/1.1 200 OK\r\nApi-Version: 1.45\r\nOstype: linux\r\nContent-Length: 0\r\n\r\n"
        for method, pattern, handler in self.routes:
            if method == req.method and fnmatch.fnmatchcase(req.path, pattern):
                return handler(req, conn)
        return reply(404, {"message": f"page not found: {req.method} {req.path}"})

    def calls(self) -> list[str]:
        return [f"{r.method} {r.path}" for r in self.requests]


@pytest.fixture(name="daemon")
def fake_daemon(tmp_path, monkeypatch: pytest.MonkeyPatch):
    """The ``daemon`` fixture: a FakeDaemon that HITHE_HOST points at (import it into a test module)."""
    path = str(tmp_path / "hithe.sock")
    d = FakeDaemon(path)
    monkeypatch.setenv("HITHE_HOST", f"unix://{path}")
    monkeypatch.setenv("HITHE_NO_AUTOSTART", "1")
    yield d
    d.close()


CID = "c" * 64


def hijack_with(payload: bytes, record: dict | None = None) -> Handler:
    def handler(req: Req, conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\n"
                     b"Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
        if record is not None:
            data = b""
            while True:  # until the client half-closes
                d = conn.recv(65536)
                if not d:
                    break
                data += d
            record["stdin"] = data
        conn.sendall(payload)
        conn.close()
        return None
    return handler
