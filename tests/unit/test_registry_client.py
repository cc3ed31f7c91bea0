"""The registry client's pure parts and its answers to hostile registries.

The hostile registry is an http.server on 127.0.0.1 serving scripted
answers; every session here runs with the loopback-only URL guard.
"""
from __future__ import annotations

import asyncio
import base64
import gzip
import hashlib
import io
import json
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from hithe.content.store import ContentStore
from hithe.distribution.client import blobs, manifest as mf
from hithe.distribution.client.auth import (Challenge, Credentials, TokenCache, decode_registry_auth,
                                            parse_challenges, parse_token_response, token_request)
from hithe.distribution.client.endpoint import InsecurePolicy, domain_of_server, registry_host
from hithe.distribution.client.errors import RegistryError, TransportError, VerificationError
from hithe.distribution.client.pull import resolve
from hithe.distribution.client.session import Session, loopback_only
from hithe.errors import HitheError, InvalidParameter, NotFound
from hithe.images.reference import parse_reference


# --- challenges, credentials, tokens ---------------------------------------------

def test_bearer_challenge() -> None:
    [c] = parse_challenges(['Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
                            'scope="repository:library/busybox:pull"'])
    assert c.scheme == "bearer" and c.realm == "https://auth.docker.io/token"
    assert c.params["service"] == "registry.docker.io"
    assert c.params["scope"] == "repository:library/busybox:pull"


def test_several_challenges_and_quoting() -> None:
    cs = parse_challenges(['Basic realm="a, \\"quoted\\" realm", Bearer realm=https://t/x ,service=s',
                           'Negotiate'])
    assert [c.scheme for c in cs] == ["basic", "bearer", "negotiate"]
    assert cs[0].realm == 'a, "quoted" realm'
    assert cs[1].params == {"realm": "https://t/x", "service": "s"}


def test_garbage_challenge_does_not_crash() -> None:
    assert parse_challenges(["", "   ", ",,,", '"oops"']) == []


def test_token_request_with_and_without_credentials() -> None:
    ch = Challenge("bearer", {"realm": "http://127.0.0.1:1/token?x=1", "service": "reg"})
    method, url, headers, body = token_request(ch, ["repository:a/b:pull,push"], Credentials("u", "p"))
    assert method == "GET" and body is None
    assert url.startswith("http://127.0.0.1:1/token?x=1&service=reg&scope=repository%3Aa%2Fb%3Apull%2Cpush")
    assert headers["Authorization"] == "Basic " + base64.b64encode(b"u:p").decode()
    _, url, headers, _ = token_request(ch, [], Credentials())
    assert headers == {} and "account" not in url
    method, _, _, body = token_request(ch, ["s"], Credentials(identity_token="rt"))
    assert method == "POST" and b"grant_type=refresh_token" in body and b"refresh_token=rt" in body
    with pytest.raises(InvalidParameter):
        token_request(Challenge("bearer", {"realm": "file:///etc/passwd"}), [], Credentials())


def test_token_cache_per_scope_and_expiry() -> None:
    cache = TokenCache()
    ch = Challenge("bearer", {"realm": "http://r", "service": "s"})
    k1 = cache.key(ch, ["repository:a:pull"], Credentials("u", "p"))
    k2 = cache.key(ch, ["repository:a:pull,push"], Credentials("u", "p"))
    k3 = cache.key(ch, ["repository:a:pull"], Credentials("other", "p"))
    assert len({k1, k2, k3}) == 3
    cache.put(k1, parse_token_response(b'{"token":"t1","expires_in":300}', now=0))
    assert cache.get(k1, now=100) == "t1"
    assert cache.get(k2, now=100) is None
    assert cache.get(k1, now=295) is None  # inside the slack before expiry
    tok = parse_token_response(b'{"access_token":"t2"}', now=0)
    assert tok.value == "t2" and tok.expires == 60
    with pytest.raises(InvalidParameter):
        parse_token_response(b'{"token": ""}')


