"""The image service: what the API (and any other front end) asks of images.

Wraps the image store with the parts that are not storage: spooling an upload,
fetching an import URL, events, and the rules that involve containers.
"""
from __future__ import annotations

import os
import tempfile
from typing import Any, AsyncIterator, Callable

from hithe.errors import InvalidParameter
from hithe.events.bus import EventBus
from hithe.images.importer import import_rootfs
from hithe.images.record import Image
from hithe.images.reference import Reference, parse_reference
from hithe.images.store import ImageStore, UsersFn


class ImageService:
    def __init__(self, store: ImageStore, events: EventBus, tmp_dir: str, users: UsersFn,
                 run_blocking: Callable[..., Any], insecure_registries: list[str] | None = None) -> None:
        self.store = store
        self.insecure_registries = insecure_registries or []
        self._registry: Any = None  # the registry client, made on first use
        self.events = events
        self.tmp_dir = tmp_dir
        self.users = users
        self._run = run_blocking  # runs a blocking function in the daemon's worker pool

    async def import_(self, source: str, body: AsyncIterator[bytes] | None, *, repo: str, tag: str,
                      message: str, changes: list[str]) -> Image:
        target = (f"{repo}:{tag}" if tag else repo) if repo else None
        if target:
            parse_reference(target)  # "invalid reference format" before reading the upload
        spool = await self._spool(body) if source == "-" else None
        try:
            def work() -> Image:
                if spool is not None:
                    with open(spool, "rb") as f:
                        return import_rootfs(self.store, f, message=message, changes=changes, source="-")
                return _import_url(self.store, source, message, changes)
            img = await self._run(work)
        finally:
            if spool is not None:
                os.unlink(spool)
        if target:
            self.tag(img.id, target)
        self.events.publish("image", "import", img.id, {"name": img.id})
        return img

    @property
    def registry(self) -> Any:
        if self._registry is None:
            from hithe.distribution.client.service import RegistryClient
            self._registry = RegistryClient(self.insecure_registries)
        return self._registry

    async def pull(self, name: str, tag: str, *, auth: str | None = None,
                   platform: str = "") -> AsyncIterator[bytes]:
        """Resolve NAME[:TAG|@DIGEST] on its registry (errors raise before any output), then
        Docker's progress stream while the layers come in."""
        ref = pull_reference(name, tag)
        reg = self.registry

        def done(img: Image) -> None:
            self.events.publish("image", "pull", ref.familiar(), {"name": ref.familiar()})
        return await reg.pull(ref, reg.credentials(auth), self.store, self._run, platform=platform,
                              on_done=done)

    def push(self, name: str, tag: str, *, auth: str | None = None) -> AsyncIterator[bytes]:
        reg = self.registry

        def done(img: Image, shown: str) -> None:
            self.events.publish("image", "push", shown, {"name": shown})
        return reg.push(name, tag, reg.credentials(auth), self.store, self._run, on_done=done)

    async def login(self, server: str, username: str, password: str, identity_token: str = "") -> str:
        from hithe.distribution.client.auth import Credentials
        return await self.registry.login(server, Credentials(username, password, identity_token))

    def tag(self, name: str, target: str) -> None:
        img = self.store.resolve(name)
        ref = self.store.tag(img.id, target)
        self.events.publish("image", "tag", img.id, {"name": ref.familiar()})

    def remove(self, name: str, *, force: bool, prune: bool) -> list[dict[str, str]]:
        out = self.store.remove(name, force=force, prune=prune, users=self.users)
        for item in out:
            for action, val in item.items():
                self.events.publish("image", "untag" if action == "Untagged" else "delete", val, {"name": val})
        return out

    def prune(self, *, all_unused: bool, keep: Callable[[Image], bool]) -> tuple[list[dict[str, str]], int]:
        deleted, reclaimed = self.store.prune(all_unused=all_unused, users=self.users, keep=keep)
        for item in deleted:
            if "Deleted" in item:
                self.events.publish("image", "delete", item["Deleted"], {"name": item["Deleted"]})
        return deleted, reclaimed

    async def run_blocking(self, fn: Callable[[], Any]) -> Any:
        """Run `fn` in the daemon's worker pool (commit, save and load use it)."""
        return await self._run(fn)

    async def spool(self, body: AsyncIterator[bytes] | None, prefix: str) -> str:
        return await self._spool(body, prefix)

    async def _spool(self, body: AsyncIterator[bytes] | None, prefix: str = "import-") -> str:
        """The upload to a temp file: extraction runs in a thread, the socket in the loop."""
        os.makedirs(self.tmp_dir, exist_ok=True)
        fd, path = tempfile.mkstemp(dir=self.tmp_dir, prefix=prefix)
        try:
            with os.fdopen(fd, "wb") as f:
                if body is not None:
                    async for chunk in body:
                        f.write(chunk)
        except BaseException:
            os.unlink(path)
            raise
        return path


def pull_reference(name: str, tag: str) -> Reference:
    """``fromImage`` and ``tag`` of ``POST /images/create`` as one reference (tag may be a digest)."""
    ref = parse_reference(name)
    if tag:
        ref = ref.with_digest(tag) if ":" in tag else ref.with_tag(tag)
    if ref.tag is None and ref.digest is None:
        ref = ref.with_tag("latest")
    return ref


def _import_url(store: ImageStore, url: str, message: str, changes: list[str]) -> Image:
    import urllib.request
    if not url.startswith(("http://", "https://")):
        raise InvalidParameter(f"unsupported import source: {url}")
    with urllib.request.urlopen(url, timeout=60) as resp:  # noqa: S310 - the user asked for this URL
        return import_rootfs(store, resp, message=message, changes=changes, source=url)


__all__ = ["ImageService"]
