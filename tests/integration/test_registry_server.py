"""hithe-registry as a user runs it: a real process on 127.0.0.1, driven with raw HTTP.

A full push (chunked upload, monolithic upload, manifest) and pull, the spec's
errors on hostile input, big blobs streamed without holding them in memory, a
crash in the middle of an upload, Basic auth against htpasswd, and TLS.
"""
from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import tempfile

import pytest

from tests.registry_helpers import Registry, start_registry

pytestmark = pytest.mark.integration

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture
def workdir():
    d = tempfile.mkdtemp(prefix="hreg-", dir="/tmp")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def registry(workdir):
    r = start_registry(os.path.join(workdir, "root"))
    yield r
    r.stop()


def error_code(data: bytes) -> str:
    errors = json.loads(data)["errors"]
    assert set(errors[0]) == {"code", "message", "detail"}
    return errors[0]["code"]


def upload_chunked(reg: Registry, name: str, data: bytes, chunk: int) -> str:
    c = reg.conn()  # one keep-alive connection for the whole session, as docker does
    r, _ = reg.request("POST", f"/v2/{name}/blobs/uploads/", conn=c)
    assert r.status == 202, r.status
    assert r.getheader("Range") == "0-0" and r.getheader("Docker-Upload-UUID")
    loc = r.getheader("Location")
    for off in range(0, len(data), chunk):
        piece = data[off:off + chunk]
        r, body = reg.request("PATCH", loc, piece, {"Content-Type": "application/octet-stream",
                                                    "Content-Range": f"{off}-{off + len(piece) - 1}"}, conn=c)
        assert r.status == 202, body
        assert r.getheader("Range") == f"0-{off + len(piece) - 1}"
        loc = r.getheader("Location")
    r, body = reg.request("GET", loc, conn=c)
    assert r.status == 204 and r.getheader("Range") == f"0-{len(data) - 1}"
    r, body = reg.request("PUT", f"{loc}?digest={sha(data)}", conn=c)
    assert r.status == 201, body
    assert r.getheader("Docker-Content-Digest") == sha(data)
    assert r.getheader("Location") == f"/v2/{name}/blobs/{sha(data)}"
    c.close()
    return sha(data)


def upload_monolithic(reg: Registry, name: str, data: bytes) -> str:
    r, body = reg.request("POST", f"/v2/{name}/blobs/uploads/?digest={sha(data)}", data,
                          {"Content-Type": "application/octet-stream"})
    assert r.status == 201, body
    return sha(data)


def push_image(reg: Registry, name: str, tag: str, layer: bytes, media_type: str = DOCKER_MANIFEST) -> bytes:
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers"}}).encode()
    upload_monolithic(reg, name, config)
    upload_chunked(reg, name, layer, 256 * 1024)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": media_type,
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": sha(config),
                   "size": len(config)},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "digest": sha(layer),
                    "size": len(layer)}]}, indent=3).encode()
    r, body = reg.request("PUT", f"/v2/{name}/manifests/{tag}", manifest, {"Content-Type": media_type})
    assert r.status == 201, body
    assert r.getheader("Docker-Content-Digest") == sha(manifest)
    return manifest


