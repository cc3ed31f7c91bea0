"""docker cp and docker diff against a real hithed: both directions, stopped containers, hostile links."""
from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.integration


def _raw(daemon, *args, input: bytes | None = None) -> subprocess.CompletedProcess:
    """The CLI with binary stdin/stdout (tar streams)."""
    return subprocess.run([sys.executable, "-m", "hithe.cli.main", *args], input=input, capture_output=True,
                          timeout=60, env=daemon.env, cwd=str(REPO))


@pytest.fixture
def box(hithe):
    cid = hithe("run", "-d", "busybox", "sh", "-c",
                "mkdir -p /d/sub && echo hi > /d/a.txt && echo b > /d/sub/b && sleep 300").out.strip()
    for _ in range(50):
        if hithe("exec", cid, "test", "-f", "/d/sub/b").rc == 0:
            break
    yield cid
    hithe("rm", "-f", cid)


def test_cp_out_file_dir_and_contents(hithe, box, tmp_path):
    assert hithe("cp", f"{box}:/d/a.txt", str(tmp_path / "a.txt")).rc == 0
    assert (tmp_path / "a.txt").read_text() == "hi\n"
    # into an existing directory: keeps the base name
    r = hithe("cp", f"{box}:/d", str(tmp_path))
    assert r.rc == 0, r.err
    assert (tmp_path / "d" / "sub" / "b").read_text() == "b\n"
    # to a new name: the top entry is renamed
    assert hithe("cp", f"{box}:/d", str(tmp_path / "copy")).rc == 0
    assert sorted(os.listdir(tmp_path / "copy")) == ["a.txt", "sub"]
    # dir/. copies the contents only
    (tmp_path / "into").mkdir()
    assert hithe("cp", f"{box}:/d/.", str(tmp_path / "into")).rc == 0
    assert sorted(os.listdir(tmp_path / "into")) == ["a.txt", "sub"]


def test_cp_in_file_dir_and_contents(hithe, box, tmp_path):
    src = tmp_path / "src"
    (src / "inner").mkdir(parents=True)
    (src / "f.txt").write_text("local\n")
    (src / "inner" / "g").write_text("g\n")
    assert hithe("cp", str(src / "f.txt"), f"{box}:/tmp/renamed.txt").rc == 0
    assert hithe("exec", box, "cat", "/tmp/renamed.txt").out == "local\n"
    assert hithe("cp", str(src), f"{box}:/tmp").rc == 0
    assert hithe("exec", box, "cat", "/tmp/src/inner/g").out == "g\n"
    hithe("exec", box, "mkdir", "/tmp/only")
    assert hithe("cp", str(src) + "/.", f"{box}:/tmp/only").rc == 0
    assert sorted(hithe("exec", box, "ls", "/tmp/only").out.split()) == ["f.txt", "inner"]


def test_cp_tar_streams(daemon, hithe, box):
    r = _raw(daemon, "cp", f"{box}:/d", "-")
    assert r.returncode == 0
    with tarfile.open(fileobj=io.BytesIO(r.stdout)) as tf:
        assert sorted(tf.getnames()) == ["d", "d/a.txt", "d/sub", "d/sub/b"]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        ti = tarfile.TarInfo("streamed.txt")
        ti.size = 3
        tf.addfile(ti, io.BytesIO(b"abc"))
    r = _raw(daemon, "cp", "-", f"{box}:/tmp", input=buf.getvalue())
    assert r.returncode == 0, r.stderr
    assert hithe("exec", box, "cat", "/tmp/streamed.txt").out == "abc"


def test_cp_stopped_container(hithe, tmp_path):
    cid = hithe("create", "busybox", "true").out.strip()
    try:
        (tmp_path / "x").write_text("into stopped\n")
        assert hithe("cp", str(tmp_path / "x"), f"{cid}:/etc/x").rc == 0
        assert hithe("cp", f"{cid}:/etc/x", str(tmp_path / "back")).rc == 0
        assert (tmp_path / "back").read_text() == "into stopped\n"
        assert "A /etc/x" in hithe("diff", cid).out.splitlines()
    finally:
        hithe("rm", "-f", cid)


