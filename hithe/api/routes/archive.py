"""Copying files in and out of containers (docker cp) and their filesystem changes (docker diff)."""
from __future__ import annotations

from hithe.api.message import Request, Response
from hithe.api.router import Router
from hithe.daemon.engine import Engine
from hithe.errors import NotImplementedYet


def register(r: Router, eng: Engine) -> None:
    async def not_yet(req: Request) -> Response:
        raise NotImplementedYet(f"{req.method} {req.path} is not implemented by hithe yet")

    r.add("GET", "/containers/{id}/archive", not_yet)
    r.add("HEAD", "/containers/{id}/archive", not_yet)
    r.add("PUT", "/containers/{id}/archive", not_yet)
    r.add("GET", "/containers/{id}/changes", not_yet)
