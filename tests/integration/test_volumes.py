"""Data volumes: named and anonymous volumes, -v/--mount/--tmpfs/--volumes-from, bind mounts."""
from __future__ import annotations

import io
import json
import os
import re
import shutil
import socket
import tarfile
import tempfile

import pytest

from tests.conftest import busybox_tar, run_cli

pytestmark = pytest.mark.integration


def raw(daemon, method: str, path: str, body: dict | None = None) -> tuple[int, object]:
    s = socket.socket(socket.AF_UNIX)
    s.connect(daemon.socket)
    data = json.dumps(body).encode() if body is not None else b""
    s.sendall(f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode() + data)
    buf = b""
    while chunk := s.recv(65536):
        buf += chunk
    s.close()
    head, _, payload = buf.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    if b"chunked" in head.lower():
        out, rest = b"", payload
        while rest:
            size_s, _, rest = rest.partition(b"\r\n")
            n = int(size_s, 16)
            if n == 0:
                break
            out, rest = out + rest[:n], rest[n + 2:]
        payload = out
    return status, (json.loads(payload) if payload.strip() else None)


def volume_exists(hithe, name: str) -> bool:
    return hithe("volume", "inspect", name).rc == 0


@pytest.fixture(scope="module")
def seeded_image(daemon, busybox) -> str:
    """busybox + /data/seed (owned by nobody), /data/link -> /etc/passwd, VOLUME /data and /evil,
    where /evil is a symlink that climbs out of the rootfs towards a host directory."""
    host_dir = tempfile.mkdtemp(prefix="ht-escape-", dir="/tmp")
    open(os.path.join(host_dir, "host-secret"), "w").write("must never be copied\n")
    src = io.BytesIO(busybox_tar())
    out = io.BytesIO()
    with tarfile.open(fileobj=src) as tin, tarfile.open(fileobj=out, mode="w") as tout:
        for m in tin.getmembers():
            tout.addfile(m, tin.extractfile(m) if m.isfile() else None)
        d = tarfile.TarInfo("data")
        d.type, d.mode, d.uid, d.gid = tarfile.DIRTYPE, 0o750, 65534, 65534
        tout.addfile(d)
        payload = b"seeded by the image\n"
        f = tarfile.TarInfo("data/seed")
        f.size, f.mode, f.uid, f.gid = len(payload), 0o640, 65534, 65534
        tout.addfile(f, io.BytesIO(payload))
        ln = tarfile.TarInfo("data/link")
        ln.type, ln.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tout.addfile(ln)
        evil = tarfile.TarInfo("evil")
        evil.type, evil.linkname = tarfile.SYMTYPE, "../../../../../../.." + host_dir
        tout.addfile(evil)
    r = run_cli(daemon, "import", "-c", "VOLUME /data", "-c", "VOLUME /evil", "-c", 'CMD ["sh"]',
                "-c", "ENV PATH=/bin:/usr/bin:/sbin", "-", "seeded:latest", input=out.getvalue())
    assert r.rc == 0, r.err
    yield host_dir
    shutil.rmtree(host_dir, ignore_errors=True)


# --- the tutorial's chapter ------------------------------------------------------------------

def test_tutorial_create_inspect_and_mount(hithe, daemon):
    r = hithe("volume", "create", "my-vol")
    assert (r.rc, r.out) == (0, "my-vol\n"), r.err
    ls = hithe("volume", "ls")
    assert ls.out.splitlines()[0].split() == ["DRIVER", "VOLUME", "NAME"]
    assert re.search(r"^local\s+my-vol$", ls.out, re.M)
    doc = json.loads(hithe("volume", "inspect", "my-vol").out)[0]
    assert doc["Name"] == "my-vol" and doc["Driver"] == "local" and doc["Scope"] == "local"
    assert doc["Mountpoint"] == os.path.join(daemon.data_root, "volumes", "my-vol", "_data")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", doc["CreatedAt"])
    assert doc["Labels"] == {} and doc["Options"] == {}
    assert hithe("volume", "inspect", "-f", "{{ .Mountpoint }}", "my-vol").out.strip() == doc["Mountpoint"]

    # `-P` is not built yet (networks): the --mount form of the tutorial's example
    cid = hithe("run", "-d", "--name", "web", "--mount", "source=my-vol,target=/usr/share/nginx/html",
                "busybox", "sh", "-c", "echo '<h1>hi</h1>' > /usr/share/nginx/html/index.html; sleep 60"
                ).out.strip()
    assert len(cid) == 64
    mounts = json.loads(hithe("inspect", "-f", "{{json .Mounts}}", "web").out)
    assert mounts == [{"Type": "volume", "Name": "my-vol", "Source": doc["Mountpoint"],
                       "Destination": "/usr/share/nginx/html", "Driver": "local", "Mode": "z", "RW": True,
                       "Propagation": ""}]
    hc = json.loads(hithe("inspect", "-f", "{{json .HostConfig.Mounts}}", "web").out)
    assert hc == [{"Type": "volume", "Source": "my-vol", "Target": "/usr/share/nginx/html"}]
    assert hithe("exec", "web", "cat", "/usr/share/nginx/html/index.html").out == "<h1>hi</h1>\n"
    assert open(os.path.join(doc["Mountpoint"], "index.html")).read() == "<h1>hi</h1>\n"

    r = hithe("volume", "rm", "my-vol")
    assert r.rc == 1 and f"remove my-vol: volume is in use - [{cid}]" in r.err
    assert hithe("rm", "-f", "web").rc == 0
    assert hithe("volume", "rm", "my-vol").out == "my-vol\n"
    assert not volume_exists(hithe, "my-vol")
    assert not os.path.exists(os.path.dirname(doc["Mountpoint"]))