def test_cp_missing_path(hithe, box, tmp_path):
    r = hithe("cp", f"{box}:/nope", str(tmp_path / "x"))
    assert r.rc == 1
    assert f"Error response from daemon: Could not find the file /nope in container {box}" in r.err
    r = hithe("cp", str(tmp_path / "nope"), f"{box}:/tmp")
    assert r.rc == 1 and f"lstat {tmp_path / 'nope'}: no such file or directory" in r.err
    (tmp_path / "f").write_text("f")
    r = hithe("cp", str(tmp_path / "f"), f"{box}:/nodir/x")
    assert r.rc == 1 and "Could not find the file /nodir in container" in r.err


def test_cp_symlink_escape_stays_in_rootfs(hithe, box, tmp_path, daemon):
    hithe("exec", box, "ln", "-s", "/", "/tmp/evil")
    hithe("exec", box, "sh", "-c", "echo inside > /marker")
    # reading through the link reads the container's /
    assert hithe("cp", f"{box}:/tmp/evil/marker", str(tmp_path / "m")).rc == 0
    assert (tmp_path / "m").read_text() == "inside\n"
    r = hithe("cp", f"{box}:/tmp/evil/../../../../etc/passwd", str(tmp_path / "p"))
    assert r.rc == 0 and "root:x:0:0" in (tmp_path / "p").read_text()
    # writing through it lands inside the container, never on the host
    (tmp_path / "payload").write_text("payload\n")
    marker = "hithe-cp-escape-" + box[:12]
    assert hithe("cp", str(tmp_path / "payload"), f"{box}:/tmp/evil/tmp/{marker}").rc == 0
    assert not os.path.exists(f"/tmp/{marker}")
    assert hithe("exec", box, "cat", f"/tmp/{marker}").out == "payload\n"
    hithe("exec", box, "ln", "-s", "/tmp", "/tmp/hostdir")
    assert hithe("cp", str(tmp_path / "payload"), f"{box}:/tmp/hostdir").rc == 0
    assert not os.path.exists("/tmp/payload") or open("/tmp/payload").read() != "payload\n"


def test_diff(hithe, box):
    hithe("exec", box, "sh", "-c", "touch /tmp/new && rm /bin/vi && echo x >> /etc/passwd")
    lines = hithe("diff", box).out.splitlines()
    for want in ("C /tmp", "A /tmp/new", "C /bin", "D /bin/vi", "C /etc", "C /etc/passwd", "A /d", "A /d/a.txt"):
        assert want in lines, lines
    assert not any(l.split()[1] in ("/proc", "/sys", "/dev", "/etc/hosts", "/etc/resolv.conf") for l in lines)


def test_diff_nothing_changed_is_null(hithe, api):
    cid = hithe("create", "busybox", "true").out.strip()
    try:
        assert hithe("diff", cid).out == ""
        assert api.diff(cid) is None
        hithe("start", cid)
        hithe("wait", cid)
        assert api.diff(cid) is None  # runc's mount points are not the user's changes
    finally:
        hithe("rm", "-f", cid)


def test_api_stat_and_events(api, box):
    st = api.get_archive(box, "/d/a.txt")[1]
    assert st["name"] == "a.txt" and st["size"] == 3 and st["mode"] == 0o644
    # docker-py has no call for the HEAD; its session does it
    resp = api.head(api._url("/containers/{0}/archive", box), params={"path": "/tmp"})
    assert resp.status_code == 200
    import base64
    import json
    head = json.loads(base64.b64decode(resp.headers["X-Docker-Container-Path-Stat"]))
    assert head["mode"] & (1 << 31) and head["name"] == "tmp"
    resp = api.head(api._url("/containers/{0}/archive", box), params={"path": "/nope"})
    assert resp.status_code == 404
    with pytest.raises(Exception) as e:
        api.put_archive(box, "/d/a.txt", b"")
    assert "extraction point is not a directory" in str(e.value)
