"""pull, push, login, logout against Debian's reference registry (distribution 2.8).

Three registries on 127.0.0.1: anonymous, htpasswd (Basic), and token auth
(docker-registry's ``auth: token`` with a self-signed RS256 key, in front of
a token server written here).  The daemon is this module's own, started with
HITHE_REGISTRY_LOOPBACK_ONLY so nothing it does can leave loopback.
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import Daemon, busybox_tar, cleanup_instance, run_cli, _have_runtime

pytestmark = pytest.mark.skipif(not shutil.which("docker-registry"), reason="needs docker-registry")


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Registry:
    def __init__(self, root: Path, auth: str = "") -> None:
        self.root = root
        self.port = _free_port()
        self.addr = f"127.0.0.1:{self.port}"
        root.mkdir(parents=True, exist_ok=True)
        cfg = (f"version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {root}/data\n"
               f"  delete:\n    enabled: true\nhttp:\n  addr: {self.addr}\n  secret: s3cret\n{auth}")
        (root / "config.yml").write_text(cfg)
        self.log = open(root / "registry.log", "wb")
        self.proc = subprocess.Popen(["docker-registry", "serve", str(root / "config.yml")],
                                     stdout=self.log, stderr=self.log, start_new_session=True)
        deadline = time.time() + 15
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("docker-registry did not start: " + (root / "registry.log").read_text()[-2000:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


# --- token server ------------------------------------------------------------

def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenServer:
    """Answers the realm with a JWT signed by `openssl dgst` (docker-registry verifies it)."""

    def __init__(self, root: Path, user: str, password: str) -> None:
        self.key, self.cert = root / "key.pem", root / "cert.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(self.key),
                        "-out", str(self.cert), "-days", "2", "-subj", "/CN=token"], check=True,
                       capture_output=True)
        der = subprocess.run(["openssl", "x509", "-in", str(self.cert), "-outform", "DER"], check=True,
                             capture_output=True).stdout
        self.x5c = base64.b64encode(der).decode()
        self.user, self.password = user, password
        self.requests: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                from urllib.parse import parse_qs, urlsplit
                outer.requests.append(self.path)
                q = parse_qs(urlsplit(self.path).query)
                hdr = self.headers.get("Authorization", "")
                user = ""
                if hdr.startswith("Basic "):
                    u, _, p = base64.b64decode(hdr[6:]).decode().partition(":")
                    if (u, p) != (outer.user, outer.password):
                        self.send_response(401)
                        body = b'{"details":"incorrect username or password"}'
                        self.send_header("Content-Length", str(len(body)))
                        self.end_headers()
                        self.wfile.write(body)
                        return
                    user = u
                access = []
                for scope in q.get("scope", []):
                    typ, name, actions = scope.split(":")
                    allowed = actions.split(",") if user else [a for a in actions.split(",") if a == "pull"
                                                               and name.startswith("public/")]
                    access.append({"type": typ, "name": name, "actions": allowed})
                body = json.dumps({"token": outer.sign(user, q.get("service", [""])[0], access),
                                   "expires_in": 300}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.realm = f"http://127.0.0.1:{self.server.server_address[1]}/token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def sign(self, sub: str, service: str, access: list) -> str:
        now = int(time.time())
        header = {"alg": "RS256", "typ": "JWT", "x5c": [self.x5c]}
        claims = {"iss": "hithe-test", "sub": sub, "aud": service, "exp": now + 300, "nbf": now - 10,
                  "iat": now, "jti": os.urandom(8).hex(), "access": access}
        signing = _b64url(json.dumps(header).encode()) + "." + _b64url(json.dumps(claims).encode())
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(self.key)], input=signing.encode(),
                             check=True, capture_output=True).stdout
        return signing + "." + _b64url(sig)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- fixtures ------------------------------------------------------------------

@pytest.fixture(scope="module")
def tmp() -> Path:
    d = Path(tempfile.mkdtemp(prefix="ht-reg-", dir="/tmp"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def dmn(tmp: Path) -> Daemon:
    if not _have_runtime():
        pytest.skip("needs root, runc, conmon and busybox-static")
    root = tempfile.mkdtemp(prefix="ht-pp-", dir="/tmp")
    d = Daemon(root=root, socket=os.path.join(root, "h.sock"))
    cfg_dir = tmp / "cli"
    d.env = {**os.environ, "HITHE_HOST": d.host, "DOCKER_HOST": d.host, "HITHE_NO_AUTOSTART": "1",
             "HITHE_CONFIG": str(cfg_dir), "DOCKER_CONFIG": str(tmp / "dockercli")}
    Path(root, "daemon.json").write_text("{}")
    d.start()  # with HITHE_REGISTRY_LOOPBACK_ONLY (conftest): nothing leaves loopback
    try:
        r = run_cli(d, "import", "-c", 'CMD ["sh"]', "-c",
                    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "-", "busybox:latest",
                    input=busybox_tar())
        assert r.rc == 0, r.err
        yield d
    finally:
        for cid in run_cli(d, "ps", "-aq").out.split():
            run_cli(d, "rm", "-f", cid)
        d.stop()
        cleanup_instance(d)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def plain(tmp: Path) -> Registry:
    r = Registry(tmp / "plain")
    yield r
    r.stop()


@pytest.fixture(scope="module")
def basic(tmp: Path) -> Registry:
    if not shutil.which("htpasswd"):
        pytest.skip("needs htpasswd (apache2-utils)")
    root = tmp / "basic"
    root.mkdir()
    subprocess.run(["htpasswd", "-Bbc", str(root / "htpasswd"), "alice", "wonderland"], check=True,
                   capture_output=True)
    r = Registry(root, f"auth:\n  htpasswd:\n    realm: test\n    path: {root}/htpasswd\n")
    yield r
    r.stop()


@pytest.fixture(scope="module")
def token(tmp: Path):
    root = tmp / "token"
    root.mkdir()
    ts = TokenServer(root, "bob", "builder")
    r = Registry(root, f"auth:\n  token:\n    realm: {ts.realm}\n    service: test-registry\n"
                       f"    issuer: hithe-test\n    rootcertbundle: {ts.cert}\n")
    yield r, ts
    r.stop()
    ts.stop()


def cli(d: Daemon, *args: str, **kw):
    return run_cli(d, *args, **kw)


# --- tests ---------------------------------------------------------------------

def test_push_rmi_pull_run(dmn: Daemon, plain: Registry) -> None:
    name = f"{plain.addr}/busybox"
    assert cli(dmn, "tag", "busybox:latest", f"{name}:1.0").rc == 0
    r = cli(dmn, "push", f"{name}:1.0")
    assert r.rc == 0, r.err
    assert f"The push refers to repository [{name}]" in r.out
    assert ": Pushed" in r.out
    assert "1.0: digest: sha256:" in r.out
    digest = r.out.split("1.0: digest: ")[1].split()[0]
    # a second push sends nothing new and gives the same digest
    r2 = cli(dmn, "push", f"{name}:1.0")
    assert r2.rc == 0 and "Layer already exists" in r2.out and f"digest: {digest}" in r2.out, r2.out
    # skopeo, an independent client, sees the image
    if shutil.which("skopeo"):
        sk = subprocess.run(["skopeo", "inspect", "--tls-verify=false", "--raw", f"docker://{name}:1.0"],
                            capture_output=True, text=True, timeout=60)
        assert sk.returncode == 0, sk.stderr
        assert json.loads(sk.stdout)["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    image_id = json.loads(cli(dmn, "image", "inspect", f"{name}:1.0").out)[0]["Id"]
    assert cli(dmn, "rmi", f"{name}:1.0").rc == 0
    r = cli(dmn, "pull", f"{name}:1.0")
    assert r.rc == 0, r.err
    assert "1.0: Pulling from busybox" in r.out
    assert f"Digest: {digest}" in r.out
    assert f"Status: Downloaded newer image for {name}:1.0" in r.out
    assert r.out.strip().endswith(f"{name}:1.0")
    info = json.loads(cli(dmn, "image", "inspect", f"{name}:1.0").out)[0]
    assert info["Id"] == image_id
    assert f"{name}@{digest}" in info["RepoDigests"]
    r = cli(dmn, "pull", f"{name}:1.0")
    assert "Image is up to date" in r.out, r.out
    # a fresh pull of an image whose layers are all gone, then run it
    assert cli(dmn, "tag", f"{name}:1.0", f"{name}:2.0").rc == 0
    assert cli(dmn, "push", f"{name}:2.0").rc == 0
    r = cli(dmn, "run", "--rm", f"{name}@{digest}", "echo", "hello from the registry")
    assert r.rc == 0 and "hello from the registry" in r.out, r.out + r.err
    r = cli(dmn, "pull", "-q", f"{name}:2.0")
    assert r.rc == 0 and r.out.strip() == f"{name}:2.0"


def test_pull_after_everything_removed(dmn: Daemon, plain: Registry) -> None:
    name = f"{plain.addr}/fresh/box"
    assert cli(dmn, "tag", "busybox:latest", name).rc == 0
    r = cli(dmn, "push", name)
    # the layer went to <registry>/busybox in the first test: a cross-repository mount, no upload
    assert r.rc == 0 and "Mounted from busybox" in r.out, r.out + r.err
    iid = json.loads(cli(dmn, "image", "inspect", name).out)[0]["Id"]
    assert cli(dmn, "rmi", "-f", iid).rc == 0, "busybox and the pushed tag share the image"
    r = cli(dmn, "pull", name)
    assert r.rc == 0, r.err
    assert "Using default tag: latest" in r.out and "Pull complete" in r.out
    r = cli(dmn, "run", "--rm", name, "cat", "/etc/passwd")
    assert r.rc == 0 and "root" in r.out
    assert cli(dmn, "tag", name, "busybox:latest").rc == 0


def test_missing_tag_and_repo(dmn: Daemon, plain: Registry) -> None:
    r = cli(dmn, "pull", f"{plain.addr}/busybox:nope")
    assert r.rc == 1
    assert f"manifest for {plain.addr}/busybox:nope not found: manifest unknown" in r.err, r.err
    r = cli(dmn, "pull", f"{plain.addr}/nothing/here")
    assert r.rc == 1 and "not found" in r.err, r.err


def test_unreachable_registry(dmn: Daemon) -> None:
    port = _free_port()
    r = cli(dmn, "pull", f"127.0.0.1:{port}/busybox")
    assert r.rc == 1
    assert f'Get "http://127.0.0.1:{port}/v2/": dial tcp 127.0.0.1:{port}: connect: connection refused' in r.err


def test_docker_cli_and_sdk(dmn: Daemon, plain: Registry) -> None:
    name = f"{plain.addr}/busybox"
    assert cli(dmn, "push", f"{name}:1.0").rc in (0, 1)  # present from the first test when run together
    if shutil.which("docker"):
        r = run_cli(dmn, "pull", f"{name}:2.0", prog="docker")
        assert r.rc == 0, r.err
        assert f"{name}:2.0" in r.out
    import docker
    api = docker.APIClient(base_url=dmn.host, version="auto", timeout=60)
    out = list(api.pull(name, tag="2.0", stream=True, decode=True))
    assert any("Digest: sha256:" in (m.get("status") or "") for m in out), out


def test_basic_auth_login_logout(dmn: Daemon, basic: Registry, tmp: Path) -> None:
    name = f"{basic.addr}/private/busybox"
    assert cli(dmn, "tag", "busybox:latest", name).rc == 0
    r = cli(dmn, "push", name)
    assert r.rc == 1 and "unauthorized: authentication required" in r.err, r.out + r.err
    r = cli(dmn, "login", "-u", "alice", "-p", "wrong", basic.addr)
    assert r.rc == 1
    assert f"login attempt to http://{basic.addr}/v2/ failed with status: 401 Unauthorized" in r.err, r.err
    r = cli(dmn, "login", "-u", "alice", "--password-stdin", basic.addr, input="wonderland\n")
    assert r.rc == 0 and "Login Succeeded" in r.out, r.err
    cfg_file = tmp / "cli" / "config.json"
    assert oct(cfg_file.stat().st_mode & 0o777) == "0o600"
    cfg = json.loads(cfg_file.read_text())
    assert base64.b64decode(cfg["auths"][basic.addr]["auth"]).decode() == "alice:wonderland"
    r = cli(dmn, "push", name)
    assert r.rc == 0 and "latest: digest:" in r.out, r.err
    assert cli(dmn, "rmi", name).rc == 0
    assert cli(dmn, "pull", name).rc == 0
    r = cli(dmn, "logout", basic.addr)
    assert r.rc == 0 and f"Removing login credentials for {basic.addr}" in r.out
    assert basic.addr not in json.loads(cfg_file.read_text()).get("auths", {})
    assert cli(dmn, "rmi", name).rc == 0
    r = cli(dmn, "pull", name)
    assert r.rc == 1
    assert f"pull access denied for {name}, repository does not exist or may require 'docker login'" in r.err


def test_token_auth(dmn: Daemon, token) -> None:
    reg, ts = token
    name = f"{reg.addr}/team/busybox"
    assert cli(dmn, "tag", "busybox:latest", name).rc == 0
    r = cli(dmn, "login", "-u", "bob", "-p", "nope", reg.addr)
    assert r.rc == 1 and "incorrect username or password" in r.err, r.err
    r = cli(dmn, "login", "-u", "bob", "-p", "builder", reg.addr)
    assert r.rc == 0, r.err
    before = len(ts.requests)
    r = cli(dmn, "push", name)
    assert r.rc == 0 and "latest: digest:" in r.out, r.out + r.err
    pushed = ts.requests[before:]
    assert any("scope=repository%3Ateam%2Fbusybox%3Apull%2Cpush" in p and "service=test-registry" in p
               for p in pushed), pushed
    # one push, one token: the cache serves every request of the same scope
    assert len([p for p in pushed if "team%2Fbusybox%3Apull%2Cpush" in p]) == 1, pushed
    assert cli(dmn, "rmi", name).rc == 0
    r = cli(dmn, "pull", name)
    assert r.rc == 0 and "Downloaded newer image" in r.out, r.err
    assert cli(dmn, "logout", reg.addr).rc == 0
    assert cli(dmn, "rmi", name).rc == 0
    r = cli(dmn, "pull", name)
    assert r.rc == 1 and "pull access denied for" in r.err, r.err


def test_test_daemons_stay_on_loopback(dmn: Daemon) -> None:
    r = cli(dmn, "pull", "busybox")
    assert r.rc == 1
    assert "refusing to contact registry-1.docker.io" in r.err, r.err
    r = cli(dmn, "run", "--rm", "nosuch_image_q")
    assert r.rc == 125 and "Unable to find image 'nosuch_image_q:latest' locally" in r.err


def test_pull_progress_messages(dmn: Daemon, plain: Registry) -> None:
    import docker
    name = f"{plain.addr}/progress"
    assert cli(dmn, "tag", "busybox:latest", name).rc == 0
    assert cli(dmn, "push", name).rc == 0
    assert cli(dmn, "rmi", name).rc == 0
    api = docker.APIClient(base_url=dmn.host, version="auto", timeout=60)
    msgs = list(api.pull(name, tag="latest", stream=True, decode=True))
    assert msgs[0] == {"status": "Pulling from progress", "id": "latest"}
    statuses = [m.get("status") for m in msgs]
    assert statuses[-1] == f"Status: Image is up to date for {name}:latest" or \
        statuses[-1] == f"Status: Downloaded newer image for {name}:latest"
    assert any(s in ("Already exists", "Pull complete") for s in statuses)


def test_chunked_upload_against_reference_registry(plain: Registry, tmp: Path) -> None:
    """PATCH chunks + PUT, then a verified download, with the client alone."""
    import asyncio
    import hashlib
    import io

    from hithe.content.store import ContentStore
    from hithe.distribution.client import blobs
    from hithe.distribution.client.auth import Credentials, TokenCache
    from hithe.distribution.client.endpoint import InsecurePolicy
    from hithe.distribution.client.manifest import Descriptor
    from hithe.distribution.client.session import Session, loopback_only

    data = os.urandom(250_000)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    policy = InsecurePolicy()

    async def go() -> ContentStore:
        s = Session(policy.endpoint(plain.addr), Credentials(), TokenCache(), policy, url_guard=loopback_only)
        up = blobs.Upload(s, "chunky", [], chunk_size=64_000)
        await up.put(digest, len(data), lambda: io.BytesIO(data))
        assert await blobs.exists(s, "chunky", digest, [])
        cs = ContentStore(str(tmp / "chunky-content"))
        await blobs.download(s, "chunky", Descriptor("", digest, len(data)), cs, [])
        return cs
    cs = asyncio.run(go())
    assert cs.read_bytes(digest) == data
