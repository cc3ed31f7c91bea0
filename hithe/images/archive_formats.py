"""Reading what an image archive says: docker's manifest.json or an OCI layout's index.json.

Both end up as the same plan: per image, the exact config bytes (their digest
is the image ID), the archive member holding each layer with the diff ID the
config promises for it, and the tags to set.  Everything is checked here,
before anything is written: JSON shapes, digests of configs and of
uncompressed layers, references, that every named member exists.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from hithe.archive.compression import detect_compression
from hithe.errors import InvalidParameter
from hithe.images.archive_index import ArchiveIndex, Member, parse_json
from hithe.images.reference import Reference, parse_reference

MAX_IMAGES = 1000
MAX_LAYERS = 500          # overlayfs cannot stack more lower layers than this anyway
MAX_INDEX_DEPTH = 4
_DIGEST = re.compile(r"sha256:[a-f0-9]{64}")
INDEX_TYPES = ("application/vnd.oci.image.index.v1+json",
               "application/vnd.docker.distribution.manifest.list.v2+json")
MANIFEST_TYPES = ("application/vnd.oci.image.manifest.v1+json",
                  "application/vnd.docker.distribution.manifest.v2+json")
NAME_ANNOTATION = "io.containerd.image.name"
REF_ANNOTATION = "org.opencontainers.image.ref.name"


@dataclass
class LayerRef:
    path: str            # archive member with the layer (plain or compressed tar)
    diff_id: str         # what the uncompressed tar must hash to
    member: Member


@dataclass
class ImagePlan:
    config_raw: bytes
    config: dict[str, Any]
    layers: list[LayerRef]
    tags: list[Reference] = field(default_factory=list)
    parent: str = ""     # "Parent" from manifest.json, kept only if it checks out

    @property
    def id(self) -> str:
        return "sha256:" + hashlib.sha256(self.config_raw).hexdigest()


def read_plans(idx: ArchiveIndex) -> list[ImagePlan]:
    if idx.has("manifest.json"):
        return docker_archive_plans(idx)
    if idx.has("index.json"):
        return oci_layout_plans(idx)
    raise InvalidParameter("invalid archive: no manifest.json (docker save) or index.json (OCI layout) found")


# --- docker save format ----------------------------------------------------------
def docker_archive_plans(idx: ArchiveIndex) -> list[ImagePlan]:
    manifest, _, _ = idx.read_json("manifest.json")
    if not isinstance(manifest, list):
        raise InvalidParameter("invalid archive: manifest.json is not a list")
    if len(manifest) > MAX_IMAGES:
        raise InvalidParameter(f"invalid archive: more than {MAX_IMAGES} images")
    plans = []
    for entry in manifest:
        if not isinstance(entry, dict):
            raise InvalidParameter("invalid archive: manifest.json entry is not an object")
        config_path = _str(entry.get("Config"), "Config")
        layer_paths = entry.get("Layers") or []
        if not isinstance(layer_paths, list) or not all(isinstance(p, str) for p in layer_paths):
            raise InvalidParameter("invalid archive: Layers in manifest.json must be a list of paths")
        raw, _ = idx.read_bytes(config_path)
        config = _config(raw, config_path)
        diff_ids = config["rootfs"]["diff_ids"]
        if len(layer_paths) != len(diff_ids):
            raise InvalidParameter(f"invalid manifest, layers length mismatch: expected {len(layer_paths)}, "
                                   f"got {len(diff_ids)}")
        layers = [_layer(idx, p, d, d) for p, d in zip(layer_paths, diff_ids)]
        tags = [_tag(t) for t in entry.get("RepoTags") or [] if _str(t, "RepoTags")]
        parent = entry.get("Parent") or ""
        plans.append(ImagePlan(raw, config, layers, tags, parent if isinstance(parent, str) else ""))
    return plans


# --- OCI image layout -------------------------------------------------------------
def oci_layout_plans(idx: ArchiveIndex) -> list[ImagePlan]:
    index, _, _ = idx.read_json("index.json")
    plans: dict[str, ImagePlan] = {}
    for desc, tags in _walk_index(idx, index, [], 0):
        raw, _ = _blob(idx, desc, "manifest")
        manifest = parse_json(raw, "manifest " + desc["digest"])
        if not isinstance(manifest, dict):
            raise InvalidParameter("invalid archive: image manifest is not an object")
        cdesc = _descriptor(manifest.get("config"), "config")
        craw, _ = _blob(idx, cdesc, "config")
        config = _config(craw, "config " + cdesc["digest"])
        ldescs = manifest.get("layers") or []
        if not isinstance(ldescs, list):
            raise InvalidParameter("invalid archive: layers of the manifest must be a list")
        diff_ids = config["rootfs"]["diff_ids"]
        if len(ldescs) != len(diff_ids):
            raise InvalidParameter(f"invalid manifest, layers length mismatch: expected {len(ldescs)}, "
                                   f"got {len(diff_ids)}")
        layers = []
        for ld, diff_id in zip(ldescs, diff_ids):
            ld = _descriptor(ld, "layer")
            layers.append(_layer(idx, _blob_path(ld["digest"]), ld["digest"], diff_id))
        plan = plans.setdefault(cdesc["digest"], ImagePlan(craw, config, layers))
        plan.tags.extend(t for t in tags if t not in plan.tags)
    if len(plans) > MAX_IMAGES:
        raise InvalidParameter(f"invalid archive: more than {MAX_IMAGES} images")
    return list(plans.values())


def _walk_index(idx: ArchiveIndex, index: Any, tags: list[Reference], depth: int):  # type: ignore[no-untyped-def]
    """(manifest descriptor, tags) for every image manifest reachable from an index."""
    if depth > MAX_INDEX_DEPTH:
        raise InvalidParameter("invalid archive: image indexes nested too deeply")
    if not isinstance(index, dict) or not isinstance(index.get("manifests"), list):
        raise InvalidParameter("invalid archive: index.json has no manifests list")
    for desc in index["manifests"][:MAX_IMAGES]:
        desc = _descriptor(desc, "manifest")
        here = tags + [t for t in [_annotated_tag(desc)] if t is not None]
        mt = desc.get("mediaType", "")
        if mt in INDEX_TYPES:
            raw, _ = _blob(idx, desc, "index")
            yield from _walk_index(idx, parse_json(raw, "index " + desc["digest"]), here, depth + 1)
        elif mt in MANIFEST_TYPES or not mt:
            plat = desc.get("platform")
            if isinstance(plat, dict) and plat.get("os") not in (None, "linux"):
                continue  # another OS's image in a multi-platform index
            yield desc, here


def _annotated_tag(desc: dict[str, Any]) -> Reference | None:
    ann = desc.get("annotations")
    if not isinstance(ann, dict):
        return None
    name = ann.get(NAME_ANNOTATION)
    if isinstance(name, str) and name:
        return _tag(name)
    ref = ann.get(REF_ANNOTATION)
    # A bare tag ("latest") names no repository: such an image loads untagged, as in docker.
    if isinstance(ref, str) and ("/" in ref or ":" in ref):
        try:
            return _tag(ref)
        except InvalidParameter:
            return None
    return None


def _blob_path(digest: str) -> str:
    return "blobs/sha256/" + digest.split(":", 1)[1]


def _blob(idx: ArchiveIndex, desc: dict[str, Any], what: str) -> tuple[bytes, Member]:
    raw, m = idx.read_bytes(_blob_path(desc["digest"]))
    if m.sha256 != desc["digest"]:
        raise InvalidParameter(f"invalid archive: {what} blob {desc['digest']} has digest {m.sha256}")
    return raw, m


def _descriptor(desc: Any, what: str) -> dict[str, Any]:
    if not isinstance(desc, dict) or not isinstance(desc.get("digest"), str):
        raise InvalidParameter(f"invalid archive: bad {what} descriptor")
    if not _DIGEST.fullmatch(desc["digest"]):
        raise InvalidParameter(f"invalid archive: unsupported digest {desc['digest']!r}")
    return desc


# --- shared checks ----------------------------------------------------------------
def _config(raw: bytes, what: str) -> dict[str, Any]:
    config = parse_json(raw, what)
    if not isinstance(config, dict):
        raise InvalidParameter(f"invalid archive: {what} is not an image config")
    rootfs = config.get("rootfs")
    if not isinstance(rootfs, dict) or rootfs.get("type") != "layers":
        raise InvalidParameter(f"invalid archive: {what} has no rootfs of type layers")
    diff_ids = rootfs.get("diff_ids") or []
    if not isinstance(diff_ids, list) or not all(isinstance(d, str) and _DIGEST.fullmatch(d) for d in diff_ids):
        raise InvalidParameter(f"invalid archive: {what} has malformed diff_ids")
    if not diff_ids:
        raise InvalidParameter("invalid archive: an image without layers cannot be loaded")
    if len(diff_ids) > MAX_LAYERS:
        raise InvalidParameter(f"invalid archive: more than {MAX_LAYERS} layers")
    os_ = config.get("os") or "linux"
    if os_ != "linux":
        raise InvalidParameter(f"cannot load {os_} image on linux")
    rootfs["diff_ids"] = diff_ids
    return config


def _layer(idx: ArchiveIndex, path: str, blob_digest: str, diff_id: str) -> LayerRef:
    m = idx.resolve(path)
    if m.sha256 != blob_digest:
        # A compressed layer hashes differently from its diff ID; its content is checked
        # when it is decompressed into the store.  Anything else is corrupt or forged.
        with idx.open(path) as f:
            head = f.read(8)
        if blob_digest != diff_id or detect_compression(head) == "none":
            raise InvalidParameter(f"invalid archive: layer {path} has digest {m.sha256}, expected {blob_digest}")
    return LayerRef(path, diff_id, m)


def _str(v: Any, what: str) -> str:
    if not isinstance(v, str) or not v:
        raise InvalidParameter(f"invalid archive: {what} in manifest.json must be a non-empty string")
    return v


def _tag(name: str) -> Reference:
    ref = parse_reference(name)
    if ref.digest or ref.tag is None:
        raise InvalidParameter(f"invalid archive: {name!r} is not a tagged reference")
    return ref
