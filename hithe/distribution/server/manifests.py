"""Manifests the registry accepts, and what they reference.

Docker v2 schema 2 manifests and manifest lists, OCI image manifests and
indexes.  The registry stores the exact bytes it was given (their digest is
the manifest's identity, so it never re-serialises); parsing only serves to
find the media type and the descriptors that must already be in the
repository.  Schema 1 (signed, long deprecated) is refused.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from hithe.distribution.server.errors import RegistryError
from hithe.distribution.server.names import Digest, parse_digest

MAX_MANIFEST = 4 << 20  # what docker/distribution accepts; the spec asks for at least 4 MiB

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
IMAGE_TYPES = {DOCKER_MANIFEST, OCI_MANIFEST}
INDEX_TYPES = {DOCKER_LIST, OCI_INDEX}
MANIFEST_TYPES = IMAGE_TYPES | INDEX_TYPES
SCHEMA1_TYPES = {"application/vnd.docker.distribution.manifest.v1+json",
                 "application/vnd.docker.distribution.manifest.v1+prettyjws"}


@dataclass
class ParsedManifest:
    media_type: str
    blobs: list[Digest] = field(default_factory=list)      # config and layers: must be in the repository
    manifests: list[Digest] = field(default_factory=list)  # an index's children: likewise
    platforms: list[tuple[Digest, dict[str, Any]]] = field(default_factory=list)


def _invalid(message: str) -> RegistryError:
    return RegistryError("MANIFEST_INVALID", detail=message)


def _descriptor(d: Any, where: str) -> tuple[Digest, dict[str, Any]]:
    if not isinstance(d, dict):
        raise _invalid(f"{where}: descriptor must be an object")
    digest = d.get("digest")
    size = d.get("size")
    if not isinstance(digest, str):
        raise _invalid(f"{where}: descriptor has no digest")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise _invalid(f"{where}: descriptor size must be a non-negative integer")
    if "mediaType" in d and not isinstance(d["mediaType"], str):
        raise _invalid(f"{where}: mediaType must be a string")
    try:
        return parse_digest(digest), d
    except RegistryError:
        raise _invalid(f"{where}: invalid digest {digest[:200]!r}") from None


def _base_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def parse_manifest(body: bytes, content_type: str | None) -> ParsedManifest:
    """Check a pushed manifest's shape and say what it references (MANIFEST_INVALID otherwise)."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as e:
        raise _invalid(f"invalid JSON: {e}") from None
    if not isinstance(doc, dict):
        raise _invalid("manifest must be a JSON object")
    ctype = _base_type(content_type)
    declared = doc.get("mediaType")
    if declared is not None and not isinstance(declared, str):
        raise _invalid("mediaType must be a string")
    if declared in SCHEMA1_TYPES or ctype in SCHEMA1_TYPES or doc.get("schemaVersion") == 1:
        raise _invalid("schema 1 manifests are not supported")
    if declared:
        if declared not in MANIFEST_TYPES:
            raise _invalid(f"unsupported manifest media type {declared[:200]!r}")
        if ctype in MANIFEST_TYPES and ctype != declared:
            raise _invalid(f"mediaType in manifest should be '{ctype}' not '{declared}'")
        media_type = declared
    elif ctype in MANIFEST_TYPES and ctype not in (DOCKER_MANIFEST, DOCKER_LIST):
        media_type = ctype  # OCI allows leaving mediaType out; Docker's formats require it
    elif "manifests" in doc:
        media_type = OCI_INDEX
    elif "config" in doc:
        media_type = OCI_MANIFEST
    else:
        raise _invalid("unknown manifest format")
    if doc.get("schemaVersion") != 2:
        raise _invalid("schemaVersion must be 2")
    out = ParsedManifest(media_type)
    if media_type in IMAGE_TYPES:
        if "config" not in doc:
            raise _invalid("image manifest has no config")
        config, _ = _descriptor(doc["config"], "config")
        out.blobs.append(config)
        layers = doc.get("layers", [])
        if not isinstance(layers, list):
            raise _invalid("layers must be an array")
        for i, layer in enumerate(layers):
            d, raw = _descriptor(layer, f"layers[{i}]")
            # Foreign layers (Windows base images, non-distributable) live
            # elsewhere, at their URLs: the registry does not hold them.
            if not raw.get("urls"):
                out.blobs.append(d)
    else:
        children = doc.get("manifests")
        if not isinstance(children, list):
            raise _invalid("index must have a manifests array")
        for i, child in enumerate(children):
            d, raw = _descriptor(child, f"manifests[{i}]")
            out.manifests.append(d)
            platform = raw.get("platform")
            out.platforms.append((d, platform if isinstance(platform, dict) else {}))
    if "subject" in doc:
        _descriptor(doc["subject"], "subject")  # OCI 1.1: may name a manifest not pushed yet
    return out


def accepted_types(accept: str | None) -> set[str]:
    """Media types named in (possibly several, comma-joined) Accept headers."""
    return {_base_type(part) for part in (accept or "").split(",") if part.strip()}
