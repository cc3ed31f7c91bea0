"""HTTP/1.1 over asyncio streams: just what a registry conversation needs.

One connection per request (``Connection: close``): registry traffic is a
handful of large transfers, and the simplicity buys exact control over TLS,
redirects and limits.  TLS uses stdlib ``ssl`` with verification on unless
the endpoint says the registry is insecure.  Errors read like Go's net/http
ones (``Get "http://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect:
connection refused``) because that is what docker users see.
"""
from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass, field
from typing import AsyncIterable, AsyncIterator
from urllib.parse import urlsplit

from hithe.distribution.client.errors import TransportError

CONNECT_TIMEOUT = 30.0
READ_TIMEOUT = 120.0        # silence on an open transfer for this long ends it
MAX_HEADER_BYTES = 64 << 10
_CHUNK = 256 << 10
_NO_BODY = (204, 304)

_CTX_VERIFY: ssl.SSLContext | None = None
_CTX_NOVERIFY: ssl.SSLContext | None = None


def tls_context(verify: bool) -> ssl.SSLContext:
    global _CTX_VERIFY, _CTX_NOVERIFY
    if verify:
        if _CTX_VERIFY is None:
            _CTX_VERIFY = ssl.create_default_context()
        return _CTX_VERIFY
    if _CTX_NOVERIFY is None:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        _CTX_NOVERIFY = ctx
    return _CTX_NOVERIFY


@dataclass
class Response:
    method: str
    url: str
    status: int
    reason: str
    headers: list[tuple[str, str]]
    _reader: asyncio.StreamReader = field(repr=False)
    _writer: asyncio.StreamWriter = field(repr=False)
    _left: int | None = None       # Content-Length still to read; None: chunked or to EOF
    _chunked: bool = False
    _done: bool = False

    def header(self, name: str) -> str | None:
        name = name.lower()
        for k, v in self.headers:
            if k == name:
                return v
        return None

    def header_all(self, name: str) -> list[str]:
        name = name.lower()
        return [v for k, v in self.headers if k == name]

    @property
    def content_length(self) -> int | None:
        v = self.header("content-length")
        return int(v) if v and v.isdigit() else None

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        try:
            while not self._done:
                data = await asyncio.wait_for(self._next(), READ_TIMEOUT)
                if not data:
                    break
                yield data
        except (asyncio.TimeoutError, ConnectionError, asyncio.IncompleteReadError, ValueError) as e:
            raise TransportError(f'{self.method.title()} "{self.url}": {_describe(e)}') from None
        finally:
            self.close()

    async def read(self, limit: int) -> bytes:
        """The whole body; TransportError past ``limit`` bytes (hostile or broken server)."""
        if self.content_length is not None and self.content_length > limit:
            self.close()
            raise TransportError(f'{self.method.title()} "{self.url}": response body too large '
                                 f"({self.content_length} bytes, limit {limit})")
        buf = bytearray()
        async for chunk in self.iter_chunks():
            buf += chunk
            if len(buf) > limit:
                self.close()
                raise TransportError(f'{self.method.title()} "{self.url}": response body too large '
                                     f"(limit {limit} bytes)")
        return bytes(buf)

    async def _next(self) -> bytes:
        if self._chunked:
            line = await self._reader.readuntil(b"\r\n")
            size = int(line.split(b";", 1)[0].strip() or b"x", 16)
            if size == 0:
                while (await self._reader.readuntil(b"\r\n")) != b"\r\n":
                    pass  # trailers
                self._done = True
                return b""
            data = await self._reader.readexactly(size)
            await self._reader.readexactly(2)
            return data
        if self._left is not None:
            if self._left == 0:
                self._done = True
                return b""
            data = await self._reader.read(min(self._left, _CHUNK))
            if not data:
                raise asyncio.IncompleteReadError(b"", self._left)
            self._left -= len(data)
            return data
        data = await self._reader.read(_CHUNK)
        if not data:
            self._done = True
        return data

    def close(self) -> None:
        self._done = True
        try:
            self._writer.close()
        except Exception:  # noqa: BLE001 - already gone
            pass