# --- data outlives containers -----------------------------------------------------------------

def test_data_survives_the_container(hithe):
    assert hithe("run", "--rm", "-v", "keep:/data", "busybox", "sh", "-c", "echo hello > /data/f").rc == 0
    r = hithe("run", "--rm", "-v", "keep:/data", "busybox", "cat", "/data/f")
    assert (r.rc, r.out) == (0, "hello\n")
    # --rm removes anonymous volumes only: the named one is still there, still holding the data
    assert volume_exists(hithe, "keep")
    r = hithe("run", "--rm", "--mount", "type=volume,src=keep,dst=/again", "busybox", "cat", "/again/f")
    assert r.out == "hello\n"
    assert hithe("volume", "rm", "keep").rc == 0


def test_volumes_from_shares_another_containers_volumes(hithe, daemon):
    hithe("run", "--name", "datasrc", "-v", "/shared", "busybox", "sh", "-c", "echo shared > /shared/f")
    r = hithe("run", "--rm", "--volumes-from", "datasrc:ro", "busybox", "sh", "-c",
              "cat /shared/f; touch /shared/g")
    assert r.out == "shared\n" and "Read-only file system" in r.err
    # through the API: on a 404 from create the CLI would try to pull the image, as docker's does
    status, body = raw(daemon, "POST", "/v1.45/containers/create",
                       {"Image": "busybox", "HostConfig": {"VolumesFrom": ["nosuchsrc"]}})
    assert (status, body["message"]) == (404, "No such container: nosuchsrc")
    anon = json.loads(hithe("inspect", "-f", "{{json .Mounts}}", "datasrc").out)[0]["Name"]
    assert hithe("rm", "-v", "datasrc").rc == 0
    assert not volume_exists(hithe, anon)


def test_anonymous_volume_from_image_is_seeded(hithe, seeded_image):
    cid = hithe("run", "--name", "seeded1", "seeded", "sh", "-c",
                "cat /data/seed; stat -c '%u %a' /data /data/seed; readlink /data/link; ls /evil").out
    lines = cid.splitlines()
    assert lines[:4] == ["seeded by the image", "65534 750", "65534 640", "/etc/passwd"], cid
    assert "host-secret" not in cid  # /evil climbs out of the rootfs only as the container sees it
    mounts = {m["Destination"]: m for m in json.loads(hithe("inspect", "-f", "{{json .Mounts}}", "seeded1").out)}
    data = mounts["/data"]
    assert re.fullmatch(r"[0-9a-f]{64}", data["Name"]) and data["Type"] == "volume"
    assert (data["Mode"], data["RW"], data["Driver"], data["Propagation"]) == ("", True, "local", "")
    vol = json.loads(hithe("volume", "inspect", data["Name"]).out)[0]
    assert vol["Labels"] == {"com.docker.volume.anonymous": ""}
    # on the host, the link inside the volume is a link, not a copy of the host's /etc/passwd
    assert os.readlink(os.path.join(vol["Mountpoint"], "link")) == "/etc/passwd"
    assert not os.path.exists(os.path.join(mounts["/evil"]["Source"], "host-secret"))
    assert os.listdir(seeded_image) == ["host-secret"]
    # -v /data:nocopy-style: a named volume mounted over /data with nocopy stays empty
    r = hithe("run", "--rm", "-v", "empty-vol:/data:nocopy", "seeded", "ls", "-A", "/data")
    assert (r.rc, r.out) == (0, "")
    r = hithe("run", "--rm", "-v", "filled-vol:/data", "seeded", "cat", "/data/seed")
    assert r.out == "seeded by the image\n"
    assert hithe("rm", "-v", "seeded1").rc == 0
    assert not volume_exists(hithe, data["Name"]) and not volume_exists(hithe, mounts["/evil"]["Name"])
    hithe("volume", "rm", "empty-vol", "filled-vol")


