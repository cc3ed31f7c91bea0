"""HTTP/1.1 over a unix socket, written on the socket directly.

Why not ``http.client``: it costs ~20 ms of import time on every ``hithe``
invocation, and it cannot hand back a hijacked connection together with the
bytes it has already buffered after a ``101 UPGRADED``.  The subset needed to
speak the Docker Engine API is small: requests with a content-length or
chunked body, responses with a content-length, chunked, or close-delimited
body, keep-alive, and connection upgrade.
"""
from __future__ import annotations

TYPE_CHECKING = False  # typing costs ~5 ms at start-up; annotations are strings anyway
if TYPE_CHECKING:
    from _socket import socket
    from typing import Iterable, Iterator

_CHUNK = 65536


class ProtocolError(Exception):
    """The peer did not speak HTTP/1.1 the way we expected."""


class BufferedSocket:
    """A socket with a read buffer: readline/read_exact/read_some on top of recv."""

    __slots__ = ("sock", "buf", "eof")

    def __init__(self, sock: socket, initial: bytes = b"") -> None:
        self.sock = sock
        self.buf = bytearray(initial)
        self.eof = False

    def _fill(self) -> bool:
        if self.eof:
            return False
        data = self.sock.recv(_CHUNK)
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def readline(self, limit: int = 65536) -> bytes:
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                line = bytes(self.buf[: i + 1])
                del self.buf[: i + 1]
                return line
            if len(self.buf) > limit:
                raise ProtocolError("line too long")
            if not self._fill():
                line = bytes(self.buf)
                self.buf.clear()
                return line

    def read_exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            if not self._fill():
                raise ProtocolError("connection closed before the end of the response body")
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def read_some(self, n: int = _CHUNK) -> bytes:
        """Up to n bytes; b"" only at end of stream."""
        if not self.buf and not self._fill():
            return b""
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def take_buffer(self) -> bytes:
        data = bytes(self.buf)
        self.buf.clear()
        return data


class Headers(dict):
    """Response headers, keys lower-cased (HTTP header names are case-insensitive)."""

    def get_first(self, name: str, default: str | None = None) -> str | None:
        return self.get(name.lower(), default)


def parse_head(reader: BufferedSocket) -> tuple[int, str, Headers]:
    """Read the status line and header block of one response."""
    line = reader.readline()
    if not line:
        raise ProtocolError("connection closed without a response")
    parts = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        raise ProtocolError(f"malformed status line: {line!r}")
    try:
        status = int(parts[1])
    except ValueError:
        raise ProtocolError(f"malformed status line: {line!r}") from None
    reason = parts[2] if len(parts) > 2 else ""
    headers = Headers()
    while True:
        h = reader.readline()
        if h in (b"\r\n", b"\n", b""):
            break
        name, sep, value = h.decode("latin-1").partition(":")
        if not sep:
            continue
        key = name.strip().lower()
        value = value.strip()
        # repeated headers are joined as RFC 9110 allows (we only read a few)
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return status, reason, headers


def iter_chunked(reader: BufferedSocket) -> Iterator[bytes]:
    """Decode a chunked transfer-coding body; stops after the last chunk and trailers."""
    while True:
        size_line = reader.readline()
        if not size_line:
            raise ProtocolError("connection closed inside a chunked body")
        size_txt = size_line.split(b";", 1)[0].strip()
        try:
            size = int(size_txt, 16)
        except ValueError:
            raise ProtocolError(f"bad chunk size {size_line!r}") from None
        if size == 0:
            # trailers until an empty line
            while True:
                t = reader.readline()
                if t in (b"\r\n", b"\n", b""):
                    return
        remaining = size
        while remaining:
            if not reader.buf and not reader._fill():
                raise ProtocolError("connection closed inside a chunk")
            take = min(remaining, len(reader.buf))
            data = bytes(reader.buf[:take])
            del reader.buf[:take]
            remaining -= take
            yield data
        reader.read_exact(2)  # CRLF after the chunk data


def encode_request(method: str, target: str, headers: dict[str, str], body_len: int | None) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: api.moby.localhost"]
    for k, v in headers.items():
        lines.append(f"{k}: {v}")
    if body_len is None:
        lines.append("Transfer-Encoding: chunked")
    elif body_len or method in ("POST", "PUT"):
        # docker always sends Content-Length on POST, even 0; some servers need it
        lines.append(f"Content-Length: {body_len}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def send_chunked(sock: socket, chunks: Iterable[bytes]) -> None:
    for chunk in chunks:
        if chunk:
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    sock.sendall(b"0\r\n\r\n")
