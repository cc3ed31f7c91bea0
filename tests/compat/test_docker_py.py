"""The docker Python SDK, unchanged, against hithed."""
from __future__ import annotations

import pytest

pytestmark = [pytest.mark.compat, pytest.mark.integration]


def test_ping_version(client):
    assert client.ping() is True
    assert client.version()["ApiVersion"] == "1.45"


def test_run_and_output(client):
    out = client.containers.run("busybox", ["sh", "-c", "echo sdk; echo err >&2"], remove=True,
                                stderr=True)
    assert b"sdk" in out


def test_container_objects(client):
    c = client.containers.run("busybox", ["sleep", "30"], detach=True, name="sdk1", labels={"a": "b"})
    c.reload()
    assert c.status == "running" and c.name == "sdk1" and c.labels == {"a": "b"}
    code, out = c.exec_run(["sh", "-c", "echo execd"])
    assert (code, out) == (0, b"execd\n")
    assert c in client.containers.list()
    c.stop(timeout=1)
    assert c.wait()["StatusCode"] == 137
    c.remove()
    assert "sdk1" not in [x.name for x in client.containers.list(all=True)]


def test_logs_and_attach_socket(client):
    c = client.containers.run("busybox", ["sh", "-c", "echo one; echo two"], detach=True)
    c.wait()
    assert c.logs() == b"one\ntwo\n"
    assert c.logs(tail=1) == b"two\n"
    c.remove()


def test_images_api(client):
    img = client.images.get("busybox")
    assert img.id.startswith("sha256:")
    assert "busybox:latest" in img.tags
    img.tag("sdk/img", "t1")
    assert "sdk/img:t1" in client.images.get("sdk/img:t1").tags
    client.images.remove("sdk/img:t1")
    import docker.errors
    with pytest.raises(docker.errors.ImageNotFound):
        client.images.get("sdk/img:t1")


def test_errors_map_to_sdk_exceptions(client):
    import docker.errors
    with pytest.raises(docker.errors.NotFound):
        client.containers.get("nosuch_sdk")
    c = client.containers.create("busybox", "true", name="sdk_dup")
    with pytest.raises(docker.errors.APIError) as e:
        client.containers.create("busybox", "true", name="sdk_dup")
    assert e.value.status_code == 409
    c.remove()


def test_more_container_methods(client):
    c = client.containers.run("busybox", ["sh", "-c", "while true; do echo x; sleep 0.2; done"], detach=True,
                              name="sdk_more")
    top = c.top()
    assert "Titles" in top and any("sleep" in " ".join(p) or "sh" in " ".join(p) for p in top["Processes"])
    c.rename("sdk_more2")
    c.reload()
    assert c.name == "sdk_more2"
    c.pause()
    c.reload()
    assert c.status == "paused"
    c.unpause()
    c.kill(signal="SIGKILL")
    assert c.wait()["StatusCode"] == 137
    stream = c.export()
    size = sum(len(chunk) for chunk in stream)
    assert size > 1_000_000
    c.remove()


def test_attach_stream_and_run_stream(client):
    out = client.containers.run("busybox", ["sh", "-c", "echo a; echo b"], stream=True, remove=False,
                                detach=False, name="sdk_stream")
    assert b"".join(out) == b"a\nb\n"
    client.containers.get("sdk_stream").remove()


def test_list_filters_and_prune(client):
    a = client.containers.create("busybox", "true", labels={"sdk": "1"})
    assert [x.id for x in client.containers.list(all=True, filters={"label": "sdk=1"})] == [a.id]
    res = client.containers.prune(filters={"label": "sdk=1"})
    assert a.id in res["ContainersDeleted"]
    imgs = client.images.list(filters={"reference": "busybox"})
    assert any("busybox:latest" in i.tags for i in imgs)


def test_events_stream(client):
    import time
    since = int(time.time()) - 1
    c = client.containers.run("busybox", "true", detach=True)
    c.wait()
    c.remove()
    evs = client.events(since=since, until=int(time.time()) + 1, decode=True, filters={"container": c.id})
    assert [e["Action"] for e in evs][:2] == ["create", "start"]
