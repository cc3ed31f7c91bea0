"""Resource usage of containers (docker stats), from their cgroups."""
from __future__ import annotations

from hithe.api.message import Request, Response
from hithe.api.router import Router
from hithe.containers.stats import StatsService
from hithe.daemon.engine import Engine


def register(r: Router, eng: Engine) -> None:
    svc = StatsService(eng.containers)

    async def stats(req: Request) -> Response:
        stream = req.flag("stream", True)
        # one-shot exists from API 1.41; older clients always get the primed (two-sample) frame
        one_shot = req.flag("one-shot") if _api(req.version) >= (1, 41) else False
        frames = svc.frames(req.params["id"], stream=stream, one_shot=one_shot)
        if stream:
            return Response(stream=frames)
        # One frame: a plain body with a length, as Docker sends it.
        return Response(body=b"".join([chunk async for chunk in frames]))

    r.add("GET", "/containers/{id}/stats", stats)


def _api(version: str) -> tuple[int, ...]:
    return tuple(int(x) for x in version.split("."))
