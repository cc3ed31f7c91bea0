"""The image store: configs in the content store, records and tags in SQLite."""
from __future__ import annotations

import json
import threading
from typing import Any, Callable, Iterable

from hithe.content import ContentStore
from hithe.errors import Conflict, InvalidParameter, NotFound
from hithe.images.record import Image
from hithe.images.reference import (Reference, id_prefix_hex, is_full_id, looks_like_id_prefix,
                                    parse_reference)
from hithe.metadata.db import Database, dump, load
from hithe.snapshots.layers import LayerStore

# Who uses an image: returns [(container_id, running)] for an image ID.
UsersFn = Callable[[str], list[tuple[str, bool]]]


def canonical_json(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, separators=(",", ":"), sort_keys=False).encode()


class ImageStore:
    def __init__(self, db: Database, content: ContentStore, layers: LayerStore) -> None:
        self.db = db
        self.content = content
        self.layers = layers
        self._lock = threading.RLock()

    # --- records ---------------------------------------------------------
    def add(self, config: dict[str, Any], top_layer: str | None, parent: str = "",
            raw: bytes | None = None) -> Image:
        # `raw`: the config exactly as it came (docker load): its bytes are the image ID.
        desc = self.content.put_bytes(raw if raw is not None else canonical_json(config),
                                      media_type="application/vnd.oci.image.config.v1+json")
        size = sum(l.shown_size for l in self.layers.chain(top_layer)) if top_layer else 0
        img = Image(id=desc.digest, config=config, top_layer=top_layer, size=size,
                    created=config.get("created", ""), parent=parent)
        with self.db.tx() as c:
            c.execute("INSERT OR IGNORE INTO images(id, doc) VALUES(?, ?)", (img.id, dump(img.to_doc())))
        return self.get(img.id)

    def put_manifest(self, img: Image, layers: list[Any]) -> str:
        """An OCI manifest for a locally made image: what save and push will send."""
        manifest = {
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": img.id,
                       "size": self.content.size(img.id)},
            "layers": [{"mediaType": d.media_type, "digest": d.digest, "size": d.size} for d in layers],
        }
        desc = self.content.put_bytes(canonical_json(manifest), media_type=manifest["mediaType"])
        doc = img.to_doc()
        doc["manifest"] = desc.digest
        self.db.execute("UPDATE images SET doc=? WHERE id=?", (dump(doc), img.id))
        return desc.digest

    def set_distribution(self, image_id: str, *, manifest: str | None = None,
                         repo_digest: str | None = None) -> None:
        """Record a registry manifest (pull) and a ``name@digest`` (pull, push) for an image."""
        with self._lock:
            doc = self.get(image_id).to_doc()
            if manifest:
                doc["manifest"] = manifest
            if repo_digest and repo_digest not in doc["repo_digests"]:
                doc["repo_digests"] = doc["repo_digests"] + [repo_digest]
            self.db.execute("UPDATE images SET doc=? WHERE id=?", (dump(doc), image_id))

    def get(self, image_id: str) -> Image:
        rows = self.db.query("SELECT doc FROM images WHERE id=?", (image_id,))
        if not rows:
            raise NotFound(f"No such image: {image_id}")
        img = Image.from_doc(load(rows[0][0]))
        img.repo_tags = self._tags_of(img.id)
        return img

    def _tags_of(self, image_id: str) -> list[str]:
        rows = self.db.query("SELECT ref FROM refs WHERE image_id=? ORDER BY ref", (image_id,))
        return [r[0] for r in rows]

    def list(self) -> list[Image]:
        tags: dict[str, list[str]] = {}
        for ref, iid in self.db.query("SELECT ref, image_id FROM refs ORDER BY ref"):
            tags.setdefault(iid, []).append(ref)
        out = []
        for (doc,) in self.db.query("SELECT doc FROM images"):
            img = Image.from_doc(load(doc))
            img.repo_tags = tags.get(img.id, [])
            out.append(img)
        return out

    # --- names -----------------------------------------------------------
    def layer_sizes(self, img: Image) -> list[int]:
        """Sizes of the image's layers, base first."""
        return [l.shown_size for l in reversed(self.layers.chain(img.top_layer))] if img.top_layer else []

    def ancestors(self, img: Image) -> list[Image]:
        """The local parent chain (builds and commits record it), nearest first; stops at
        the first parent no longer stored."""
        out: list[Image] = []
        seen = {img.id}
        cur = img.parent
        while cur and cur not in seen:
            try:
                parent = self.get(cur)
            except NotFound:
                break
            out.append(parent)
            seen.add(cur)
            cur = parent.parent
        return out

    def resolve(self, name: str) -> Image:
        """Find an image by reference, full ID or unique ID prefix (Docker's order)."""
        if not name:
            raise InvalidParameter("invalid reference format")
        if is_full_id(name):
            return self.get(name if name.startswith("sha256:") else "sha256:" + name)
        ref: Reference | None = None
        try:
            ref = parse_reference(name)
        except InvalidParameter:
            if not looks_like_id_prefix(name):
                raise
        if ref is not None:
            rows = self.db.query("SELECT image_id FROM refs WHERE ref=?", (str(ref),))
            if rows:
                return self.get(rows[0][0])
            if ref.digest:  # name@digest: the repo digests recorded by pull and push
                want = f"{ref.name}@{ref.digest}"
                for img in self.list():
                    if want in img.repo_digests:
                        return self.get(img.id)
        if looks_like_id_prefix(name):
            prefix = id_prefix_hex(name) or ""
            rows = self.db.query("SELECT id FROM images WHERE id LIKE ?", ("sha256:" + prefix + "%",))
            if len(rows) == 1:
                return self.get(rows[0][0])
            if len(rows) > 1:
                raise NotFound(f"No such image: {name}")
        raise NotFound(f"No such image: {_display(ref) if ref else name}")

    def tag(self, image_id: str, target: str) -> Reference:
        ref = parse_reference(target)
        if ref.digest:
            raise InvalidParameter("refusing to create a tag with a digest reference")
        with self.db.tx() as c:
            c.execute("INSERT OR REPLACE INTO refs(ref, image_id) VALUES(?, ?)", (str(ref), image_id))
        return ref

    def untag(self, ref: str) -> None:
        self.db.execute("DELETE FROM refs WHERE ref=?", (ref,))

    # --- removal ---------------------------------------------------------
    def remove(self, name: str, *, force: bool, prune: bool, users: UsersFn) -> list[dict[str, str]]:
        with self._lock:
            img = self.resolve(name)
            by_ref = not _is_id_form(name, img.id)
            out: list[dict[str, str]] = []
            tags = img.repo_tags
            has_children = self.children_count().get(img.id, 0) > 0
            if by_ref:
                ref = str(parse_reference(name))
                _check_last_ref(img, users, force, name)
                self.untag(ref)
                out.append({"Untagged": _display_str(ref)})
                if len(tags) > 1:
                    return out
            else:
                if has_children:
                    raise Conflict(f"conflict: unable to delete {_short(img.id)} (cannot be forced) - "
                                   "image has dependent child images")
                if len(tags) > 1 and not force:
                    raise Conflict(f"conflict: unable to delete {_short(img.id)} (must be forced) - "
                                   "image is referenced in multiple repositories")
                running = [cid for cid, r in users(img.id) if r]
                stopped = [cid for cid, r in users(img.id) if not r]
                if running:
                    raise Conflict(f"conflict: unable to delete {_short(img.id)} (cannot be forced) - "
                                   f"image is being used by running container {_short(running[0])}")
                if stopped and not force:
                    raise Conflict(f"conflict: unable to delete {_short(img.id)} (must be forced) - "
                                   f"image is being used by stopped container {_short(stopped[0])}")
                for t in tags:
                    self.untag(t)
                    out.append({"Untagged": _display_str(t)})
                if stopped:
                    return out  # forced: untagged, kept for the containers (Docker does the same)
            if users(img.id) or has_children:
                return out  # untagged only: still a container's image, or a parent (intermediate)
            out.extend(self._delete(img))
            if prune:
                out.extend(self._prune_parents(img, users))
            return out

    def children_count(self) -> dict[str, int]:
        """How many stored images name each image as their local parent."""
        kids: dict[str, int] = {}
        for (doc,) in self.db.query("SELECT doc FROM images"):
            parent = load(doc).get("parent") or ""
            if parent:
                kids[parent] = kids.get(parent, 0) + 1
        return kids

    def _prune_parents(self, img: Image, users: UsersFn) -> list[dict[str, str]]:
        """Docker deletes an image's untagged parents along with it (rmi without --no-prune,
        image prune) while nothing else needs them: no tag, no other child, no container."""
        out: list[dict[str, str]] = []
        cur = img.parent
        while cur:
            try:
                parent = self.get(cur)
            except NotFound:
                break
            if parent.repo_tags or parent.repo_digests or users(parent.id) or self.children_count().get(parent.id):
                break
            out.extend(self._delete(parent))
            cur = parent.parent
        return out

    def _delete(self, img: Image) -> list[dict[str, str]]:
        self.db.execute("DELETE FROM images WHERE id=?", (img.id,))
        self.db.execute("DELETE FROM refs WHERE image_id=?", (img.id,))
        out = [{"Deleted": img.id}]
        self.gc_layers(set())
        self.gc_blobs()
        return out

    def gc_blobs(self) -> int:
        """Mark every blob an image still needs (config, manifest, layer tars); sweep the rest."""
        keep: set[str] = set()
        for img in self.list():
            keep.add(img.id)
            if img.manifest:
                keep.add(img.manifest)
                try:
                    m = json.loads(self.content.read_bytes(img.manifest))
                    keep.update(l["digest"] for l in m.get("layers", []))
                except (NotFound, ValueError, KeyError):
                    pass
        return self.content.gc(keep)

    def gc_layers(self, container_layers: Iterable[str]) -> None:
        """Remove layers no image needs (mark and sweep over the chains)."""
        keep: set[str] = set(container_layers)
        for img in self.list():
            if img.top_layer:
                keep.update(l.chain_id for l in self.layers.chain(img.top_layer))
        for chain in self.layers.all_chain_ids():
            if chain not in keep:
                self.layers.remove(chain)

    def prune(self, *, all_unused: bool, users: UsersFn,
              keep: Callable[[Image], bool] = lambda i: False) -> tuple[list[dict[str, str]], int]:
        """Docker's image prune: dangling images (untagged heads: intermediate images that are
        another image's parent, such as the build cache, stay), or with `all_unused` every image
        no container uses; children go before their parents, untagged parents go along."""
        deleted: list[dict[str, str]] = []
        reclaimed = 0
        for img in sorted(self.list(), key=lambda i: i.created, reverse=True):
            try:
                img = self.get(img.id)  # gone already (a pruned parent) or re-tagged meanwhile?
            except NotFound:
                continue
            if users(img.id) or keep(img) or self.children_count().get(img.id):
                continue
            if (img.repo_tags or img.repo_digests) and not all_unused:
                continue
            for t in img.repo_tags:
                self.untag(t)
                deleted.append({"Untagged": _display_str(t)})
            reclaimed += img.size
            deleted.extend(self._delete(img))
            deleted.extend(self._prune_parents(img, users))
        return deleted, reclaimed


def _short(image_id: str) -> str:
    return image_id.split(":", 1)[-1][:12]


def _display(ref: Reference) -> str:
    return ref.familiar()


def _display_str(ref: str) -> str:
    try:
        return parse_reference(ref).familiar()
    except InvalidParameter:
        return ref


def _is_id_form(name: str, image_id: str) -> bool:
    hexpart = image_id.split(":", 1)[1]
    n = name.split(":", 1)[1] if name.startswith("sha256:") else name
    return bool(n) and hexpart.startswith(n) and looks_like_id_prefix(name)


def _check_last_ref(img: Image, users: UsersFn, force: bool, name: str) -> None:
    """Removing the last tag of an image a container uses needs -f (Docker's rule)."""
    if len(img.repo_tags) > 1 or force:
        return
    u = users(img.id)
    if u:
        cid = u[0][0]
        raise Conflict(f'conflict: unable to remove repository reference "{name}" (must force) - '
                       f"container {_short(cid)} is using its referenced image {_short(img.id)}")
