"""The registry client as the image service sees it: one object per daemon.

Holds what outlives a single request: the insecure-registry policy from the
daemon's configuration and the token cache.  ``url_guard`` (tests) vets every
URL that is not the registry's own.
"""
from __future__ import annotations

from typing import Any, AsyncIterator, Awaitable, Callable

from hithe.distribution.client import login as login_mod, pull as pull_mod, push as push_mod
from hithe.distribution.client.auth import Credentials, TokenCache, decode_registry_auth
from hithe.distribution.client.endpoint import InsecurePolicy
from hithe.distribution.client.manifest import parse_platform
from hithe.distribution.client.session import UrlGuard
from hithe.images.importer import host_arch
from hithe.images.record import Image
from hithe.images.reference import Reference
from hithe.images.store import ImageStore
from hithe.util import egress

RunBlocking = Callable[[Callable[[], Any]], Awaitable[Any]]


class RegistryClient:
    def __init__(self, insecure_registries: list[str] | None = None, *, url_guard: UrlGuard | None = None) -> None:
        self.policy = InsecurePolicy(insecure_registries)
        self.tokens = TokenCache()
        if url_guard is None and egress.loopback_only():
            from hithe.distribution.client.session import loopback_only
            url_guard = loopback_only  # test daemons: nothing may leave 127.0.0.0/8
        self.url_guard = url_guard

    @staticmethod
    def credentials(header: str | None) -> Credentials:
        return decode_registry_auth(header)[0]

    async def pull(self, ref: Reference, creds: Credentials, store: ImageStore, run: RunBlocking, *,
                   platform: str = "", on_done: Callable[[Image], None] | None = None) -> AsyncIterator[bytes]:
        """Resolve now (errors raise: the request fails with their status), then a progress stream."""
        plat = parse_platform(platform) if platform else ("linux", host_arch(), "")
        if plat[0] != "linux":
            from hithe.errors import InvalidParameter
            raise InvalidParameter(f'image operating system "{plat[0]}" cannot be used on this platform')
        resolved = await pull_mod.resolve(ref, creds, self.tokens, self.policy, plat, url_guard=self.url_guard)
        return pull_mod.fetch(resolved, store, run, on_done)

    def push(self, name: str, tag: str, creds: Credentials, store: ImageStore, run: RunBlocking, *,
             on_done: Callable[[Image, str], None] | None = None) -> AsyncIterator[bytes]:
        targets = push_mod.targets(store, name, tag)   # "does not exist locally" before streaming
        return push_mod.push(targets, store, run, creds, self.tokens, self.policy, url_guard=self.url_guard,
                             on_done=on_done)

    async def login(self, server: str, creds: Credentials) -> str:
        return await login_mod.login(server, creds, self.tokens, self.policy, url_guard=self.url_guard)
