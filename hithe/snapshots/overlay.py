"""A container's writable layer: an overlay mount over its image's layers."""
from __future__ import annotations

import os
import shutil

from hithe.snapshots.layers import LayerStore
from hithe.util.sys import is_mountpoint, mount, umount


class OverlaySnapshotter:
    def __init__(self, layers: LayerStore, empty_dir: str) -> None:
        self.layers = layers
        self.empty_dir = empty_dir  # lower dir for an image with no layers
        os.makedirs(empty_dir, exist_ok=True)

    def prepare(self, container_dir: str) -> None:
        for sub in ("upper", "work", "rootfs"):
            os.makedirs(os.path.join(container_dir, sub), exist_ok=True)

    def mount_options(self, container_dir: str, top_layer: str | None) -> str:
        lowers = [self.layers.link_path(l) for l in self.layers.chain(top_layer)] if top_layer else []
        if not lowers:
            lowers = [self.empty_dir]
        return (f"lowerdir={':'.join(lowers)},upperdir={os.path.join(container_dir, 'upper')},"
                f"workdir={os.path.join(container_dir, 'work')}")

    def mount(self, container_dir: str, top_layer: str | None) -> str:
        target = os.path.join(container_dir, "rootfs")
        if not is_mountpoint(target):
            self.prepare(container_dir)
            mount("overlay", target, "overlay", 0, self.mount_options(container_dir, top_layer))
        return target

    def unmount(self, container_dir: str) -> None:
        umount(os.path.join(container_dir, "rootfs"))

    def remove(self, container_dir: str) -> None:
        self.unmount(container_dir)
        shutil.rmtree(container_dir, ignore_errors=True)
