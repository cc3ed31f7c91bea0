"""`save`: images as one tar stream that both docker generations and OCI tools load.

What the archive holds, and why:

* an OCI image layout (what docker >= 25 writes): ``oci-layout``, ``index.json``
  (one entry per tag, named by the ``io.containerd.image.name`` and
  ``org.opencontainers.image.ref.name`` annotations) and ``blobs/sha256/`` with
  each config, each OCI manifest and each layer as an uncompressed tar named
  by its diff ID.  These are the only copies of the data.
* docker's ``manifest.json`` (read by every ``docker load``), pointing into
  ``blobs/`` exactly as docker 25 does, and ``repositories``.
* docker 20.10's per-layer directories ``<v1 id>/{VERSION,json,layer.tar}``
  and ``<config hex>.json`` for tools that still walk those: ``layer.tar`` and
  the config there are symlinks into ``blobs/`` (docker itself symlinked
  repeated layers this way), so no layer is written twice.

Layers come from the content store, where import, commit and load keep the
exact uncompressed tar whose hash is the diff ID: nothing is re-tarred, the
bytes are the ones the image ID was computed over.  The tar is written to
`out` as it is produced (the API streams it), never assembled in memory.
"""
from __future__ import annotations

import hashlib
import io
import json
import tarfile
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Callable

from hithe.archive.compression import open_decompressed
from hithe.errors import InvalidParameter, NotFound, SystemError_
from hithe.images.record import Image
from hithe.images.reference import Reference, is_full_id, parse_reference
from hithe.images.store import ImageStore, canonical_json
from hithe.snapshots.layers import chain_id_of
from hithe.util.timefmt import parse_rfc3339

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
_EMPTY_CONTAINER_CONFIG = {
    "Hostname": "", "Domainname": "", "User": "", "AttachStdin": False, "AttachStdout": False,
    "AttachStderr": False, "Tty": False, "OpenStdin": False, "StdinOnce": False, "Env": None,
    "Cmd": None, "Image": "", "Volumes": None, "WorkingDir": "", "Entrypoint": None, "OnBuild": None,
    "Labels": None,
}
_COPY_BUFSIZE = 1 << 20


@dataclass
class SaveItem:
    image: Image
    tags: list[Reference] = field(default_factory=list)


@dataclass
class LayerOut:
    diff_id: str
    size: int
    v1_id: str
    open: Callable[[], BinaryIO]


# --- which images, with which tags --------------------------------------------
def select_images(store: ImageStore, names: list[str]) -> list[SaveItem]:
    """Docker's rules: a tag saves that tag, a bare repository name all its tags,
    an ID (or ID prefix) the image without tags.  Unknown names fail before any byte."""
    items: dict[str, SaveItem] = {}

    def add(img: Image, ref: Reference | None) -> None:
        item = items.setdefault(img.id, SaveItem(img))
        if ref is not None and ref not in item.tags:
            item.tags.append(ref)

    for name in names:
        if is_full_id(name):
            add(store.resolve(name), None)
            continue
        ref = _parse_name(name)
        if ref is not None and ref.is_name_only:
            tagged = [(r, img) for img in store.list() for r in map(parse_reference, img.repo_tags)
                      if r.name == ref.name and r.tag is not None]
            for r, img in tagged:
                add(img, r)
            if not tagged:
                add(store.resolve(name), None)  # an ID prefix, or NotFound with the name
            continue
        img = store.resolve(name)
        add(img, ref if ref is not None and ref.tag is not None and str(ref) in img.repo_tags else None)
    return list(items.values())


def _parse_name(name: str) -> Reference | None:
    try:
        return parse_reference(name, default_tag=False)
    except InvalidParameter:
        return None


# --- the documents ------------------------------------------------------------
def v1_ids(image_id: str, diff_ids: list[str]) -> list[str]:
    """Names of the legacy per-layer directories: chained like docker's v1 IDs, so a
    lower layer shared by two images gets one directory; the top one is per image."""
    out: list[str] = []
    chain: str | None = None
    for i, diff_id in enumerate(diff_ids):
        chain = chain_id_of(chain, diff_id)
        seed = {"layer_id": chain, "parent": out[-1] if out else ""}
        if i == len(diff_ids) - 1:
            seed["image"] = image_id
        out.append(hashlib.sha256(canonical_json(seed)).hexdigest())
    return out


