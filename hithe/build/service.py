"""The build service: POST /build's work, from the uploaded context to the tagged image."""
from __future__ import annotations

import asyncio
import json
import os
from typing import Any, AsyncIterator

from hithe.build.cache import BuildCache
from hithe.build.context import BuildContext
from hithe.build.executor import Builder, short
from hithe.build.options import BuildOptions
from hithe.build.parser import parse
from hithe.errors import HitheError
from hithe.images.reference import parse_reference


def _line(msg: dict[str, Any]) -> bytes:
    return json.dumps(msg).encode() + b"\r\n"


class BuildService:
    def __init__(self, containers: Any, images: Any, db: Any, tmp_root: str) -> None:
        self.containers = containers
        self.images = images          # the ImageService
        self.tmp_root = tmp_root
        self.cache = BuildCache(db, images.store)

    async def build(self, opts: BuildOptions, body: Any) -> AsyncIterator[bytes]:
        """Receive and check everything that can be refused with an HTTP error, then stream the build."""
        for t in opts.tags:
            parse_reference(t)
        spool = await self.images.spool(body, "build-")
        ctx = BuildContext(self.tmp_root)
        try:
            try:
                await self.images.run_blocking(lambda: ctx.load(spool))
            finally:
                os.unlink(spool)
            df = parse(ctx.dockerfile(opts.dockerfile))
        except BaseException:
            ctx.remove()
            raise
        return self._stream(opts, ctx, df)

    async def _stream(self, opts: BuildOptions, ctx: BuildContext, df: Any) -> AsyncIterator[bytes]:
        q: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        builder = Builder(self, opts, ctx, df, q.put_nowait)
        for w in df.warnings:
            q.put_nowait({"stream": w})

        async def work() -> Any:
            try:
                return await builder.run()
            finally:
                q.put_nowait(None)
        task = asyncio.get_running_loop().create_task(work())
        try:
            while True:
                msg = await q.get()
                if msg is None:
                    break
                yield _line(msg)
            try:
                img = task.result()
            except HitheError as e:
                await builder._remove_leftovers(failed=True)
                yield _line({"errorDetail": {"message": e.message}, "error": e.message})
                return
            await builder._remove_leftovers()
            unused = builder.unused_args()
            if unused:
                yield _line({"stream": f"[Warning] One or more build-args [{' '.join(unused)}] were not consumed\n"})
            yield _line({"aux": {"ID": img.id}})
            if opts.quiet:
                yield _line({"stream": img.id + "\n"})
            else:
                yield _line({"stream": f"Successfully built {short(img.id)}\n"})
            for t in opts.tags:
                self.images.tag(img.id, _with_tag(t))
                if not opts.quiet:
                    yield _line({"stream": f"Successfully tagged {_shown(t)}\n"})
        finally:
            if not task.done():
                task.cancel()
                try:
                    await task
                except BaseException:  # noqa: BLE001 - the client went away; clean up below
                    pass
                await builder._remove_leftovers(failed=True)
            ctx.remove()

    def prune(self, all_: bool) -> int:
        return self.cache.clear() if all_ else self.cache.prune()


def _with_tag(tag: str) -> str:
    ref = parse_reference(tag)
    return tag + ":latest" if ref.tag is None and ref.digest is None else tag


def _shown(tag: str) -> str:
    return parse_reference(_with_tag(tag)).familiar()