def test_rm_v_removes_anonymous_volumes_only(hithe):
    hithe("run", "--name", "both", "-v", "named-one:/a", "-v", "/b", "busybox", "true")
    mounts = {m["Destination"]: m for m in json.loads(hithe("inspect", "-f", "{{json .Mounts}}", "both").out)}
    assert mounts["/a"]["Name"] == "named-one"
    anon = mounts["/b"]["Name"]
    assert hithe("rm", "-v", "both").rc == 0
    assert volume_exists(hithe, "named-one") and not volume_exists(hithe, anon)
    # without -v, anonymous volumes stay (dangling)
    hithe("run", "--name", "keepanon", "-v", "/c", "busybox", "true")
    anon = json.loads(hithe("inspect", "-f", "{{json .Mounts}}", "keepanon").out)[0]["Name"]
    hithe("rm", "keepanon")
    assert anon in hithe("volume", "ls", "-q", "-f", "dangling=true").out.split()
    hithe("volume", "rm", anon, "named-one")
    # --rm: the anonymous volumes go with the container
    before = set(hithe("volume", "ls", "-q").out.split())
    assert hithe("run", "--rm", "-v", "/gone", "busybox", "true").rc == 0
    assert set(hithe("volume", "ls", "-q").out.split()) == before


# --- binds -----------------------------------------------------------------------------------

def test_read_only_volume_refuses_writes(hithe):
    r = hithe("run", "--rm", "-v", "ro-vol:/data:ro", "busybox", "touch", "/data/x")
    assert r.rc != 0 and "Read-only file system" in r.err
    r = hithe("run", "--rm", "--mount", "source=ro-vol,target=/data,readonly", "busybox", "touch", "/data/x")
    assert r.rc != 0 and "Read-only file system" in r.err
    hithe("volume", "rm", "ro-vol")


def test_bind_mounts_single_file_and_directories(hithe, tmp_path):
    host = open("/etc/hostname").read()
    r = hithe("run", "--rm", "-v", "/etc/hostname:/tmp/h:ro", "busybox", "cat", "/tmp/h")
    assert (r.rc, r.out) == (0, host), r.err
    r = hithe("run", "--rm", "-v", "/etc/hostname:/tmp/h:ro", "busybox", "sh", "-c", "echo x > /tmp/h")
    assert r.rc != 0 and "Read-only file system" in r.err
    (tmp_path / "in").write_text("from host\n")
    r = hithe("run", "--rm", "-v", f"{tmp_path}:/work", "busybox", "sh", "-c", "cat /work/in; echo back > /work/out")
    assert r.out == "from host\n" and (tmp_path / "out").read_text() == "back\n"
    # -v creates a missing host directory, --mount type=bind refuses it (Docker's rules)
    missing = tmp_path / "made" / "by-v"
    assert hithe("run", "--rm", "-v", f"{missing}:/m", "busybox", "true").rc == 0
    assert missing.is_dir()
    r = hithe("run", "--rm", "--mount", f"type=bind,source={tmp_path}/nope,target=/x", "busybox", "true")
    assert r.rc == 125
    assert f'invalid mount config for type "bind": bind source path does not exist: {tmp_path}/nope' in r.err
    cid = hithe("create", "--mount", f"type=bind,src={tmp_path},dst=/w,bind-propagation=rslave",
                "busybox", "true").out.strip()
    mounts = json.loads(hithe("inspect", "-f", "{{json .Mounts}}", cid).out)
    assert mounts == [{"Type": "bind", "Source": str(tmp_path), "Destination": "/w", "Mode": "", "RW": True,
                       "Propagation": "rslave"}]
    hithe("rm", cid)
    cid = hithe("create", "-v", f"{tmp_path}:/w:ro", "busybox", "true").out.strip()
    doc = json.loads(hithe("inspect", cid).out)[0]
    assert doc["HostConfig"]["Binds"] == [f"{tmp_path}:/w:ro"]
    assert doc["Mounts"] == [{"Type": "bind", "Source": str(tmp_path), "Destination": "/w", "Mode": "ro",
                              "RW": False, "Propagation": "rprivate"}]
    hithe("rm", cid)


