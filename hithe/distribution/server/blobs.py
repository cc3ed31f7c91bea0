"""The registry's blob store: content by digest, shared by all repositories.

Layout: ``ROOT/blobs/<algorithm>/<hex>``.  A blob appears under its name only
by ``rename(2)`` of a complete, fsynced, verified file (see uploads.py), so a
crash never leaves a partial blob behind a valid name.  Which repositories may
see a blob is recorded separately (repos.py): the store itself is not
reachable from the API without a repository link.
"""
from __future__ import annotations

import os

from hithe.distribution.server.files import fsync_dir, unlink_quiet, write_temp
from hithe.distribution.server.names import ALGORITHMS, Digest


class BlobStore:
    def __init__(self, root: str) -> None:
        self.root = os.path.join(root, "blobs")
        for alg in ALGORITHMS:
            os.makedirs(os.path.join(self.root, alg), exist_ok=True)

    def path(self, digest: Digest) -> str:
        return os.path.join(self.root, digest.algorithm, digest.hex)

    def size(self, digest: Digest) -> int | None:
        """Size of a committed blob, None when absent."""
        try:
            st = os.stat(self.path(digest), follow_symlinks=False)
        except FileNotFoundError:
            return None
        return st.st_size

    def read(self, digest: Digest, limit: int) -> bytes | None:
        """A small blob (a manifest) whole; None when absent or larger than ``limit``."""
        try:
            with open(self.path(digest), "rb") as f:
                data = f.read(limit + 1)
        except FileNotFoundError:
            return None
        return data if len(data) <= limit else None

    def adopt(self, tmp_path: str, digest: Digest) -> None:
        """Publish a verified, fsynced file as ``digest`` (same filesystem, atomic).

        If the blob exists already (another upload of the same content), the
        temp file is dropped: same digest, same bytes."""
        target = self.path(digest)
        if os.path.exists(target):
            unlink_quiet(tmp_path)
            return
        os.chmod(tmp_path, 0o444)  # blobs are immutable: make edits fail loudly
        os.rename(tmp_path, target)
        fsync_dir(os.path.dirname(target))

    def put_bytes(self, data: bytes, digest: Digest, tmp_dir: str) -> None:
        """Store a small verified blob (a manifest) through a temp file in ``tmp_dir``."""
        if os.path.exists(self.path(digest)):
            return
        tmp = write_temp(tmp_dir, ".blob-", data)
        try:
            self.adopt(tmp, digest)
        except BaseException:
            unlink_quiet(tmp)
            raise
