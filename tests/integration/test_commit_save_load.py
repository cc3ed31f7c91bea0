"""commit, save and load through the CLI, the API and docker-py, on a real daemon."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import time

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.integration


def cli_bytes(daemon, *args: str, input: bytes | None = None) -> subprocess.CompletedProcess:
    """The CLI with binary stdin/stdout (save | load)."""
    return subprocess.run([sys.executable, "-m", "hithe.cli.main", *args], input=input, capture_output=True,
                          env=daemon.env, cwd=str(REPO), timeout=120)


def image_ids(api) -> dict[str, list[str]]:
    return {i["Id"]: sorted(i["RepoTags"] or []) for i in api.images(all=True)}


def test_commit_keeps_changes_and_deletions(hithe):
    r = hithe("run", "--name", "cm1", "busybox", "sh", "-c", "echo hello > /newfile && rm /bin/vi")
    assert r.rc == 0, r.err
    r = hithe("commit", "-m", "my change", "-a", "Jane <jane@example.com>", "cm1", "committed:1")
    assert r.rc == 0, r.err
    assert r.out.startswith("sha256:")
    assert hithe("run", "--rm", "committed:1", "cat", "/newfile").out == "hello\n"
    r = hithe("run", "--rm", "committed:1", "sh", "-c", "test -e /bin/vi && echo there || echo gone")
    assert r.out == "gone\n"
    doc = json.loads(hithe("image", "inspect", "committed:1").out)[0]
    busybox = json.loads(hithe("image", "inspect", "busybox").out)[0]
    assert doc["Parent"] == busybox["Id"] and doc["Author"] == "Jane <jane@example.com>"
    assert doc["RootFS"]["Layers"][:-1] == busybox["RootFS"]["Layers"]
    assert len(doc["RootFS"]["Layers"]) == len(busybox["RootFS"]["Layers"]) + 1
    assert doc["Config"]["Cmd"] == ["sh", "-c", "echo hello > /newfile && rm /bin/vi"]
    hist = hithe("history", "--no-trunc", "committed:1").out
    assert "my change" in hist and "sh -c echo hello > /newfile && rm /bin/vi" in hist
    hithe("rm", "cm1")


def test_commit_with_change_and_running_container_stays_running(hithe, api):
    cid = hithe("run", "-d", "busybox", "sh", "-c", "echo x > /made-while-running; sleep 300").out.strip()
    try:
        hithe("exec", cid, "true")  # started
        before = api.inspect_container(cid)["State"]["StartedAt"]
        r = hithe("commit", "-c", 'CMD ["echo","hi"]', "-c", "ENV FOO=bar", cid, "committed:2")
        assert r.rc == 0, r.err
        st = api.inspect_container(cid)["State"]
        assert st["Status"] == "running" and not st["Paused"] and st["StartedAt"] == before
        assert hithe("run", "--rm", "committed:2").out == "hi\n"
        assert hithe("run", "--rm", "committed:2", "sh", "-c", "echo $FOO; cat /made-while-running").out == "bar\nx\n"
        assert "FOO=bar" in api.inspect_image("committed:2")["Config"]["Env"]
        # the layer holds the container's changes, not what the runtime put in its upper dir
        saved = tarfile.open(fileobj=io.BytesIO(b"".join(api.get_image("committed:2"))))
        manifest = json.loads(saved.extractfile("manifest.json").read())
        top = tarfile.open(fileobj=saved.extractfile(manifest[0]["Layers"][-1]))
        names = set(top.getnames())
        assert "made-while-running" in names
        assert not names & {"proc", "sys", "dev", "etc/hosts", "etc/hostname", "etc/resolv.conf"}
    finally:
        hithe("rm", "-f", cid)


def test_commit_api_event_and_stopped_container(api, busybox, hithe):
    since = int(time.time()) - 1
    c = api.create_container("busybox", ["sh", "-c", "echo stopped > /s"])
    api.start(c)
    api.wait(c)
    res = api.commit(c["Id"], repository="apicommit", tag="v1", message="via api", pause=False,
                     changes=["LABEL via=api"])
    assert res["Id"].startswith("sha256:")
    img = api.inspect_image("apicommit:v1")
    assert img["Config"]["Labels"] == {"via": "api"}
    assert hithe("run", "--rm", "apicommit:v1", "cat", "/s").out == "stopped\n"
    events = list(api.events(since=since, until=int(time.time()) + 1, decode=True,
                             filters={"event": "commit"}))
    attrs = [e["Actor"]["Attributes"] for e in events if e["Actor"]["ID"] == c["Id"]]
    assert attrs and attrs[0]["imageID"] == res["Id"] and attrs[0]["comment"] == "via api"
    # a config in the body replaces the container's, what it leaves unset still comes from there
    res2 = api.commit(c["Id"], repository="apicommit", tag="v2", conf={"Cmd": ["cat", "/s"], "Env": ["X=1"]})
    cfg = api.inspect_image(res2["Id"])["Config"]
    assert cfg["Cmd"] == ["cat", "/s"] and cfg["Env"][0] == "X=1" and any(e.startswith("PATH=") for e in cfg["Env"])
    assert hithe("run", "--rm", "apicommit:v2").out == "stopped\n"
    api.remove_container(c)
    api.remove_image("apicommit:v1")
    api.remove_image("apicommit:v2")
    with pytest.raises(Exception) as e:
        api.commit("no-such-container")
    assert getattr(e.value, "status_code", None) == 404


def test_save_rmi_load_round_trip(hithe, daemon, api, tmp_path):
    hithe("run", "--name", "rt", "busybox", "sh", "-c", "echo roundtrip > /rt")
    assert hithe("commit", "rt", "roundtrip:1").rc == 0
    hithe("rm", "rt")
    ids = {n: api.inspect_image(n)["Id"] for n in ("busybox:latest", "roundtrip:1")}
    out = tmp_path / "both.tar"
    r = hithe("save", "-o", str(out), "busybox", "roundtrip:1")
    assert r.rc == 0, r.err
    with tarfile.open(out) as tf:
        names = set(tf.getnames())
    assert {"manifest.json", "index.json", "oci-layout", "repositories"} <= names
    r = hithe("rmi", "roundtrip:1")
    assert r.rc == 0, r.err
    r = hithe("load", "-i", str(out))
    assert r.rc == 0, r.err
    assert "Loaded image: roundtrip:1" in r.out and "Loaded image: busybox:latest" in r.out
    assert {n: api.inspect_image(n)["Id"] for n in ids} == ids
    assert hithe("run", "--rm", "roundtrip:1", "cat", "/rt").out == "roundtrip\n"
    hithe("rmi", "roundtrip:1")


def test_save_to_stdout_pipes_into_load(daemon, hithe, api):
    hithe("tag", "busybox", "piped:1")
    saved = cli_bytes(daemon, "save", "piped:1")
    assert saved.returncode == 0, saved.stderr
    image_id = api.inspect_image("piped:1")["Id"]
    hithe("rmi", "piped:1")
    loaded = cli_bytes(daemon, "load", input=saved.stdout)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.decode() == "Loaded image: piped:1\n"
    assert api.inspect_image("piped:1")["Id"] == image_id
    q = cli_bytes(daemon, "image", "load", "-q", input=saved.stdout)
    assert q.returncode == 0 and b"Loaded image: piped:1" in q.stdout
    hithe("rmi", "piped:1")


def test_docker_py_save_and_load(daemon, busybox):
    import docker
    client = docker.DockerClient(base_url=daemon.host, version="auto")
    img = client.images.get("busybox:latest")
    data = b"".join(img.save(named=True))
    loaded = client.images.load(data)
    assert [i.id for i in loaded] == [img.id]
    assert "busybox:latest" in loaded[0].tags
    client.close()


HOSTILE_MANIFEST = json.dumps([{"Config": "../../../etc/passwd", "RepoTags": ["evil:1"], "Layers": []}])


def _tar(entries: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in entries:
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


@pytest.mark.parametrize("archive", [
    _tar([("manifest.json", HOSTILE_MANIFEST.encode())]),
    _tar([("../escape", b"x"), ("manifest.json", b"[]")]),
    _tar([("manifest.json", b"[" * 200000)]),
], ids=["manifest-escape", "member-escape", "huge-json"])
def test_hostile_archive_is_refused(daemon, hithe, api, archive):
    before = image_ids(api)
    r = cli_bytes(daemon, "load", input=archive)
    assert r.returncode != 0 and b"invalid" in r.stderr.lower()
    assert image_ids(api) == before
    tmp = os.path.join(daemon.data_root, "tmp")
    assert not os.path.isdir(tmp) or not os.listdir(tmp)  # the spooled upload is gone


def test_save_unknown_image_and_terminal(hithe, daemon):
    from tests.integration.ptyutil import PtyProc
    r = hithe("save", "-o", "/dev/null", "no-such-image:1")
    assert r.rc == 1 and "No such image: no-such-image:1" in r.err
    p = PtyProc(["save", "busybox"], daemon.env, str(REPO))
    p.expect("cowardly refusing to save to a terminal. Use the -o flag or redirect")
    assert p.wait() == 1
