"""Bad input gets Docker's answer, and nothing is left half-created."""
from __future__ import annotations

import json
import socket

import pytest

pytestmark = pytest.mark.integration


def raw_request(sock_path: str, method: str, path: str, body: bytes = b"",
                ctype: str = "application/json") -> tuple[int, dict]:
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock_path)
    s.sendall(f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {ctype}\r\n"
              f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
    data = b""
    while chunk := s.recv(65536):
        data += chunk
    s.close()
    head, _, payload = data.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    return status, json.loads(payload) if payload.strip().startswith(b"{") else {}


def test_unknown_image(hithe):
    r = hithe("run", "--rm", "nosuchimage_xyz")
    assert r.rc == 125
    assert "Unable to find image 'nosuchimage_xyz:latest' locally" in r.err
    assert "Error response from daemon" in r.err


def test_create_missing_image_is_404(daemon, busybox):
    status, body = raw_request(daemon.socket, "POST", "/v1.45/containers/create",
                               json.dumps({"Image": "nosuchimage_xyz"}).encode())
    assert status == 404
    assert body["message"] == "No such image: nosuchimage_xyz:latest"


def test_unknown_flag(hithe):
    r = hithe("run", "--no-such-flag", "busybox")
    assert r.rc == 125
    assert "unknown flag: --no-such-flag" in r.err


def test_name_conflict_is_409(hithe, daemon):
    hithe("create", "--name", "dup_name", "busybox", "true")
    r = hithe("create", "--name", "dup_name", "busybox", "true")
    assert r.rc == 125
    assert 'The container name "/dup_name" is already in use' in r.err
    status, _ = raw_request(daemon.socket, "POST", "/v1.45/containers/create?name=dup_name",
                            json.dumps({"Image": "busybox", "Cmd": ["true"]}).encode())
    assert status == 409
    hithe("rm", "dup_name")


def test_remove_running_is_409(hithe, daemon):
    cid = hithe("run", "-d", "busybox", "sleep", "30").out.strip()
    status, body = raw_request(daemon.socket, "DELETE", f"/v1.45/containers/{cid}")
    assert status == 409
    assert "container is running" in body["message"]
    hithe("rm", "-f", cid)


def test_invalid_reference_format(hithe):
    r = hithe("run", "--rm", "Bad:Name:x")
    assert r.rc == 125
    assert "invalid reference format" in r.err


def test_malformed_json_is_400_and_creates_nothing(daemon, api, busybox):
    before = len(api.containers(all=True))
    status, body = raw_request(daemon.socket, "POST", "/v1.45/containers/create", b"{not json")
    assert status == 400
    assert "invalid JSON" in body["message"]
    status, _ = raw_request(daemon.socket, "POST", "/v1.45/containers/create",
                            json.dumps({"Image": "busybox", "Cmd": "true", "HostConfig": {"Memory": "x"}}).encode())
    assert status == 400
    assert len(api.containers(all=True)) == before


def test_version_too_new_and_unknown_path(daemon):
    status, body = raw_request(daemon.socket, "GET", "/v9.99/version")
    assert status == 400 and "too new" in body["message"]
    status, body = raw_request(daemon.socket, "GET", "/v1.45/nope")
    assert status == 404


def test_no_such_container(hithe):
    r = hithe("stop", "nosuchcontainer")
    assert r.rc == 1
    assert "No such container: nosuchcontainer" in r.err


def test_unbuilt_features_are_refused_not_ignored(hithe, daemon):
    # publishing works now (tests/integration/test_networks.py); a hostile spec is refused
    r = hithe("run", "--rm", "-p", "8080:80/icmp", "busybox", "true")
    assert r.rc == 125 and "invalid proto: icmp" in r.err
    status, body = raw_request(daemon.socket, "POST", "/v1.45/containers/create", json.dumps(
        {"Image": "busybox", "Cmd": ["true"], "HostConfig": {"NetworkMode": "nosuchnet"}}).encode())
    assert status == 404 and body["message"] == "network nosuchnet not found"
    assert hithe("run", "--rm", "--network", "none", "busybox", "true").rc == 0
    r = hithe("run", "--rm", "--network", "host", "busybox", "hostname")
    import socket
    assert r.out.strip() == socket.gethostname()
