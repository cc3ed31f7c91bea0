"""`import`: a rootfs tarball becomes a one-layer image."""
from __future__ import annotations

import platform
from typing import Any, BinaryIO

from hithe.images.changes import apply_changes
from hithe.images.record import Image
from hithe.images.store import ImageStore
from hithe.util.timefmt import rfc3339_now

LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
GO_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le",
           "s390x": "s390x", "riscv64": "riscv64"}


def host_arch() -> str:
    m = platform.machine()
    return GO_ARCH.get(m, m)


def import_rootfs(store: ImageStore, stream: BinaryIO, *, message: str = "", changes: list[str] | None = None,
                  source: str = "-") -> Image:
    # The uncompressed tar is kept as a blob so save/push later send the exact bytes hashed here.
    writer = store.content.writer(media_type=LAYER_TAR)
    with writer:
        layer = store.layers.apply(None, stream, tee=writer)
        layer_desc = writer.commit()
    created = rfc3339_now()
    container_cfg: dict[str, Any] = apply_changes({}, changes or [])
    config: dict[str, Any] = {
        "architecture": host_arch(),
        "comment": message or f"Imported from {source}",
        "config": container_cfg,
        "created": created,
        "history": [{"created": created, "comment": message or f"Imported from {source}"}],
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id]},
    }
    img = store.add(config, layer.chain_id)
    store.put_manifest(img, [layer_desc])
    return img
