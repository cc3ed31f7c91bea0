"""HTTP/1.1 for the registry: asyncio + h11 over TCP, optionally TLS, with file bodies sent by sendfile.

The engine's server (hithe/api/server.py) speaks over a unix socket with
Docker's hijacking and engine headers; the registry needs none of that but
needs large bodies streamed both ways: requests are read chunk by chunk by
the handler (straight to disk), and blob responses go from the file to the
socket with ``loop.sendfile`` (zero-copy on plain TCP, a bounded read loop
under TLS).  Nothing holds a whole blob in memory.
"""
from __future__ import annotations

import asyncio
import logging
import ssl
import time
import traceback
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Awaitable, Callable
from urllib.parse import parse_qs, unquote

import h11

from hithe.api.message import BodyReader

log = logging.getLogger("hithe.registry")

_READ_SIZE = 256 * 1024
IDLE_TIMEOUT = 300.0  # seconds without a byte from the client before the connection is dropped


@dataclass
class Request:
    method: str
    path: str                       # percent-decoded
    query: dict[str, list[str]]
    headers: dict[str, str]         # lower-cased names; repeated headers joined with ", "
    body: BodyReader
    peer: str = ""

    def arg(self, name: str) -> str | None:
        v = self.query.get(name)
        return v[-1] if v else None

    def content_length(self) -> int | None:
        v = self.headers.get("content-length")
        return int(v) if v is not None and v.strip().isdigit() else None


@dataclass
class FileBody:
    """A byte range of a file, sent with sendfile."""
    path: str
    offset: int
    length: int


@dataclass
class Response:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    file: FileBody | None = None
    length: int | None = None      # Content-Length for HEAD answers (no body sent)


Handler = Callable[[Request], Awaitable[Response]]


def _reason(status: int) -> bytes:
    try:
        return HTTPStatus(status).phrase.encode()
    except ValueError:
        return b""


class _Segment:
    """Stands for a file segment in h11's Data event: h11 only needs its length."""

    def __init__(self, length: int) -> None:
        self.length = length

    def __len__(self) -> int:
        return self.length


