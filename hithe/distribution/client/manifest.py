"""Manifests and indexes, Docker v2 schema 2 and OCI, checked before use.

Everything here is pure: bytes in, records out.  A manifest from a registry
is hostile input: its size is capped, every descriptor's digest and size is
validated, and schema 1 is refused with Docker's deprecation error.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from hithe.distribution.client.errors import VerificationError
from hithe.errors import InvalidParameter, NotFound

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
DOCKER_FOREIGN_LAYER = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
SCHEMA1 = ("application/vnd.docker.distribution.manifest.v1+json",
           "application/vnd.docker.distribution.manifest.v1+prettyjws")

ACCEPT = ", ".join([OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST])
IMAGE_MANIFESTS = (DOCKER_MANIFEST, OCI_MANIFEST)
INDEXES = (DOCKER_LIST, OCI_INDEX)
LAYER_TYPES = (DOCKER_LAYER_GZIP, OCI_LAYER, OCI_LAYER_GZIP, OCI_LAYER_ZSTD,
               "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", DOCKER_FOREIGN_LAYER)

MAX_MANIFEST_BYTES = 4 << 20     # distribution's own limit on manifests
MAX_CONFIG_BYTES = 8 << 20
MAX_LAYERS = 127                 # docker's limit on layers per image (overlay lowerdirs)
MAX_INDEX_ENTRIES = 1000
_DIGEST_RE = re.compile(r"sha256:[a-f0-9]{64}")

SCHEMA1_ERROR = ("[DEPRECATION NOTICE] Docker Image Format v1 and Docker Image manifest version 2, schema 1 "
                 "support has been removed. Suggest the author of {ref} to upgrade the image to the OCI Format "
                 "or Docker Image manifest v2, schema 2. More information at "
                 "https://docs.docker.com/go/deprecated-image-specs/")


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    platform: dict[str, Any] = field(default_factory=dict)
    urls: tuple[str, ...] = ()


@dataclass
class ImageManifest:
    media_type: str
    config: Descriptor
    layers: list[Descriptor]


@dataclass
class Index:
    media_type: str
    manifests: list[Descriptor]


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def verify_digest(data: bytes, expected: str) -> None:
    got = sha256(data)
    if got != expected:
        raise VerificationError(f"digest mismatch: expected {expected}, got {got}")


def _descriptor(d: Any, what: str) -> Descriptor:
    if not isinstance(d, dict):
        raise VerificationError(f"invalid {what} descriptor")
    digest, size = d.get("digest"), d.get("size")
    if not isinstance(digest, str) or not _DIGEST_RE.fullmatch(digest):
        raise VerificationError(f"invalid {what} descriptor: unsupported digest {str(digest)[:80]!r}")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise VerificationError(f"invalid {what} descriptor: invalid size {str(size)[:40]!r}")
    platform = d.get("platform") if isinstance(d.get("platform"), dict) else {}
    urls = tuple(u for u in d.get("urls") or [] if isinstance(u, str)) if isinstance(d.get("urls"), list) else ()
    return Descriptor(str(d.get("mediaType") or ""), digest, size, platform, urls)


def parse(raw: bytes, content_type: str, ref_for_errors: str) -> ImageManifest | Index:
    """A manifest or index from the registry's bytes and Content-Type."""
    if len(raw) > MAX_MANIFEST_BYTES:
        raise VerificationError(f"manifest too large: {len(raw)} bytes (limit {MAX_MANIFEST_BYTES})")
    ctype = content_type.split(";", 1)[0].strip().lower()
    try:
        doc = json.loads(raw)
    except ValueError:
        raise VerificationError(f"invalid manifest for {ref_for_errors}: not JSON") from None
    if not isinstance(doc, dict):
        raise VerificationError(f"invalid manifest for {ref_for_errors}: not a JSON object")
    mt = doc.get("mediaType") if isinstance(doc.get("mediaType"), str) else ""
    if ctype in SCHEMA1 or mt in SCHEMA1 or doc.get("schemaVersion") == 1:
        raise InvalidParameter(SCHEMA1_ERROR.format(ref=ref_for_errors))
    # The body's own mediaType wins over a generic Content-Type; OCI documents may omit it.
    kind = mt or (ctype if ctype in IMAGE_MANIFESTS + INDEXES else "")
    if not kind:
        kind = OCI_INDEX if "manifests" in doc else OCI_MANIFEST if "config" in doc else ""
    if kind in INDEXES:
        entries = doc.get("manifests")
        if not isinstance(entries, list) or len(entries) > MAX_INDEX_ENTRIES:
            raise VerificationError(f"invalid manifest list for {ref_for_errors}")
        return Index(kind, [_descriptor(e, "manifest") for e in entries])
    if kind in IMAGE_MANIFESTS:
        layers = doc.get("layers")
        if not isinstance(layers, list):
            raise VerificationError(f"invalid manifest for {ref_for_errors}: no layers")
        if len(layers) > MAX_LAYERS:
            raise VerificationError(f"too many layers in {ref_for_errors}: {len(layers)} (limit {MAX_LAYERS})")
        config = _descriptor(doc.get("config"), "config")
        if config.size > MAX_CONFIG_BYTES:
            raise VerificationError(f"image config too large: {config.size} bytes")
        descs = [_descriptor(l, "layer") for l in layers]
        for d in descs:
            if d.media_type and d.media_type not in LAYER_TYPES:
                raise InvalidParameter(f"unsupported layer media type {d.media_type[:100]}")
        return ImageManifest(kind, config, descs)
    raise InvalidParameter(f"unsupported manifest media type {(mt or ctype)[:100]!r} for {ref_for_errors}")


