"""Copying files in and out of containers (docker cp) and their filesystem changes (docker diff)."""
from __future__ import annotations

import asyncio
import os

from hithe.api.message import Request, Response, json_response
from hithe.api.router import Router
from hithe.api.threadio import BodyFile, thread_stream
from hithe.containers import archive as cparchive
from hithe.containers.changes import compute_changes
from hithe.containers.pathstat import HEADER
from hithe.daemon.engine import Engine
from hithe.errors import InvalidParameter


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
                        stream=thread_stream(src.write_to, close=src.close, name="cp-tar"))

    async def put_archive(req: Request) -> Response:
        ref = req.params["id"]
        c = svc.get(ref)
        path = path_arg(req)
        body = BodyFile(asyncio.get_running_loop(), req.body_reader)
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
