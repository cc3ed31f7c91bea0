"""/networks: parse the request, call the network service, render Docker's JSON."""
from __future__ import annotations

from typing import Any

from hithe.api.message import Request, Response, empty, json_response
from hithe.api.router import Router
from hithe.containers.filters import parse_filters
from hithe.daemon.engine import Engine
from hithe.errors import InvalidParameter
from hithe.network import render
from hithe.network.filters import list_matcher, prune_keeper


def _str_map(v: Any, what: str) -> dict[str, str]:
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise InvalidParameter(f"json: cannot unmarshal {type(v).__name__} into Go struct field "
                               f"CreateRequest.{what} of type map[string]string")
    return {str(k): str(x) for k, x in v.items()}


def _body(v: Any) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise InvalidParameter("invalid JSON: the request body must be a JSON object")
    return v


def register(r: Router, eng: Engine) -> None:
    nets = eng.networks
    thread = eng.containers._thread

    async def list_(req: Request) -> Response:
        match = list_matcher(parse_filters(req.json_arg("filters")), nets)
        found = sorted((n for n in nets.all() if match(n)), key=lambda n: n.name)
        return json_response([render.network(n, nets) for n in found])

    async def inspect(req: Request) -> Response:
        return json_response(render.network(nets.get(req.params["id"]), nets))

    async def create(req: Request) -> Response:
        b = _body(await req.json())
        name = b.get("Name")
        if not isinstance(name, str):
            raise InvalidParameter("json: cannot unmarshal into Go struct field CreateRequest.Name of type string")
        ipam = b.get("IPAM") or {}
        if not isinstance(ipam, dict):
            raise InvalidParameter("invalid IPAM")
        if ipam.get("Driver") not in (None, "", "default"):
            raise InvalidParameter(f"IPAM driver {ipam.get('Driver')} is not supported by hithe")
        configs = []
        for c in ipam.get("Config") or []:
            if not isinstance(c, dict):
                raise InvalidParameter("invalid IPAM.Config entry")
            if c.get("Subnet") and ":" in str(c["Subnet"]):
                raise InvalidParameter("IPv6 subnets are not supported by hithe")
            configs.append({k: str(c[k]) for k in ("Subnet", "Gateway", "IPRange") if c.get(k)})
        if b.get("EnableIPv6"):
            raise InvalidParameter("IPv6 networks are not supported by hithe")
        n = await thread(nets.create, name, str(b.get("Driver") or "bridge"), configs, bool(b.get("Internal")),
                         _str_map(b.get("Labels"), "Labels"), _str_map(b.get("Options"), "Options"))
        return json_response({"Id": n.id, "Warning": ""}, 201)

    async def remove(req: Request) -> Response:
        await thread(nets.remove, req.params["id"])
        return empty()

    async def prune(req: Request) -> Response:
        keep = prune_keeper(parse_filters(req.json_arg("filters")))
        return json_response({"NetworksDeleted": await thread(nets.prune, keep) or None})

    async def connect(req: Request) -> Response:
        b = _body(await req.json())
        n = nets.get(req.params["id"])
        c = eng.containers.get(str(b.get("Container") or ""))
        cfg = b.get("EndpointConfig") or {}
        if not isinstance(cfg, dict):
            raise InvalidParameter("invalid EndpointConfig")
        await thread(nets.connect, c, n.id, cfg)
        return empty(200)

    async def disconnect(req: Request) -> Response:
        b = _body(await req.json())
        n = nets.get(req.params["id"])
        c = eng.containers.get(str(b.get("Container") or ""))
        await thread(nets.disconnect, c, n.id, bool(b.get("Force")))
        return empty(200)

    r.add("GET", "/networks", list_)
    r.add("POST", "/networks/create", create)
    r.add("POST", "/networks/prune", prune)
    r.add("GET", "/networks/{id}", inspect)
    r.add("DELETE", "/networks/{id}", remove)
    r.add("POST", "/networks/{id}/connect", connect)
    r.add("POST", "/networks/{id}/disconnect", disconnect)
