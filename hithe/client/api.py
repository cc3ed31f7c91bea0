"""The Docker Engine API client the CLI uses.

One ``APIClient`` per CLI invocation.  It picks the host (``-H``, then
``HITHE_HOST``, then the default socket), negotiates the API version with
``/_ping`` like the docker CLI does (``min(server, 1.45)``), prefixes every
path with ``/v1.XX``, keeps idle connections for reuse, and opens a new
connection whenever a request must run while another one is still streaming
(attach + wait + start in ``run``).
"""
from __future__ import annotations

import os

# _socket, not socket: the Python wrapper's enum and selectors imports cost
# ~7 ms of start-up, and the CLI needs none of what it adds over the C type.
import _socket
TYPE_CHECKING = False  # typing costs ~5 ms at start-up; annotations are strings anyway
if TYPE_CHECKING:
    from typing import Any, Iterable, Iterator

from hithe.client import jsonc
from hithe.client.errors import APIError, DaemonUnreachable, StreamError, message_from_body
from hithe.client.http import (BufferedSocket, Headers, ProtocolError, encode_request,
                               iter_chunked, parse_head, send_chunked)

DEFAULT_HOST = "unix:///run/hithe/hithe.sock"
MAX_API_VERSION = "1.45"
MIN_API_VERSION = "1.24"
USER_AGENT = "hithe-cli/0.1.0 (linux)"


def resolve_host(flag_host: str | None) -> str:
    """-H/--host, then HITHE_HOST, then the default (architecture contract §2)."""
    return flag_host or os.environ.get("HITHE_HOST") or DEFAULT_HOST


def socket_path(host: str) -> str:
    if host.startswith("unix://"):
        path = host[len("unix://"):]
        return path or DEFAULT_HOST[len("unix://"):]
    if host.startswith("/"):
        return host
    raise ValueError(f"unsupported host {host!r}: only unix:// sockets are supported")


def version_tuple(v: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in v.split("."))
    except ValueError:
        return (0,)


_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")


def query_escape(text: str) -> str:
    """Go's url.QueryEscape (urllib.parse would cost ~2.5 ms of start-up)."""
    out = []
    for b in text.encode("utf-8"):
        if b in _UNRESERVED:
            out.append(chr(b))
        elif b == 0x20:
            out.append("+")
        else:
            out.append("%%%02X" % b)
    return "".join(out)


def encode_params(params: dict[str, Any] | None) -> str:
    """Query string like Go's url.Values.Encode: sorted keys, None dropped, lists
    repeated, bools as 1/0 (callers mostly pass docker's own "1"/"true" strings)."""
    if not params:
        return ""
    items: list[tuple[str, str]] = []
    for k in sorted(params):
        v = params[k]
        if v is None:
            continue
        if isinstance(v, (list, tuple)):
            for item in v:
                items.append((k, str(item)))
        elif isinstance(v, bool):
            items.append((k, "1" if v else "0"))
        else:
            items.append((k, str(v)))
    return "&".join(f"{query_escape(k)}={query_escape(v)}" for k, v in items)


