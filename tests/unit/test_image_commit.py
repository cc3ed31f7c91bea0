"""commit: docker's config merge, the child image config, and the layer made from an upper dir."""
from __future__ import annotations

import io
import os
import tarfile

import pytest

from hithe.images.commit import child_config, merge_config, write_container_layer
from hithe.images.importer import import_rootfs
from tests.unit.test_image_archive import ROOTFS, make_store

CONTAINER = {"Hostname": "abc", "User": "", "Env": ["PATH=/bin", "A=1"], "Cmd": ["sh", "-c", "echo hi > /f"],
             "Image": "busybox", "Volumes": None, "WorkingDir": "/w", "Entrypoint": None,
             "Labels": {"l": "1"}, "ExposedPorts": {"80/tcp": {}}}


def test_merge_fills_what_the_user_left_unset():
    out = merge_config({"Env": ["A=2", "B=3"], "Cmd": None, "Labels": {"m": "2"}}, CONTAINER)
    assert out["Env"] == ["A=2", "B=3", "PATH=/bin"]
    assert out["Cmd"] == CONTAINER["Cmd"] and out["WorkingDir"] == "/w"
    assert out["Labels"] == {"l": "1", "m": "2"} and out["ExposedPorts"] == {"80/tcp": {}}


def test_merge_keeps_user_entrypoint_without_container_cmd():
    out = merge_config({"Entrypoint": ["/app"]}, CONTAINER)
    assert out["Entrypoint"] == ["/app"] and out.get("Cmd") is None


def test_child_config_appends_layer_and_history():
    parent = {"architecture": "arm64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "a" * 64]},
              "history": [{"created": "2020-01-01T00:00:00Z", "comment": "Imported from -"}]}
    doc = child_config(parent, config={"Cmd": ["x"]}, container_config=CONTAINER, container_id="c1",
                       diff_id="sha256:" + "b" * 64, author="me", comment="msg", created="2024-01-01T00:00:00Z")
    assert doc["rootfs"]["diff_ids"] == ["sha256:" + "a" * 64, "sha256:" + "b" * 64]
    assert doc["history"][-1] == {"created": "2024-01-01T00:00:00Z", "author": "me",
                                  "created_by": "sh -c echo hi > /f", "comment": "msg"}
    assert doc["architecture"] == "arm64" and doc["container"] == "c1" and doc["author"] == "me"
    assert doc["container_config"] is CONTAINER and parent["rootfs"]["diff_ids"] == ["sha256:" + "a" * 64]
    empty = child_config(parent, config={}, container_config=CONTAINER, container_id="c1", diff_id=None,
                         author="", comment="", created="2024-01-01T00:00:00Z")
    assert empty["rootfs"]["diff_ids"] == parent["rootfs"]["diff_ids"] and empty["history"][-1]["empty_layer"]


@pytest.mark.skipif(os.geteuid() != 0, reason="whiteouts are device nodes")
def test_layer_from_upper_dir(tmp_path):
    store = make_store(tmp_path / "s")
    base = import_rootfs(store, io.BytesIO(ROOTFS))
    upper = tmp_path / "upper"
    for d in ("proc", "sys", "dev", "etc", "bin", "data"):
        (upper / d).mkdir(parents=True)
    for f in ("hosts", "hostname", "resolv.conf"):
        (upper / "etc" / f).write_bytes(b"")   # runc's bind-mount placeholders
    (upper / "etc" / "motd").write_bytes(b"changed\n")
    os.mknod(upper / "bin" / "hello", 0o020000, os.makedev(0, 0))   # overlay whiteout
    os.setxattr(upper / "data", "trusted.overlay.opaque", b"y")
    layer, desc = write_container_layer(store, str(upper), base.top_layer)
    assert layer.parent == base.top_layer and desc.digest == layer.diff_id
    with store.content.open(desc.digest) as f, tarfile.open(fileobj=f) as tf:
        names = tf.getnames()
    assert names == ["bin", "bin/.wh.hello", "data", "data/.wh..wh..opq", "etc", "etc/motd"]
    assert not os.path.lexists(os.path.join(store.layers.diff_dir(layer.chain_id), "etc", "hosts"))


def test_unchanged_upper_dir_is_no_layer(tmp_path):
    store = make_store(tmp_path / "s")
    upper = tmp_path / "upper"
    (upper / "proc").mkdir(parents=True)
    assert write_container_layer(store, str(upper), None) is None
    assert write_container_layer(store, str(tmp_path / "missing"), None) is None
    assert not list(store.content.walk()) and not os.listdir(store.content.ingest_dir)
