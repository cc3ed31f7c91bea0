"""save/load/commit compatibility: the stock docker CLI against hithed, and archives exchanged
with a real (private, loopback-only) dockerd in both directions."""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.conftest import busybox_tar, run_cli
from tests.dockerd_helpers import private_dockerd

pytestmark = [pytest.mark.compat, pytest.mark.integration]
needs_docker = pytest.mark.skipif(shutil.which("docker") is None, reason="docker CLI not installed")


def docker_on(host: str, *args: str, input: bytes | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "DOCKER_HOST": host}
    return subprocess.run(["docker", *args], input=input, capture_output=True, env=env, timeout=180)


@pytest.fixture(scope="module")
def dockerd():
    """A private dockerd (own data root and containerd namespace, no networking), under the shared lock."""
    with private_dockerd("imref-hithe") as (host, _root):
        yield host


@needs_docker
def test_stock_docker_cli_commit_save_load(daemon, busybox):
    run = lambda *a, **kw: docker_on(daemon.host, *a, **kw)  # noqa: E731
    assert run("run", "--name", "dk-commit", "busybox", "sh", "-c", "echo cli > /cli").returncode == 0
    r = run("commit", "-c", "ENV FROM_CLI=1", "dk-commit", "dkcli:1")
    assert r.returncode == 0, r.stderr
    saved = run("save", "dkcli:1")
    assert saved.returncode == 0, saved.stderr
    assert run("rmi", "dkcli:1").returncode == 0
    r = run("load", input=saved.stdout)
    assert r.returncode == 0 and b"Loaded image: dkcli:1" in r.stdout, r.stderr
    assert run("run", "--rm", "dkcli:1", "cat", "/cli").stdout == b"cli\n"
    run("rm", "dk-commit")
    run("rmi", "dkcli:1")


def test_hithe_archive_loads_into_dockerd_and_back(daemon, busybox, dockerd, tmp_path):
    assert run_cli(daemon, "run", "--name", "to-docker", "busybox", "sh", "-c",
                   "echo from-hithe > /f && rm /bin/vi").rc == 0
    assert run_cli(daemon, "commit", "-m", "for docker", "to-docker", "xfer/hithe:1").rc == 0
    run_cli(daemon, "rm", "to-docker")
    out = tmp_path / "h.tar"
    assert run_cli(daemon, "save", "-o", str(out), "busybox:latest", "xfer/hithe:1").rc == 0
    r = docker_on(dockerd, "load", "-i", str(out))
    assert r.returncode == 0, r.stderr
    assert b"Loaded image: xfer/hithe:1" in r.stdout and b"Loaded image: busybox:latest" in r.stdout
    hithe_id = run_cli(daemon, "image", "inspect", "-f", "{{.Id}}", "xfer/hithe:1").out.strip()
    docker_id = docker_on(dockerd, "image", "inspect", "-f", "{{.Id}}", "xfer/hithe:1").stdout.decode().strip()
    assert hithe_id == docker_id
    hist = docker_on(dockerd, "history", "xfer/hithe:1").stdout.decode()
    assert "for docker" in hist
    # and docker's own save of the same images comes back to hithe with the same IDs
    back = tmp_path / "d.tar"
    r = docker_on(dockerd, "save", "-o", str(back), "xfer/hithe:1")
    assert r.returncode == 0, r.stderr
    assert run_cli(daemon, "rmi", "xfer/hithe:1").rc == 0
    r = run_cli(daemon, "load", "-i", str(back))
    assert r.rc == 0 and "Loaded image: xfer/hithe:1" in r.out, r.err
    assert run_cli(daemon, "image", "inspect", "-f", "{{.Id}}", "xfer/hithe:1").out.strip() == hithe_id
    assert run_cli(daemon, "run", "--rm", "xfer/hithe:1", "sh", "-c",
                   "cat /f; test -e /bin/vi || echo no-vi").out == "from-hithe\nno-vi\n"
    run_cli(daemon, "rmi", "xfer/hithe:1")


def test_docker_imported_image_loads_into_hithe(daemon, busybox, dockerd, tmp_path):
    r = docker_on(dockerd, "import", "-c", 'CMD ["sh"]', "-", "xfer/docker:1", input=busybox_tar())
    assert r.returncode == 0, r.stderr
    ctr = docker_on(dockerd, "create", "xfer/docker:1", "sh", "-c", "true")
    assert ctr.returncode == 0, ctr.stderr
    cid = ctr.stdout.decode().strip()
    # docker commits of a never-started container: an empty layer in docker, recorded as such
    assert docker_on(dockerd, "commit", cid, "xfer/docker:2").returncode == 0
    docker_on(dockerd, "rm", cid)
    out = tmp_path / "d.tar"
    assert docker_on(dockerd, "save", "-o", str(out), "xfer/docker:1", "xfer/docker:2").returncode == 0
    r = run_cli(daemon, "load", "-i", str(out))
    assert r.rc == 0, r.err
    for tag in ("xfer/docker:1", "xfer/docker:2"):
        want = docker_on(dockerd, "image", "inspect", "-f", "{{.Id}}", tag).stdout.decode().strip()
        assert run_cli(daemon, "image", "inspect", "-f", "{{.Id}}", tag).out.strip() == want
    assert run_cli(daemon, "run", "--rm", "xfer/docker:2", "echo", "ok").out == "ok\n"
    run_cli(daemon, "rmi", "xfer/docker:1", "xfer/docker:2")
