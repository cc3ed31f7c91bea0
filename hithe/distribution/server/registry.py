"""The registry service: what each API operation does to storage, independent of HTTP.

Blocking calls (fsync, hashing, directory walks): the HTTP layer runs the
slow ones (finishing an upload, putting a manifest, the catalog) in worker
threads, and serialises work on one upload session.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

from hithe.distribution.server.blobs import BlobStore
from hithe.distribution.server.errors import RegistryError
from hithe.distribution.server.manifests import (DOCKER_LIST, MAX_MANIFEST, OCI_INDEX, OCI_MANIFEST,
                                                 accepted_types, parse_manifest)
from hithe.distribution.server.names import Digest, check_tag, looks_like_digest, parse_digest
from hithe.distribution.server.repos import Repositories
from hithe.distribution.server.uploads import Uploads, UploadWriter

CATALOG_DEFAULT = 100
CATALOG_MAX = 1000
UPLOAD_MAX_AGE = 7 * 24 * 3600  # docker/distribution's default for abandoned uploads
# Without manifest-list support a client gets this platform's image, as from docker/distribution.
DEFAULT_PLATFORM = ("linux", "amd64")


@dataclass(frozen=True)
class Manifest:
    digest: Digest
    media_type: str
    body: bytes


@dataclass(frozen=True)
class Page:
    items: list[str]
    next_last: str | None  # where the next page starts, when there is one


class Registry:
    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)
        os.makedirs(self.root, exist_ok=True)
        self.blobs = BlobStore(self.root)
        self.repos = Repositories(self.root)
        self.uploads = Uploads(self.repos, self.blobs)
        self._tmp = os.path.join(self.root, "tmp")
        os.makedirs(self._tmp, exist_ok=True)

    def startup(self) -> int:
        """Clean what a crash or gone clients left: temp files and abandoned uploads."""
        for entry in os.listdir(self._tmp):
            try:
                os.unlink(os.path.join(self._tmp, entry))
            except (IsADirectoryError, FileNotFoundError, PermissionError):
                pass
        return self.uploads.purge(UPLOAD_MAX_AGE)

    # --- blobs --------------------------------------------------------------

    def blob(self, name: str, digest: Digest) -> tuple[str, int]:
        """Path and size of a blob this repository holds (BLOB_UNKNOWN otherwise)."""
        if self.repos.has_blob(name, digest):
            size = self.blobs.size(digest)
            if size is not None:
                return self.blobs.path(digest), size
        raise RegistryError("BLOB_UNKNOWN", detail=str(digest))

    def delete_blob(self, name: str, digest: Digest) -> None:
        # Only the repository's link goes: other repositories may share the
        # content, and the bytes are reclaimed by garbage collection.
        if not self.repos.unlink_blob(name, digest):
            raise RegistryError("BLOB_UNKNOWN", detail=str(digest))

    def mount(self, name: str, digest: Digest, source: str) -> int | None:
        """Link a blob from another repository without upload; its size, or None if it is not there."""
        if not self.repos.has_blob(source, digest):
            return None
        size = self.blobs.size(digest)
        if size is None:
            return None
        self.repos.link_blob(name, digest)
        return size

    # --- uploads ------------------------------------------------------------

    def start_upload(self, name: str) -> str:
        return self.uploads.start(name)

    def upload_size(self, name: str, uid: str) -> int:
        return self.uploads.size(name, uid)

    def upload_writer(self, name: str, uid: str) -> UploadWriter:
        return self.uploads.writer(name, uid)

    def finish_upload(self, name: str, uid: str, digest: Digest) -> int:
        return self.uploads.finish(name, uid, digest)

    def cancel_upload(self, name: str, uid: str) -> None:
        self.uploads.cancel(name, uid)

    # --- manifests ----------------------------------------------------------

    def put_manifest(self, name: str, ref: str, body: bytes, content_type: str | None) -> Digest:
        if len(body) > MAX_MANIFEST:
            raise RegistryError("SIZE_INVALID", f"manifest is larger than {MAX_MANIFEST} bytes", status=413)
        if looks_like_digest(ref):
            digest = parse_digest(ref)
            got = hashlib.new(digest.algorithm, body).hexdigest()
            if got != digest.hex:
                raise RegistryError("DIGEST_INVALID", detail={"digest": ref, "got": f"{digest.algorithm}:{got}"})
            tag = None
        else:
            tag = check_tag(ref)
            digest = Digest("sha256", hashlib.sha256(body).hexdigest())
        parsed = parse_manifest(body, content_type)
        for d in parsed.blobs:
            if not self.repos.has_blob(name, d) or self.blobs.size(d) is None:
                raise RegistryError("MANIFEST_BLOB_UNKNOWN", detail=str(d))
        for d in parsed.manifests:
            if self.repos.manifest_type(name, d) is None or self.blobs.size(d) is None:
                raise RegistryError("MANIFEST_BLOB_UNKNOWN", "manifest unknown to registry", detail=str(d))
        # Bytes first, then the revision, then the tag: each step is atomic,
        # and none points to something that is not on disk yet.
        self.blobs.put_bytes(body, digest, self._tmp)
        self.repos.link_manifest(name, digest, parsed.media_type)
        if tag is not None:
            self.repos.tag(name, tag, digest)
        return digest

    def _load(self, name: str, digest: Digest) -> Manifest:
        media_type = self.repos.manifest_type(name, digest)
        body = self.blobs.read(digest, MAX_MANIFEST) if media_type is not None else None
        if media_type is None or body is None:
            raise RegistryError("MANIFEST_UNKNOWN", detail={"digest": str(digest)})
        return Manifest(digest, media_type, body)

    def _resolve(self, name: str, ref: str) -> tuple[Digest, str | None]:
        if looks_like_digest(ref):
            return parse_digest(ref), None
        tag = check_tag(ref)
        digest = self.repos.resolve(name, tag)
        if digest is None:
            raise RegistryError("MANIFEST_UNKNOWN", detail={"tag": tag})
        return digest, tag

    def get_manifest(self, name: str, ref: str, accept: str | None = None) -> Manifest:
        digest, tag = self._resolve(name, ref)
        m = self._load(name, digest)
        accepted = accepted_types(accept)
        # Only clients that list manifest types are held to them; "*/*" or no
        # Accept at all gets what is stored.
        if not any(t.startswith("application/vnd.") for t in accepted) or "*/*" in accepted \
                or m.media_type in accepted:
            return m
        if m.media_type in (OCI_MANIFEST, OCI_INDEX):
            raise RegistryError("MANIFEST_UNKNOWN", "OCI manifest found, but accept header does not support "
                                "OCI manifests", detail={"mediaType": m.media_type})
        if m.media_type == DOCKER_LIST and tag is not None:
            return self._platform_manifest(name, m)
        return m

    def _platform_manifest(self, name: str, index: Manifest) -> Manifest:
        for d, platform in parse_manifest(index.body, index.media_type).platforms:
            if (platform.get("os"), platform.get("architecture")) == DEFAULT_PLATFORM:
                return self._load(name, d)
        raise RegistryError("MANIFEST_UNKNOWN", "no manifest for the default platform in the list",
                            detail={"platform": "/".join(DEFAULT_PLATFORM)})

    def delete_manifest(self, name: str, ref: str) -> None:
        if not looks_like_digest(ref):
            if not self.repos.untag(name, check_tag(ref)):
                raise RegistryError("MANIFEST_UNKNOWN", detail={"tag": ref})
            return
        digest = parse_digest(ref)
        if self.repos.manifest_type(name, digest) is None:
            raise RegistryError("MANIFEST_UNKNOWN", detail={"digest": ref})
        # Tags must not outlive what they point to (docker/distribution does the same).
        for tag in self.repos.tags_of(name, digest):
            self.repos.untag(name, tag)
        self.repos.unlink_manifest(name, digest)

    # --- listings -----------------------------------------------------------

    def tags(self, name: str, n: int | None, last: str | None) -> Page:
        if not self.repos.exists(name):
            raise RegistryError("NAME_UNKNOWN", detail={"name": name})
        return paginate(self.repos.tags(name), n, last)

    def catalog(self, n: int | None, last: str | None) -> Page:
        n = CATALOG_DEFAULT if n is None else min(n, CATALOG_MAX)
        return paginate(list(self.repos.names()), n, last)


def paginate(items: list[str], n: int | None, last: str | None) -> Page:
    """Sorted ``items`` after ``last``, at most ``n`` of them (all when ``n`` is None)."""
    if last:
        items = [i for i in items if i > last]
    if n is None or len(items) <= n:
        return Page(items, None)
    page = items[:n]
    return Page(page, page[-1] if page else None)