def layer_json(img: Image, v1: list[str], i: int) -> bytes:
    """The legacy `json` of layer `i`: docker's V1Image, the image's own fields on the top one."""
    doc: dict[str, Any] = {"id": v1[i]}
    if i:
        doc["parent"] = v1[i - 1]
    if i == len(v1) - 1:
        for key in ("comment", "created", "container", "container_config", "docker_version", "author",
                    "config", "architecture", "variant", "os"):
            if key in img.config:
                doc[key] = img.config[key]
    else:
        doc.update({"created": "1970-01-01T00:00:00Z", "container_config": _EMPTY_CONTAINER_CONFIG,
                    "os": img.config.get("os", "linux")})
    return canonical_json(doc)


def oci_manifest(config_digest: str, config_size: int, layers: list[tuple[str, int]]) -> bytes:
    return canonical_json({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": config_size},
        "layers": [{"mediaType": OCI_LAYER, "digest": d, "size": s} for d, s in layers],
    })


def index_entries(manifest_digest: str, manifest_size: int, tags: list[Reference]) -> list[dict[str, Any]]:
    base = {"mediaType": OCI_MANIFEST, "digest": manifest_digest, "size": manifest_size}
    if not tags:
        return [base]
    return [{**base, "annotations": {"io.containerd.image.name": str(t),
                                     "org.opencontainers.image.ref.name": t.tag or "latest"}} for t in tags]


def blob_name(digest: str) -> str:
    return "blobs/sha256/" + digest.split(":", 1)[1]


