"""/volumes: parse the request, call the volume service, render Docker's JSON."""
from __future__ import annotations

import asyncio
from typing import Any

from hithe.api.message import Request, Response, empty, json_response
from hithe.api.router import Router
from hithe.containers.filters import parse_filters
from hithe.daemon.engine import Engine
from hithe.errors import InvalidParameter
from hithe.volumes.filters import list_matcher, prune_keeper
from hithe.volumes.record import render


def _str_map(v: Any, what: str) -> dict[str, str] | None:
    if v is None:
        return None
    if not isinstance(v, dict):
        raise InvalidParameter(f"json: cannot unmarshal {type(v).__name__} into Go struct field "
                               f"CreateOptions.{what} of type map[string]string")
    return {str(k): str(x) for k, x in v.items()}


def _version(v: str) -> tuple[int, int]:
    a, _, b = v.partition(".")
    return int(a), int(b or 0)


def register(r: Router, eng: Engine) -> None:
    vols = eng.volumes
    # Container starts mount volumes in worker threads; their events go through this loop.
    vols.bind_loop(asyncio.get_running_loop())

    async def list_(req: Request) -> Response:
        refs = eng.containers.volume_refs()
        match = list_matcher(parse_filters(req.json_arg("filters")), lambda n: bool(refs.get(n)))
        found = sorted((v for v in vols.all() if match(v)), key=lambda v: v.name)
        return json_response({"Volumes": [render(v) for v in found], "Warnings": None})

    async def create(req: Request) -> Response:
        body = await req.json()
        if not isinstance(body, dict):
            raise InvalidParameter("invalid JSON: the request body must be a JSON object")
        name = body.get("Name") or ""
        driver = body.get("Driver") or ""
        if not isinstance(name, str) or not isinstance(driver, str):
            raise InvalidParameter("json: cannot unmarshal into Go struct field CreateOptions.Name of type string")
        v, _ = vols.create(name, driver, _str_map(body.get("DriverOpts"), "DriverOpts"),
                           _str_map(body.get("Labels"), "Labels"))
        return json_response(render(v), 201)

    async def inspect(req: Request) -> Response:
        return json_response(render(vols.get(req.params["name"])))

    async def remove(req: Request) -> Response:
        await eng.containers._thread(vols.remove, req.params["name"], req.flag("force"))
        return empty()

    async def prune(req: Request) -> Response:
        keep = prune_keeper(parse_filters(req.json_arg("filters")), _version(req.version))
        deleted, reclaimed = await eng.containers._thread(vols.prune, keep)
        return json_response({"VolumesDeleted": deleted or None, "SpaceReclaimed": reclaimed})

    r.add("GET", "/volumes", list_)
    r.add("POST", "/volumes/create", create)
    r.add("POST", "/volumes/prune", prune)
    r.add("GET", "/volumes/{name}", inspect)
    r.add("DELETE", "/volumes/{name}", remove)
