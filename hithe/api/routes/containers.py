"""/containers/...: parse the request, call the container service, render Docker's JSON."""
from __future__ import annotations

import asyncio
import json
from typing import AsyncIterator

from hithe.api.message import Hijack, HijackedConn, Request, Response, empty, json_response
from hithe.api.router import Router
from hithe.containers import render
from hithe.containers.filters import container_matcher, parse_filters
from hithe.containers.record import Container
from hithe.containers.spec import parse_create
from hithe.daemon.engine import Engine
from hithe.errors import Conflict, InvalidParameter, NotFound
from hithe.logs.follow import log_stream  # attach?logs=1 replays history first
from hithe.runtime.attach import parse_detach_keys, pump


def register(r: Router, eng: Engine) -> None:
    svc = eng.containers

    def image_matches(ref: str, c: Container) -> bool:
        try:
            return eng.images.resolve(ref).id == c.image_id
        except (NotFound, InvalidParameter):
            return False

    async def create(req: Request) -> Response:
        spec = parse_create(await req.json(allow_empty=False))
        c, warnings = await svc.create(spec, req.arg("name"))
        return json_response({"Id": c.id, "Warnings": warnings}, 201)

    async def list_(req: Request) -> Response:
        filters = parse_filters(req.json_arg("filters"))
        match = container_matcher(filters, svc.get, image_matches)
        show_all = req.flag("all")
        limit = req.int_arg("limit", -1) or -1
        cs = sorted(svc.all(), key=lambda c: c.created, reverse=True)
        if not show_all and limit <= 0 and "status" not in filters and "exited" not in filters:
            cs = [c for c in cs if c.state.running]
        cs = [c for c in cs if match(c)]
        if limit > 0:
            cs = cs[:limit]
        size = req.flag("size")
        from hithe.network import render as nrender
        return json_response([render.summary(c, svc.sizes(c) if size else None,
                                             ports=nrender.summary_ports(c, eng.networks),
                                             networks=nrender.summary_networks(c, eng.networks)["Networks"])
                              for c in cs])

    async def inspect(req: Request) -> Response:
        c = svc.get(req.params["id"])
        size = svc.sizes(c) if req.flag("size") else None
        from hithe.network import render as nrender
        return json_response(render.inspect(c, svc.dir_of(c), svc.log_path(c), size,
                                            net=nrender.settings(c, eng.networks)))

    async def start(req: Request) -> Response:
        await svc.start(req.params["id"])
        return empty()

    async def stop(req: Request) -> Response:
        t = req.int_arg("t")
        await svc.stop(req.params["id"], t, req.arg("signal"))
        return empty()

    async def restart(req: Request) -> Response:
        await svc.restart(req.params["id"], req.int_arg("t"), req.arg("signal"))
        return empty()

    async def kill(req: Request) -> Response:
        await svc.kill(req.params["id"], req.arg("signal"))
        return empty()

    async def pause(req: Request) -> Response:
        await svc.pause(req.params["id"])
        return empty()

    async def unpause(req: Request) -> Response:
        await svc.unpause(req.params["id"])
        return empty()

    async def wait(req: Request) -> Response:
        fut = svc.register_wait(req.params["id"], req.arg("condition") or "not-running")

        async def body() -> AsyncIterator[bytes]:
            yield b""  # headers go out now: the client knows the wait is registered
            code = await fut
            yield json.dumps({"StatusCode": code, "Error": None}).encode() + b"\n"
        return Response(stream=body())

    async def remove(req: Request) -> Response:
        if req.flag("link"):
            raise InvalidParameter("links are not supported")
        await svc.remove(req.params["id"], force=req.flag("force"), volumes=req.flag("v"))
        return empty()

    async def prune(req: Request) -> Response:
        filters = parse_filters(req.json_arg("filters"))
        match = container_matcher(filters, svc.get, image_matches, allowed={"label", "label!", "until"})
        deleted, reclaimed = await svc.prune(lambda c: not match(c))
        return json_response({"ContainersDeleted": deleted or None, "SpaceReclaimed": reclaimed})

    async def rename(req: Request) -> Response:
        new = req.arg("name")
        if not new:
            raise InvalidParameter("Neither old nor new names may be empty")
        await svc.rename(req.params["id"], new)
        return empty()

    async def resize(req: Request) -> Response:
        svc.resize(req.params["id"], req.int_arg("h", 0) or 0, req.int_arg("w", 0) or 0)
        return Response(status=200, body=b"", content_type="text/plain")

    async def logs(req: Request) -> Response:
        c = svc.get(req.params["id"])
        stdout, stderr = req.flag("stdout"), req.flag("stderr")
        if not stdout and not stderr:
            raise InvalidParameter("Bad parameters: you must choose at least one stream")
        tail_s = req.arg("tail") or "all"
        tail = None if tail_s == "all" else _int(tail_s, "tail")
        if tail is not None and tail < 0:
            tail = None
        stream = svc.logs(c, follow=req.flag("follow"), stdout=stdout, stderr=stderr,
                          since_ns=req.time_arg("since") or 0, until_ns=req.time_arg("until"),
                          tail=tail, timestamps=req.flag("timestamps"))
        ctype = "application/vnd.docker.raw-stream" if c.spec.tty else "application/vnd.docker.multiplexed-stream"
        return Response(stream=_safe(stream), content_type=ctype)

    async def attach(req: Request) -> Hijack:
        c = svc.get(req.params["id"])
        if c.state.status == "paused":
            raise Conflict("You cannot attach to a paused container, unpause it first")
        keys = parse_detach_keys(req.arg("detachKeys"))
        want_stdin = req.flag("stdin") and c.spec.open_stdin
        stdout, stderr = req.flag("stdout"), req.flag("stderr")
        stream = req.flag("stream")
        sock_fut = await svc.attach(c) if stream else None

        async def run(conn: HijackedConn) -> None:
            if req.flag("logs"):
                async for buf in log_stream(svc.log_path(c), raw=c.spec.tty, stdout=stdout, stderr=stderr):
                    await conn.write(buf)
            if sock_fut is None:
                return
            try:
                sock = await sock_fut
            except (asyncio.CancelledError, Exception):  # noqa: BLE001 - start failed or container removed
                return

            async def detached() -> None:
                svc._event(c, "detach")
            await pump(conn, sock, tty=c.spec.tty, stdin=want_stdin, stdout=stdout, stderr=stderr,
                       detach_keys=keys, on_detach=detached)
        ctype = "application/vnd.docker.raw-stream" if c.spec.tty else "application/vnd.docker.multiplexed-stream"
        return Hijack(run=run, content_type=ctype)

    async def top(req: Request) -> Response:
        return json_response(await svc.top(req.params["id"], req.arg("ps_args") or "-ef"))

    async def export(req: Request) -> Response:
        c = svc.get(req.params["id"])
        from hithe.api.routes.streams import export_stream
        return Response(stream=export_stream(svc, c), content_type="application/x-tar")

    r.add("POST", "/containers/create", create)
    r.add("GET", "/containers/json", list_)
    r.add("POST", "/containers/prune", prune)
    r.add("GET", "/containers/{id}/json", inspect)
    r.add("POST", "/containers/{id}/start", start)
    r.add("POST", "/containers/{id}/stop", stop)
    r.add("POST", "/containers/{id}/restart", restart)
    r.add("POST", "/containers/{id}/kill", kill)
    r.add("POST", "/containers/{id}/pause", pause)
    r.add("POST", "/containers/{id}/unpause", unpause)
    r.add("POST", "/containers/{id}/wait", wait)
    r.add("DELETE", "/containers/{id}", remove)
    r.add("POST", "/containers/{id}/rename", rename)
    r.add("POST", "/containers/{id}/resize", resize)
    r.add("GET", "/containers/{id}/logs", logs)
    r.add("POST", "/containers/{id}/attach", attach)
    r.add("GET", "/containers/{id}/top", top)
    r.add("GET", "/containers/{id}/export", export)


async def _safe(stream: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield b""
    async for b in stream:
        yield b


def _int(v: str, name: str) -> int:
    try:
        return int(v)
    except ValueError:
        raise InvalidParameter(f"invalid value for {name}: {v!r}") from None
