"""What the engine remembers about blobs it exchanged with registries (SQLite ``kv``).

* ``dist:gzip:<diff_id>`` → the gzip blob push made of an uncompressed layer
  (digest and size).  Pushing compresses deterministically (no name, mtime 0,
  level 6), so the same layer always gives the same blob; the record lets a
  re-push skip compressing altogether when the registry has the blob.
* ``dist:repos:<digest>`` → repositories (``domain/path``) known to hold the
  blob, the sources for a cross-repository mount.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from hithe.metadata.db import Database

MAX_REPOS = 20


@dataclass(frozen=True)
class Compressed:
    digest: str
    size: int


def get_compressed(db: Database, diff_id: str) -> Compressed | None:
    rows = db.query("SELECT value FROM kv WHERE key=?", ("dist:gzip:" + diff_id,))
    if not rows:
        return None
    try:
        doc = json.loads(rows[0][0])
        return Compressed(str(doc["digest"]), int(doc["size"]))
    except (ValueError, KeyError, TypeError):
        return None


def put_compressed(db: Database, diff_id: str, c: Compressed) -> None:
    db.execute("INSERT OR REPLACE INTO kv(key, value) VALUES(?, ?)",
               ("dist:gzip:" + diff_id, json.dumps({"digest": c.digest, "size": c.size})))


def repos_of(db: Database, digest: str) -> list[str]:
    rows = db.query("SELECT value FROM kv WHERE key=?", ("dist:repos:" + digest,))
    try:
        out = json.loads(rows[0][0]) if rows else []
    except ValueError:
        return []
    return [r for r in out if isinstance(r, str)] if isinstance(out, list) else []


def add_repo(db: Database, digest: str, repo: str) -> None:
    repos = [r for r in repos_of(db, digest) if r != repo]
    repos = ([repo] + repos)[:MAX_REPOS]
    db.execute("INSERT OR REPLACE INTO kv(key, value) VALUES(?, ?)", ("dist:repos:" + digest, json.dumps(repos)))
