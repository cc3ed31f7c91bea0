"""/images/...: import, list, inspect, tag, remove, prune, history."""
from __future__ import annotations

import json
import os
import tempfile
from typing import Any, AsyncIterator

from hithe.api.message import Request, Response, json_response
from hithe.api.router import Router
from hithe.containers.filters import parse_filters
from hithe.daemon.engine import Engine
from hithe.errors import InvalidParameter, NotFound, NotImplementedYet
from hithe.images import render
from hithe.images.importer import import_rootfs
from hithe.images.reference import parse_reference


def register(r: Router, eng: Engine) -> None:
    images = eng.images

    async def create(req: Request) -> Response:
        src = req.arg("fromSrc")
        if src is None:
            name = req.arg("fromImage") or ""
            tag = req.arg("tag") or ""
            ref = parse_reference(f"{name}:{tag}" if tag and "@" not in name and ":" not in tag else name)
            # Pulling arrives with the registry client; until then Docker's own answer for
            # an image no registry here has.
            raise NotFound(f"pull access denied for {ref.familiar_name}, repository does not exist "
                           "or may require 'docker login': denied: requested access to the resource is denied")
        repo = req.arg("repo") or ""
        tag = req.arg("tag") or ""
        target = None
        if repo:
            target = f"{repo}:{tag}" if tag else repo
            parse_reference(target)  # invalid reference format before reading the body
        changes = req.args("changes")
        message = req.arg("message") or ""
        spool = await _spool(req, eng.config.data_root) if src == "-" else None
        try:
            def work() -> Any:
                if spool is not None:
                    with open(spool, "rb") as f:
                        return import_rootfs(images, f, message=message, changes=changes, source="-")
                return _import_url(images, src or "", message, changes)
            img = await eng.containers._thread(work)
        finally:
            if spool is not None:
                os.unlink(spool)
        if target:
            images.tag(img.id, target)
            eng.events.publish("image", "tag", img.id, {"name": parse_reference(target).familiar()})
        eng.events.publish("image", "import", img.id, {"name": img.id})

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
        return json_response(render.history(img))

    async def tag(req: Request) -> Response:
        img = images.resolve(req.params["name"])
        repo = req.arg("repo") or ""
        if not repo:
            raise InvalidParameter("repository name must have at least one component")
        t = req.arg("tag") or ""
        ref = images.tag(img.id, f"{repo}:{t}" if t else repo)
        eng.events.publish("image", "tag", img.id, {"name": ref.familiar()})
        return Response(status=201, body=b"", content_type="text/plain")

    async def remove(req: Request) -> Response:
        name = req.params["name"]
        out = images.remove(name, force=req.flag("force"), prune=not req.flag("noprune"),
                            users=eng.containers.users_of_image)
        for item in out:
            for action, val in item.items():
                eng.events.publish("image", "untag" if action == "Untagged" else "delete", val, {"name": val})
        return json_response(out)

    async def prune(req: Request) -> Response:
        filters = parse_filters(req.json_arg("filters"))
        dangling = filters.get("dangling", ["true"])
        all_unused = dangling and dangling[0].lower() in ("false", "0")
        deleted, reclaimed = images.prune(all_unused=bool(all_unused), users=eng.containers.users_of_image,
                                          keep=render.label_keep(filters))
        return json_response({"ImagesDeleted": deleted or None, "SpaceReclaimed": reclaimed})

    async def not_yet(req: Request) -> Response:
        raise NotImplementedYet(f"{req.method} {req.path} is not implemented by hithe yet")

    r.add("POST", "/images/create", create)
    r.add("GET", "/images/json", list_)
    r.add("POST", "/images/prune", prune)
    r.add("GET", "/images/search", not_yet)
    r.add("GET", "/images/get", not_yet)
    r.add("POST", "/images/load", not_yet)
    r.add("POST", "/build", not_yet)
    r.add("POST", "/commit", not_yet)
    r.add("GET", "/images/{name:path}/json", inspect)
    r.add("GET", "/images/{name:path}/history", history)
    r.add("POST", "/images/{name:path}/tag", tag)
    r.add("POST", "/images/{name:path}/push", not_yet)
    r.add("GET", "/images/{name:path}/get", not_yet)
    r.add("DELETE", "/images/{name:path}", remove)


async def _spool(req: Request, data_root: str) -> str:
    """The request body to a temp file: extraction runs in a thread, the socket in the loop."""
    tmpdir = os.path.join(data_root, "tmp")
    os.makedirs(tmpdir, exist_ok=True)
    fd, path = tempfile.mkstemp(dir=tmpdir, prefix="import-")
    try:
        with os.fdopen(fd, "wb") as f:
            if req.body_reader is not None:
                async for chunk in req.body_reader:
                    f.write(chunk)
    except BaseException:
        os.unlink(path)
        raise
    return path


def _import_url(images: Any, url: str, message: str, changes: list[str]) -> Any:
    import urllib.request
    if not url.startswith(("http://", "https://")):
        raise InvalidParameter(f"unsupported import source: {url}")
    with urllib.request.urlopen(url, timeout=60) as resp:  # noqa: S310 - user-requested URL
        return import_rootfs(images, resp, message=message, changes=changes, source=url)
