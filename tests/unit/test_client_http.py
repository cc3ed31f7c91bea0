"""HTTP/1.1 framing of the API client: heads, content-length/chunked/close bodies,
keep-alive reuse, hijack, version negotiation, errors."""
from __future__ import annotations

import json
import os
import socket
from typing import Callable

import pytest

from hithe.client.api import APIClient, encode_params, query_escape
from hithe.client.errors import APIError, DaemonUnreachable, StreamError
from hithe.client.http import BufferedSocket, ProtocolError, iter_chunked, parse_head
from tests.cli_fakes import HTTPFake


# -- pure framing over a socketpair ---------------------------------------------------

def reader_for(data: bytes, chunk_writes: list[bytes] | None = None) -> BufferedSocket:
    a, b = socket.socketpair()
    for part in chunk_writes or [data]:
        b.sendall(part)
    b.close()
    return BufferedSocket(a)


def test_parse_head() -> None:
    r = reader_for(b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
                   b"Connection: Upgrade\r\nUpgrade: tcp\r\n\r\nleftover")
    status, reason, headers = parse_head(r)
    assert (status, reason) == (101, "UPGRADED")
    assert headers["content-type"] == "application/vnd.docker.raw-stream"
    assert headers["upgrade"] == "tcp"
    assert r.take_buffer() + r.read_some() == b"leftover"


def test_parse_head_rejects_garbage() -> None:
    with pytest.raises(ProtocolError):
        parse_head(reader_for(b"SSH-2.0-OpenSSH\r\n\r\n"))
    with pytest.raises(ProtocolError):
        parse_head(reader_for(b""))


def test_chunked_decoding_across_reads() -> None:
    body = b"5\r\nhello\r\n1;ext=1\r\n \r\n6\r\nworld!\r\n0\r\nTrailer: x\r\n\r\nNEXT"
    # split the bytes at awkward places: inside sizes, data and CRLFs
    parts = [body[i:i + 3] for i in range(0, len(body), 3)]
    r = reader_for(b"", parts)
    assert b"".join(iter_chunked(r)) == b"hello world!"
    assert r.take_buffer() + r.read_some() == b"NEXT"


def test_chunked_truncated() -> None:
    with pytest.raises(ProtocolError):
        b"".join(iter_chunked(reader_for(b"5\r\nhel")))


def test_query_encoding_like_go() -> None:
    assert query_escape("docker.io/library/busybox") == "docker.io%2Flibrary%2Fbusybox"
    assert query_escape("a b&c=d") == "a+b%26c%3Dd"
    assert encode_params({"tag": "latest", "fromImage": "x/y", "skip": None, "all": True,
                          "changes": ["CMD a", "ENV b=c"]}) == \
        "all=1&changes=CMD+a&changes=ENV+b%3Dc&fromImage=x%2Fy&tag=latest"


# -- a fake daemon on a unix socket ------------------------------------------------------

class Fake(HTTPFake):
    """Serves canned responses; records (method, target, headers, body) per request."""

    def __init__(self, path: str, respond: Callable[[str, str, dict, bytes, socket.socket], bytes | None]) -> None:
        self.path = path
        self.respond = respond
        self.requests: list[tuple[str, str, dict, bytes]] = []
        super().__init__(path, backlog=8)

    def handle(self, method: str, target: str, headers: dict, body: bytes, conn: socket.socket) -> bytes | None:
        self.requests.append((method, target, headers, body))
        return self.respond(method, target, headers, body, conn)


