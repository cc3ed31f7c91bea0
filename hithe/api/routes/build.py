"""POST /build (the classic builder's JSON stream) and POST /build/prune."""
from __future__ import annotations

import base64
import json
import os
from typing import Any

from hithe.api.message import Request, Response, json_response
from hithe.api.router import Router
from hithe.build.options import BuildOptions
from hithe.build.service import BuildService
from hithe.daemon.engine import Engine
from hithe.errors import InvalidParameter


def _json_map(req: Request, name: str) -> dict[str, Any]:
    raw = req.arg(name)
    if not raw:
        return {}
    try:
        val = json.loads(raw)
    except ValueError:
        raise InvalidParameter(f"invalid {name} specified: {raw}") from None
    if not isinstance(val, dict):
        raise InvalidParameter(f"invalid {name} specified: {raw}")
    return val


def _registry_config(header: str | None) -> dict[str, dict[str, str]]:
    if not header:
        return {}
    try:
        pad = "=" * (-len(header) % 4)
        val = json.loads(base64.urlsafe_b64decode(header + pad))
    except (ValueError, TypeError):
        return {}
    return val if isinstance(val, dict) else {}


def parse_options(req: Request) -> BuildOptions:
    return BuildOptions(
        tags=[t for t in req.args("t") if t],
        dockerfile=req.arg("dockerfile") or "Dockerfile",
        build_args={str(k): (None if v is None else str(v)) for k, v in _json_map(req, "buildargs").items()},
        labels={str(k): str(v) for k, v in _json_map(req, "labels").items()},
        target=req.arg("target") or "",
        no_cache=req.flag("nocache"),
        quiet=req.flag("q"),
        rm=req.flag("rm", True),
        force_rm=req.flag("forcerm"),
        pull=req.flag("pull"),
        registry_auth=_registry_config(req.headers.get("x-registry-config")),
    )


def register(r: Router, eng: Engine) -> None:
    svc = BuildService(eng.containers, eng.image_service, eng.db,
                       os.path.join(eng.config.data_root, "tmp"))

    async def build(req: Request) -> Response:
        if req.arg("remote"):
            raise InvalidParameter("remote build contexts (git, URL) are not supported by hithe")
        version = req.arg("version") or "1"
        if version == "2":
            raise InvalidParameter("BuildKit is not supported by hithe: use the classic builder "
                                   "(DOCKER_BUILDKIT=0)")
        stream = await svc.build(parse_options(req), req.body_reader)
        return Response(stream=stream)

    async def prune(req: Request) -> Response:
        dropped = await eng.image_service.run_blocking(lambda: svc.prune(req.flag("all")))
        return json_response({"CachesDeleted": None if not dropped else [], "SpaceReclaimed": 0})

    r.add("POST", "/build", build)
    r.add("POST", "/build/prune", prune)