class Connection:
    def __init__(self, handler: Handler, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 common_headers: list[tuple[str, str]]) -> None:
        self.handler = handler
        self.reader = reader
        self.writer = writer
        self.common = common_headers
        self.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=64 * 1024)
        peer = writer.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else ""

    async def _next_event(self) -> object:
        while True:
            event = self.h11.next_event()
            if event is not h11.NEED_DATA:
                return event
            if self.h11.they_are_waiting_for_100_continue:
                await self._send(h11.InformationalResponse(status_code=100, headers=[]))
            data = await asyncio.wait_for(self.reader.read(_READ_SIZE), IDLE_TIMEOUT)
            self.h11.receive_data(data)

    async def _send(self, event: object) -> None:
        data = self.h11.send(event)
        if data:
            self.writer.write(data)
            await self.writer.drain()

    async def _next_body_chunk(self) -> bytes | None:
        if self.h11.their_state is not h11.SEND_BODY:
            return None
        try:
            event = await self._next_event()
        except h11.RemoteProtocolError as e:  # e.g. the client hung up mid-body
            raise ConnectionError(str(e)) from None
        if isinstance(event, h11.Data):
            return bytes(event.data)
        if isinstance(event, h11.EndOfMessage):
            return None
        raise ConnectionError("client closed the connection mid-body")

    async def serve(self) -> None:
        try:
            while True:
                event = await self._next_event()
                if not isinstance(event, h11.Request):
                    return
                await self._handle(event)
                if self.h11.our_state is not h11.DONE or self.h11.their_state is not h11.DONE:
                    return
                self.h11.start_next_cycle()
        except h11.RemoteProtocolError as e:
            await self._protocol_error(e)
        except (ConnectionError, asyncio.TimeoutError, asyncio.IncompleteReadError, ssl.SSLError,
                h11.LocalProtocolError):
            return
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - drop this connection only
            log.error("connection error: %s", traceback.format_exc())
        finally:
            try:
                self.writer.close()
            except Exception:  # noqa: BLE001 - closing a dead socket
                pass

    async def _protocol_error(self, e: h11.RemoteProtocolError) -> None:
        if self.h11.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        try:
            body = b'{"errors":[{"code":"UNSUPPORTED","message":"bad request","detail":null}]}'
            await self._send(h11.Response(status_code=e.error_status_hint, headers=[
                ("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                ("Connection", "close")]))
            await self._send(h11.Data(data=body))
            await self._send(h11.EndOfMessage())
        except Exception:  # noqa: BLE001 - the client is beyond help
            pass

    async def _handle(self, event: h11.Request) -> None:
        started = time.monotonic()
        target = event.target.decode("latin-1")
        raw_path, _, raw_query = target.partition("?")
        headers: dict[str, str] = {}
        for k, v in event.headers:
            name, value = k.decode("latin-1").lower(), v.decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        method = event.method.decode("latin-1")
        req = Request(method=method, path=unquote(raw_path), query=parse_qs(raw_query, keep_blank_values=True),
                      headers=headers, body=BodyReader(self._next_body_chunk), peer=self.peer)
        resp = await self.handler(req)
        await self._respond(resp, method == "HEAD")
        log.info("%s %s %s %d %.1fms", self.peer, method, raw_path[:200], resp.status,
                 (time.monotonic() - started) * 1000)

    async def _respond(self, resp: Response, head: bool) -> None:
        hdrs = list(self.common) + resp.headers
        if self.h11.their_state is h11.SEND_BODY and \
                not isinstance(self.h11.next_event(), h11.EndOfMessage):  # buffered events only, no I/O
            # The handler left (part of) the body unread: rather than read an
            # upload nobody wants, answer and close.
            hdrs.append(("Connection", "close"))
        length = resp.file.length if resp.file is not None else len(resp.body)
        if head and resp.length is not None:
            length = resp.length
        if resp.status not in (204, 304):
            hdrs.append(("Content-Length", str(length)))
        await self._send(h11.Response(status_code=resp.status, headers=hdrs, reason=_reason(resp.status)))
        if not head and resp.status not in (204, 304):
            if resp.file is not None:
                await self._send_file(resp.file)
            elif resp.body:
                await self._send(h11.Data(data=resp.body))
        await self._send(h11.EndOfMessage())

    async def _send_file(self, fb: FileBody) -> None:
        # h11 frames the segment (plain bytes with Content-Length) and we
        # write the file's bytes where it put the placeholder.
        with open(fb.path, "rb") as f:
            for piece in self.h11.send_with_data_passthrough(h11.Data(data=_Segment(fb.length))):
                if isinstance(piece, _Segment):
                    await self.writer.drain()
                    loop = asyncio.get_running_loop()
                    sent = await loop.sendfile(self.writer.transport, f, fb.offset, fb.length)
                    if sent != fb.length:
                        raise ConnectionError("blob shrank while being sent")
                else:
                    self.writer.write(piece)


class Server:
    def __init__(self, handler: Handler, host: str, port: int, tls: ssl.SSLContext | None,
                 common_headers: list[tuple[str, str]]) -> None:
        self.handler, self.host, self.port, self.tls = handler, host, port, tls
        self.common = common_headers
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> tuple[str, int]:
        self._server = await asyncio.start_server(self._on_client, self.host or None, self.port,
                                                  ssl=self.tls, limit=_READ_SIZE, reuse_address=True)
        sockname = self._server.sockets[0].getsockname()
        return sockname[0], sockname[1]

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await Connection(self.handler, reader, writer, self.common).serve()
        finally:
            if task is not None:
                self._tasks.discard(task)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for t in list(self._tasks):
            t.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=5)
