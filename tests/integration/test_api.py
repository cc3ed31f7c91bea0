"""The HTTP surface: version negotiation, headers, socket permissions, daemon.json."""
from __future__ import annotations

import json
import os
import socket
import stat

import pytest

pytestmark = pytest.mark.integration


def _raw(sock_path: str, request: bytes) -> bytes:
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock_path)
    s.sendall(request)
    data = b""
    s.settimeout(5)
    while chunk := s.recv(65536):
        data += chunk
    s.close()
    return data


def test_ping_get_and_head(daemon):
    resp = _raw(daemon.socket, b"GET /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head, _, body = resp.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and body == b"OK"
    hl = head.decode().lower()
    assert "api-version: 1.45" in hl and "ostype: linux" in hl and "server: hithe/" in hl
    resp = _raw(daemon.socket, b"HEAD /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head, _, body = resp.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and body == b""


@pytest.mark.parametrize("path", ["/version", "/v1.24/version", "/v1.41/version", "/v1.45/version"])
def test_versioned_and_unversioned_paths(daemon, path):
    resp = _raw(daemon.socket, f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    head, _, body = resp.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    doc = json.loads(body)
    assert doc["ApiVersion"] == "1.45" and doc["MinAPIVersion"] == "1.24" and doc["Os"] == "linux"


def test_too_old_version(daemon):
    resp = _raw(daemon.socket, b"GET /v1.12/version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert resp.startswith(b"HTTP/1.1 400") and b"too old" in resp


def test_keep_alive_serves_several_requests(daemon):
    resp = _raw(daemon.socket, b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n"
                               b"GET /_ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert resp.count(b"HTTP/1.1 200") == 2


def test_socket_mode(daemon):
    st = os.stat(daemon.socket)
    assert stat.S_IMODE(st.st_mode) == 0o660 and st.st_uid == 0


def test_info_counts(api, busybox):
    info = api.info()
    assert info["Driver"] == "overlay2" and info["CgroupDriver"] == "cgroupfs"
    assert info["Images"] >= 1 and "ContainersRunning" in info


def test_daemon_json_log_opts_apply(api, busybox):
    c = api.create_container("busybox", "true")
    doc = api.inspect_container(c["Id"])
    assert doc["HostConfig"]["LogConfig"] == {"Type": "json-file", "Config": {"max-size": "30m", "max-file": "4"}}
    api.remove_container(c["Id"])


def test_bad_log_opt_is_rejected(api, busybox):
    import docker.errors
    with pytest.raises(docker.errors.APIError) as e:
        api.create_container("busybox", "true", host_config=api.create_host_config(
            log_config={"Type": "json-file", "Config": {"nope": "1"}}))
    assert e.value.status_code == 400 and "unknown log opt 'nope'" in str(e.value)


def test_wait_conditions(api, busybox):
    c = api.create_container("busybox", ["sh", "-c", "exit 6"])
    assert api.wait(c["Id"])["StatusCode"] == 0  # not-running: returns at once for a created container
    api.start(c["Id"])
    import time
    time.sleep(0.5)
    assert api.wait(c["Id"])["StatusCode"] == 6
    api.remove_container(c["Id"])
