"""Routes: method + path pattern → handler, with Docker's version prefix."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Awaitable, Callable, Union

from hithe.api.message import Hijack, Request, Response
from hithe.errors import InvalidParameter, NotFound

API_VERSION = "1.45"
MIN_API_VERSION = "1.24"

Handler = Callable[[Request], Awaitable[Union[Response, Hijack]]]
_VERSION_PREFIX = re.compile(r"^/v(\d+\.\d+)(/.*)$")


def _vtuple(v: str) -> tuple[int, int]:
    a, _, b = v.partition(".")
    return int(a), int(b or 0)


@dataclass
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler


class Router:
    def __init__(self) -> None:
        self._routes: list[Route] = []

    def add(self, method: str, path: str, handler: Handler) -> None:
        # "{name}" matches one segment; "{name:path}" matches the rest (image names have slashes).
        regex = re.sub(r"\{(\w+):path\}", r"(?P<\1>.+)", path)
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", regex)
        self._routes.append(Route(method, re.compile("^" + regex + "$"), handler))

    def split_version(self, path: str) -> tuple[str, str]:
        m = _VERSION_PREFIX.match(path)
        if not m:
            return API_VERSION, path
        version, rest = m.group(1), m.group(2)
        if _vtuple(version) > _vtuple(API_VERSION):
            raise InvalidParameter(
                f"client version {version} is too new. Maximum supported API version is {API_VERSION}")
        if _vtuple(version) < _vtuple(MIN_API_VERSION):
            raise InvalidParameter(
                f"client version {version} is too old. Minimum supported API version is "
                f"{MIN_API_VERSION}, please upgrade your client to a newer version")
        return version, rest

    def resolve(self, method: str, path: str) -> tuple[Handler, dict[str, str]]:
        method = "GET" if method == "HEAD" else method
        allowed = False
        for route in self._routes:
            m = route.pattern.match(path)
            if m:
                if route.method == method:
                    return route.handler, m.groupdict()
                allowed = True
        if allowed:
            raise NotFound(f"page not found")  # Docker answers 404 for a wrong method too
        raise NotFound("page not found")
