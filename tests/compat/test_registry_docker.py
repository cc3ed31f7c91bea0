"""hithe-registry against real clients: the stock docker CLI through a private dockerd, and skopeo.

dockerd treats registries on 127.0.0.0/8 as insecure (plain HTTP) by default,
so `docker push/pull 127.0.0.1:PORT/...` needs no daemon configuration; each
test skips when its client is not installed.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile

import pytest

from tests.conftest import busybox_tar
from tests.dockerd_helpers import docker_env, private_dockerd
from tests.registry_helpers import start_registry

pytestmark = [pytest.mark.compat, pytest.mark.integration]
NS = "hregd"


def run(*cmd: str, env: dict | None = None, input: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(list(cmd), input=input, capture_output=True, env=env, timeout=300)


@pytest.fixture
def workdir():
    d = tempfile.mkdtemp(prefix="hregc-", dir="/tmp")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def htpasswd(workdir) -> str:
    import bcrypt
    path = os.path.join(workdir, "htpasswd")
    with open(path, "w") as f:
        f.write("alice:" + bcrypt.hashpw(b"s3cret", bcrypt.gensalt(5)).decode().replace("$2b$", "$2y$", 1) + "\n")
    return path


@pytest.fixture(scope="module")
def dockerd():
    """A private dockerd (own data root, exec root, containerd namespace; no networking), under the shared lock."""
    with private_dockerd(NS, lock_wait=120) as (host, root):
        env = docker_env(host, root)
        r = run("docker", "import", "-c", 'CMD ["sh"]', "-", "busybox:latest", env=env, input=busybox_tar())
        assert r.returncode == 0, r.stderr
        yield env


def docker(env: dict, *args: str, input: bytes | None = None) -> str:
    r = run("docker", *args, env=env, input=input)
    assert r.returncode == 0, (args, r.stderr.decode())
    return r.stdout.decode()


def test_docker_push_and_pull(dockerd, workdir):
    reg = start_registry(os.path.join(workdir, "root"))
    try:
        ref = f"127.0.0.1:{reg.port}/library/busybox:v1"
        image_id = docker(dockerd, "image", "inspect", "-f", "{{.Id}}", "busybox").strip()
        docker(dockerd, "tag", "busybox", ref)
        out = docker(dockerd, "push", ref)
        assert "digest: sha256:" in out
        pushed = out.split("digest: ")[1].split()[0]
        # Again: every layer already exists.
        assert "Layer already exists" in docker(dockerd, "push", ref)
        docker(dockerd, "rmi", ref, "busybox")  # the image is gone: the pull must fetch it
        out = docker(dockerd, "pull", ref)
        docker(dockerd, "tag", ref, "busybox")
        assert f"Digest: {pushed}" in out
        assert docker(dockerd, "image", "inspect", "-f", "{{.Id}}", ref).strip() == image_id
        # Pull by digest, and a second repository mounted from the first.
        docker(dockerd, "pull", f"127.0.0.1:{reg.port}/library/busybox@{pushed}")
        other = f"127.0.0.1:{reg.port}/mirror/busybox:latest"
        docker(dockerd, "tag", ref, other)
        assert "Mounted from library/busybox" in docker(dockerd, "push", other)
        r, body = reg.request("GET", "/v2/_catalog")
        assert json.loads(body)["repositories"] == ["library/busybox", "mirror/busybox"]
        r = run("docker", "pull", f"127.0.0.1:{reg.port}/library/busybox:nope", env=dockerd)
        assert r.returncode != 0 and b"manifest unknown" in r.stderr
        docker(dockerd, "rmi", ref, other)
    finally:
        reg.stop()


def test_docker_login_push_pull(dockerd, workdir, htpasswd):
    reg = start_registry(os.path.join(workdir, "root"), "--htpasswd", htpasswd)
    try:
        host = f"127.0.0.1:{reg.port}"
        ref = f"{host}/private/busybox:v1"
        docker(dockerd, "tag", "busybox", ref)
        r = run("docker", "push", ref, env=dockerd)
        assert r.returncode != 0 and b"no basic auth credentials" in r.stderr
        r = run("docker", "login", host, "-u", "alice", "--password-stdin", env=dockerd, input=b"wrong\n")
        assert r.returncode != 0 and b"unauthorized" in r.stderr.lower()
        assert "Login Succeeded" in docker(dockerd, "login", host, "-u", "alice", "--password-stdin",
                                           input=b"s3cret\n")
        docker(dockerd, "push", ref)
        docker(dockerd, "rmi", ref)
        docker(dockerd, "pull", ref)
        docker(dockerd, "logout", host)
        docker(dockerd, "rmi", ref)
        r = run("docker", "pull", ref, env=dockerd)
        assert r.returncode != 0
    finally:
        reg.stop()


# --- skopeo ------------------------------------------------------------------

needs_skopeo = pytest.mark.skipif(shutil.which("skopeo") is None, reason="skopeo not installed")


def oci_layout(path: str, archs: tuple[str, ...] = ("amd64",)) -> dict[str, str]:
    """An OCI layout with one image per architecture (a 2 MiB random layer each) under tag v1; digest per arch."""
    blobs = os.path.join(path, "blobs", "sha256")
    os.makedirs(blobs)

    def blob(data: bytes, media_type: str) -> dict:
        digest = hashlib.sha256(data).hexdigest()
        with open(os.path.join(blobs, digest), "wb") as f:
            f.write(data)
        return {"mediaType": media_type, "digest": "sha256:" + digest, "size": len(data)}

    manifests, digests = [], {}
    for arch in archs:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as t:
            payload = os.urandom(2 << 20)
            info = tarfile.TarInfo(f"{arch}.bin")
            info.size = len(payload)
            t.addfile(info, io.BytesIO(payload))
        # Compressed already: skopeo would gzip a plain tar on the way (new digests).
        layer = blob(gzip.compress(buf.getvalue(), 1), "application/vnd.oci.image.layer.v1.tar+gzip")
        diff_id = "sha256:" + hashlib.sha256(buf.getvalue()).hexdigest()
        config = blob(json.dumps({"architecture": arch, "os": "linux", "rootfs": {
            "type": "layers", "diff_ids": [diff_id]}}).encode(), "application/vnd.oci.image.config.v1+json")
        m = blob(json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                             "config": config, "layers": [layer]}).encode(),
                 "application/vnd.oci.image.manifest.v1+json")
        m["platform"] = {"architecture": arch, "os": "linux"}
        manifests.append(m)
        digests[arch] = m["digest"]
    if len(archs) > 1:
        top = blob(json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                               "manifests": manifests}).encode(), "application/vnd.oci.image.index.v1+json")
        digests["index"] = top["digest"]
    else:
        top = manifests[0]
    top = {**top, "annotations": {"org.opencontainers.image.ref.name": "v1"}}
    with open(os.path.join(path, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [top]}, f)
    with open(os.path.join(path, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion": "1.0.0"}')
    return digests


def skopeo(*args: str) -> str:
    r = run("skopeo", "--insecure-policy", *args)
    assert r.returncode == 0, (args, r.stderr.decode())
    return r.stdout.decode()


@needs_skopeo
def test_skopeo_copy_both_ways(workdir):
    src = os.path.join(workdir, "src")
    digests = oci_layout(src, ("amd64", "arm64"))
    reg = start_registry(os.path.join(workdir, "root"))
    try:
        dest = f"docker://127.0.0.1:{reg.port}/multi/app:v1"
        skopeo("copy", "--all", "--dest-tls-verify=false", f"oci:{src}:v1", dest)
        raw = json.loads(skopeo("inspect", "--raw", "--tls-verify=false", dest))
        assert raw["mediaType"] == "application/vnd.oci.image.index.v1+json"
        assert [m["digest"] for m in raw["manifests"]] == [digests["amd64"], digests["arm64"]]
        info = json.loads(skopeo("inspect", "--tls-verify=false", "--override-arch", "arm64", dest))
        assert info["Architecture"] == "arm64" and info["RepoTags"] == ["v1"]
        back = os.path.join(workdir, "back")
        skopeo("copy", "--all", "--src-tls-verify=false", dest, f"oci:{back}:v1")
        assert sorted(os.listdir(os.path.join(back, "blobs", "sha256"))) == \
            sorted(os.listdir(os.path.join(src, "blobs", "sha256")))
        # Docker v2s2 conversion on the way in, and deletion.
        skopeo("copy", "--format", "v2s2", "--dest-tls-verify=false", f"oci:{src}:v1",
               f"docker://127.0.0.1:{reg.port}/single/app:v2")
        raw = json.loads(skopeo("inspect", "--raw", "--tls-verify=false",
                                f"docker://127.0.0.1:{reg.port}/single/app:v2"))
        assert raw["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
        skopeo("delete", "--tls-verify=false", f"docker://127.0.0.1:{reg.port}/single/app:v2")
        r = run("skopeo", "inspect", "--tls-verify=false", f"docker://127.0.0.1:{reg.port}/single/app:v2")
        assert r.returncode != 0 and b"manifest unknown" in r.stderr
    finally:
        reg.stop()


@needs_skopeo
def test_skopeo_over_tls_with_auth(workdir, htpasswd):
    if shutil.which("openssl") is None:
        pytest.skip("openssl not installed")
    certs = os.path.join(workdir, "certs")
    os.makedirs(certs)
    cert, key = os.path.join(certs, "ca.crt"), os.path.join(workdir, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    src = os.path.join(workdir, "src")
    oci_layout(src)
    reg = start_registry(os.path.join(workdir, "root"), "--htpasswd", htpasswd, "--tls-cert", cert,
                         "--tls-key", key, scheme="https")
    try:
        dest = f"docker://127.0.0.1:{reg.port}/secure/app:v1"
        r = run("skopeo", "--insecure-policy", "copy", "--dest-cert-dir", certs, f"oci:{src}:v1", dest)
        assert r.returncode != 0 and b"authentication required" in r.stderr
        skopeo("copy", "--dest-cert-dir", certs, "--dest-creds", "alice:s3cret", f"oci:{src}:v1", dest)
        info = json.loads(skopeo("inspect", "--cert-dir", certs, "--creds", "alice:s3cret", dest))
        assert info["RepoTags"] == ["v1"]
        r = run("skopeo", "inspect", "--cert-dir", certs, "--creds", "alice:wrong", dest)
        assert r.returncode != 0
    finally:
        reg.stop()
