"""Image store: import (file, stdin, URL, --change), ls, inspect, tag, rmi, prune, history."""
from __future__ import annotations

import functools
import http.server
import json
import threading

import pytest

from tests.conftest import busybox_tar

pytestmark = pytest.mark.integration


def test_import_with_changes(hithe, tmp_path):
    tar = tmp_path / "rootfs.tar"
    tar.write_bytes(busybox_tar())
    r = hithe("import", "-c", 'ENV GREETING="hi there"', "-c", "WORKDIR /tmp", "-c", 'CMD ["sh","-c","echo $GREETING from $(pwd)"]',
              "-c", "LABEL a=b", "-c", "EXPOSE 8080", "-m", "my import", str(tar), "chg:1")
    assert r.rc == 0, r.err
    assert hithe("run", "--rm", "chg:1").out == "hi there from /tmp\n"
    doc = json.loads(hithe("image", "inspect", "chg:1").out)[0]
    assert doc["Config"]["Labels"] == {"a": "b"} and "8080/tcp" in doc["Config"]["ExposedPorts"]
    assert doc["Comment"] == "my import" and doc["RepoTags"] == ["chg:1"]
    assert doc["RootFS"]["Type"] == "layers" and len(doc["RootFS"]["Layers"]) == 1
    hist = hithe("history", "chg:1").out
    assert "my import" in hist
    hithe("rmi", "chg:1")


def test_import_from_url(hithe, tmp_path):
    (tmp_path / "rootfs.tar").write_bytes(busybox_tar())
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{srv.server_address[1]}/rootfs.tar"
        r = hithe("import", url, "fromurl:1")
        assert r.rc == 0, r.err
        assert hithe("run", "--rm", "fromurl:1", "echo", "ok").out == "ok\n"
    finally:
        srv.shutdown()
    hithe("rmi", "fromurl:1")


def test_layers_are_shared_between_imports(hithe, daemon):
    import os
    before = len(os.listdir(os.path.join(daemon.data_root, "overlay", "layers")))
    data = busybox_tar()
    hithe("import", "-", "shared:1", input=data)
    hithe("import", "-", "shared:2", input=data)
    after = len(os.listdir(os.path.join(daemon.data_root, "overlay", "layers")))
    assert after - before <= 1
    hithe("rmi", "shared:1", "shared:2")


def test_images_listing(hithe, busybox):
    r = hithe("images")
    header = r.out.splitlines()[0].split()
    assert header == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    assert any(l.startswith("busybox ") and "latest" in l for l in r.out.splitlines())
    q = hithe("images", "-q").out.split()
    assert busybox.split(":")[1][:12] in q
    r = hithe("images", "--filter", "reference=ubuntu", "--format", "{{.Repository}}:{{.Tag}}")
    assert r.out.split() == ["ubuntu:18.04"]
    r = hithe("images", "--digests")
    assert "DIGEST" in r.out.splitlines()[0]


def test_rmi_refuses_image_in_use(hithe):
    hithe("import", "-", "inuse:1", input=busybox_tar())
    cid = hithe("create", "inuse:1", "true").out.strip()
    r = hithe("rmi", "inuse:1")
    assert r.rc == 1
    assert "container " + cid[:12] + " is using its referenced image" in r.err
    image_id = json.loads(hithe("image", "inspect", "inuse:1").out)[0]["Id"]
    r = hithe("rmi", image_id[7:19])
    assert r.rc == 1 and "must be forced" in r.err
    r = hithe("rmi", "-f", "inuse:1")
    assert r.rc == 0 and "Untagged: inuse:1" in r.out
    assert hithe("start", "-a", cid).rc == 0  # the container keeps its (now untagged) image
    hithe("rm", cid)
    hithe("image", "prune", "-f")


def test_rmi_untags_then_deletes(hithe):
    data = busybox_tar()
    iid = hithe("import", "-", "del:1", input=data).out.strip()
    hithe("tag", "del:1", "del:2")
    r = hithe("rmi", "del:1")
    assert r.out.strip() == "Untagged: del:1"
    r = hithe("rmi", "del:2")
    assert "Untagged: del:2" in r.out and f"Deleted: {iid}" in r.out
    r = hithe("image", "inspect", "del:2")
    assert r.rc == 1 and "No such image: del:2" in r.err


def test_image_prune_dangling(hithe):
    data = busybox_tar()
    iid = hithe("import", "-", input=data).out.strip()
    assert "<none>" in hithe("images").out
    r = hithe("image", "prune", "-f")
    assert r.rc == 0 and iid in r.out
    assert iid[7:19] not in hithe("images", "-q").out


def test_tag_errors(hithe):
    r = hithe("tag", "busybox", "UPPER:case")
    assert r.rc != 0 and "invalid reference format" in r.err
    r = hithe("tag", "nosuchimg", "x:1")
    assert r.rc != 0 and "No such image: nosuchimg:latest" in r.err


def test_blobs_are_collected_with_the_image(hithe, daemon):
    import os
    blobs = os.path.join(daemon.data_root, "content", "blobs", "sha256")
    before = set(os.listdir(blobs))
    data = busybox_tar() + b"\0" * 10240  # different bytes: a layer blob of its own
    iid = hithe("import", "-", "gc:1", input=data).out.strip()
    added = set(os.listdir(blobs)) - before
    assert iid.split(":")[1] in added and len(added) == 3  # config, manifest, layer tar
    hithe("rmi", "gc:1")
    assert set(os.listdir(blobs)) == before
