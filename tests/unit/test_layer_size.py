"""Layer sizes as Docker shows them: the files' bytes (hard links once, directories not
counted), not the tar's."""
from __future__ import annotations

import io
import os
import tarfile

from hithe.metadata.db import Database
from hithe.snapshots.layers import LayerStore, tree_size


def test_tree_size_counts_files_and_links_once(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a").write_bytes(b"x" * 100)
    os.link(tmp_path / "d" / "a", tmp_path / "d" / "hard")
    os.symlink("d/a", tmp_path / "sym")  # 3 bytes of target
    (tmp_path / "empty").mkdir()
    assert tree_size(str(tmp_path)) == 103


def test_applied_layer_shows_file_bytes_not_tar_bytes(tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        ti = tarfile.TarInfo("etc/motd")
        ti.size = 49
        tf.addfile(ti, io.BytesIO(b"m" * 49))
    store = LayerStore(str(tmp_path / "overlay"), Database(str(tmp_path / "db.sqlite")))
    layer = store.apply(None, io.BytesIO(buf.getvalue()))
    assert layer.size == len(buf.getvalue()) and layer.size >= 10240  # the tar, as saved and pushed
    assert layer.shown_size == layer.disk_size == 49
    assert store.get(layer.chain_id).shown_size == 49  # kept in the record
