"""HTTP/1.1 over a unix socket with h11, plus Docker's connection hijacking.

Why h11 rather than a framework: attach and exec take over the connection
(`Upgrade: tcp` → `101 UPGRADED`) and clients half-close their side when stdin
ends; h11 hands us the leftover bytes and lets us keep the socket as it is.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import traceback
from urllib.parse import unquote

import h11

from hithe import __version__
from hithe.api.errors import status_for
from hithe.api.message import BodyReader, Hijack, HijackedConn, Request, Response
from hithe.api.router import API_VERSION, Router
from hithe.errors import HitheError

log = logging.getLogger("hithe.api")

SERVER_HEADER = f"hithe/{__version__} (linux)"
_READ_SIZE = 65536


def _common_headers(version: str = API_VERSION) -> list[tuple[str, str]]:
    return [("Api-Version", API_VERSION), ("Server", SERVER_HEADER), ("Ostype", "linux"),
            ("Docker-Experimental", "false")]


class Connection:
    def __init__(self, router: Router, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.router = router
        self.reader = reader
        self.writer = writer
        self.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=256 * 1024)

    async def _next_event(self) -> object:
        while True:
            event = self.h11.next_event()
            if event is h11.NEED_DATA:
                data = await self.reader.read(_READ_SIZE)
                self.h11.receive_data(data)
                continue
            return event

    async def _send(self, event: object) -> None:
        data = self.h11.send(event)
        if data:
            self.writer.write(data)
            await self.writer.drain()

    async def _next_body_chunk(self) -> bytes | None:
        event = await self._next_event()
        if isinstance(event, h11.Data):
            return bytes(event.data)
        return None  # EndOfMessage (or connection closed)

    async def serve(self) -> None:
        try:
            while True:
                event = await self._next_event()
                if isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
                    return
                if not isinstance(event, h11.Request):
                    return
                hijacked = await self._handle(event)
                if hijacked:
                    return
                # Drain what the handler did not read of the body, then reuse the connection.
                while self.h11.their_state is h11.SEND_BODY:
                    if await self._next_body_chunk() is None:
                        break
                if self.h11.our_state is h11.MUST_CLOSE or self.h11.their_state is h11.MUST_CLOSE:
                    return
                try:
                    self.h11.start_next_cycle()
                except h11.LocalProtocolError:
                    return
        except (ConnectionError, h11.RemoteProtocolError, asyncio.IncompleteReadError):
            return
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - e.g. a stream failing mid-body: drop this connection only
            log.error("connection error: %s", traceback.format_exc())
            return
        finally:
            try:
                self.writer.close()
            except Exception:  # noqa: BLE001 - closing a dead socket
                pass

    async def _handle(self, event: h11.Request) -> bool:
        target = event.target.decode("latin-1")
        raw_path, _, raw_query = target.partition("?")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in event.headers}
        method = event.method.decode()
        version = API_VERSION
        try:
            version, path = self.router.split_version(unquote(raw_path))
            handler, params = self.router.resolve(method, path)
            req = Request(method=method, path=path, query=Request.parse_query(raw_query),
                          headers=headers, version=version, params=params,
                          body_reader=BodyReader(self._next_body_chunk))
            result = await handler(req)
        except HitheError as e:
            result = Response(status=status_for(e), body=json.dumps({"message": e.message}).encode() + b"\n")
        except Exception as e:  # noqa: BLE001 - a bug must answer 500, not drop the connection
            log.error("handler error on %s %s: %s", method, target, traceback.format_exc())
            result = Response(status=500, body=json.dumps({"message": str(e) or type(e).__name__}).encode() + b"\n")
        if isinstance(result, Hijack):
            await self._hijack(result, headers)
            return True
        await self._respond(result, method == "HEAD")
        return False

    async def _respond(self, resp: Response, head: bool) -> None:
        hdrs = _common_headers()
        if resp.content_type:
            hdrs.append(("Content-Type", resp.content_type))
        hdrs.extend(resp.headers)
        if resp.stream is None:
            if resp.status not in (204, 304):
                hdrs.append(("Content-Length", str(len(resp.body))))
            await self._send(h11.Response(status_code=resp.status, headers=hdrs))
            if resp.body and not head and resp.status not in (204, 304):
                await self._send(h11.Data(data=resp.body))
            await self._send(h11.EndOfMessage())
            return
        # Streamed (chunked) body: logs, events, pull progress.
        await self._send(h11.Response(status_code=resp.status, headers=hdrs))
        try:
            async for chunk in resp.stream:
                if chunk:
                    await self._send(h11.Data(data=chunk))
        finally:
            aclose = getattr(resp.stream, "aclose", None)
            if aclose is not None:
                await aclose()
        await self._send(h11.EndOfMessage())

    async def _hijack(self, hj: Hijack, headers: dict[str, str]) -> None:
        # Finish reading the request body (exec start sends JSON) before switching.
        while self.h11.their_state is h11.SEND_BODY:
            if await self._next_body_chunk() is None:
                break
        leftover, _ = self.h11.trailing_data
        upgrade = "upgrade" in headers.get("connection", "").lower()
        if upgrade:
            head = (f"HTTP/1.1 101 UPGRADED\r\nContent-Type: {hj.content_type}\r\n"
                    "Connection: Upgrade\r\nUpgrade: tcp\r\n")
        else:
            head = f"HTTP/1.1 200 OK\r\nContent-Type: {hj.content_type}\r\n"
        head += "".join(f"{k}: {v}\r\n" for k, v in _common_headers()) + "\r\n"
        self.writer.write(head.encode())
        await self.writer.drain()
        conn = HijackedConn(self.reader, self.writer, bytes(leftover))
        try:
            await hj.run(conn)
        except (ConnectionError, OSError):
            pass
        finally:
            conn.close()


class APIServer:
    def __init__(self, router: Router, socket_path: str) -> None:
        self.router = router
        self.socket_path = socket_path
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        os.makedirs(os.path.dirname(self.socket_path), exist_ok=True)
        try:
            os.unlink(self.socket_path)
        except FileNotFoundError:
            pass
        old = os.umask(0o117)
        try:
            self._server = await asyncio.start_unix_server(self._on_client, path=self.socket_path,
                                                           limit=_READ_SIZE)
        finally:
            os.umask(old)
        os.chmod(self.socket_path, 0o660)
        try:
            import grp
            os.chown(self.socket_path, 0, grp.getgrnam("hithe").gr_gid)
        except (KeyError, PermissionError):
            pass

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await Connection(self.router, reader, writer).serve()
        finally:
            if task is not None:
                self._tasks.discard(task)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for t in list(self._tasks):
            t.cancel()
        try:
            os.unlink(self.socket_path)
        except FileNotFoundError:
            pass
