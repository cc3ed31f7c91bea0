"""Blob upload sessions: chunks appended to a file on disk, verified and renamed into the blob store.

Each session is ``ROOT/repositories/<name>/_uploads/<uuid>/data``.  Bytes go
to disk as they arrive (nothing is held in memory but the running hash), and
the hash is kept per session so that finishing a large upload does not read
it back.  When the hash is not at hand (a restart in between, a write that
failed half-way, another algorithm) the file is hashed again from disk: the
digest a client claims is always checked against the bytes we hold.
Sessions live on the same filesystem as the blob store, so finishing is an
fsync and a rename: a crash at any point leaves either the session or the
blob, never a partial blob under a valid name.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import time
import uuid as uuidlib
from dataclasses import dataclass, field

from hithe.distribution.server.blobs import BlobStore
from hithe.distribution.server.errors import RegistryError
from hithe.distribution.server.names import Digest, check_upload_id
from hithe.distribution.server.repos import Repositories

_READ = 1 << 20


@dataclass
class _Hash:
    """The running sha256 of a session's file, valid while ``offset`` equals the file size."""
    offset: int = 0
    hasher: "hashlib._Hash" = field(default_factory=hashlib.sha256)


class UploadWriter:
    """Appends one request's bytes to a session; use as a context manager."""

    def __init__(self, path: str, state: _Hash | None) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC)
        self.offset = os.fstat(self._fd).st_size
        self.state = state if state is not None and state.offset == self.offset else None

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        try:
            while view:
                n = os.write(self._fd, view)
                if self.state is not None:
                    self.state.hasher.update(view[:n])
                    self.state.offset += n
                view = view[n:]
        finally:
            self.offset = os.fstat(self._fd).st_size

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> "UploadWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Uploads:
    def __init__(self, repos: Repositories, blobs: BlobStore) -> None:
        self.repos = repos
        self.blobs = blobs
        self._hashes: dict[str, _Hash] = {}

    def _dir(self, name: str, uid: str) -> str:
        return os.path.join(self.repos.dir(name), "_uploads", check_upload_id(uid))

    def _data(self, name: str, uid: str) -> str:
        path = os.path.join(self._dir(name, uid), "data")
        if not os.path.isfile(path):
            raise RegistryError("BLOB_UPLOAD_UNKNOWN", detail={"uuid": uid})
        return path

    def start(self, name: str) -> str:
        uid = str(uuidlib.uuid4())
        d = self._dir(name, uid)
        os.makedirs(d)
        os.close(os.open(os.path.join(d, "data"), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))
        self._hashes[uid] = _Hash()
        return uid

    def size(self, name: str, uid: str) -> int:
        return os.stat(self._data(name, uid)).st_size

    def writer(self, name: str, uid: str) -> UploadWriter:
        path = self._data(name, uid)
        w = UploadWriter(path, self._hashes.get(uid))
        if w.state is None and w.offset == 0:
            # An empty file: a fresh hash is exact.
            self._hashes[uid] = w.state = _Hash()
        return w

    def finish(self, name: str, uid: str, digest: Digest) -> int:
        """Verify the session's bytes against ``digest``, publish them, link them into ``name``.

        DIGEST_INVALID leaves the session as it was (the client may cancel it).
        Blocking (fsync, maybe a re-hash): run it in a worker thread."""
        path = self._data(name, uid)
        size = os.stat(path).st_size
        state = self._hashes.get(uid)
        if digest.algorithm == "sha256" and state is not None and state.offset == size:
            got = state.hasher.copy().hexdigest()
        else:
            got = _hash_file(path, digest)
        if got != digest.hex:
            raise RegistryError("DIGEST_INVALID", detail={"digest": str(digest),
                                                          "got": f"{digest.algorithm}:{got}"})
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        self.blobs.adopt(path, digest)
        self.repos.link_blob(name, digest)
        self.cancel(name, uid)
        return size

    def cancel(self, name: str, uid: str) -> None:
        d = self._dir(name, uid)
        self._hashes.pop(uid, None)
        if not os.path.isdir(d):
            raise RegistryError("BLOB_UPLOAD_UNKNOWN", detail={"uuid": uid})
        shutil.rmtree(d, ignore_errors=True)

    def purge(self, max_age: float) -> int:
        """Remove sessions untouched for ``max_age`` seconds (clients that gave up); return how many."""
        now = time.time()
        removed = 0
        for dirpath, dirnames, _ in os.walk(self.repos.root):
            if os.path.basename(dirpath) != "_uploads":
                dirnames[:] = [d for d in dirnames if d == "_uploads" or not d.startswith("_")]
                continue
            for uid in list(dirnames):
                data = os.path.join(dirpath, uid, "data")
                try:
                    age = now - os.stat(data).st_mtime
                except FileNotFoundError:
                    age = max_age + 1  # a session that never got its file: debris
                if age > max_age:
                    shutil.rmtree(os.path.join(dirpath, uid), ignore_errors=True)
                    self._hashes.pop(uid, None)
                    removed += 1
            dirnames[:] = []
        return removed


def _hash_file(path: str, digest: Digest) -> str:
    h = digest.hasher()
    with open(path, "rb") as f:
        while chunk := f.read(_READ):
            h.update(chunk)
    return h.hexdigest()