def test_x_registry_auth_header() -> None:
    enc = base64.urlsafe_b64encode(json.dumps({"username": "a", "password": "b+/=?",
                                               "serveraddress": "h:5000"}).encode()).decode().rstrip("=")
    creds, server = decode_registry_auth(enc)
    assert (creds.username, creds.password, server) == ("a", "b+/=?", "h:5000")
    assert decode_registry_auth("e30=")[0].empty
    assert decode_registry_auth(None)[0].empty
    with pytest.raises(InvalidParameter):
        decode_registry_auth("!!!not base64 nor json")


# --- endpoints ---------------------------------------------------------------------

def test_reference_to_registry() -> None:
    for name, host in [("busybox", "registry-1.docker.io"), ("docker.io/library/busybox", "registry-1.docker.io"),
                       ("index.docker.io/user/app", "registry-1.docker.io"),
                       ("127.0.0.1:5000/busybox", "127.0.0.1:5000"), ("quay.io/a/b:1", "quay.io"),
                       ("localhost/x", "localhost")]:
        assert registry_host(parse_reference(name).domain) == host, name
    assert domain_of_server("https://index.docker.io/v1/") == "docker.io"
    assert domain_of_server("http://127.0.0.1:5000/") == "127.0.0.1:5000"
    assert domain_of_server("myreg:5000") == "myreg:5000"


def test_insecure_policy() -> None:
    p = InsecurePolicy(["myreg:5000", "10.1.0.0/16", "http://other.example"])
    assert p.endpoint("docker.io").insecure is False
    assert p.endpoint("docker.io").schemes == ("https",)
    assert p.is_insecure("127.0.0.1:5000") and p.is_insecure("127.9.9.9") and p.is_insecure("localhost:5000")
    assert p.is_insecure("[::1]:5000")
    assert p.is_insecure("myreg:5000") and not p.is_insecure("myreg:6000")
    assert p.is_insecure("10.1.2.3:443") and not p.is_insecure("10.2.0.1")
    assert p.is_insecure("other.example")
    assert not p.is_insecure("quay.io")
    assert p.endpoint("127.0.0.1:5000").schemes == ("https", "http")
    with pytest.raises(InvalidParameter):
        InsecurePolicy(["10.0.0.0/99"])


# --- manifests ---------------------------------------------------------------------

D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64
D3 = "sha256:" + "3" * 64


def _index(*plats: dict) -> mf.Index:
    raw = json.dumps({"schemaVersion": 2, "mediaType": mf.OCI_INDEX, "manifests": [
        {"mediaType": mf.OCI_MANIFEST, "digest": "sha256:" + str(i) * 64, "size": 10, "platform": p}
        for i, p in enumerate(plats, 1)]}).encode()
    doc = mf.parse(raw, "", "x")
    assert isinstance(doc, mf.Index)
    return doc


def test_platform_selection() -> None:
    idx = _index({"os": "linux", "architecture": "arm", "variant": "v6"},
                 {"os": "linux", "architecture": "arm64", "variant": "v8"},
                 {"os": "linux", "architecture": "amd64"},
                 {"os": "windows", "architecture": "amd64"},
                 {"os": "linux", "architecture": "arm", "variant": "v7"})
    assert mf.select_platform(idx, "linux", "amd64").digest == D3
    assert mf.select_platform(idx, "linux", "arm64").digest == D2
    assert mf.select_platform(idx, "linux", "arm", "v7").digest == "sha256:" + "5" * 64
    assert mf.select_platform(idx, "linux", "arm", "v6").digest == D1
    with pytest.raises(NotFound, match="no matching manifest for linux/s390x in the manifest list entries"):
        mf.select_platform(idx, "linux", "s390x")
    assert mf.parse_platform("linux/aarch64") == ("linux", "arm64", "")


