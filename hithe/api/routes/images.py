"""/images/...: import, list, inspect, tag, remove, prune, history."""
from __future__ import annotations

import json
from typing import AsyncIterator

from hithe.api.message import Request, Response, json_response
from hithe.api.router import Router
from hithe.containers.filters import parse_filters
from hithe.daemon.engine import Engine
from hithe.errors import InvalidParameter, NotImplementedYet
from hithe.images import render


def register(r: Router, eng: Engine) -> None:
    images = eng.images
    svc = eng.image_service

    async def create(req: Request) -> Response:
        src = req.arg("fromSrc")
        if src is None:
            stream = await svc.pull(req.arg("fromImage") or "", req.arg("tag") or "",
                                    auth=req.headers.get("x-registry-auth"), platform=req.arg("platform") or "")
            return Response(stream=stream)
        img = await svc.import_(src or "", req.body_reader, repo=req.arg("repo") or "", tag=req.arg("tag") or "",
                                message=req.arg("message") or "", changes=req.args("changes"))

        async def body() -> AsyncIterator[bytes]:
            yield json.dumps({"status": img.id}).encode() + b"\r\n"
        return Response(stream=body())

    async def list_(req: Request) -> Response:
        filters = parse_filters(req.json_arg("filters"))
        out = render.list_images(images, eng.containers, filters, all_=req.flag("all"),
                                 digests=req.flag("digests"))
        return json_response(out)

    async def inspect(req: Request) -> Response:
        img = images.resolve(req.params["name"])
        return json_response(render.inspect(img, images))

    async def history(req: Request) -> Response:
        img = images.resolve(req.params["name"])
        return json_response(render.history(img, images.layer_sizes(img), images.ancestors(img)))

    async def tag(req: Request) -> Response:
        repo = req.arg("repo") or ""
        if not repo:
            raise InvalidParameter("repository name must have at least one component")
        t = req.arg("tag") or ""
        svc.tag(req.params["name"], f"{repo}:{t}" if t else repo)
        return Response(status=201, body=b"", content_type="text/plain")

    async def remove(req: Request) -> Response:
        return json_response(svc.remove(req.params["name"], force=req.flag("force"),
                                        prune=not req.flag("noprune")))

    async def prune(req: Request) -> Response:
        filters = parse_filters(req.json_arg("filters"))
        dangling = filters.get("dangling", ["true"])
        all_unused = bool(dangling) and dangling[0].lower() in ("false", "0")
        deleted, reclaimed = svc.prune(all_unused=all_unused, keep=render.label_keep(filters))
        return json_response({"ImagesDeleted": deleted or None, "SpaceReclaimed": reclaimed})

    async def push(req: Request) -> Response:
        stream = svc.push(req.params["name"], req.arg("tag") or "", auth=req.headers.get("x-registry-auth"))
        return Response(stream=stream)

    async def not_yet(req: Request) -> Response:
        raise NotImplementedYet(f"{req.method} {req.path} is not implemented by hithe yet")

    r.add("POST", "/images/create", create)
    r.add("GET", "/images/json", list_)
    r.add("POST", "/images/prune", prune)
    r.add("GET", "/images/search", not_yet)
    r.add("GET", "/images/{name:path}/json", inspect)
    r.add("GET", "/images/{name:path}/history", history)
    r.add("POST", "/images/{name:path}/tag", tag)
    r.add("POST", "/images/{name:path}/push", push)
    r.add("DELETE", "/images/{name:path}", remove)
