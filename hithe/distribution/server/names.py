"""The spec's grammar for what arrives in URLs: repository names, tags, digests, upload ids.

Everything here is checked before it comes near a path.  The grammar itself
makes traversal impossible: a name component starts and ends with [a-z0-9]
(so never ``.``, ``..`` or a ``_``-prefixed directory of our own), a tag
starts with [A-Za-z0-9_] and has no ``/``, a digest is an algorithm we know
with lowercase hex of the exact length, an upload id is a canonical UUID.
Patterns use ``fullmatch``: ``$`` would also match before a trailing newline.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from hithe.distribution.server.errors import RegistryError

NAME_MAX = 255
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_NAME_RE = re.compile(_COMPONENT + r"(?:/" + _COMPONENT + r")*")
_TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DIGEST_SHAPE_RE = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+")
_UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Algorithms the registry verifies, with their hex lengths (go-digest's set).
ALGORITHMS = {"sha256": 64, "sha384": 96, "sha512": 128}


@dataclass(frozen=True)
class Digest:
    algorithm: str
    hex: str

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"

    def hasher(self) -> "hashlib._Hash":
        return hashlib.new(self.algorithm)


def check_name(name: str) -> str:
    if len(name) > NAME_MAX or not _NAME_RE.fullmatch(name):
        raise RegistryError("NAME_INVALID", detail={"name": name[:300]})
    return name


def is_tag(ref: str) -> bool:
    return bool(_TAG_RE.fullmatch(ref))


def check_tag(tag: str) -> str:
    if not is_tag(tag):
        raise RegistryError("TAG_INVALID", "invalid tag", detail={"tag": tag[:300]})
    return tag


def parse_digest(text: str) -> Digest:
    """A digest the registry can verify; DIGEST_INVALID for anything else."""
    if not _DIGEST_SHAPE_RE.fullmatch(text):
        raise RegistryError("DIGEST_INVALID", "invalid digest format", detail={"digest": text[:300]})
    alg, _, hex_ = text.partition(":")
    want = ALGORITHMS.get(alg)
    if want is None:
        raise RegistryError("DIGEST_INVALID", "unsupported digest algorithm", detail={"digest": text[:300]})
    if len(hex_) != want or not re.fullmatch(r"[a-f0-9]+", hex_):
        raise RegistryError("DIGEST_INVALID", "invalid checksum digest format", detail={"digest": text[:300]})
    return Digest(alg, hex_)


def looks_like_digest(ref: str) -> bool:
    """A manifest reference is a digest when it has a colon (tags cannot)."""
    return ":" in ref


def check_upload_id(uid: str) -> str:
    if not _UUID_RE.fullmatch(uid):
        raise RegistryError("BLOB_UPLOAD_UNKNOWN", detail={"uuid": uid[:100]})
    return uid