# --- writing ------------------------------------------------------------------
def write_archive(store: ImageStore, items: list[SaveItem], out: BinaryIO) -> None:
    """Write the archive for `items` to `out` (blocking; streams layer data)."""
    w = _TarOut(out)
    w.dir("blobs/", 0)
    w.dir("blobs/sha256/", 0)
    manifest_json: list[dict[str, Any]] = []
    index: list[dict[str, Any]] = []
    repositories: dict[str, dict[str, str]] = {}
    legacy: list[tuple[SaveItem, list[LayerOut], int]] = []
    ids = {item.image.id for item in items}
    for item in items:
        img = item.image
        mtime = int(parse_rfc3339(img.created))
        config = store.content.read_bytes(img.id)
        layers = _layers(store, img)
        w.file(blob_name(img.id), config, mtime)
        for layer in layers:
            if w.has(blob_name(layer.diff_id)):
                continue
            with layer.open() as src:
                w.stream(blob_name(layer.diff_id), src, layer.size, mtime)
        manifest = oci_manifest(img.id, len(config), [(l.diff_id, l.size) for l in layers])
        mdigest = "sha256:" + hashlib.sha256(manifest).hexdigest()
        w.file(blob_name(mdigest), manifest, 0)
        index.extend(index_entries(mdigest, len(manifest), item.tags))
        entry: dict[str, Any] = {"Config": blob_name(img.id),
                                 "RepoTags": [t.familiar() for t in item.tags] or None,
                                 "Layers": [blob_name(l.diff_id) for l in layers]}
        if img.parent and img.parent in ids:
            entry["Parent"] = img.parent
        manifest_json.append(entry)
        for t in item.tags:
            repositories.setdefault(t.familiar_name, {})[t.tag or "latest"] = layers[-1].v1_id
        legacy.append((item, layers, mtime))
    for item, layers, mtime in legacy:
        _write_legacy(w, item.image, layers, mtime)
    w.file("index.json", canonical_json({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": index}), 0)
    w.file("manifest.json", json.dumps(manifest_json, separators=(",", ":")).encode() + b"\n", 0)
    w.file("oci-layout", b'{"imageLayoutVersion":"1.0.0"}', 0)
    if repositories:
        w.file("repositories", json.dumps(repositories, separators=(",", ":")).encode() + b"\n", 0)
    w.close()


def _write_legacy(w: _TarOut, img: Image, layers: list[LayerOut], mtime: int) -> None:
    v1 = [l.v1_id for l in layers]
    for i, layer in enumerate(layers):
        d = v1[i]
        if w.has(d + "/"):
            continue
        w.dir(d + "/", mtime)
        w.file(d + "/VERSION", b"1.0", mtime)
        w.file(d + "/json", layer_json(img, v1, i), mtime)
        w.symlink(d + "/layer.tar", "../" + blob_name(layer.diff_id), mtime)
    hexid = img.id.split(":", 1)[1]
    if not w.has(hexid + ".json"):
        w.symlink(hexid + ".json", blob_name(img.id), mtime)


def _layers(store: ImageStore, img: Image) -> list[LayerOut]:
    diff_ids = img.diff_ids
    if not diff_ids:
        raise InvalidParameter(f"empty export - not implemented: {img.id} has no layers")
    v1 = v1_ids(img.id, diff_ids)
    chain = list(reversed(store.layers.chain(img.top_layer))) if img.top_layer else []
    manifest_layers: list[dict[str, Any]] = []
    if img.manifest:
        try:
            manifest_layers = json.loads(store.content.read_bytes(img.manifest)).get("layers") or []
        except (NotFound, ValueError):
            manifest_layers = []
    out = []
    for i, diff_id in enumerate(diff_ids):
        if store.content.exists(diff_id):
            out.append(LayerOut(diff_id, store.content.size(diff_id), v1[i],
                                lambda d=diff_id: store.content.open(d)))
            continue
        # Only a compressed blob is kept (a pulled image): decompress it on the fly; the
        # layer store knows the uncompressed size the tar header needs.
        if i >= len(manifest_layers) or i >= len(chain) or chain[i].diff_id != diff_id:
            raise SystemError_(f"layer {diff_id} of image {img.id} is missing from the content store")
        blob = manifest_layers[i]["digest"]
        out.append(LayerOut(diff_id, chain[i].size, v1[i],
                            lambda b=blob, d=diff_id, n=chain[i].size: _VerifyingReader(
                                open_decompressed(store.content.open(b)), d, n)))
    return out


class _VerifyingReader(io.RawIOBase):
    """Decompressed layer data that must hash to its diff ID once `size` bytes are read
    (tarfile reads exactly the size it wrote in the header, never up to EOF)."""

    def __init__(self, src: BinaryIO, diff_id: str, size: int) -> None:
        super().__init__()
        self._src, self._diff_id, self._left, self._h = src, diff_id, size, hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        data = self._src.read(min(len(buf), self._left))
        self._h.update(data)
        self._left -= len(data)
        if self._left == 0 and "sha256:" + self._h.hexdigest() != self._diff_id:
            raise SystemError_(f"layer {self._diff_id} does not match its content")
        buf[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._src.close()
        super().close()


class _TarOut:
    """A streaming tar writer that remembers names, so shared blobs are written once."""

    def __init__(self, out: BinaryIO) -> None:
        self.tf = tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT,
                               copybufsize=_COPY_BUFSIZE)
        self.names: set[str] = set()
        self.out = out

    def has(self, name: str) -> bool:
        return name in self.names

    def _info(self, name: str, kind: bytes, mode: int, mtime: int) -> tarfile.TarInfo:
        self.names.add(name)
        ti = tarfile.TarInfo(name)
        ti.type, ti.mode, ti.mtime = kind, mode, mtime
        ti.uname = ti.gname = ""
        return ti

    def dir(self, name: str, mtime: int) -> None:
        self.tf.addfile(self._info(name, tarfile.DIRTYPE, 0o755, mtime))

    def file(self, name: str, data: bytes, mtime: int) -> None:
        ti = self._info(name, tarfile.REGTYPE, 0o644, mtime)
        ti.size = len(data)
        self.tf.addfile(ti, io.BytesIO(data))

    def stream(self, name: str, src: BinaryIO, size: int, mtime: int) -> None:
        ti = self._info(name, tarfile.REGTYPE, 0o644, mtime)
        ti.size = size
        self.tf.addfile(ti, src)

    def symlink(self, name: str, target: str, mtime: int) -> None:
        ti = self._info(name, tarfile.SYMTYPE, 0o777, mtime)
        ti.linkname = target
        self.tf.addfile(ti)

    def close(self) -> None:
        self.tf.close()
        flush = getattr(self.out, "flush", None)
        if flush is not None:
            flush()
