"""hithe-registry storage and service on a temp dir: uploads, blobs, manifests, tags, hostile inputs."""
from __future__ import annotations

import hashlib
import json
import os

import pytest

from hithe.distribution.server.errors import RegistryError
from hithe.distribution.server.manifests import DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST
from hithe.distribution.server.names import parse_digest
from hithe.distribution.server.registry import Registry, paginate


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def push_blob(reg: Registry, name: str, data: bytes, chunks: int = 1) -> str:
    uid = reg.start_upload(name)
    step = max(1, len(data) // chunks)
    for i in range(0, len(data), step):
        with reg.upload_writer(name, uid) as w:
            w.write(data[i:i + step])
    reg.finish_upload(name, uid, parse_digest(sha(data)))
    return sha(data)


def image(reg: Registry, name: str, media_type: str = DOCKER_MANIFEST, layer: bytes = b"layer") -> bytes:
    cfg = push_blob(reg, name, b'{"os":"linux"}')
    lay = push_blob(reg, name, layer)
    return json.dumps({"schemaVersion": 2, "mediaType": media_type,
                       "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                                  "digest": cfg, "size": 14},
                       "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                                   "digest": lay, "size": len(layer)}]}).encode()


@pytest.fixture
def reg(tmp_path) -> Registry:
    return Registry(str(tmp_path / "root"))


def code_of(fn, *args) -> str:
    with pytest.raises(RegistryError) as e:
        fn(*args)
    return e.value.code


def test_chunked_upload_commits_verified_blob(reg):
    data = os.urandom(300_000)
    d = push_blob(reg, "a/b", data, chunks=7)
    path, size = reg.blob("a/b", parse_digest(d))
    assert size == len(data) and open(path, "rb").read() == data
    assert path.startswith(reg.root + "/blobs/sha256/")
    # Not visible from a repository that never received it.
    assert code_of(reg.blob, "c", parse_digest(d)) == "BLOB_UNKNOWN"
    # The session is gone once finished.
    assert os.listdir(os.path.join(reg.repos.dir("a/b"), "_uploads")) == []


def test_digest_mismatch_keeps_nothing_committed(reg):
    uid = reg.start_upload("a")
    with reg.upload_writer("a", uid) as w:
        w.write(b"hello")
    wrong = parse_digest(sha(b"other"))
    assert code_of(reg.finish_upload, "a", uid, wrong) == "DIGEST_INVALID"
    assert reg.blobs.size(wrong) is None and reg.blobs.size(parse_digest(sha(b"hello"))) is None
    assert reg.upload_size("a", uid) == 5  # the session is still there to be cancelled or finished
    reg.finish_upload("a", uid, parse_digest(sha(b"hello")))


def test_upload_survives_restart_and_is_rehashed(reg, tmp_path):
    uid = reg.start_upload("a")
    with reg.upload_writer("a", uid) as w:
        w.write(b"part one, ")
    again = Registry(reg.root)  # a new process: no hash state in memory
    with again.upload_writer("a", uid) as w:
        w.write(b"part two")
    assert code_of(again.finish_upload, "a", uid, parse_digest(sha(b"part two"))) == "DIGEST_INVALID"
    again.finish_upload("a", uid, parse_digest(sha(b"part one, part two")))


def test_sha512_upload(reg):
    uid = reg.start_upload("a")
    with reg.upload_writer("a", uid) as w:
        w.write(b"x")
    d = parse_digest("sha512:" + hashlib.sha512(b"x").hexdigest())
    reg.finish_upload("a", uid, d)
    assert reg.blob("a", d)[1] == 1


def test_cancel_and_unknown_uploads(reg):
    uid = reg.start_upload("a")
    reg.cancel_upload("a", uid)
    assert code_of(reg.upload_size, "a", uid) == "BLOB_UPLOAD_UNKNOWN"
    assert code_of(reg.cancel_upload, "a", uid) == "BLOB_UPLOAD_UNKNOWN"
    other = reg.start_upload("a")
    assert code_of(reg.upload_size, "b", other) == "BLOB_UPLOAD_UNKNOWN"  # sessions belong to their repository
    for hostile in ["../../blobs", "..", other + "/../x"]:
        assert code_of(reg.upload_size, "a", hostile) == "BLOB_UPLOAD_UNKNOWN"


def test_startup_purges_temp_and_stale_uploads(reg):
    fresh, stale = reg.start_upload("a"), reg.start_upload("a")
    data = os.path.join(reg.repos.dir("a"), "_uploads", stale, "data")
    os.utime(data, (0, 0))
    open(os.path.join(reg.root, "tmp", ".blob-dead"), "w").close()
    assert reg.startup() == 1
    assert reg.upload_size("a", fresh) == 0
    assert code_of(reg.upload_size, "a", stale) == "BLOB_UPLOAD_UNKNOWN"
    assert os.listdir(os.path.join(reg.root, "tmp")) == []


def test_mount_needs_the_blob_in_the_source(reg):
    d = parse_digest(push_blob(reg, "src", b"shared"))
    assert reg.mount("dst", d, "elsewhere") is None
    assert reg.mount("dst", d, "src") == 6
    assert reg.blob("dst", d)[1] == 6


def test_delete_blob_unlinks_from_the_repository_only(reg):
    d = parse_digest(push_blob(reg, "a", b"x"))
    reg.mount("b", d, "a")
    reg.delete_blob("a", d)
    assert code_of(reg.blob, "a", d) == "BLOB_UNKNOWN"
    assert reg.blob("b", d)[1] == 1
    assert code_of(reg.delete_blob, "a", d) == "BLOB_UNKNOWN"


@pytest.mark.parametrize("media_type", [DOCKER_MANIFEST, OCI_MANIFEST])
def test_manifest_put_get_exact_bytes(reg, media_type):
    body = image(reg, "r", media_type)
    body = body.replace(b", ", b",   ")  # odd but valid formatting must survive byte for byte
    d = reg.put_manifest("r", "v1", body, media_type)
    assert str(d) == sha(body)
    for ref in ("v1", sha(body)):
        m = reg.get_manifest("r", ref, None)
        assert (m.body, m.media_type, str(m.digest)) == (body, media_type, sha(body))
    assert reg.tags("r", None, None).items == ["v1"]


def test_oci_manifest_without_media_type_takes_content_type(reg):
    doc = json.loads(image(reg, "r"))
    del doc["mediaType"]
    body = json.dumps(doc).encode()
    reg.put_manifest("r", "t", body, OCI_MANIFEST)
    assert reg.get_manifest("r", "t").media_type == OCI_MANIFEST


def test_manifest_blob_unknown(reg):
    body = image(reg, "r")
    assert code_of(reg.put_manifest, "other", "v1", body, DOCKER_MANIFEST) == "MANIFEST_BLOB_UNKNOWN"
    assert code_of(reg.get_manifest, "other", "v1") == "MANIFEST_UNKNOWN"


def test_foreign_layers_need_not_be_present(reg):
    doc = json.loads(image(reg, "r"))
    doc["layers"].append({"mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
                          "digest": sha(b"windows"), "size": 7, "urls": ["https://example.invalid/x"]})
    reg.put_manifest("r", "win", json.dumps(doc).encode(), DOCKER_MANIFEST)


@pytest.mark.parametrize("body,ctype", [
    (b"not json", DOCKER_MANIFEST), (b"[]", DOCKER_MANIFEST), (b'{"schemaVersion": 1}', DOCKER_MANIFEST),
    (b'{"schemaVersion": 2, "mediaType": "text/html", "config": {}}', "text/html"),
    (b'{"schemaVersion": 3, "mediaType": "%s", "layers": []}' % OCI_MANIFEST.encode(), OCI_MANIFEST),
    (b'{"schemaVersion": 2, "mediaType": "%s"}' % DOCKER_MANIFEST.encode(), DOCKER_MANIFEST),
    (b'{"schemaVersion": 2, "mediaType": "%s", "config": {"digest": "sha256:../../x", "size": 1}}'
     % DOCKER_MANIFEST.encode(), DOCKER_MANIFEST),
    (b'{"schemaVersion": 2, "mediaType": "%s", "config": {"digest": "sha256:%s", "size": -1}}'
     % (DOCKER_MANIFEST.encode(), b"a" * 64), DOCKER_MANIFEST),
    (b'{"schemaVersion": 2, "mediaType": "%s", "manifests": {}}' % OCI_INDEX.encode(), OCI_INDEX),
    (b'{"schemaVersion": 2, "mediaType": "%s", "manifests": []}' % OCI_INDEX.encode(), DOCKER_LIST),
    (b'{"schemaVersion": 2, "layers": []}', "application/json"),
])
def test_invalid_manifests(reg, body, ctype):
    assert code_of(reg.put_manifest, "r", "t", body, ctype) == "MANIFEST_INVALID"


def test_oversized_manifest(reg):
    body = b'{"schemaVersion": 2, "pad": "' + b"x" * (4 << 20) + b'"}'
    with pytest.raises(RegistryError) as e:
        reg.put_manifest("r", "big", body, OCI_MANIFEST)
    assert e.value.status == 413
    assert os.listdir(reg.blobs.root + "/sha256") == []


def test_manifest_by_digest_must_match(reg):
    body = image(reg, "r")
    assert code_of(reg.put_manifest, "r", sha(b"else"), body, DOCKER_MANIFEST) == "DIGEST_INVALID"
    assert str(reg.put_manifest("r", sha(body), body, DOCKER_MANIFEST)) == sha(body)
    assert reg.tags("r", None, None).items == []
    assert code_of(reg.put_manifest, "r", "bad/tag", body, DOCKER_MANIFEST) == "TAG_INVALID"
    assert code_of(reg.put_manifest, "r", "..", body, DOCKER_MANIFEST) == "TAG_INVALID"


def _index(reg: Registry, name: str, media_type: str) -> tuple[bytes, bytes]:
    child = image(reg, name)
    reg.put_manifest(name, sha(child), child, DOCKER_MANIFEST)
    index = json.dumps({"schemaVersion": 2, "mediaType": media_type, "manifests": [
        {"mediaType": DOCKER_MANIFEST, "digest": sha(child), "size": len(child),
         "platform": {"os": "linux", "architecture": "amd64"}}]}).encode()
    return child, index


@pytest.mark.parametrize("media_type", [DOCKER_LIST, OCI_INDEX])
def test_index_needs_its_manifests(reg, media_type):
    child, index = _index(reg, "r", media_type)
    assert code_of(reg.put_manifest, "other", "t", index, media_type) == "MANIFEST_BLOB_UNKNOWN"
    reg.put_manifest("r", "multi", index, media_type)
    assert reg.get_manifest("r", "multi").body == index


def test_accept_handling(reg):
    child, index = _index(reg, "r", DOCKER_LIST)
    reg.put_manifest("r", "list", index, DOCKER_LIST)
    # A client without manifest-list support gets the default platform's image, by tag.
    assert reg.get_manifest("r", "list", DOCKER_MANIFEST).body == child
    assert reg.get_manifest("r", "list", f"{DOCKER_MANIFEST}, {DOCKER_LIST}").body == index
    assert reg.get_manifest("r", "list", "*/*").body == index
    oci = image(reg, "r", OCI_MANIFEST)
    reg.put_manifest("r", "oci", oci, OCI_MANIFEST)
    assert code_of(reg.get_manifest, "r", "oci", DOCKER_MANIFEST) == "MANIFEST_UNKNOWN"
    assert reg.get_manifest("r", "oci", f"{DOCKER_MANIFEST},{OCI_MANIFEST};q=0.5").body == oci


def test_delete_manifest_and_tags(reg):
    body = image(reg, "r")
    reg.put_manifest("r", "a", body, DOCKER_MANIFEST)
    reg.put_manifest("r", "b", body, DOCKER_MANIFEST)
    reg.delete_manifest("r", "a")  # untag only
    assert reg.tags("r", None, None).items == ["b"]
    assert code_of(reg.delete_manifest, "r", "a") == "MANIFEST_UNKNOWN"
    reg.delete_manifest("r", sha(body))  # the manifest, and every tag on it
    assert reg.tags("r", None, None).items == []
    assert code_of(reg.get_manifest, "r", sha(body)) == "MANIFEST_UNKNOWN"
    assert code_of(reg.delete_manifest, "r", sha(body)) == "MANIFEST_UNKNOWN"


def test_tags_and_catalog(reg):
    body = image(reg, "x/y")
    for tag in ["c", "a", "b", "B"]:
        reg.put_manifest("x/y", tag, body, DOCKER_MANIFEST)
    reg.put_manifest("x", "t", image(reg, "x"), DOCKER_MANIFEST)
    push_blob(reg, "blobs-only", b"z")
    assert reg.tags("x/y", None, None).items == ["B", "a", "b", "c"]
    page = reg.tags("x/y", 2, None)
    assert (page.items, page.next_last) == (["B", "a"], "a")
    page = reg.tags("x/y", 2, "a")
    assert (page.items, page.next_last) == (["b", "c"], None)
    assert code_of(reg.tags, "nope", None, None) == "NAME_UNKNOWN"
    assert reg.catalog(None, None).items == ["x", "x/y"]
    assert reg.catalog(1, None).next_last == "x"
    assert reg.catalog(5, "x").items == ["x/y"]


def test_paginate_edges():
    assert paginate(["a", "b"], 0, None).items == []
    assert paginate(["a", "b"], 5, "b").items == []
    assert paginate(["a", "b"], 2, None).next_last is None


def test_damaged_tag_file_is_unknown(reg):
    reg.put_manifest("r", "t", image(reg, "r"), DOCKER_MANIFEST)
    with open(os.path.join(reg.repos.dir("r"), "_manifests", "tags", "t"), "w") as f:
        f.write("../../../etc/passwd")
    assert code_of(reg.get_manifest, "r", "t") == "MANIFEST_UNKNOWN"
