"""Repositories: which blobs and manifests each one holds, and its tags.

Layout under ``ROOT/repositories/<name>/`` (``<name>`` may have several
components; the grammar keeps them from starting with ``_`` or a dot, so our
own directories cannot collide with a name, nor a name escape the root)::

    _layers/<alg>/<hex>               empty marker: the blob is part of this repository
    _manifests/revisions/<alg>/<hex>  the manifest's media type
    _manifests/tags/<tag>             the digest the tag points to
    _uploads/<uuid>/                  uploads in progress (uploads.py)

Markers are created with O_EXCL (atomic), tags replaced by rename (atomic).
"""
from __future__ import annotations

import os
from typing import Iterator

from hithe.distribution.server.errors import RegistryError
from hithe.distribution.server.files import fsync_dir, read_small, unlink_quiet, write_atomic
from hithe.distribution.server.names import Digest, is_tag, parse_digest


class Repositories:
    def __init__(self, root: str) -> None:
        self.root = os.path.join(root, "repositories")
        os.makedirs(self.root, exist_ok=True)

    def dir(self, name: str) -> str:
        return os.path.join(self.root, *name.split("/"))

    def exists(self, name: str) -> bool:
        return os.path.isdir(os.path.join(self.dir(name), "_manifests")) or \
            os.path.isdir(os.path.join(self.dir(name), "_layers"))

    # --- blobs (layers and configs) -----------------------------------------

    def _layer(self, name: str, d: Digest) -> str:
        return os.path.join(self.dir(name), "_layers", d.algorithm, d.hex)

    def has_blob(self, name: str, d: Digest) -> bool:
        return os.path.isfile(self._layer(name, d))

    def link_blob(self, name: str, d: Digest) -> None:
        path = self._layer(name, d)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644))
        except FileExistsError:
            return
        fsync_dir(os.path.dirname(path))

    def unlink_blob(self, name: str, d: Digest) -> bool:
        return unlink_quiet(self._layer(name, d))

    # --- manifests ----------------------------------------------------------

    def _revision(self, name: str, d: Digest) -> str:
        return os.path.join(self.dir(name), "_manifests", "revisions", d.algorithm, d.hex)

    def manifest_type(self, name: str, d: Digest) -> str | None:
        """The media type of a manifest in this repository, None when it holds no such manifest."""
        data = read_small(self._revision(name, d))
        return None if data is None else data.decode("utf-8", "replace")

    def link_manifest(self, name: str, d: Digest, media_type: str) -> None:
        write_atomic(self._revision(name, d), media_type.encode())

    def unlink_manifest(self, name: str, d: Digest) -> bool:
        return unlink_quiet(self._revision(name, d))

    # --- tags ---------------------------------------------------------------

    def _tags_dir(self, name: str) -> str:
        return os.path.join(self.dir(name), "_manifests", "tags")

    def tag(self, name: str, tag: str, d: Digest) -> None:
        write_atomic(os.path.join(self._tags_dir(name), tag), str(d).encode())

    def resolve(self, name: str, tag: str) -> Digest | None:
        data = read_small(os.path.join(self._tags_dir(name), tag))
        if data is None:
            return None
        try:
            return parse_digest(data.decode("ascii", "replace").strip())
        except RegistryError:
            return None  # a damaged tag file: as if the tag did not exist

    def untag(self, name: str, tag: str) -> bool:
        return unlink_quiet(os.path.join(self._tags_dir(name), tag))

    def tags(self, name: str) -> list[str]:
        try:
            entries = os.listdir(self._tags_dir(name))
        except (FileNotFoundError, NotADirectoryError):
            return []
        return sorted(t for t in entries if is_tag(t))

    def tags_of(self, name: str, d: Digest) -> list[str]:
        return [t for t in self.tags(name) if self.resolve(name, t) == d]

    # --- catalog ------------------------------------------------------------

    def names(self) -> Iterator[str]:
        """Every repository name, in lexical order of the full name."""
        found: list[str] = []

        def walk(path: str, prefix: str) -> None:
            try:
                with os.scandir(path) as it:
                    entries = sorted((e for e in it if e.is_dir(follow_symlinks=False)), key=lambda e: e.name)
            except FileNotFoundError:
                return
            names = {e.name for e in entries}
            if "_manifests" in names:
                found.append(prefix)
            for e in entries:
                if not e.name.startswith("_") and not e.name.startswith("."):
                    walk(e.path, f"{prefix}/{e.name}" if prefix else e.name)

        walk(self.root, "")
        return iter(sorted(found))
