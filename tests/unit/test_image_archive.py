"""docker save / load archives against a real (temporary) image store: round trips,
the documents written, and hostile archives that must leave the store untouched."""
from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import json
import lzma
import os
import tarfile

import pytest

from hithe.content import ContentStore
from hithe.errors import InvalidParameter, NotFound
from hithe.images.archive_index import ArchiveIndex
from hithe.images.archive_load import load_archive
from hithe.images.archive_save import select_images, v1_ids, write_archive
from hithe.images.importer import import_rootfs
from hithe.images.store import ImageStore
from hithe.metadata.db import Database
from hithe.snapshots.layers import LayerStore


def make_store(root) -> ImageStore:
    os.makedirs(root, exist_ok=True)
    db = Database(os.path.join(root, "db"))
    return ImageStore(db, ContentStore(os.path.join(root, "content")), LayerStore(os.path.join(root, "overlay"), db))


def tar_bytes(entries: list[tuple[str, bytes | None, str]]) -> bytes:
    """(name, data, symlink target): data None and no target makes a directory."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, data, link in entries:
            ti = tarfile.TarInfo(name)
            if link:
                ti.type, ti.linkname = tarfile.SYMTYPE, link
                tf.addfile(ti)
            elif data is None:
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                tf.addfile(ti)
            else:
                ti.size = len(data)
                tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


ROOTFS = tar_bytes([("bin/", None, ""), ("bin/hello", b"#!/bin/sh\necho hi\n", ""), ("etc/", None, ""),
                    ("etc/motd", b"welcome\n", "")])


@pytest.fixture
def src(tmp_path) -> ImageStore:
    store = make_store(tmp_path / "src")
    img = import_rootfs(store, io.BytesIO(ROOTFS), changes=['CMD ["sh"]'])
    store.tag(img.id, "test/app:1")
    store.tag(img.id, "test/app:2")
    return store


def save(store: ImageStore, *names: str) -> bytes:
    out = io.BytesIO()
    write_archive(store, select_images(store, list(names)), out)
    return out.getvalue()


def spool(tmp_path, data: bytes) -> str:
    p = tmp_path / ("spool-" + hashlib.sha256(data).hexdigest()[:8])
    p.write_bytes(data)
    return str(p)


def members(data: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        return {m.name: m for m in tf.getmembers()}


def read(data: bytes, name: str) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        f = tf.extractfile(name)
        assert f is not None
        return f.read()


# --- save -------------------------------------------------------------------------
def test_save_writes_docker_and_oci_documents(src):
    img = src.resolve("test/app:1")
    data = save(src, "test/app:1")
    names = members(data)
    diff = img.diff_ids[0].split(":")[1]
    manifest = json.loads(read(data, "manifest.json"))
    assert manifest == [{"Config": "blobs/sha256/" + img.id[7:], "RepoTags": ["test/app:1"],
                         "Layers": ["blobs/sha256/" + diff]}]
    assert sha(read(data, manifest[0]["Config"])) == img.id
    assert sha(read(data, "blobs/sha256/" + diff)) == img.diff_ids[0]
    assert json.loads(read(data, "oci-layout")) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads(read(data, "index.json"))
    (entry,) = index["manifests"]
    assert entry["annotations"] == {"io.containerd.image.name": "docker.io/test/app:1",
                                    "org.opencontainers.image.ref.name": "1"}
    oci_manifest = read(data, "blobs/sha256/" + entry["digest"][7:])
    assert sha(oci_manifest) == entry["digest"] and len(oci_manifest) == entry["size"]
    assert json.loads(oci_manifest)["layers"][0]["digest"] == img.diff_ids[0]
    # docker 20.10's layout, by symlinks into blobs/: no layer is stored twice
    (v1,) = v1_ids(img.id, img.diff_ids)
    assert names[f"{v1}/layer.tar"].issym() and names[f"{v1}/layer.tar"].linkname == f"../blobs/sha256/{diff}"
    assert read(data, f"{v1}/VERSION") == b"1.0"
    assert json.loads(read(data, f"{v1}/json"))["id"] == v1
    assert names[img.id[7:] + ".json"].issym()
    assert json.loads(read(data, "repositories")) == {"test/app": {"1": v1}}
    assert sum(1 for m in names.values() if m.isfile() and m.size == names["blobs/sha256/" + diff].size) == 1


def test_save_repository_name_saves_all_its_tags_and_id_saves_none(src):
    manifest = json.loads(read(save(src, "test/app"), "manifest.json"))
    assert sorted(manifest[0]["RepoTags"]) == ["test/app:1", "test/app:2"]
    img = src.resolve("test/app:1")
    assert json.loads(read(save(src, img.id[7:19]), "manifest.json"))[0]["RepoTags"] is None
    assert len(json.loads(read(save(src, "test/app:1", "test/app:2"), "manifest.json"))) == 1


def test_save_unknown_image_fails_before_writing(src):
    with pytest.raises(NotFound):
        select_images(src, ["test/app:1", "nope:latest"])


# --- load -------------------------------------------------------------------------
def test_round_trip_keeps_ids_and_tags(src, tmp_path):
    dst = make_store(tmp_path / "dst")
    loaded = load_archive(dst, spool(tmp_path, save(src, "test/app")))
    img = src.resolve("test/app:1")
    assert [l.image_id for l in loaded] == [img.id]
    assert sorted(loaded[0].messages) == ["Loaded image: test/app:1", "Loaded image: test/app:2"]
    got = dst.resolve("test/app:2")
    assert got.id == img.id and got.diff_ids == img.diff_ids and got.manifest
    with open(os.path.join(dst.layers.diff_dir(got.top_layer), "etc", "motd"), "rb") as f:
        assert f.read() == b"welcome\n"
    # and what was loaded saves again to the same bytes
    assert save(dst, "test/app") == save(src, "test/app")


def test_load_untagged_says_image_id_and_reports_renamed_tag(src, tmp_path):
    img = src.resolve("test/app:1")
    dst = make_store(tmp_path / "dst")
    (item,) = load_archive(dst, spool(tmp_path, save(src, img.id)))
    assert item.messages == [f"Loaded image ID: {img.id}"]
    other = import_rootfs(dst, io.BytesIO(tar_bytes([("x", b"x", "")])))
    dst.tag(other.id, "test/app:1")
    (item,) = load_archive(dst, spool(tmp_path, save(src, "test/app:1")))
    assert item.messages[0] == (f"The image test/app:1 already exists, renaming the old one with ID "
                                f"{other.id} to empty string")


def _zstd(data: bytes) -> bytes:
    zstandard = pytest.importorskip("zstandard")
    return zstandard.ZstdCompressor().compress(data)


@pytest.mark.parametrize("compress", [gzip.compress, lzma.compress, bz2.compress, _zstd],
                         ids=["gzip", "xz", "bzip2", "zstd"])
def test_load_compressed_archive(src, tmp_path, compress):
    dst = make_store(tmp_path / "dst")
    (item,) = load_archive(dst, spool(tmp_path, compress(save(src, "test/app:1"))))
    assert item.image_id == src.resolve("test/app:1").id
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".tar")]  # decompressed copy removed


def test_load_oci_layout_with_gzipped_layer(tmp_path):
    layer = ROOTFS
    blob = gzip.compress(layer)
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["sh"]},
                         "rootfs": {"type": "layers", "diff_ids": [sha(layer)]}}).encode()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": sha(config), "size": len(config)},
                           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                       "digest": sha(blob), "size": len(blob)}]}).encode()
    index = json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": sha(manifest),
         "size": len(manifest), "annotations": {"org.opencontainers.image.ref.name": "example.com/oci:v1"}}]})
    data = tar_bytes([("oci-layout", b'{"imageLayoutVersion":"1.0.0"}', ""), ("index.json", index.encode(), ""),
                      *[(f"blobs/sha256/{sha(b)[7:]}", b, "") for b in (blob, config, manifest)]])
    dst = make_store(tmp_path / "dst")
    (item,) = load_archive(dst, spool(tmp_path, data))
    assert item.image_id == sha(config) and item.messages == ["Loaded image: example.com/oci:v1"]
    assert dst.content.exists(sha(layer))  # kept uncompressed, so save sends the diff ID's bytes


# --- hostile archives ---------------------------------------------------------------
def _docker_archive(layer: bytes = ROOTFS, *, layer_path: str = "", config_path: str = "",
                    config: bytes | None = None, extra: list[tuple[str, bytes | None, str]] = ()) -> bytes:
    config = config if config is not None else json.dumps(
        {"os": "linux", "rootfs": {"type": "layers", "diff_ids": [sha(ROOTFS)]}}).encode()
    layer_path = layer_path or "l/layer.tar"
    config_path = config_path or "c.json"
    manifest = json.dumps([{"Config": config_path, "RepoTags": ["evil:1"], "Layers": [layer_path]}]).encode()
    return tar_bytes([("manifest.json", manifest, ""), ("c.json", config, ""), ("l/", None, ""),
                      ("l/layer.tar", layer, ""), *extra])


HOSTILE = {
    "member name escapes": _docker_archive(extra=[("../../escape", b"x", "")]),
    "config path escapes": _docker_archive(config_path="../../etc/passwd"),
    "config absolute path is not the host's": _docker_archive(config_path="/etc/passwd"),
    "layer symlink leaves the archive": _docker_archive(layer_path="link.tar",
                                                        extra=[("link.tar", None, "/etc/passwd")]),
    "layer symlink climbs out": _docker_archive(layer_path="link.tar",
                                                extra=[("link.tar", None, "../../../../etc/passwd")]),
    "layer digest mismatch": _docker_archive(layer=tar_bytes([("bin/", None, ""), ("bin/sh", b"evil", "")])),
    "missing layer": _docker_archive(layer_path="nope/layer.tar"),
    "deeply nested json": _docker_archive(config=b"[" * 100000 + b"]" * 100000),
    "malformed json": _docker_archive(config=b'{"rootfs": '),
    "config not a config": _docker_archive(config=b'{"rootfs": {"type": "layers", "diff_ids": ["md5:x"]}}'),
    "not a tar": b"hello world" * 100,
    "truncated": _docker_archive()[:1536],
    "gzip garbage": b"\x1f\x8b\x08\x00" + b"\x00" * 100,
    "nothing to load": tar_bytes([("hello", b"x", "")]),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_archive_is_refused_and_leaves_nothing(src, tmp_path, case):
    before_blobs = set(src.content.walk())
    before_layers = set(src.layers.all_chain_ids())
    before_images = {i.id: i.repo_tags for i in src.list()}
    with pytest.raises(InvalidParameter):
        load_archive(src, spool(tmp_path, HOSTILE[case]))
    assert set(src.content.walk()) == before_blobs
    assert set(src.layers.all_chain_ids()) == before_layers
    assert {i.id: i.repo_tags for i in src.list()} == before_images
    assert not [n for n in os.listdir(src.layers.layers_dir) if n.startswith("tmp-")]
    assert not os.listdir(src.content.ingest_dir)


def test_failure_in_second_image_rolls_back_the_first(src, tmp_path):
    good = save(src, "test/app:1")
    with tarfile.open(fileobj=io.BytesIO(good)) as tf:
        entries = [(m.name, tf.extractfile(m).read() if m.isfile() else None, m.linkname if m.issym() else "")
                   for m in tf.getmembers()]
    manifest = json.loads(dict((n, d) for n, d, _ in entries)["manifest.json"])
    manifest.append({"Config": manifest[0]["Config"], "RepoTags": ["x:1"], "Layers": ["missing.tar"]})
    entries = [(n, json.dumps(manifest).encode() if n == "manifest.json" else d, l) for n, d, l in entries]
    dst = make_store(tmp_path / "dst")
    with pytest.raises(InvalidParameter):
        load_archive(dst, spool(tmp_path, tar_bytes(entries)))
    assert dst.list() == [] and not list(dst.content.walk()) and not dst.layers.all_chain_ids()


def test_index_offsets_read_back_member_data(tmp_path):
    long_name = "d/" + "x" * 200  # PAX header before the member
    data = tar_bytes([("a", b"first", ""), (long_name, b"second" * 1000, ""), ("s", None, long_name)])
    p = tmp_path / "t.tar"
    p.write_bytes(data)
    idx = ArchiveIndex(str(p))
    assert idx.read_bytes("a")[0] == b"first"
    assert idx.read_bytes(long_name)[0] == b"second" * 1000
    assert idx.read_bytes("s")[0] == b"second" * 1000
    with pytest.raises(InvalidParameter):
        idx.read_bytes("a", limit=2)