def test_push_and_pull(registry):
    r, body = registry.request("GET", "/v2/")
    assert r.status == 200 and r.getheader("Docker-Distribution-API-Version") == "registry/2.0"
    layer = os.urandom(1_300_000)
    manifest = push_image(registry, "team/app", "v1", layer)

    c = registry.conn()
    r, body = registry.request("GET", "/v2/team/app/manifests/v1", headers={"Accept": DOCKER_MANIFEST}, conn=c)
    assert r.status == 200 and body == manifest  # the exact bytes pushed
    assert r.getheader("Content-Type") == DOCKER_MANIFEST
    assert r.getheader("Docker-Content-Digest") == sha(manifest)
    r, body = registry.request("HEAD", f"/v2/team/app/manifests/{sha(manifest)}", conn=c)
    assert r.status == 200 and body == b"" and r.getheader("Content-Length") == str(len(manifest))
    r, body = registry.request("GET", f"/v2/team/app/blobs/{sha(layer)}", conn=c)
    assert r.status == 200 and body == layer and r.getheader("Docker-Content-Digest") == sha(layer)
    r, body = registry.request("HEAD", f"/v2/team/app/blobs/{sha(layer)}", conn=c)
    assert r.status == 200 and r.getheader("Content-Length") == str(len(layer)) and body == b""
    r, body = registry.request("GET", f"/v2/team/app/blobs/{sha(layer)}", headers={"Range": "bytes=1000-1999"},
                               conn=c)
    assert r.status == 206 and body == layer[1000:2000]
    assert r.getheader("Content-Range") == f"bytes 1000-1999/{len(layer)}"
    r, body = registry.request("GET", f"/v2/team/app/blobs/{sha(layer)}",
                               headers={"Range": f"bytes={len(layer)}-"}, conn=c)
    assert r.status == 416 and r.getheader("Content-Range") == f"bytes */{len(layer)}"

    for tag in ["v2", "latest", "a"]:
        r, _ = registry.request("PUT", f"/v2/team/app/manifests/{tag}", manifest, {"Content-Type": DOCKER_MANIFEST},
                                conn=c)
        assert r.status == 201
    r, body = registry.request("GET", "/v2/team/app/tags/list", conn=c)
    assert json.loads(body) == {"name": "team/app", "tags": ["a", "latest", "v1", "v2"]}
    r, body = registry.request("GET", "/v2/team/app/tags/list?n=2", conn=c)
    assert json.loads(body)["tags"] == ["a", "latest"]
    assert r.getheader("Link") == '</v2/team/app/tags/list?n=2&last=latest>; rel="next"'
    r, body = registry.request("GET", "/v2/team/app/tags/list?n=2&last=latest", conn=c)
    assert json.loads(body)["tags"] == ["v1", "v2"] and r.getheader("Link") is None

    # Cross-repository mount: no bytes sent again.
    r, body = registry.request("POST", f"/v2/other/app/blobs/uploads/?mount={sha(layer)}&from=team/app", conn=c)
    assert r.status == 201 and r.getheader("Location") == f"/v2/other/app/blobs/{sha(layer)}"
    r, body = registry.request("POST", f"/v2/third/blobs/uploads/?mount={sha(layer)}&from=nowhere", conn=c)
    assert r.status == 202 and r.getheader("Docker-Upload-UUID")  # falls back to an upload
    r, _ = registry.request("DELETE", r.getheader("Location"), conn=c)
    assert r.status == 204
    r, body = registry.request("PUT", "/v2/other/app/manifests/x", manifest, {"Content-Type": DOCKER_MANIFEST},
                               conn=c)
    assert r.status == 404 and error_code(body) == "MANIFEST_BLOB_UNKNOWN"  # the config was not mounted

    r, body = registry.request("GET", "/v2/_catalog", conn=c)
    assert json.loads(body) == {"repositories": ["team/app"]}

    # Deletes: a tag, then the manifest with the tags left on it.
    r, _ = registry.request("DELETE", "/v2/team/app/manifests/a", conn=c)
    assert r.status == 202
    r, _ = registry.request("DELETE", f"/v2/team/app/manifests/{sha(manifest)}", conn=c)
    assert r.status == 202
    r, body = registry.request("GET", "/v2/team/app/manifests/v1", conn=c)
    assert r.status == 404 and error_code(body) == "MANIFEST_UNKNOWN"
    r, body = registry.request("DELETE", f"/v2/team/app/blobs/{sha(layer)}", conn=c)
    assert r.status == 202
    r, body = registry.request("GET", f"/v2/team/app/blobs/{sha(layer)}", conn=c)
    assert r.status == 404 and error_code(body) == "BLOB_UNKNOWN"
    c.close()


def test_oci_manifest_and_accept(registry):
    manifest = push_image(registry, "oci", "v1", b"layer bytes", OCI_MANIFEST)
    r, body = registry.request("GET", "/v2/oci/manifests/v1", headers={"Accept": OCI_MANIFEST})
    assert r.status == 200 and body == manifest and r.getheader("Content-Type") == OCI_MANIFEST
    r, body = registry.request("GET", "/v2/oci/manifests/v1", headers={"Accept": DOCKER_MANIFEST})
    assert r.status == 404 and error_code(body) == "MANIFEST_UNKNOWN"


