"""The classic builder's cache: (parent image, instruction, resulting config) → child image.

A step is reused when the same parent already had a child made by the same
instruction — for COPY/ADD the instruction text carries the checksum of the
copied content, for RUN the command and the build args it ran with.  The
keys live in the metadata DB, in a table of the build cache's own.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

from hithe.errors import NotFound
from hithe.images.record import Image
from hithe.images.store import ImageStore
from hithe.metadata.db import Database


def cache_key(parent_id: str, created_by: list[str], config: dict[str, Any]) -> str:
    doc = json.dumps([parent_id, created_by, config], sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(doc.encode()).hexdigest()


class BuildCache:
    def __init__(self, db: Database, images: ImageStore) -> None:
        self.db = db
        self.images = images
        db.execute("CREATE TABLE IF NOT EXISTS build_cache (key TEXT PRIMARY KEY, image_id TEXT NOT NULL)")

    def lookup(self, key: str) -> Image | None:
        rows = self.db.query("SELECT image_id FROM build_cache WHERE key=?", (key,))
        if not rows:
            return None
        try:
            return self.images.get(rows[0][0])
        except NotFound:   # the image was removed since: the entry is stale
            self.db.execute("DELETE FROM build_cache WHERE key=?", (key,))
            return None

    def store(self, key: str, image_id: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO build_cache(key, image_id) VALUES(?, ?)", (key, image_id))

    def prune(self) -> int:
        """Forget entries whose image is gone; returns how many were dropped."""
        dropped = 0
        for key, iid in self.db.query("SELECT key, image_id FROM build_cache"):
            try:
                self.images.get(iid)
            except NotFound:
                self.db.execute("DELETE FROM build_cache WHERE key=?", (key,))
                dropped += 1
        return dropped

    def clear(self) -> int:
        n = len(self.db.query("SELECT key FROM build_cache"))
        self.db.execute("DELETE FROM build_cache")
        return n
