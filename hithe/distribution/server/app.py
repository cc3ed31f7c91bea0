"""The registry's routes: parse the request, call the registry service, render the answer.

Every path under /v2/ is authenticated first (when an htpasswd file is set),
then matched; the repository name from the URL is checked against the spec's
grammar before any handler sees it.
"""
from __future__ import annotations

import asyncio
import json
import logging
import re
import traceback
import weakref
from typing import Any, Awaitable, Callable
from urllib.parse import urlencode

from hithe.distribution.server.auth import Htpasswd, parse_basic
from hithe.distribution.server.errors import RegistryError
from hithe.distribution.server.httpserver import FileBody, Request, Response
from hithe.distribution.server.manifests import MAX_MANIFEST
from hithe.distribution.server.names import Digest, check_name, parse_digest
from hithe.distribution.server.ranges import Unsatisfiable, parse_chunk_range, parse_range
from hithe.distribution.server.registry import Page, Registry

log = logging.getLogger("hithe.registry")

COMMON_HEADERS = [("Docker-Distribution-API-Version", "registry/2.0"), ("X-Content-Type-Options", "nosniff")]
JSON = ("Content-Type", "application/json")
_BLOB_CACHE = ("Cache-Control", "max-age=31536000")  # content-addressed: never changes

Route = Callable[..., Awaitable[Response]]


def error_response(e: RegistryError, extra: list[tuple[str, str]] | None = None) -> Response:
    return Response(status=e.status, headers=[JSON, *(extra or [])], body=e.body())