def _describe(e: BaseException) -> str:
    if isinstance(e, asyncio.TimeoutError):
        return "net/http: timeout awaiting response"
    if isinstance(e, asyncio.IncompleteReadError):
        return "unexpected EOF"
    if isinstance(e, ssl.SSLError):
        return f"tls: {e.reason or e}".lower()
    if isinstance(e, ConnectionRefusedError):
        return "connect: connection refused"
    if isinstance(e, OSError) and e.strerror:
        return e.strerror.lower()
    return str(e) or type(e).__name__


async def request(method: str, url: str, *, headers: dict[str, str] | None = None,
                  body: bytes | AsyncIterable[bytes] | None = None, length: int | None = None,
                  verify_tls: bool = True) -> Response:
    """Send one request and return the response with its body unread.

    ``body`` is bytes, or an async iterable of chunks with ``length`` bytes
    in all (sent chunked when ``length`` is None)."""
    u = urlsplit(url)
    if u.scheme not in ("http", "https") or not u.hostname:
        raise TransportError(f'{method.title()} "{url}": unsupported protocol scheme')
    host = u.hostname
    port = u.port or (443 if u.scheme == "https" else 80)
    target = (u.path or "/") + (f"?{u.query}" if u.query else "")
    where = f"{host}:{port}" if ":" not in host else f"[{host}]:{port}"
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=tls_context(verify_tls) if u.scheme == "https" else None,
                                    server_hostname=host if u.scheme == "https" else None,
                                    limit=MAX_HEADER_BYTES),
            CONNECT_TIMEOUT)
    except ssl.SSLError as e:
        raise TransportError(f'{method.title()} "{url}": {_describe(e)}') from None
    except (OSError, asyncio.TimeoutError) as e:
        raise TransportError(f'{method.title()} "{url}": dial tcp {where}: {_describe(e)}') from None
    hdrs = {"Host": u.netloc, "User-Agent": "hithe/0.1 (registry client)", "Connection": "close"}
    hdrs.update(headers or {})
    if isinstance(body, (bytes, bytearray)):
        hdrs["Content-Length"] = str(len(body))
    elif body is not None:
        if length is None:
            hdrs["Transfer-Encoding"] = "chunked"
        else:
            hdrs["Content-Length"] = str(length)
    elif method in ("POST", "PUT", "PATCH"):
        hdrs["Content-Length"] = "0"
    head = f"{method} {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdrs.items()) + "\r\n"
    try:
        writer.write(head.encode("latin-1"))
        if isinstance(body, (bytes, bytearray)):
            writer.write(body)
        elif body is not None:
            async for chunk in body:
                if not chunk:
                    continue
                writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if length is None else chunk)
                await writer.drain()
            if length is None:
                writer.write(b"0\r\n\r\n")
        await writer.drain()
        raw = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT)
    except asyncio.LimitOverrunError:
        writer.close()
        raise TransportError(f'{method.title()} "{url}": response headers too large') from None
    except ssl.SSLError as e:
        writer.close()
        # Go's wording when a plain-HTTP server answers a TLS hello: the endpoint
        # fallback (insecure registries) looks for it.
        raise TransportError(f'{method.title()} "{url}": {_describe(e)}') from None
    except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError) as e:
        writer.close()
        raise TransportError(f'{method.title()} "{url}": {_describe(e)}') from None
    return _parse_head(method, url, raw, reader, writer)


def _parse_head(method: str, url: str, raw: bytes, reader: asyncio.StreamReader,
                writer: asyncio.StreamWriter) -> Response:
    lines = raw.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        writer.close()
        raise TransportError(f'{method.title()} "{url}": malformed HTTP response {lines[0][:80]!r}')
    status, reason = int(parts[1]), parts[2] if len(parts) > 2 else ""
    headers = []
    for line in lines[1:]:
        if not line:
            continue
        k, sep, v = line.partition(":")
        if not sep:
            writer.close()
            raise TransportError(f'{method.title()} "{url}": malformed HTTP response header')
        headers.append((k.strip().lower(), v.strip()))
    resp = Response(method, url, status, reason, headers, reader, writer)
    te = (resp.header("transfer-encoding") or "").lower()
    if method == "HEAD" or status in _NO_BODY or 100 <= status < 200:
        resp._left = 0
    elif "chunked" in te:
        resp._chunked = True
    elif resp.header("content-length") is not None:
        cl = resp.content_length
        if cl is None:
            writer.close()
            raise TransportError(f'{method.title()} "{url}": malformed Content-Length')
        resp._left = cl
    return resp