def test_attestations_are_not_platforms() -> None:
    raw = json.dumps({"mediaType": mf.OCI_INDEX, "schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.in-toto+json", "digest": D1, "size": 1,
         "platform": {"os": "linux", "architecture": "amd64"}},
        {"mediaType": mf.OCI_MANIFEST, "digest": D2, "size": 1, "platform": {"os": "linux", "architecture": "amd64"}},
    ]}).encode()
    assert mf.select_platform(mf.parse(raw, "", "x"), "linux", "amd64").digest == D2


def test_schema1_refused_with_dockers_error() -> None:
    raw = json.dumps({"schemaVersion": 1, "name": "x", "tag": "1", "fsLayers": []}).encode()
    with pytest.raises(InvalidParameter, match=r"schema 1 support has been removed. Suggest the author of x:1"):
        mf.parse(raw, "application/vnd.docker.distribution.manifest.v1+prettyjws", "x:1")


@pytest.mark.parametrize("doc", [
    {"schemaVersion": 2, "mediaType": mf.DOCKER_MANIFEST, "config": {"digest": "sha256:../../etc", "size": 1},
     "layers": []},
    {"schemaVersion": 2, "mediaType": mf.DOCKER_MANIFEST, "config": {"digest": D1, "size": -1}, "layers": []},
    {"schemaVersion": 2, "mediaType": mf.DOCKER_MANIFEST, "config": {"digest": D1, "size": 1},
     "layers": [{"digest": D2, "size": "12"}]},
    {"schemaVersion": 2, "mediaType": mf.DOCKER_MANIFEST, "config": {"digest": D1, "size": 1 << 40},
     "layers": []},
    {"schemaVersion": 2, "mediaType": mf.DOCKER_MANIFEST, "config": {"digest": D1, "size": 1},
     "layers": [{"digest": D2, "size": 1}] * 200},
    [1, 2, 3],
])
def test_hostile_manifests_refused(doc) -> None:
    with pytest.raises(HitheError):
        mf.parse(json.dumps(doc).encode(), "", "x")


def test_huge_manifest_refused() -> None:
    with pytest.raises(VerificationError, match="manifest too large"):
        mf.parse(b"{" + b" " * (mf.MAX_MANIFEST_BYTES + 1) + b"}", mf.DOCKER_MANIFEST, "x")


def test_digest_verification() -> None:
    mf.verify_digest(b"abc", "sha256:" + hashlib.sha256(b"abc").hexdigest())
    with pytest.raises(VerificationError, match="digest mismatch"):
        mf.verify_digest(b"abd", "sha256:" + hashlib.sha256(b"abc").hexdigest())


# --- a hostile registry on loopback ----------------------------------------------------

def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _layer() -> tuple[bytes, bytes]:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        info = tarfile.TarInfo("hello")
        info.size = 2
        t.addfile(info, io.BytesIO(b"hi"))
    raw = buf.getvalue()
    return raw, gzip.compress(raw, mtime=0)


