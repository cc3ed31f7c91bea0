"""Request and response records passed between the HTTP server and handlers."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Awaitable, Callable
from urllib.parse import parse_qs

from hithe.errors import InvalidParameter


@dataclass
class Request:
    method: str
    path: str                      # without the /vX.Y prefix
    query: dict[str, list[str]]
    headers: dict[str, str]        # lower-cased names
    version: str                   # negotiated API version, e.g. "1.45"
    params: dict[str, str] = field(default_factory=dict)   # from the route pattern
    body_reader: "BodyReader | None" = None
    _body: bytes | None = None

    @staticmethod
    def parse_query(raw: str) -> dict[str, list[str]]:
        return parse_qs(raw, keep_blank_values=True)

    def arg(self, name: str, default: str | None = None) -> str | None:
        v = self.query.get(name)
        return v[-1] if v else default

    def args(self, name: str) -> list[str]:
        return self.query.get(name, [])

    def flag(self, name: str, default: bool = False) -> bool:
        """Docker's boolean query values: 1/true/True are true, 0/false/'' false."""
        v = self.arg(name)
        if v is None:
            return default
        return v.lower() not in ("", "0", "false", "no")

    def int_arg(self, name: str, default: int | None = None) -> int | None:
        v = self.arg(name)
        if v is None or v == "":
            return default
        try:
            return int(v)
        except ValueError:
            raise InvalidParameter(f"invalid value for {name}: {v!r}") from None

    def time_arg(self, name: str) -> int | None:
        """Docker's `since`/`until` values ("1700000000" or "1700000000.123456789") in ns."""
        v = self.arg(name)
        if not v:
            return None
        secs, _, frac = v.partition(".")
        try:
            return int(secs) * 1_000_000_000 + int((frac + "000000000")[:9] or 0)
        except ValueError:
            raise InvalidParameter(f"invalid value for {name}: {v!r}") from None

    def json_arg(self, name: str) -> Any:
        v = self.arg(name)
        if not v:
            return None
        try:
            return json.loads(v)
        except ValueError as e:
            raise InvalidParameter(f"invalid JSON in {name}: {e}") from None

    async def body(self, limit: int = 64 << 20) -> bytes:
        if self._body is None:
            chunks = []
            size = 0
            if self.body_reader is not None:
                async for chunk in self.body_reader:
                    size += len(chunk)
                    if size > limit:
                        raise InvalidParameter("request body too large")
                    chunks.append(chunk)
            self._body = b"".join(chunks)
        return self._body

    async def json(self, *, allow_empty: bool = True) -> Any:
        raw = await self.body()
        if not raw.strip():
            if allow_empty:
                return {}
            raise InvalidParameter("request body is empty")
        ctype = self.headers.get("content-type", "application/json")
        if "json" not in ctype and "text/plain" not in ctype:
            raise InvalidParameter(f"unsupported Content-Type header ({ctype}): must be 'application/json'")
        try:
            return json.loads(raw)
        except ValueError as e:
            raise InvalidParameter(f"invalid JSON: {e}") from None


class BodyReader:
    """Async iterator over request body chunks, fed by the connection."""

    def __init__(self, next_chunk: Callable[[], Awaitable[bytes | None]]) -> None:
        self._next = next_chunk

    def __aiter__(self) -> "BodyReader":
        return self

    async def __anext__(self) -> bytes:
        chunk = await self._next()
        if chunk is None:
            raise StopAsyncIteration
        return chunk


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)
    stream: AsyncIterator[bytes] | None = None   # chunked body when set


HijackFn = Callable[["HijackedConn"], Awaitable[None]]


@dataclass
class Hijack:
    """Returned by handlers that take over the connection (attach, exec start)."""
    run: HijackFn
    content_type: str = "application/vnd.docker.raw-stream"
    # Docker answers 101 when the client asked to upgrade, else 200 and then raw bytes.


class HijackedConn:
    """The raw connection after the HTTP exchange, with bytes already buffered."""

    def __init__(self, reader: "AsyncReader", writer: Any, leftover: bytes) -> None:
        self._reader = reader
        self.writer = writer
        self._leftover = leftover

    async def read(self, n: int = 65536) -> bytes:
        if self._leftover:
            data, self._leftover = self._leftover[:n], self._leftover[n:]
            return data
        return await self._reader.read(n)

    async def write(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    def close_write(self) -> None:
        try:
            if self.writer.can_write_eof():
                self.writer.write_eof()
        except OSError:
            pass

    def close(self) -> None:
        try:
            self.writer.close()
        except OSError:
            pass


class AsyncReader:  # typing helper: asyncio.StreamReader satisfies it
    async def read(self, n: int) -> bytes: ...


def json_response(obj: Any, status: int = 200) -> Response:
    return Response(status=status, body=json.dumps(obj).encode() + b"\n")


def empty(status: int = 204) -> Response:
    return Response(status=status, content_type="")
