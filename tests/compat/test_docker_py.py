"""The docker Python SDK, unchanged, against hithed."""
from __future__ import annotations

import pytest

pytestmark = [pytest.mark.compat, pytest.mark.integration]


@pytest.fixture
def client(daemon, busybox):
    import docker
    c = docker.DockerClient(base_url=daemon.host)
    yield c
    c.close()


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