class Response:
    """One HTTP response; the body is read lazily so that streams can be consumed
    chunk by chunk. ``close()`` gives the connection back for reuse when the body
    has been read to its end, and closes it otherwise."""

    def __init__(self, client: "APIClient", sock: _socket.socket, reader: BufferedSocket,
                 status: int, reason: str, headers: Headers, method: str) -> None:
        self.client = client
        self.sock: _socket.socket | None = sock
        self.reader = reader
        self.status = status
        self.reason = reason
        self.headers = headers
        self._done = False
        te = headers.get("transfer-encoding", "").lower()
        self._keep_alive = headers.get("connection", "").lower() != "close"
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            self._mode, self._length = "none", 0
        elif "chunked" in te:
            self._mode, self._length = "chunked", None
        elif "content-length" in headers:
            self._mode, self._length = "length", int(headers["content-length"])
        else:
            self._mode, self._length = "close", None
            self._keep_alive = False

    def iter_raw(self) -> Iterator[bytes]:
        """The body as it arrives, transfer coding removed."""
        if self._done:
            return
        try:
            if self._mode == "chunked":
                yield from iter_chunked(self.reader)
            elif self._mode == "length":
                remaining = self._length or 0
                while remaining:
                    data = self.reader.read_some(min(remaining, 65536))
                    if not data:
                        raise ProtocolError("connection closed before the end of the body")
                    remaining -= len(data)
                    yield data
            elif self._mode == "close":
                while True:
                    data = self.reader.read_some()
                    if not data:
                        break
                    yield data
            self._done = True
        finally:
            if self._done:
                self.close()

    def read(self) -> bytes:
        return b"".join(self.iter_raw())

    def json(self) -> Any:
        data = self.read()
        return jsonc.loads(data) if data.strip() else None

    def iter_lines(self) -> Iterator[bytes]:
        buf = b""
        for chunk in self.iter_raw():
            buf += chunk
            while True:
                i = buf.find(b"\n")
                if i < 0:
                    break
                line, buf = buf[:i], buf[i + 1:]
                yield line
        if buf:
            yield buf

    def iter_json(self) -> Iterator[Any]:
        """A stream of JSON values, as Go's json.Decoder reads them: whitespace
        (usually a newline) between values, values possibly split across chunks."""
        buf = ""
        pending = b""
        for chunk in self.iter_raw():
            pending += chunk
            try:
                buf += pending.decode("utf-8")
                pending = b""
            except UnicodeDecodeError:
                continue  # a multi-byte character split over two chunks
            while True:
                buf = buf.lstrip()
                if not buf:
                    break
                try:
                    obj, end = jsonc.raw_decode(buf)
                except ValueError:
                    break  # incomplete value: wait for more
                buf = buf[end:]
                yield obj
        if buf.strip():
            yield jsonc.loads(buf)

    def close(self) -> None:
        sock, self.sock = self.sock, None
        if sock is None:
            return
        if self._done and self._keep_alive and not self.reader.buf:
            self.client._release(sock)
        else:
            sock.close()

    def __enter__(self) -> "Response":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Hijacked:
    """A connection taken over after ``101 UPGRADED``: raw bytes both ways.

    ``reader`` holds any bytes the server sent right after the response head
    (they belong to the stream, not to HTTP)."""

    def __init__(self, sock: _socket.socket, reader: BufferedSocket, headers: Headers) -> None:
        self.sock = sock
        self.reader = reader
        self.headers = headers

    def recv(self, n: int = 65536) -> bytes:
        try:
            return self.reader.read_some(n)
        except OSError:
            return b""

    def sendall(self, data: bytes) -> None:
        self.sock.sendall(data)

    def close_write(self) -> None:
        """Half-close: the daemon sees EOF on the container's stdin."""
        try:
            self.sock.shutdown(_socket.SHUT_WR)
        except OSError:
            pass

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