def resp(status: int, body: bytes = b"", headers: str = "", reason: str = "OK") -> bytes:
    return (f"HTTP/1.1 {status} {reason}\r\nApi-Version: 1.45\r\n{headers}"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def ping_or(handler: Callable) -> Callable:
    def respond(method: str, target: str, headers: dict, body: bytes, conn: socket.socket) -> bytes | None:
        if target == "/_ping":
            return resp(200, b"" if method == "HEAD" else b"OK", "Ostype: linux\r\n")
        return handler(method, target, headers, body, conn)
    return respond


@pytest.fixture
def sock_path(tmp_path) -> str:
    return str(tmp_path / "d.sock")


def test_request_json_keepalive_and_versioned_path(sock_path: str) -> None:
    fake = Fake(sock_path, ping_or(lambda m, t, h, b, c: resp(200, b'{"a": 1}', "Content-Type: application/json\r\n")))
    client = APIClient(f"unix://{sock_path}")
    assert client.get_json("/containers/json", {"all": "1"}) == {"a": 1}
    assert client.get_json("/info") == {"a": 1}
    targets = [r[1] for r in fake.requests]
    assert targets == ["/_ping", "/v1.45/containers/json?all=1", "/v1.45/info"]
    assert fake.requests[0][0] == "HEAD"
    assert fake.connections == 1  # one kept-alive connection for everything
    fake.close()


def test_version_negotiation_downgrades(sock_path: str) -> None:
    def respond(m, t, h, b, c):
        if t == "/_ping":
            return b"HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Length: 0\r\n\r\n"
        return resp(200, b"{}")
    fake = Fake(sock_path, respond)
    client = APIClient(f"unix://{sock_path}")
    client.get_json("/version")
    assert fake.requests[-1][1] == "/v1.41/version"
    assert client.version_at_least("1.41") and not client.version_at_least("1.42")
    fake.close()


def test_chunked_json_stream(sock_path: str) -> None:
    def respond(m, t, h, b, c):
        c.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n")
        payload = b'{"status":"a"}\r\n{"status":"b"}\n{"stat'
        c.sendall(b"%x\r\n%s\r\n" % (len(payload), payload))
        rest = b'us":"c"}\n'
        c.sendall(b"%x\r\n%s\r\n0\r\n\r\n" % (len(rest), rest))
        return b""
    fake = Fake(sock_path, ping_or(respond))
    client = APIClient(f"unix://{sock_path}")
    r = client.request("POST", "/images/create", {"fromImage": "x"})
    assert [m["status"] for m in r.iter_json()] == ["a", "b", "c"]
    fake.close()


def test_close_delimited_body(sock_path: str) -> None:
    def respond(m, t, h, b, c):
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-tar\r\n\r\nraw-bytes-until-close")
        return None
    fake = Fake(sock_path, ping_or(respond))
    r = APIClient(f"unix://{sock_path}").request("GET", "/containers/x/export")
    assert r.read() == b"raw-bytes-until-close"
    fake.close()


def test_streamed_upload_is_chunked(sock_path: str) -> None:
    fake = Fake(sock_path, ping_or(lambda m, t, h, b, c: resp(200, b'{"status":"sha256:abc"}\n')))
    client = APIClient(f"unix://{sock_path}")
    chunks = iter([b"tar", b"", b"data"])
    client.request("POST", "/images/create", {"fromSrc": "-"}, body=chunks).read()
    method, target, headers, body = fake.requests[-1]
    assert headers["transfer-encoding"] == "chunked" and body == b"tardata"
    fake.close()


def test_errors_carry_daemon_message(sock_path: str) -> None:
    def respond(m, t, h, b, c):
        if "nobody" in t:
            return resp(404, b'{"message":"No such container: nobody"}', reason="Not Found")
        return resp(501, b"", reason="Not Implemented")
    fake = Fake(sock_path, ping_or(respond))
    client = APIClient(f"unix://{sock_path}")
    with pytest.raises(APIError) as exc:
        client.get_json("/containers/nobody/json")
    assert str(exc.value) == "Error response from daemon: No such container: nobody"
    assert exc.value.status == 404 and exc.value.not_found
    with pytest.raises(APIError) as exc:
        client.post("/containers/x/pause")
    assert exc.value.status == 501 and "Not Implemented" in str(exc.value)
    fake.close()


def test_hijack_101_keeps_leftover_bytes(sock_path: str) -> None:
    got = {}

    def respond(m, t, h, b, c):
        got["headers"] = h
        c.sendall(b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
                  b"Connection: Upgrade\r\nUpgrade: tcp\r\n\r\nearly")
        data = b""
        while True:  # echo stdin until the client half-closes
            d = c.recv(100)
            if not d:
                break
            data += d
        c.sendall(b"|" + data)
        return None
    fake = Fake(sock_path, ping_or(respond))
    hj = APIClient(f"unix://{sock_path}").hijack("POST", "/containers/x/attach", {"stream": "1"})
    assert got["headers"]["connection"] == "Upgrade" and got["headers"]["upgrade"] == "tcp"
    hj.sendall(b"input")
    hj.close_write()
    out = b""
    while True:
        d = hj.recv()
        if not d:
            break
        out += d
    assert out == b"early|input"
    fake.close()


def test_hijack_accepts_plain_200(sock_path: str) -> None:
    def respond(m, t, h, b, c):
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\nstream")
        return None
    fake = Fake(sock_path, ping_or(respond))
    hj = APIClient(f"unix://{sock_path}").hijack("POST", "/exec/e/start", json_body={"Detach": False})
    assert hj.recv() == b"stream"
    assert json.loads(fake.requests[-1][3]) == {"Detach": False}
    fake.close()


def test_hijack_error_response(sock_path: str) -> None:
    fake = Fake(sock_path, ping_or(lambda m, t, h, b, c: resp(409, b'{"message":"container not running"}')))
    with pytest.raises(APIError) as exc:
        APIClient(f"unix://{sock_path}").hijack("POST", "/containers/x/attach")
    assert exc.value.message == "container not running"
    fake.close()


def test_stream_json_raises_on_error_message(sock_path: str) -> None:
    body = b'{"status":"Pulling"}\n{"errorDetail":{"message":"not found"},"error":"not found"}\n'
    fake = Fake(sock_path, ping_or(lambda m, t, h, b, c: resp(200, body)))
    client = APIClient(f"unix://{sock_path}")
    r = client.request("POST", "/images/create")
    with pytest.raises(StreamError) as exc:
        list(client.stream_json(r))
    assert exc.value.message == "not found"
    fake.close()


def test_unreachable_daemon_message(tmp_path) -> None:
    path = str(tmp_path / "nothing.sock")
    client = APIClient(f"unix://{path}")
    with pytest.raises(DaemonUnreachable) as exc:
        client.get_json("/version")
    assert str(exc.value) == (f"Cannot connect to the hithe daemon at unix://{path}. "
                              "Is the hithe daemon running?")


def test_host_selection(monkeypatch: pytest.MonkeyPatch) -> None:
    from hithe.client.api import DEFAULT_HOST, resolve_host

    monkeypatch.delenv("HITHE_HOST", raising=False)
    monkeypatch.setenv("DOCKER_HOST", "unix:///ignored.sock")
    assert resolve_host(None) == DEFAULT_HOST == "unix:///run/hithe/hithe.sock"
    monkeypatch.setenv("HITHE_HOST", "unix:///env.sock")
    assert resolve_host(None) == "unix:///env.sock"
    assert resolve_host("unix:///flag.sock") == "unix:///flag.sock"


def test_autostart_only_for_default_root_and_enabled(monkeypatch: pytest.MonkeyPatch) -> None:
    from hithe.client import autostart

    monkeypatch.setenv("HITHE_NO_AUTOSTART", "1")
    assert not autostart.enabled()
    assert autostart.maybe_start_daemon("/nonexistent.sock") is False
    monkeypatch.delenv("HITHE_NO_AUTOSTART")
    assert autostart.enabled() == (os.geteuid() == 0)


def test_idle_connection_closed_by_server_is_retried(sock_path: str) -> None:
    count = {"n": 0}

    def respond(m, t, h, b, c):
        count["n"] += 1
        if t == "/_ping":
            # answer, then drop the kept-alive connection
            c.sendall(b"HTTP/1.1 200 OK\r\nApi-Version: 1.45\r\nContent-Length: 0\r\n\r\n")
            c.shutdown(socket.SHUT_RDWR)
            return None
        return resp(200, b"[]")
    fake = Fake(sock_path, respond)
    client = APIClient(f"unix://{sock_path}")
    assert client.get_json("/containers/json") == []
    fake.close()
