"""/containers/{id}/exec and /exec/{id}/..."""
from __future__ import annotations

import asyncio
import struct

from hithe.api.message import Hijack, HijackedConn, Request, Response, json_response
from hithe.api.router import Router
from hithe.daemon.engine import Engine
from hithe.errors import HitheError
from hithe.runtime.attach import parse_detach_keys, pump


def frame(stream: int, data: bytes) -> bytes:
    return struct.pack(">BxxxI", stream, len(data)) + data


def register(r: Router, eng: Engine) -> None:
    execs = eng.execs

    async def create(req: Request) -> Response:
        body = await req.json(allow_empty=False)
        if body.get("DetachKeys"):
            parse_detach_keys(body["DetachKeys"])
        s = execs.create(req.params["id"], body)
        return json_response({"Id": s.id}, 201)

    async def start(req: Request) -> Response | Hijack:
        body = await req.json()
        detach = bool(body.get("Detach"))
        s = execs.get(req.params["id"])
        if body.get("Tty") is not None:
            s.tty = bool(body["Tty"])
        if detach:
            await execs.start(s.id, detach=True)
            return Response(status=200, body=b"", content_type="application/json")
        execs.check_startable(s.id)
        keys = parse_detach_keys(s.detach_keys or None)

        async def run(conn: HijackedConn) -> None:
            # Like Docker, the exec starts only after the 101 went out: output sent together with
            # the response headers could be swallowed by a client's buffered HTTP reader.
            try:
                _, _, sock = await execs.start(s.id, detach=False)
            except HitheError as e:
                msg = (e.message + "\r\n").encode()
                await conn.write(msg if s.tty else frame(1, msg))
                return
            if body.get("ConsoleSize") and s.tty:
                h, w = body["ConsoleSize"]
                execs.resize(s.id, int(h), int(w))
            if sock is None:
                return
            await pump(conn, sock, tty=s.tty, stdin=s.attach_stdin, stdout=True, stderr=True,
                       detach_keys=keys)
            # inspect shows the exit code once the client sees the stream end
            try:
                await asyncio.wait_for(s.done.wait(), 5)
            except asyncio.TimeoutError:
                pass
        ctype = "application/vnd.docker.raw-stream" if s.tty else "application/vnd.docker.multiplexed-stream"
        return Hijack(run=run, content_type=ctype)

    async def resize(req: Request) -> Response:
        execs.resize(req.params["id"], req.int_arg("h", 0) or 0, req.int_arg("w", 0) or 0)
        return Response(status=200, body=b"", content_type="text/plain")

    async def inspect(req: Request) -> Response:
        return json_response(execs.inspect(req.params["id"]))

    r.add("POST", "/containers/{id}/exec", create)
    r.add("POST", "/exec/{id}/start", start)
    r.add("POST", "/exec/{id}/resize", resize)
    r.add("GET", "/exec/{id}/json", inspect)