@pytest.mark.parametrize("method,path,status,code", [
    ("GET", "/v2/Upper/tags/list", 400, "NAME_INVALID"),
    ("GET", "/v2/a/%2e%2e/b/tags/list", 400, "NAME_INVALID"),
    ("GET", "/v2/a/..%2F..%2Fetc/blobs/sha256:" + "a" * 64, 400, "NAME_INVALID"),
    ("GET", "/v2/_layers/blobs/sha256:" + "a" * 64, 400, "NAME_INVALID"),
    ("GET", "/v2/a/blobs/sha256:zz", 400, "DIGEST_INVALID"),
    ("GET", "/v2/a/blobs/sha256:..%2F..%2Fx", 404, None),
    ("HEAD", "/v2/a/blobs/sha256:" + "a" * 64, 404, None),
    ("GET", "/v2/a/blobs/sha256:" + "a" * 64, 404, "BLOB_UNKNOWN"),
    ("GET", "/v2/a/blobs/uploads/../../../etc", 404, None),
    ("GET", "/v2/a/blobs/uploads/0f8fad5b-d9cb-469f-a165-70867728950e", 404, "BLOB_UPLOAD_UNKNOWN"),
    ("GET", "/v2/a/manifests/..", 400, "TAG_INVALID"),
    ("GET", "/v2/a/manifests/nope", 404, "MANIFEST_UNKNOWN"),
    ("GET", "/v2/nope/tags/list", 404, "NAME_UNKNOWN"),
    ("GET", "/v2/_catalog?n=-1", 400, "PAGINATION_NUMBER_INVALID"),
    ("POST", "/v2/a/manifests/x", 405, "UNSUPPORTED"),
    ("GET", "/etc/passwd", 404, "UNSUPPORTED"),
])
def test_errors(registry, method, path, status, code):
    r, body = registry.request(method, path)
    assert r.status == status, body
    assert r.getheader("Docker-Distribution-API-Version") == "registry/2.0"
    if code is not None:
        assert error_code(body) == code
    assert not os.path.exists(os.path.join(registry.root, "etc"))


def test_upload_errors(registry):
    r, _ = registry.request("POST", "/v2/a/blobs/uploads/")
    loc = r.getheader("Location")
    r, body = registry.request("PATCH", loc, b"hello", {"Content-Range": "5-9"})
    assert r.status == 416 and error_code(body) == "RANGE_INVALID"
    r, body = registry.request("PATCH", loc, b"hello", {"Content-Range": "0-4"})
    assert r.status == 202
    r, body = registry.request("PUT", f"{loc}?digest={sha(b'other')}")
    assert r.status == 400 and error_code(body) == "DIGEST_INVALID"
    r, body = registry.request("HEAD", f"/v2/a/blobs/{sha(b'other')}")
    assert r.status == 404
    r, body = registry.request("PUT", loc)
    assert r.status == 400 and error_code(body) == "DIGEST_INVALID"
    r, body = registry.request("PUT", f"{loc}?digest=sha256:nothex")
    assert r.status == 400 and error_code(body) == "DIGEST_INVALID"
    r, body = registry.request("PUT", f"{loc}?digest={sha(b'hello world')}", b" world")  # last chunk with PUT
    assert r.status == 201, body
    r, body = registry.request("GET", f"/v2/a/blobs/{sha(b'hello world')}")
    assert body == b"hello world"
    r, body = registry.request("POST", f"/v2/a/blobs/uploads/?digest={sha(b'x')}", b"y")
    assert r.status == 400 and error_code(body) == "DIGEST_INVALID"
    assert os.listdir(os.path.join(registry.root, "repositories", "a", "_uploads")) == []
    r, body = registry.request("PUT", "/v2/a/manifests/big", b"{" + b" " * (5 << 20) + b"}",
                               {"Content-Type": OCI_MANIFEST})
    assert r.status == 413


def vm_peak_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmHWM:\s+(\d+)", f.read()).group(1))