def _json(obj: Any, status: int = 200, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(status=status, headers=[JSON, *(headers or [])], body=json.dumps(obj).encode())


def _page_number(req: Request) -> int | None:
    raw = req.arg("n")
    if raw is None or raw == "":
        return None
    if not raw.isdigit():
        raise RegistryError("PAGINATION_NUMBER_INVALID", detail={"n": raw[:50]})
    return int(raw)


def _link(path: str, page: Page, n: int | None) -> list[tuple[str, str]]:
    if page.next_last is None:
        return []
    query = urlencode({"n": n if n is not None else len(page.items), "last": page.next_last})
    return [("Link", f'<{path}?{query}>; rel="next"')]


async def _read_body(req: Request, limit: int) -> bytes:
    chunks, size = [], 0
    async for chunk in req.body:
        size += len(chunk)
        if size > limit:
            raise RegistryError("SIZE_INVALID", f"manifest is larger than {limit} bytes", status=413)
        chunks.append(chunk)
    return b"".join(chunks)


class RegistryApp:
    def __init__(self, registry: Registry, auth: Htpasswd | None = None) -> None:
        self.registry = registry
        self.auth = auth
        # One request at a time per upload session: chunks append in order.
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._routes: list[tuple[re.Pattern[str], dict[str, Route]]] = [
            (re.compile(r"/v2/?"), {"GET": self.base, "HEAD": self.base}),
            (re.compile(r"/v2/_catalog"), {"GET": self.catalog}),
            (re.compile(r"/v2/(?P<name>.+)/tags/list"), {"GET": self.tags}),
            (re.compile(r"/v2/(?P<name>.+)/manifests/(?P<ref>[^/]+)"),
             {"GET": self.get_manifest, "HEAD": self.get_manifest, "PUT": self.put_manifest,
              "DELETE": self.delete_manifest}),
            (re.compile(r"/v2/(?P<name>.+)/blobs/uploads/?"), {"POST": self.start_upload}),
            (re.compile(r"/v2/(?P<name>.+)/blobs/uploads/(?P<uid>[^/]+)"),
             {"GET": self.upload_status, "PATCH": self.patch_upload, "PUT": self.put_upload,
              "DELETE": self.cancel_upload}),
            (re.compile(r"/v2/(?P<name>.+)/blobs/(?P<digest>[^/]+)"),
             {"GET": self.get_blob, "HEAD": self.get_blob, "DELETE": self.delete_blob}),
        ]

    async def __call__(self, req: Request) -> Response:
        try:
            if req.path != "/v2" and not req.path.startswith("/v2/"):
                raise RegistryError("UNSUPPORTED", "not found", status=404)
            denied = await self._authenticate(req)
            if denied is not None:
                return denied
            route, params = self._route(req)
            if "name" in params:
                check_name(params["name"])
            return await route(req, **params)
        except RegistryError as e:
            return error_response(e)
        except (ConnectionError, TimeoutError):
            raise  # the client is gone: nobody to answer
        except Exception as e:  # noqa: BLE001 - a bug answers 500, it does not drop the connection
            log.error("%s %s: %s", req.method, req.path[:200], traceback.format_exc())
            return error_response(RegistryError("UNKNOWN", detail=str(e) or type(e).__name__))

    async def _authenticate(self, req: Request) -> Response | None:
        if self.auth is None:
            return None
        self.auth.refresh()
        creds = parse_basic(req.headers.get("authorization"))
        if creds is not None:
            if self.auth.cached(*creds) or await asyncio.to_thread(self.auth.verify, *creds):
                return None
            log.warning("%s: authentication failed for user %r", req.peer, creds[0][:100])
        return error_response(RegistryError("UNAUTHORIZED"), [("WWW-Authenticate", self.auth.challenge)])

    def _route(self, req: Request) -> tuple[Route, dict[str, str]]:
        for pattern, methods in self._routes:
            m = pattern.fullmatch(req.path)
            if m is None:
                continue
            route = methods.get(req.method)
            if route is None:
                raise RegistryError("UNSUPPORTED", f"method {req.method[:20]} not allowed here")
            return route, m.groupdict()
        raise RegistryError("UNSUPPORTED", "not found", status=404)

    # --- base and listings --------------------------------------------------

    async def base(self, req: Request) -> Response:
        return _json({})

    async def catalog(self, req: Request) -> Response:
        n = _page_number(req)
        page = await asyncio.to_thread(self.registry.catalog, n, req.arg("last"))
        return _json({"repositories": page.items}, headers=_link("/v2/_catalog", page, n))

    async def tags(self, req: Request, name: str) -> Response:
        n = _page_number(req)
        page = self.registry.tags(name, n, req.arg("last"))
        return _json({"name": name, "tags": page.items}, headers=_link(f"/v2/{name}/tags/list", page, n))

    # --- blobs --------------------------------------------------------------

    async def get_blob(self, req: Request, name: str, digest: str) -> Response:
        d = parse_digest(digest)
        path, size = self.registry.blob(name, d)
        etag = f'"{d}"'
        headers = [("Docker-Content-Digest", str(d)), ("Content-Type", "application/octet-stream"),
                   ("Accept-Ranges", "bytes"), ("ETag", etag), _BLOB_CACHE]
        if req.headers.get("if-none-match") == etag:
            return Response(status=304, headers=headers)
        if req.method == "HEAD":
            return Response(status=200, headers=headers, length=size)
        try:
            rng = parse_range(req.headers.get("range"), size)
        except Unsatisfiable:
            return error_response(RegistryError("RANGE_INVALID", "requested range not satisfiable"),
                                  [("Content-Range", f"bytes */{size}")])
        if rng is None:
            return Response(status=200, headers=headers, file=FileBody(path, 0, size))
        headers.append(("Content-Range", f"bytes {rng.start}-{rng.end}/{size}"))
        return Response(status=206, headers=headers, file=FileBody(path, rng.start, rng.length))

    async def delete_blob(self, req: Request, name: str, digest: str) -> Response:
        d = parse_digest(digest)
        self.registry.delete_blob(name, d)
        return Response(status=202, headers=[("Docker-Content-Digest", str(d))])

    # --- uploads ------------------------------------------------------------

    def _upload_headers(self, name: str, uid: str, size: int) -> list[tuple[str, str]]:
        # docker/distribution's convention: an empty upload reports 0-0.
        return [("Location", f"/v2/{name}/blobs/uploads/{uid}"), ("Docker-Upload-UUID", uid),
                ("Range", f"0-{max(size - 1, 0)}")]

    def _lock(self, uid: str) -> asyncio.Lock:
        lock = self._locks.get(uid)
        if lock is None:
            lock = self._locks[uid] = asyncio.Lock()
        return lock

    def _created(self, name: str, d: Digest) -> Response:
        return Response(status=201, headers=[("Location", f"/v2/{name}/blobs/{d}"),
                                             ("Docker-Content-Digest", str(d))])

    async def start_upload(self, req: Request, name: str) -> Response:
        mount, source = req.arg("mount"), req.arg("from")
        if mount is not None and source:
            d = parse_digest(mount)
            if await asyncio.to_thread(self.registry.mount, name, d, check_name(source)) is not None:
                return self._created(name, d)
            # Not mountable: the client falls back to uploading, in this session.
        digest = req.arg("digest")
        if digest is not None:  # monolithic: the whole blob in this request
            d = parse_digest(digest)
            uid = self.registry.start_upload(name)
            async with self._lock(uid):
                try:
                    await self._append(req, name, uid)
                    await asyncio.to_thread(self.registry.finish_upload, name, uid, d)
                except BaseException:
                    self._cancel_quietly(name, uid)
                    raise
            return self._created(name, d)
        uid = self.registry.start_upload(name)
        return Response(status=202, headers=self._upload_headers(name, uid, 0))

    def _cancel_quietly(self, name: str, uid: str) -> None:
        try:
            self.registry.cancel_upload(name, uid)
        except RegistryError:
            pass

    async def _append(self, req: Request, name: str, uid: str, check_range: bool = False) -> int:
        """Stream the request body onto the session's file; the new size."""
        with self.registry.upload_writer(name, uid) as w:
            if check_range:
                parse_chunk_range(req.headers.get("content-range"), w.offset, req.content_length())
            async for chunk in req.body:
                w.write(chunk)
            return w.offset

    async def upload_status(self, req: Request, name: str, uid: str) -> Response:
        size = self.registry.upload_size(name, uid)
        return Response(status=204, headers=self._upload_headers(name, uid, size))

    async def patch_upload(self, req: Request, name: str, uid: str) -> Response:
        async with self._lock(uid):
            size = await self._append(req, name, uid, check_range=True)
        return Response(status=202, headers=self._upload_headers(name, uid, size))

    async def put_upload(self, req: Request, name: str, uid: str) -> Response:
        digest = req.arg("digest")
        if not digest:
            raise RegistryError("DIGEST_INVALID", "digest missing", detail={"uuid": uid})
        d = parse_digest(digest)
        async with self._lock(uid):
            await self._append(req, name, uid)  # an optional last chunk
            await asyncio.to_thread(self.registry.finish_upload, name, uid, d)
        return self._created(name, d)

    async def cancel_upload(self, req: Request, name: str, uid: str) -> Response:
        async with self._lock(uid):
            self.registry.cancel_upload(name, uid)
        return Response(status=204)

    # --- manifests ----------------------------------------------------------

    async def get_manifest(self, req: Request, name: str, ref: str) -> Response:
        m = await asyncio.to_thread(self.registry.get_manifest, name, ref, req.headers.get("accept"))
        return Response(status=200, body=m.body, headers=[
            ("Content-Type", m.media_type), ("Docker-Content-Digest", str(m.digest)), ("ETag", f'"{m.digest}"')])

    async def put_manifest(self, req: Request, name: str, ref: str) -> Response:
        body = await _read_body(req, MAX_MANIFEST)
        d = await asyncio.to_thread(self.registry.put_manifest, name, ref, body, req.headers.get("content-type"))
        return Response(status=201, headers=[("Location", f"/v2/{name}/manifests/{d}"),
                                             ("Docker-Content-Digest", str(d))])

    async def delete_manifest(self, req: Request, name: str, ref: str) -> Response:
        await asyncio.to_thread(self.registry.delete_manifest, name, ref)
        return Response(status=202)
