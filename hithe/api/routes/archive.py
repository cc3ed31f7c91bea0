"""Copying files in and out of containers (docker cp) and their filesystem changes (docker diff)."""
from __future__ import annotations

import asyncio
import os
import threading
from typing import Any, AsyncIterator

from hithe.api.message import BodyReader, Request, Response, json_response
from hithe.api.router import Router
from hithe.containers import archive as cparchive
from hithe.containers.changes import compute_changes
from hithe.containers.pathstat import HEADER
from hithe.daemon.engine import Engine
from hithe.errors import InvalidParameter

_CHUNK = 256 * 1024


def register(r: Router, eng: Engine) -> None:
    svc = eng.containers

    def path_arg(req: Request) -> str:
        path = req.arg("path")
        if not path:
            raise InvalidParameter("path is required")  # Docker: "not a valid path"-style 400
        return path

    async def head_archive(req: Request) -> Response:
        ref = req.params["id"]
        c = svc.get(ref)
        st = await svc._thread(cparchive.stat_path, svc, c, ref, path_arg(req))
        return Response(status=200, content_type="", headers=[(HEADER, st.header_value())])

    async def get_archive(req: Request) -> Response:
        if req.method == "HEAD":  # the router sends HEAD here too
            return await head_archive(req)
        ref = req.params["id"]
        c = svc.get(ref)
        src = await svc._thread(cparchive.ArchiveSource, svc, c, ref, path_arg(req))
        svc._event(c, "archive-path")
        return Response(content_type="application/x-tar", headers=[(HEADER, src.stat.header_value())],
                        stream=_tar_stream(src))

    async def put_archive(req: Request) -> Response:
        ref = req.params["id"]
        c = svc.get(ref)
        path = path_arg(req)
        body = _BodyFile(asyncio.get_running_loop(), req.body_reader)
        await svc._thread(lambda: cparchive.extract_to_dir(
            svc, c, ref, path, body, copy_uid_gid=req.flag("copyUIDGID"),
            no_overwrite_dir_nondir=req.flag("noOverwriteDirNonDir")))
        svc._event(c, "extract-to-dir")
        return Response(status=200, content_type="")

    async def changes(req: Request) -> Response:
        c = svc.get(req.params["id"])
        upper = os.path.join(svc.dir_of(c), "upper")
        layers = [svc.snap.layers.link_path(l) for l in svc.snap.layers.chain(c.top_layer)] if c.top_layer else []
        found = await svc._thread(compute_changes, upper, layers)
        # Docker answers null, not [], when nothing changed.
        return json_response([ch.to_api() for ch in found] or None)

    r.add("GET", "/containers/{id}/archive", get_archive)
    r.add("HEAD", "/containers/{id}/archive", head_archive)
    r.add("PUT", "/containers/{id}/archive", put_archive)
    r.add("GET", "/containers/{id}/changes", changes)


class _BodyFile:
    """A blocking read() over the request body, for a worker thread: each chunk is fetched from the loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, reader: BodyReader | None) -> None:
        self.loop, self.reader = loop, reader
        self.buf = bytearray()
        self.eof = reader is None

    def _more(self) -> None:
        assert self.reader is not None
        try:
            chunk = asyncio.run_coroutine_threadsafe(self.reader.__anext__(), self.loop).result()
        except StopAsyncIteration:
            self.eof = True
            return
        self.buf += chunk

    def read(self, n: int = -1) -> bytes:
        while not self.eof and (n < 0 or len(self.buf) < n):
            self._more()
        if n < 0 or n >= len(self.buf):
            data, self.buf = bytes(self.buf), bytearray()
        else:
            data, self.buf = bytes(self.buf[:n]), self.buf[n:]
        return data

    def readinto(self, b: Any) -> int:
        data = self.read(len(b))
        b[:len(data)] = data
        return len(data)


class _Closed(Exception):
    """The client went away: the writer thread stops."""


class _StreamWriter:
    """A file-like sink for the tar thread, handing chunks to the response with back-pressure."""

    def __init__(self, loop: asyncio.AbstractEventLoop, q: "asyncio.Queue[bytes | None]",
                 gone: threading.Event) -> None:
        self.loop, self.q, self.gone = loop, q, gone
        self.buf = bytearray()

    def write(self, data: bytes) -> int:
        self.buf += data
        if len(self.buf) >= _CHUNK:
            self.flush()
        return len(data)

    def flush(self) -> None:
        if self.buf:
            chunk, self.buf = bytes(self.buf), bytearray()
            self._put(chunk)

    def _put(self, item: bytes | None) -> None:
        fut = asyncio.run_coroutine_threadsafe(self.q.put(item), self.loop)
        while True:
            if self.gone.is_set():
                fut.cancel()
                raise _Closed()
            try:
                fut.result(timeout=0.5)
                return
            except TimeoutError:
                continue


async def _tar_stream(src: "cparchive.ArchiveSource") -> AsyncIterator[bytes]:
    loop = asyncio.get_running_loop()
    q: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=8)
    gone = threading.Event()
    w = _StreamWriter(loop, q, gone)

    def work() -> None:
        try:
            src.write_to(w)  # type: ignore[arg-type]
            w.flush()
        except BaseException:  # noqa: BLE001 - the stream ends early, the client sees a cut tar
            pass
        finally:
            src.close()
            try:
                w._put(None)
            except _Closed:
                pass

    started = False
    try:
        yield b""
        threading.Thread(target=work, daemon=True, name="cp-tar").start()
        started = True
        while True:
            chunk = await q.get()
            if chunk is None:
                break
            yield chunk
    finally:
        gone.set()
        if not started:
            src.close()