def test_tmpfs_mounts(hithe):
    r = hithe("run", "--rm", "--tmpfs", "/scratch:size=1m", "busybox", "sh", "-c",
              "grep ' /scratch ' /proc/mounts; echo x > /scratch/f && cat /scratch/f")
    assert r.out.startswith("tmpfs /scratch tmpfs") and "size=1024k" in r.out and r.out.endswith("x\n")
    cid = hithe("run", "-d", "--mount", "type=tmpfs,target=/t,tmpfs-size=2m", "busybox", "sleep", "30").out.strip()
    assert "size=2048k" in hithe("exec", cid, "grep", " /t ", "/proc/mounts").out
    mounts = json.loads(hithe("inspect", "-f", "{{json .Mounts}}", cid).out)
    assert mounts == [{"Type": "tmpfs", "Source": "", "Destination": "/t", "Mode": "", "RW": True,
                       "Propagation": ""}]
    hithe("rm", "-f", cid)


def test_nested_mounts_parent_first(hithe, tmp_path):
    (tmp_path / "f").write_text("inner\n")
    r = hithe("run", "--rm", "-v", f"{tmp_path}:/outer/inner", "-v", "outer-vol:/outer", "busybox",
              "cat", "/outer/inner/f")
    assert r.out == "inner\n", r.err
    hithe("volume", "rm", "outer-vol")


# --- errors, Docker's words ------------------------------------------------------------------

@pytest.mark.parametrize("args,message", [
    (["-v", "a/b:/data"], 'create a/b: "a/b" includes invalid characters for a local volume name, only '
                          '"[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, '
                          "use absolute path"),
    (["-v", "vol:/"], "invalid volume specification: 'vol:/'"),
    (["-v", "vol:relative"], "invalid mount path: 'relative' mount path must be absolute"),
    (["-v", "v1:/data", "-v", "v2:/data"], "Duplicate mount point: /data"),
    (["-v", "v1:/data", "--tmpfs", "/data"], "Duplicate mount point: /data"),
    (["-v", "vol:/data:bogus"], "invalid mode: bogus"),
    (["--mount", "type=volume,target=/x,readonly"],
     'invalid mount config for type "volume": must not set ReadOnly mode when using anonymous volumes'),
])
def test_mount_errors(hithe, args, message):
    r = hithe("run", "--rm", *args, "busybox", "true")
    assert r.rc == 125 and message in r.err, r.err
    assert not volume_exists(hithe, "v1")