class APIClient:
    def __init__(self, host: str | None = None, *, version: str | None = None,
                 autostart: bool = True, timeout: float | None = None) -> None:
        self.host = resolve_host(host)
        self.path = socket_path(self.host)
        self.timeout = timeout
        self._version = version or os.environ.get("HITHE_API_VERSION") or None
        self._idle: list[_socket.socket] = []
        self._autostart = autostart
        self.server_os = "linux"

    # -- connections ---------------------------------------------------------

    def _connect(self) -> _socket.socket:
        sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        if self.timeout is not None:
            sock.settimeout(self.timeout)
        try:
            sock.connect(self.path)
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            sock.close()
            if self._autostart and self.host == DEFAULT_HOST:
                self._autostart = False  # one try per invocation
                from hithe.client.autostart import maybe_start_daemon
                if maybe_start_daemon(self.path):
                    return self._connect()
            raise DaemonUnreachable(self.host) from exc
        except PermissionError as exc:
            sock.close()
            raise DaemonUnreachable(self.host) from exc
        return sock

    def _release(self, sock: _socket.socket) -> None:
        if len(self._idle) < 4:
            self._idle.append(sock)
        else:
            sock.close()

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()

    # -- version -------------------------------------------------------------

    @property
    def version(self) -> str:
        if self._version is None:
            self._version = self._negotiate()
        return self._version

    def _negotiate(self) -> str:
        server = ""
        try:
            resp = self._send("HEAD", "/_ping", None, b"", {})
            resp.read()
            if resp.status >= 400 and resp.status != 500:
                # old servers may refuse HEAD; docker retries with GET
                resp = self._send("GET", "/_ping", None, b"", {})
                resp.read()
            server = resp.headers.get("api-version", "")
            self.server_os = resp.headers.get("ostype", "linux") or "linux"
        except ProtocolError:
            server = ""
        if not server:
            return MIN_API_VERSION
        if version_tuple(server) < version_tuple(MAX_API_VERSION):
            return server
        return MAX_API_VERSION

    def version_at_least(self, v: str) -> bool:
        return version_tuple(self.version) >= version_tuple(v)

    def url(self, path: str, params: dict[str, Any] | None = None) -> str:
        q = encode_params(params)
        target = f"/v{self.version}{path}"
        return f"{target}?{q}" if q else target

    # -- requests ------------------------------------------------------------

    def _send(self, method: str, target: str, params: dict[str, Any] | None,
              body: bytes | Iterable[bytes] | None, headers: dict[str, str]) -> Response:
        if params:
            q = encode_params(params)
            if q:
                target = f"{target}?{q}"
        hdrs = {"User-Agent": USER_AGENT}
        hdrs.update(headers)
        streaming = body is not None and not isinstance(body, (bytes, bytearray))
        # Reuse an idle connection for replayable requests only; a kept-alive
        # socket may have been closed by the server in the meantime.
        attempts = 2 if (self._idle and not streaming) else 1
        for attempt in range(attempts):
            fresh = not self._idle or streaming
            sock = self._connect() if fresh else self._idle.pop()
            try:
                if streaming:
                    sock.sendall(encode_request(method, target, hdrs, None))
                    send_chunked(sock, body)  # type: ignore[arg-type]
                else:
                    data = bytes(body or b"")
                    sock.sendall(encode_request(method, target, hdrs, len(data)) + data)
                reader = BufferedSocket(sock)
                status, reason, rhdrs = parse_head(reader)
                while status == 100:  # 100 Continue: a real response follows
                    status, reason, rhdrs = parse_head(reader)
            except (ProtocolError, ConnectionResetError, BrokenPipeError) as exc:
                sock.close()
                if not fresh and attempt + 1 < attempts:
                    continue
                if isinstance(exc, ProtocolError):
                    raise
                raise DaemonUnreachable(self.host) from exc
            return Response(self, sock, reader, status, reason, rhdrs, method)
        raise DaemonUnreachable(self.host)  # not reached

    def request(self, method: str, path: str, params: dict[str, Any] | None = None, *,
                json_body: Any = None, body: bytes | Iterable[bytes] | None = None,
                headers: dict[str, str] | None = None, check: bool = True) -> Response:
        """Send one request to ``/v1.XX{path}``; raise APIError on 4xx/5xx when check."""
        hdrs = dict(headers or {})
        if json_body is not None:
            body = jsonc.dumps(json_body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        target = f"/v{self.version}{path}"
        resp = self._send(method, target, params, body, hdrs)
        if check and resp.status >= 400:
            raise self._error(resp, method, target)
        return resp

    def _error(self, resp: Response, method: str, target: str) -> APIError:
        data = resp.read()
        if not data.strip():
            return APIError(resp.status,
                            f"request returned {resp.reason or resp.status} for API route and "
                            f"version {target}, check if the server supports the requested API version")
        return APIError(resp.status, message_from_body(data, resp.status))

    # convenience wrappers
    def get_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.request("GET", path, params).json()

    def post_json(self, path: str, params: dict[str, Any] | None = None,
                  json_body: Any = None) -> Any:
        return self.request("POST", path, params, json_body=json_body).json()

    def post(self, path: str, params: dict[str, Any] | None = None, json_body: Any = None) -> None:
        self.request("POST", path, params, json_body=json_body).read()

    def delete(self, path: str, params: dict[str, Any] | None = None) -> Response:
        return self.request("DELETE", path, params)

    def hijack(self, method: str, path: str, params: dict[str, Any] | None = None, *,
               json_body: Any = None) -> Hijacked:
        """Upgrade the connection to a raw stream (attach, exec start).

        Accepts ``101 UPGRADED`` and, like the Go client, a plain 200 after which
        the old daemons simply start streaming on the same connection."""
        hdrs = {"User-Agent": USER_AGENT, "Connection": "Upgrade", "Upgrade": "tcp"}
        data = b""
        if json_body is not None:
            data = jsonc.dumps(json_body).encode()
            hdrs["Content-Type"] = "application/json"
        else:
            hdrs["Content-Type"] = "text/plain"
        target = self.url(path, params)
        sock = self._connect()
        try:
            sock.sendall(encode_request(method, target, hdrs, len(data)) + data)
            reader = BufferedSocket(sock)
            status, reason, rhdrs = parse_head(reader)
        except (ProtocolError, OSError):
            sock.close()
            raise
        if status in (101, 200):
            return Hijacked(sock, reader, rhdrs)
        resp = Response(self, sock, reader, status, reason, rhdrs, method)
        try:
            raise self._error(resp, method, target)
        finally:
            resp.close()

    def stream_json(self, resp: Response) -> Iterator[dict]:
        """JSON progress messages; raise StreamError on an ``error`` message like docker."""
        for msg in resp.iter_json():
            if isinstance(msg, dict) and (msg.get("error") or msg.get("errorDetail")):
                detail = msg.get("errorDetail") or {}
                raise StreamError(detail.get("message") or msg.get("error") or "unknown error")
            yield msg