class FakeRegistry:
    """Routes: path → (status, headers, body); a callable route may decide per request."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        outer = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a) -> None:
                pass

            def _answer(self) -> None:
                outer.seen.append((self.command, self.path, dict(self.headers)))
                status, headers, body = outer.routes.get(self.path.split("?")[0], (404, {}, b'{"errors":[{"code":'
                                                         b'"MANIFEST_UNKNOWN","message":"manifest unknown"}]}'))
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                if "Content-Length" not in headers:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_HEAD = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        self.routes["/v2/"] = (200, {}, b"{}")
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def image(self, config: bytes, layer: bytes, *, layer_body: bytes | None = None,
              layer_headers: dict[str, str] | None = None) -> str:
        m = json.dumps({"schemaVersion": 2, "mediaType": mf.DOCKER_MANIFEST,
                        "config": {"mediaType": mf.DOCKER_CONFIG, "digest": _sha(config), "size": len(config)},
                        "layers": [{"mediaType": mf.DOCKER_LAYER_GZIP, "digest": _sha(layer),
                                    "size": len(layer)}]}).encode()
        self.routes["/v2/app/manifests/latest"] = (200, {"Content-Type": mf.DOCKER_MANIFEST}, m)
        self.routes[f"/v2/app/blobs/{_sha(config)}"] = (200, {}, config)
        self.routes[f"/v2/app/blobs/{_sha(layer)}"] = (200, layer_headers or {},
                                                       layer if layer_body is None else layer_body)
        return _sha(layer)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def reg():
    r = FakeRegistry()
    yield r
    r.stop()


def _config(raw_layer: bytes) -> bytes:
    return json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                       "rootfs": {"type": "layers", "diff_ids": [_sha(raw_layer)]}}).encode()


def _resolve(reg: FakeRegistry, name: str = "app"):
    ref = parse_reference(f"{reg.host}/{name}:latest")
    return asyncio.run(resolve(ref, Credentials(), TokenCache(), InsecurePolicy(), ("linux", "amd64", ""),
                               url_guard=loopback_only))


def _download(reg: FakeRegistry, digest: str, size: int, tmp_path) -> ContentStore:
    cs = ContentStore(str(tmp_path / "content"))
    s = Session(InsecurePolicy().endpoint(reg.host), Credentials(), TokenCache(), InsecurePolicy(),
                url_guard=loopback_only)
    asyncio.run(blobs.download(s, "app", mf.Descriptor(mf.DOCKER_LAYER_GZIP, digest, size), cs, []))
    return cs


def test_resolve_and_download(reg: FakeRegistry, tmp_path) -> None:
    raw, gz = _layer()
    digest = reg.image(_config(raw), gz)
    r = _resolve(reg)
    assert r.diff_ids == [_sha(raw)] and r.manifest.layers[0].digest == digest
    cs = _download(reg, digest, len(gz), tmp_path)
    assert cs.read_bytes(digest) == gz


def test_blob_digest_mismatch(reg: FakeRegistry, tmp_path) -> None:
    raw, gz = _layer()
    evil = bytearray(gz)
    evil[-9] ^= 0xFF
    digest = reg.image(_config(raw), gz, layer_body=bytes(evil))
    with pytest.raises(VerificationError, match="verification failed"):
        _download(reg, digest, len(gz), tmp_path)
    assert list(ContentStore(str(tmp_path / "content")).walk()) == []


def test_blob_longer_than_descriptor(reg: FakeRegistry, tmp_path) -> None:
    raw, gz = _layer()
    digest = reg.image(_config(raw), gz, layer_body=gz + b"x" * 100000,
                       layer_headers={"Content-Length": str(len(gz) + 100000)})
    with pytest.raises(VerificationError, match="descriptor says"):
        _download(reg, digest, len(gz), tmp_path)
    # without a Content-Length the stream is cut off at the descriptor's size
    reg.routes[f"/v2/app/blobs/{digest}"] = (200, {"Connection": "close", "Content-Length": ""}, gz + b"x" * 100)
    with pytest.raises(HitheError):
        _download(reg, digest, len(gz), tmp_path)


def test_blob_shorter_than_descriptor(reg: FakeRegistry, tmp_path) -> None:
    raw, gz = _layer()
    digest = reg.image(_config(raw), gz, layer_body=gz[:10], layer_headers={"Content-Length": "10"})
    with pytest.raises(VerificationError):
        _download(reg, digest, len(gz), tmp_path)


def test_manifest_digest_header_mismatch(reg: FakeRegistry) -> None:
    raw, gz = _layer()
    reg.image(_config(raw), gz)
    status, headers, body = reg.routes["/v2/app/manifests/latest"]
    reg.routes["/v2/app/manifests/latest"] = (status, {**headers, "Docker-Content-Digest": D1}, body)
    with pytest.raises(VerificationError, match="manifest verification failed"):
        _resolve(reg)


def test_config_mismatch(reg: FakeRegistry) -> None:
    raw, gz = _layer()
    config = _config(raw)
    reg.image(config, gz)
    reg.routes[f"/v2/app/blobs/{_sha(config)}"] = (200, {}, config.replace(b"amd64", b"arm64"))
    with pytest.raises(VerificationError, match="digest mismatch"):
        _resolve(reg)


def test_huge_manifest_from_registry(reg: FakeRegistry) -> None:
    reg.routes["/v2/app/manifests/latest"] = (200, {"Content-Type": mf.DOCKER_MANIFEST},
                                              b" " * (mf.MAX_MANIFEST_BYTES + 10))
    with pytest.raises(VerificationError, match="too large"):
        _resolve(reg)


def test_unknown_tag_wording(reg: FakeRegistry) -> None:
    with pytest.raises(NotFound, match=r"manifest for 127\.0\.0\.1:\d+/app:latest not found: "
                                       r"manifest unknown: manifest unknown"):
        _resolve(reg)


def test_redirect_off_loopback_refused(reg: FakeRegistry, tmp_path) -> None:
    raw, gz = _layer()
    digest = reg.image(_config(raw), gz)
    reg.routes[f"/v2/app/blobs/{digest}"] = (307, {"Location": "http://10.255.255.1/blob"}, b"")
    with pytest.raises(TransportError, match="not a loopback address"):
        _download(reg, digest, len(gz), tmp_path)


def test_redirect_keeps_credentials_home(reg: FakeRegistry, tmp_path) -> None:
    raw, gz = _layer()
    digest = reg.image(_config(raw), gz)
    other = FakeRegistry()
    try:
        other.routes["/blob"] = (200, {}, gz)
        reg.routes["/v2/"] = (401, {"WWW-Authenticate": 'Basic realm="x"'}, b"")
        reg.routes[f"/v2/app/blobs/{digest}"] = (302, {"Location": f"http://{other.host}/blob"}, b"")
        cs = ContentStore(str(tmp_path / "c"))
        s = Session(InsecurePolicy().endpoint(reg.host), Credentials("u", "p"), TokenCache(), InsecurePolicy(),
                    url_guard=loopback_only)
        asyncio.run(blobs.download(s, "app", mf.Descriptor("", digest, len(gz)), cs, []))
        assert cs.exists(digest)
        assert any("Authorization" in h for m, p, h in reg.seen if p.startswith("/v2/app/blobs"))
        assert not any("Authorization" in h for m, p, h in other.seen)
    finally:
        other.stop()


def test_redirect_loop(reg: FakeRegistry, tmp_path) -> None:
    reg.routes["/v2/app/blobs/" + D1] = (302, {"Location": "/v2/app/blobs/" + D1}, b"")
    with pytest.raises(TransportError, match="redirects"):
        _download(reg, D1, 1, tmp_path)


def test_auth_refused_is_pull_access_denied(reg: FakeRegistry) -> None:
    reg.routes["/v2/"] = (401, {"WWW-Authenticate": 'Basic realm="x"'}, b"")
    reg.routes["/v2/app/manifests/latest"] = (401, {"WWW-Authenticate": 'Basic realm="x"'},
                                              b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}')
    with pytest.raises(NotFound, match=r"pull access denied for 127\.0\.0\.1:\d+/app, repository does not exist "
                                       r"or may require 'docker login': unauthorized: authentication required"):
        _resolve(reg)


def test_registry_error_status_and_codes() -> None:
    from hithe.distribution.client.errors import error_from_body
    e = error_from_body(404, "Not Found", b'{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known '
                                         b'to registry"}]}')
    assert isinstance(e, RegistryError) and e.is_unknown and str(e) == \
        "name unknown: repository name not known to registry"
    assert str(error_from_body(500, "Internal Server Error", b"<html>")) == \
        "received unexpected HTTP status: 500 Internal Server Error"