def test_big_blob_streams_through_disk(registry):
    size, piece = 160 << 20, os.urandom(1 << 20)
    h = hashlib.sha256()
    for _ in range(size // len(piece)):
        h.update(piece)
    digest = "sha256:" + h.hexdigest()
    r, _ = registry.request("POST", "/v2/big/blobs/uploads/")

    def body():
        for _ in range(size // len(piece)):
            yield piece
    # One streamed PATCH (chunked transfer encoding, as docker sends layers), then PUT.
    r, data = registry.request("PATCH", r.getheader("Location"), body(), {"Content-Type": "application/octet-stream"})
    assert r.status == 202 and r.getheader("Range") == f"0-{size - 1}", data
    r, data = registry.request("PUT", f"{r.getheader('Location')}?digest={digest}")
    assert r.status == 201, data
    c = registry.conn()
    c.request("GET", f"/v2/big/blobs/{digest}")
    resp = c.getresponse()
    assert resp.status == 200 and int(resp.getheader("Content-Length")) == size
    got = hashlib.sha256()
    while chunk := resp.read(1 << 20):
        got.update(chunk)
    c.close()
    assert "sha256:" + got.hexdigest() == digest
    assert vm_peak_kib(registry.proc.pid) < 64 * 1024, "the server held the blob in memory"


def test_crash_mid_upload_keeps_what_was_committed(workdir):
    root = os.path.join(workdir, "root")
    reg = start_registry(root)
    try:
        done = upload_monolithic(reg, "crash", b"committed before the crash")
        r, _ = reg.request("POST", "/v2/crash/blobs/uploads/")
        loc = r.getheader("Location")
        reg.request("PATCH", loc, b"first half, ")
        reg.stop(signal.SIGKILL)
        reg = start_registry(root)
        r, body = reg.request("GET", f"/v2/crash/blobs/{done}")
        assert r.status == 200 and body == b"committed before the crash"
        r, _ = reg.request("GET", loc)  # the session survived, and says where to resume
        assert r.status == 204 and r.getheader("Range") == "0-11"
        r, _ = reg.request("PATCH", loc, b"second half", {"Content-Range": "12-22"})
        assert r.status == 202
        r, body = reg.request("PUT", f"{loc}?digest={sha(b'first half, second half')}")
        assert r.status == 201, body
    finally:
        reg.stop()


def test_basic_auth(workdir):
    import bcrypt
    htpasswd = os.path.join(workdir, "htpasswd")
    hashed = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(5)).decode().replace("$2b$", "$2y$", 1)
    with open(htpasswd, "w") as f:
        f.write(f"alice:{hashed}\nbob:{{SHA}}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n")
    reg = start_registry(os.path.join(workdir, "root"), "--htpasswd", htpasswd, "--realm", "test realm")
    try:
        def basic(user: str, pw: str) -> str:
            return "Basic " + base64.b64encode(f"{user}:{pw}".encode()).decode()
        for headers in [{}, {"Authorization": basic("alice", "wrong")}, {"Authorization": basic("bob", "password")},
                        {"Authorization": "Basic !!"}, {"Authorization": "Bearer x"}]:
            for path in ["/v2/", "/v2/_catalog", f"/v2/a/blobs/{sha(b'')}"]:
                r, body = reg.request("GET", path, headers=headers)
                assert r.status == 401, (headers, path)
                assert r.getheader("WWW-Authenticate") == 'Basic realm="test realm"'
                assert error_code(body) == "UNAUTHORIZED"
        reg.auth = basic("alice", "s3cret")
        r, _ = reg.request("GET", "/v2/")
        assert r.status == 200
        manifest = push_image(reg, "private/app", "v1", b"secret layer")
        r, body = reg.request("GET", "/v2/private/app/manifests/v1")
        assert body == manifest
    finally:
        reg.stop()


def test_tls(workdir):
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    cert, key = os.path.join(workdir, "cert.pem"), os.path.join(workdir, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    reg = start_registry(os.path.join(workdir, "root"), "--tls-cert", cert, "--tls-key", key, scheme="https")
    try:
        reg.tls = ssl.create_default_context(cafile=cert)
        r, _ = reg.request("GET", "/v2/")
        assert r.status == 200
        layer = os.urandom(700_000)
        push_image(reg, "secure", "v1", layer)
        r, body = reg.request("GET", f"/v2/secure/blobs/{sha(layer)}")
        assert body == layer
        # Plain HTTP to the TLS port gets nothing useful, and the server carries on.
        plain = http.client.HTTPConnection("127.0.0.1", reg.port, timeout=10)
        with pytest.raises((http.client.HTTPException, ConnectionError)):
            plain.request("GET", "/v2/")
            plain.getresponse().read()
        r, _ = reg.request("GET", "/v2/")
        assert r.status == 200
    finally:
        reg.stop()
