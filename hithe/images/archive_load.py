"""`load`: images from a `docker save` archive or an OCI layout tar, all or nothing.

The upload is spooled to the data root's tmp dir, decompressed there if it
came compressed, indexed and checked (archive_index.py, archive_formats.py)
before anything is written.  Layers are then stored as blobs verified against
their diff IDs and unpacked; if anything fails, every image, layer and blob
this load created is removed again, so a refused archive leaves the store as
it was.  Tags are set last, when all images exist.
"""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from typing import AsyncIterator, BinaryIO

from hithe.archive.compression import open_decompressed
from hithe.content.store import Descriptor
from hithe.errors import HitheError, InvalidParameter, NotFound
from hithe.images.archive_formats import ImagePlan, read_plans
from hithe.images.archive_index import ArchiveIndex, decompress_to
from hithe.images.importer import LAYER_TAR
from hithe.images.store import ImageStore
from hithe.snapshots.layers import chain_id_of

_CHUNK = 1 << 20


@dataclass
class Loaded:
    image_id: str
    tags: list[str]                                   # familiar names, as docker prints them
    messages: list[str] = field(default_factory=list)


async def load_images(svc, body: AsyncIterator[bytes] | None) -> list[Loaded]:  # type: ignore[no-untyped-def]
    """The `POST /images/load` work for the image service `svc`; events published."""
    spool = await svc.spool(body, prefix="load-")
    try:
        loaded = await svc.run_blocking(lambda: load_archive(svc.store, spool))
    finally:
        _unlink(spool)
    for item in loaded:
        svc.events.publish("image", "load", item.image_id, {"name": item.image_id})
    return loaded


def load_archive(store: ImageStore, spool: str) -> list[Loaded]:
    """Load every image of the archive at `spool` (blocking)."""
    tar = decompress_to(spool)
    try:
        idx = ArchiveIndex(tar)
        plans = read_plans(idx)
        writes = _Writes(store, idx)
        try:
            ids = {p.id for p in plans}
            for plan in plans:
                writes.add(plan, ids)
        except BaseException:
            writes.rollback()
            raise
        return [_set_tags(store, plan) for plan in plans]
    finally:
        if tar != spool:
            _unlink(tar)


def _set_tags(store: ImageStore, plan: ImagePlan) -> Loaded:
    out = Loaded(plan.id, [])
    for ref in plan.tags:
        rows = store.db.query("SELECT image_id FROM refs WHERE ref=?", (str(ref),))
        if rows and rows[0][0] != plan.id:
            out.messages.append(f"The image {ref.familiar()} already exists, renaming the old one with ID "
                                f"{rows[0][0]} to empty string")
        store.tag(plan.id, str(ref))
        out.tags.append(ref.familiar())
        out.messages.append(f"Loaded image: {ref.familiar()}")
    if not plan.tags:
        out.messages.append(f"Loaded image ID: {plan.id}")
    return out


class _Writes:
    """What this load added to the store, so that a failure can take it back."""

    def __init__(self, store: ImageStore, idx: ArchiveIndex) -> None:
        self.store = store
        self.idx = idx
        self.blobs: list[str] = []
        self.chains: list[str] = []
        self.images: list[str] = []

    def add(self, plan: ImagePlan, loading: set[str]) -> None:
        content, layers = self.store.content, self.store.layers
        chain: str | None = None
        descs = []
        for ref in plan.layers:
            if not content.exists(ref.diff_id):
                with self.idx.open(ref.path) as f:
                    self._put_layer_blob(f, ref.diff_id)
            parent, chain = chain, chain_id_of(chain, ref.diff_id)
            if not layers.exists(chain):
                with content.open(ref.diff_id) as f:
                    layer = layers.apply(parent, f)
                self.chains.append(layer.chain_id)
                if layer.chain_id != chain:  # cannot happen unless the blob store lies
                    raise InvalidParameter(f"layer {ref.path}: unpacked to {layer.diff_id}, expected {ref.diff_id}")
            descs.append(Descriptor(ref.diff_id, content.size(ref.diff_id), LAYER_TAR))
        new_config = not content.exists(plan.id)
        try:
            existing = self.store.get(plan.id)
        except NotFound:
            existing = None
        parent_id = plan.parent if plan.parent in loading or self._is_local_parent(plan) else ""
        img = existing or self.store.add(plan.config, chain, parent=parent_id, raw=plan.config_raw)
        if new_config:
            self.blobs.append(plan.id)
        if existing is None:
            self.images.append(img.id)
        if not img.manifest:
            digest = self.store.put_manifest(img, descs)
            self.blobs.append(digest)

    def _is_local_parent(self, plan: ImagePlan) -> bool:
        """docker keeps a Parent link only to an image whose layers are a prefix of this one's."""
        if not plan.parent:
            return False
        try:
            parent = self.store.get(plan.parent)
        except NotFound:
            return False
        ours = plan.config["rootfs"]["diff_ids"]
        return parent.diff_ids == ours[: len(parent.diff_ids)]

    def _put_layer_blob(self, f: BinaryIO, diff_id: str) -> None:
        """The layer, decompressed if it is not plain tar, as a blob that must hash to `diff_id`."""
        with self.store.content.writer(diff_id, media_type=LAYER_TAR) as w:
            try:
                shutil.copyfileobj(open_decompressed(f), w, _CHUNK)  # type: ignore[misc]
            except HitheError:
                raise
            except (EOFError, ValueError, OSError) as e:
                if isinstance(e, OSError) and e.errno is not None:
                    raise
                raise InvalidParameter(f"invalid layer {diff_id}: {e}") from None
            except Exception as e:  # noqa: BLE001 - lzma/zstd errors
                raise InvalidParameter(f"invalid layer {diff_id}: {e}") from None
            if w.digest != diff_id:
                raise InvalidParameter(f"invalid diffID for layer: expected {diff_id!r}, got {w.digest!r}")
            w.commit()
        self.blobs.append(diff_id)

    def rollback(self) -> None:
        store = self.store
        for image_id in self.images:
            store.db.execute("DELETE FROM images WHERE id=?", (image_id,))
        keep_chains: set[str] = set()
        keep_blobs: set[str] = set()
        for img in store.list():
            keep_blobs.add(img.id)
            if img.top_layer:
                keep_chains.update(l.chain_id for l in store.layers.chain(img.top_layer))
            keep_blobs.update(img.diff_ids)
            if img.manifest:
                keep_blobs.add(img.manifest)
        for chain in reversed(self.chains):
            if chain not in keep_chains:
                store.layers.remove(chain)
        for digest in self.blobs:
            if digest not in keep_blobs:
                store.content.delete(digest)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
