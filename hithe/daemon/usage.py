"""`GET /system/df`: what images, containers and layers take on disk."""
from __future__ import annotations

from typing import Any

from hithe.containers import render as containers_render
from hithe.daemon.engine import Engine
from hithe.images import render as images_render


async def disk_usage(eng: Engine) -> dict[str, Any]:
    images = images_render.list_images(eng.images, eng.containers, {}, all_=True, digests=False)
    for img in images:
        img["SharedSize"] = 0  # known here (the list API says -1): lets clients count reclaimable space

    def measure() -> tuple[int, list[dict[str, Any]]]:
        layers = sum(eng.layers.get(chain).size for chain in eng.layers.all_chain_ids())
        conts = [containers_render.summary(c, eng.containers.sizes(c)) for c in eng.containers.all()]
        return layers, conts
    layers, containers = await eng.containers._thread(measure)
    return {"LayersSize": layers, "Images": images, "Containers": containers, "Volumes": [], "BuildCache": []}
