"""/auth: check registry credentials (``docker login``)."""
from __future__ import annotations

from hithe.api.message import Request, Response, json_response
from hithe.api.router import Router
from hithe.daemon.engine import Engine
from hithe.errors import InvalidParameter


def register(r: Router, eng: Engine) -> None:
    svc = eng.image_service

    async def auth(req: Request) -> Response:
        body = await req.json(allow_empty=False)
        if not isinstance(body, dict):
            raise InvalidParameter("invalid auth configuration")
        token = await svc.login(str(body.get("serveraddress") or ""), str(body.get("username") or ""),
                                str(body.get("password") or ""), str(body.get("identitytoken") or ""))
        return json_response({"IdentityToken": token, "Status": "Login Succeeded"})

    r.add("POST", "/auth", auth)
