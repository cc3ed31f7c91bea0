"""docker cp / docker diff through the stock docker CLI and docker-py, unchanged, against hithed."""
from __future__ import annotations

import io
import os
import shutil
import tarfile

import pytest

from tests.conftest import run_cli

pytestmark = [pytest.mark.compat, pytest.mark.integration]


def test_docker_py_archive_and_diff(client):
    c = client.containers.run("busybox", ["sleep", "60"], detach=True)
    try:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tf:
            ti = tarfile.TarInfo("sdk.txt")
            ti.size = 4
            tf.addfile(ti, io.BytesIO(b"sdk\n"))
        assert c.put_archive("/tmp", buf.getvalue()) is True
        chunks, st = c.get_archive("/tmp/sdk.txt")
        assert st["name"] == "sdk.txt" and st["size"] == 4
        with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as tf:
            assert tf.extractfile("sdk.txt").read() == b"sdk\n"
        assert {"Path": "/tmp/sdk.txt", "Kind": 1} in c.diff()
        import docker.errors
        with pytest.raises(docker.errors.NotFound):
            c.get_archive("/nope")
    finally:
        c.remove(force=True)


@pytest.mark.skipif(shutil.which("docker") is None, reason="docker CLI not installed")
def test_docker_cli_cp_and_diff(daemon, busybox, tmp_path):
    def docker(*args: str):
        return run_cli(daemon, *args, prog="docker")

    cid = docker("run", "-d", "busybox", "sh", "-c", "mkdir -p /d/s && echo hi > /d/s/f && sleep 60").out.strip()
    try:
        for _ in range(50):
            if docker("exec", cid, "test", "-f", "/d/s/f").rc == 0:
                break
        (tmp_path / "out").mkdir()
        r = docker("cp", f"{cid}:/d/.", str(tmp_path / "out"))
        assert r.rc == 0, r.err
        assert (tmp_path / "out" / "s" / "f").read_text() == "hi\n"
        assert docker("cp", f"{cid}:/d", str(tmp_path / "renamed")).rc == 0
        assert os.listdir(tmp_path / "renamed") == ["s"]
        (tmp_path / "up.txt").write_text("up\n")
        assert docker("cp", str(tmp_path / "up.txt"), f"{cid}:/d/s/").rc == 0
        assert docker("exec", cid, "cat", "/d/s/up.txt").out == "up\n"
        r = docker("cp", f"{cid}:/nope", str(tmp_path))
        assert r.rc == 1 and "Could not find the file /nope in container" in r.err
        lines = docker("diff", cid).out.splitlines()
        assert "A /d/s/up.txt" in lines and "A /d" in lines
    finally:
        docker("rm", "-f", cid)
