"""POST /containers/{id}/update: Docker's UpdateConfig → the update service → {"Warnings": ...}."""
from __future__ import annotations

from hithe.api.message import Request, Response, json_response
from hithe.api.router import Router
from hithe.containers.resources import HostCaps, parse_update
from hithe.containers.update import update_container
from hithe.daemon.engine import Engine


def register(r: Router, eng: Engine) -> None:
    host = HostCaps.probe()   # the host's cgroup capabilities do not change while we run

    async def update(req: Request) -> Response:
        upd = parse_update(await req.json(), req.version)
        warnings = await update_container(eng.containers, req.params["id"], upd, host)
        # Go encodes an empty warnings slice as null; clients expect exactly that.
        return json_response({"Warnings": warnings or None})

    r.add("POST", "/containers/{id}/update", update)
