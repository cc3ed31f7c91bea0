"""`GET /system/df`: what images, containers and layers take on disk."""
from __future__ import annotations

from typing import Any

from hithe.containers import render as containers_render
from hithe.daemon.engine import Engine
from hithe.images import render as images_render
from hithe.volumes.record import Usage
from hithe.volumes.record import render as render_volume


async def disk_usage(eng: Engine) -> dict[str, Any]:
    images = images_render.list_images(eng.images, eng.containers, {}, all_=True, digests=False)
    for img in images:
        img["SharedSize"] = 0  # known here (the list API says -1): lets clients count reclaimable space

    def measure() -> tuple[int, list[dict[str, Any]], list[dict[str, Any]]]:
        layers = sum(eng.layers.get(chain).shown_size for chain in eng.layers.all_chain_ids())
        conts = [containers_render.summary(c, eng.containers.sizes(c)) for c in eng.containers.all()]
        refs = eng.containers.volume_refs()
        vols = [render_volume(v, Usage(size=eng.volumes.size(v), ref_count=len(refs.get(v.name, []))))
                for v in sorted(eng.volumes.all(), key=lambda v: v.name)]
        return layers, conts, vols
    layers, containers, volumes = await eng.containers._thread(measure)
    return {"LayersSize": layers, "Images": images, "Containers": containers, "Volumes": volumes,
            "BuildCache": []}