def select_platform(index: Index, os_: str, arch: str, variant: str = "") -> Descriptor:
    """The entry docker would run here: linux/<arch>[/variant], best variant first.

    Like containerd's default matcher, an arm64 host also accepts v8 or no
    variant, an arm host its own variant or lower."""
    best: tuple[int, Descriptor] | None = None
    for d in index.manifests:
        p = d.platform
        if d.media_type and d.media_type not in IMAGE_MANIFESTS:
            continue  # attestations, nested indexes
        if p.get("os") != os_ or _norm_arch(str(p.get("architecture", ""))) != arch:
            continue
        score = _variant_score(arch, variant, str(p.get("variant") or ""))
        if score is None:
            continue
        if best is None or score > best[0]:
            best = (score, d)
    if best is None:
        want = f"{os_}/{arch}" + (f"/{variant}" if variant else "")
        raise NotFound(f"no matching manifest for {want} in the manifest list entries")
    return best[1]


def _norm_arch(a: str) -> str:
    return {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64", "armhf": "arm", "armel": "arm"}.get(a, a)


def _variant_score(arch: str, want: str, have: str) -> int | None:
    if arch == "arm64":
        want = want or "v8"
        return 2 if have == want else 1 if have == "" else None
    if arch == "arm":
        if not have:
            return 1
        if not want:
            want = "v7"
        try:
            h, w = int(have.lstrip("v")), int(want.lstrip("v"))
        except ValueError:
            return None
        return 10 + h if h <= w else None
    if arch == "amd64":
        # amd64 variants (v2, v3) are ignored by docker's default matcher unless asked
        return 2 if have in ("", "v1") or have == want else None
    return 2 if have == want else 1 if not have else None


def parse_platform(text: str) -> tuple[str, str, str]:
    """``--platform linux/arm64/v8`` → (os, arch, variant)."""
    parts = text.lower().split("/")
    if not text or len(parts) > 3 or not all(parts):
        raise InvalidParameter(f'"{text}": unknown operating system or architecture: invalid argument')
    os_ = parts[0]
    arch = _norm_arch(parts[1]) if len(parts) > 1 else ""
    return os_, arch, parts[2] if len(parts) > 2 else ""


def config_diff_ids(raw: bytes) -> tuple[dict[str, Any], list[str]]:
    """The image config and its layer diff IDs, checked enough to unpack with."""
    try:
        cfg = json.loads(raw)
        diff_ids = cfg["rootfs"]["diff_ids"]
    except (ValueError, KeyError, TypeError):
        raise VerificationError("invalid image config: no rootfs.diff_ids") from None
    if not isinstance(cfg, dict) or not isinstance(diff_ids, list) or \
            not all(isinstance(d, str) and _DIGEST_RE.fullmatch(d) for d in diff_ids):
        raise VerificationError("invalid image config: bad rootfs.diff_ids")
    return cfg, diff_ids