def test_volume_names_and_api_errors(hithe, daemon):
    r = hithe("volume", "create", "a")
    assert r.rc == 1 and "volume name is too short, names should be at least two alphanumeric characters" in r.err
    for bad in ("../../etc", "..", "a/b", "-x", ".hidden", "x\ny"):
        status, body = raw(daemon, "POST", "/v1.45/volumes/create", {"Name": bad})
        assert status == 400 and "includes invalid characters" in body["message"], (bad, body)
    # nothing was made for them, inside the volumes directory or beside it
    assert all(re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+", n) for n in os.listdir(os.path.join(daemon.data_root, "volumes")))
    assert not os.path.exists(os.path.join(daemon.data_root, "etc"))
    status, body = raw(daemon, "GET", "/v1.45/volumes/nosuch")
    assert (status, body) == (404, {"message": "get nosuch: no such volume"})
    assert raw(daemon, "DELETE", "/v1.45/volumes/nosuch")[0] == 404
    assert raw(daemon, "DELETE", "/v1.45/volumes/nosuch?force=1")[0] == 204
    status, body = raw(daemon, "POST", "/v1.45/volumes/create", {"Name": "opt-vol", "DriverOpts": {"bogus": "1"}})
    assert (status, body["message"]) == (400, 'create opt-vol: invalid option: "bogus"')
    status, body = raw(daemon, "POST", "/v1.45/volumes/create", {"Name": "opt-vol", "DriverOpts": {"type": "tmpfs"}})
    assert (status, body["message"]) == (400, 'create opt-vol: missing required option: "device"')
    status, body = raw(daemon, "POST", "/v1.45/volumes/create", {"Name": "x1", "Driver": "nfsplugin"})
    assert status == 404 and "plugin \"nfsplugin\" not found" in body["message"]
    status, body = raw(daemon, "POST", "/v1.45/containers/create", {
        "Image": "busybox", "HostConfig": {"Binds": ["vd-vol:/d"], "VolumeDriver": "nope"}})
    assert status == 404 and 'plugin "nope" not found' in body["message"]
    assert not volume_exists(hithe, "vd-vol")
    # idempotent for the same request, a conflict for other options
    status, v1 = raw(daemon, "POST", "/v1.45/volumes/create", {"Name": "twice", "Labels": {"k": "v"}})
    status2, v2 = raw(daemon, "POST", "/v1.45/volumes/create", {"Name": "twice", "Labels": {"k": "v"}})
    assert (status, status2) == (201, 201) and v1 == v2
    status, body = raw(daemon, "POST", "/v1.45/volumes/create",
                       {"Name": "twice", "DriverOpts": {"type": "tmpfs", "device": "tmpfs"}})
    assert status == 409
    status, body = raw(daemon, "GET", '/v1.45/volumes?filters={"bogus":{"x":true}}')
    assert (status, body["message"]) == (400, "invalid filter 'bogus'")
    hithe("volume", "rm", "twice")


# --- listing, filters, prune, df -------------------------------------------------------------

def test_ls_filters_prune_and_df(hithe, daemon):
    hithe("volume", "create", "--label", "team=blue", "lf-blue")
    hithe("volume", "create", "lf-plain")
    cid = hithe("run", "-d", "-v", "lf-used:/u", "-v", "/anon-used", "busybox", "sleep", "60").out.strip()
    hithe("run", "--name", "lf-gone", "-v", "/anon-free", "busybox", "true")
    anon_free = json.loads(hithe("inspect", "-f", "{{json .Mounts}}", "lf-gone").out)[0]["Name"]
    hithe("rm", "lf-gone")
    names = lambda *f: set(hithe("volume", "ls", "-q", *f).out.split())  # noqa: E731
    assert {"lf-blue", "lf-plain", "lf-used", anon_free} <= names()
    assert names("-f", "label=team=blue") == {"lf-blue"}
    assert names("-f", "name=lf-p") == {"lf-plain"}
    assert "lf-used" not in names("-f", "dangling=true") and "lf-plain" in names("-f", "dangling=true")
    assert "lf-used" in names("-f", "dangling=false")
    assert names("-f", "driver=local") >= {"lf-blue"}
    r = hithe("volume", "ls", "--format", "{{.Name}}:{{.Driver}}:{{.Scope}}:{{.Labels}}", "-f", "name=lf-blue")
    assert r.out == "lf-blue:local:local:team=blue\n"

    df = hithe("system", "df").out
    m = re.search(r"^Local Volumes\s+(\d+)\s+(\d+)", df, re.M)
    assert m and int(m.group(1)) >= 4 and int(m.group(2)) >= 2, df

    # API >= 1.42: anonymous volumes only; all=true for named ones too; never one in use
    r = hithe("volume", "prune", "-f")
    assert r.rc == 0 and anon_free in r.out and "lf-plain" not in r.out and "Total reclaimed space" in r.out
    assert volume_exists(hithe, "lf-plain")
    r = hithe("volume", "prune", "-f", "-a", "--filter", "label=team=blue")
    assert "lf-blue" in r.out and "lf-plain" not in r.out
    status, body = raw(daemon, "POST", '/v1.45/volumes/prune?filters={"all":{"true":true}}')
    assert status == 200 and "lf-plain" in body["VolumesDeleted"] and "lf-used" not in body["VolumesDeleted"]
    assert isinstance(body["SpaceReclaimed"], int)
    assert volume_exists(hithe, "lf-used")
    hithe("rm", "-fv", cid)
    hithe("volume", "rm", "lf-used")


def test_local_driver_options_tmpfs_and_bind(hithe, daemon, tmp_path):
    r = hithe("volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "o=size=2m", "tmpvol")
    assert r.rc == 0, r.err
    doc = json.loads(hithe("volume", "inspect", "tmpvol").out)[0]
    assert doc["Options"] == {"type": "tmpfs", "device": "tmpfs", "o": "size=2m"}
    r = hithe("run", "--rm", "-v", "tmpvol:/d", "busybox", "sh", "-c", "grep ' /d ' /proc/mounts")
    assert r.out.startswith("tmpfs /d tmpfs") and "size=2048k" in r.out, r.out + r.err
    assert not os.path.ismount(doc["Mountpoint"])  # unmounted once no container runs with it
    (tmp_path / "hostfile").write_text("through o=bind\n")
    assert hithe("volume", "create", "-o", "type=none", "-o", f"device={tmp_path}", "-o", "o=bind",
                 "bindvol").rc == 0
    r = hithe("run", "--rm", "-v", "bindvol:/b", "busybox", "cat", "/b/hostfile")
    assert r.out == "through o=bind\n", r.err
    assert hithe("volume", "rm", "tmpvol", "bindvol").rc == 0
    assert (tmp_path / "hostfile").exists()  # removing the volume never touches the bound directory


def test_events_for_volumes(hithe, daemon):
    import time
    since = str(int(time.time()) - 1)
    hithe("volume", "create", "ev-vol")
    hithe("volume", "rm", "ev-vol")
    r = hithe("events", "--since", since, "--until", str(int(time.time()) + 1), "--filter", "type=volume",
              "--format", "{{.Action}} {{.Actor.ID}}")
    assert "create ev-vol" in r.out and "destroy ev-vol" in r.out


# --- docker-py and the docker CLI ------------------------------------------------------------

def test_docker_py_volumes(daemon, busybox):
    docker = pytest.importorskip("docker")
    cli = docker.DockerClient(base_url=daemon.host, version="1.45", timeout=60)
    v = cli.volumes.create("pyvol", labels={"via": "py"})
    assert v.name == "pyvol" and v.attrs["Labels"] == {"via": "py"}
    assert "pyvol" in [x.name for x in cli.volumes.list()]
    assert cli.volumes.get("pyvol").attrs["Mountpoint"].endswith("/volumes/pyvol/_data")
    out = cli.containers.run("busybox", "sh -c 'echo py > /v/f; cat /v/f'", remove=True,
                             volumes={"pyvol": {"bind": "/v", "mode": "rw"}})
    assert out == b"py\n"
    out = cli.containers.run("busybox", "cat /v/f", remove=True, volumes=["pyvol:/v:ro"])
    assert out == b"py\n"
    with pytest.raises(docker.errors.NotFound):
        cli.volumes.get("nosuchpyvol")
    cli.volumes.get("pyvol").remove()
    assert "pyvol" not in [x.name for x in cli.volumes.list()]


@pytest.mark.skipif(shutil.which("docker") is None, reason="docker CLI not installed")
def test_stock_docker_cli_volumes(daemon, busybox):
    def docker(*args: str):
        return run_cli(daemon, *args, prog="docker")
    assert docker("volume", "create", "dk-vol").out == "dk-vol\n"
    ls = docker("volume", "ls")
    assert ls.rc == 0 and re.search(r"^local\s+dk-vol$", ls.out, re.M), ls.out + ls.err
    r = docker("run", "--rm", "-v", "dk-vol:/data", "busybox", "sh", "-c", "echo dk > /data/f")
    assert r.rc == 0, r.err
    r = docker("run", "--rm", "--mount", "source=dk-vol,target=/data,readonly", "busybox", "cat", "/data/f")
    assert r.out == "dk\n"
    r = docker("volume", "inspect", "--format", "{{.Driver}} {{.Scope}}", "dk-vol")
    assert r.out == "local local\n"
    assert docker("volume", "rm", "dk-vol").out == "dk-vol\n"


def test_daemon_restart_keeps_volumes_and_their_mounts(daemon, hithe):
    import signal
    import time
    hithe("volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "rs-tmp")
    cid = hithe("run", "-d", "-v", "rs-tmp:/d", "-v", "rs-named:/n", "busybox", "sh", "-c",
                "echo kept > /d/f; echo kept > /n/f; sleep 300").out.strip()
    time.sleep(0.3)
    mountpoint = json.loads(hithe("volume", "inspect", "rs-tmp").out)[0]["Mountpoint"]
    assert os.path.ismount(mountpoint)
    daemon.stop(signal.SIGKILL)
    daemon.start()
    assert {"rs-tmp", "rs-named"} <= set(hithe("volume", "ls", "-q").out.split())
    r = hithe("volume", "rm", "rs-named")
    assert r.rc == 1 and "volume is in use" in r.err
    assert hithe("exec", cid, "cat", "/d/f", "/n/f").out == "kept\nkept\n"
    hithe("stop", "-t", "0", cid)
    assert not os.path.ismount(mountpoint)  # the re-adopted container's release unmounts it
    hithe("rm", cid)
    assert hithe("volume", "rm", "rs-tmp", "rs-named").rc == 0
