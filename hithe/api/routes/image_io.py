"""Images made from containers (docker commit) and image archives (docker save / load)."""
from __future__ import annotations

from hithe.api.message import Request, Response
from hithe.api.router import Router
from hithe.daemon.engine import Engine
from hithe.errors import NotImplementedYet


def register(r: Router, eng: Engine) -> None:
    async def not_yet(req: Request) -> Response:
        raise NotImplementedYet(f"{req.method} {req.path} is not implemented by hithe yet")

    r.add("POST", "/commit", not_yet)
    r.add("GET", "/images/get", not_yet)
    r.add("GET", "/images/{name:path}/get", not_yet)
    r.add("POST", "/images/load", not_yet)
