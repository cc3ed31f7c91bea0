"""Image layers unpacked once on disk and shared by every image and container.

A layer is identified by its chain ID (the hash of its diff ID and its
parent's chain ID, as in the OCI image spec), so the same tar applied on the
same parent is unpacked only once. Each layer directory gets a short
symlink name in ``l/`` so overlay's mount options stay under the kernel's
4095-byte limit with many layers.
"""
from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import threading
from dataclasses import asdict, dataclass
from typing import BinaryIO

from hithe.archive import extract_tar, open_decompressed
from hithe.errors import NotFound
from hithe.metadata.db import Database, dump, load


@dataclass
class Layer:
    chain_id: str
    diff_id: str
    parent: str | None
    size: int          # bytes of the uncompressed tar (what save streams and manifests list)
    short: str         # name of the symlink in l/
    disk_size: int = -1  # bytes of its files, Docker's DiffSize; -1: not measured (older records)

    @property
    def shown_size(self) -> int:
        """The size users see (images, history, system df), counted as Docker counts it: the
        files' bytes, not the tar's with its 512-byte headers and 10 KiB blocking."""
        return self.disk_size if self.disk_size >= 0 else self.size


def tree_size(root: str) -> int:
    """Bytes of what is under `root`: regular files and symlinks (each inode once), not
    directories, as Docker's directory.Size counts a layer."""
    total, seen = 0, set()
    for dirpath, dirnames, filenames in os.walk(root):
        names = filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
        for name in names:
            try:
                st = os.lstat(os.path.join(dirpath, name))
            except OSError:
                continue
            if st.st_nlink > 1:
                if st.st_ino in seen:
                    continue
                seen.add(st.st_ino)
            total += st.st_size
    return total


def chain_id_of(parent: str | None, diff_id: str) -> str:
    if parent is None:
        return diff_id
    return "sha256:" + hashlib.sha256(f"{parent} {diff_id}".encode()).hexdigest()


class _HashingReader:
    """Reads a stream while hashing it and (optionally) copying it to a writer."""

    def __init__(self, raw: BinaryIO, tee: object | None = None) -> None:
        self.raw = raw
        self.tee = tee
        self.h = hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        if data:
            self.h.update(data)
            self.size += len(data)
            if self.tee is not None:
                self.tee.write(data)  # type: ignore[attr-defined]
        return data

    def drain(self) -> None:
        # tarfile stops at the end-of-archive marker; the digest covers every byte.
        while self.read(1 << 20):
            pass


class LayerStore:
    def __init__(self, root: str, db: Database) -> None:
        self.root = root
        self.db = db
        self.layers_dir = os.path.join(root, "layers")
        self.links_dir = os.path.join(root, "l")
        os.makedirs(self.layers_dir, exist_ok=True)
        os.makedirs(self.links_dir, exist_ok=True)
        self._lock = threading.Lock()

    def get(self, chain_id: str) -> Layer:
        rows = self.db.query("SELECT doc FROM layers WHERE chain_id=?", (chain_id,))
        if not rows:
            raise NotFound(f"layer {chain_id} not found")
        return Layer(**load(rows[0][0]))

    def exists(self, chain_id: str) -> bool:
        return bool(self.db.query("SELECT 1 FROM layers WHERE chain_id=?", (chain_id,)))

    def diff_dir(self, chain_id: str) -> str:
        return os.path.join(self.layers_dir, chain_id.split(":", 1)[1], "diff")

    def link_path(self, layer: Layer) -> str:
        return os.path.join(self.links_dir, layer.short)

    def apply(self, parent: str | None, stream: BinaryIO, tee: object | None = None) -> Layer:
        """Unpack a (possibly compressed) layer tar on top of ``parent``."""
        tmp = os.path.join(self.layers_dir, "tmp-" + secrets.token_hex(8))
        os.makedirs(os.path.join(tmp, "diff"))
        try:
            reader = _HashingReader(open_decompressed(stream), tee)  # type: ignore[arg-type]
            extract_tar(reader, os.path.join(tmp, "diff"), whiteouts="overlay")  # type: ignore[arg-type]
            reader.drain()
            diff_id = "sha256:" + reader.h.hexdigest()
            disk_size = tree_size(os.path.join(tmp, "diff"))
            chain = chain_id_of(parent, diff_id)
            with self._lock:
                if self.exists(chain):
                    shutil.rmtree(tmp, ignore_errors=True)
                    return self.get(chain)
                final = os.path.dirname(self.diff_dir(chain))
                if os.path.exists(final):  # left by a crash before the record was written
                    shutil.rmtree(final, ignore_errors=True)
                os.rename(tmp, final)
                layer = Layer(chain_id=chain, diff_id=diff_id, parent=parent, size=reader.size,
                              short=secrets.token_hex(6), disk_size=disk_size)
                link = self.link_path(layer)
                os.symlink(os.path.join("..", "layers", chain.split(":", 1)[1], "diff"), link)
                self.db.execute("INSERT INTO layers(chain_id, doc) VALUES(?, ?)", (chain, dump(asdict(layer))))
            return layer
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def chain(self, top: str) -> list[Layer]:
        """Layers from the top one down to the base."""
        out = []
        cur: str | None = top
        while cur is not None:
            layer = self.get(cur)
            out.append(layer)
            cur = layer.parent
        return out

    def remove(self, chain_id: str) -> None:
        try:
            layer = self.get(chain_id)
        except NotFound:
            return
        self.db.execute("DELETE FROM layers WHERE chain_id=?", (chain_id,))
        try:
            os.unlink(self.link_path(layer))
        except FileNotFoundError:
            pass
        shutil.rmtree(os.path.dirname(self.diff_dir(chain_id)), ignore_errors=True)

    def all_chain_ids(self) -> list[str]:
        return [r[0] for r in self.db.query("SELECT chain_id FROM layers")]

    def clean_temp(self) -> None:
        for name in os.listdir(self.layers_dir):
            if name.startswith("tmp-"):
                shutil.rmtree(os.path.join(self.layers_dir, name), ignore_errors=True)
