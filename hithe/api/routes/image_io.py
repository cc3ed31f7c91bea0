"""Images made from containers (docker commit) and image archives (docker save / load)."""
from __future__ import annotations

import json
from typing import AsyncIterator

from hithe.api.message import Request, Response, json_response
from hithe.api.router import Router
from hithe.api.threadio import thread_stream
from hithe.daemon.engine import Engine
from hithe.errors import InvalidParameter
from hithe.images.archive_load import load_images
from hithe.images.archive_save import select_images, write_archive
from hithe.images.commit import CommitOptions, commit_container


def register(r: Router, eng: Engine) -> None:
    svc = eng.image_service

    async def commit(req: Request) -> Response:
        body = await req.json()
        if body is not None and not isinstance(body, dict):
            raise InvalidParameter("invalid container config: must be a JSON object")
        opts = CommitOptions(container=req.arg("container") or "", repo=req.arg("repo") or "",
                             tag=req.arg("tag") or "", comment=req.arg("comment") or "",
                             author=req.arg("author") or "", pause=req.flag("pause", True),
                             changes=req.args("changes"), config=body or None)
        img = await commit_container(eng.containers, svc, opts)
        return json_response({"Id": img.id}, status=201)

    async def save(req: Request) -> Response:
        names = [req.params["name"]] if "name" in req.params else req.args("names")
        items = select_images(eng.images, names)  # unknown names: 404 before any byte
        stream = thread_stream(lambda out: write_archive(eng.images, items, out), name="image-save")
        return Response(stream=stream, content_type="application/x-tar")

    async def load(req: Request) -> Response:
        # Everything is checked and stored before the answer starts, so a refused archive
        # gets a 400 (docker answers 200 and streams the error); quiet only drops
        # progress, which we do not stream.
        loaded = await load_images(svc, req.body_reader)

        async def lines() -> AsyncIterator[bytes]:
            for item in loaded:
                for msg in item.messages:
                    yield json.dumps({"stream": msg + "\n"}).encode() + b"\r\n"
        return Response(stream=lines())

    r.add("POST", "/commit", commit)
    r.add("GET", "/images/get", save)
    r.add("GET", "/images/{name:path}/get", save)
    r.add("POST", "/images/load", load)
