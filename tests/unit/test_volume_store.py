"""The local volume driver's store: names, records, references, filters, prune, options, copy-up."""
from __future__ import annotations

import os
import stat

import pytest

from hithe.errors import Conflict, InvalidParameter, NotFound
from hithe.events.bus import EventBus
from hithe.metadata.db import Database
from hithe.volumes import local_opts
from hithe.volumes.copyup import copy_up
from hithe.volumes.filters import list_matcher, prune_keeper
from hithe.volumes.names import validate_name
from hithe.volumes.record import render
from hithe.volumes.service import VolumeService


@pytest.fixture
def svc(tmp_path):
    db = Database(str(tmp_path / "h.db"))
    s = VolumeService(db, str(tmp_path / "volumes"), EventBus())
    yield s
    db.close()


def test_create_get_render_and_reload(svc, tmp_path):
    v, created = svc.create("my-vol", "", {}, {"a": "b"})
    assert created and v.mountpoint == str(tmp_path / "volumes" / "my-vol" / "_data")
    assert os.path.isdir(v.mountpoint)
    doc = render(v)
    assert list(doc) == ["CreatedAt", "Driver", "Labels", "Mountpoint", "Name", "Options", "Scope"]
    assert (doc["Driver"], doc["Labels"], doc["Options"], doc["Scope"]) == ("local", {"a": "b"}, {}, "local")
    # records live in the metadata DB: a new service (daemon restart) sees the same volume
    again = VolumeService(svc.db, str(tmp_path / "volumes"), EventBus())
    assert render(again.get("my-vol")) == doc
    assert [e.action for e in svc.events.history] == ["create"]


def test_create_is_idempotent_and_conflicts_on_other_options(svc):
    v1, _ = svc.create("same")
    v2, created = svc.create("same")
    assert v1 is v2 and not created
    with pytest.raises(Conflict):
        svc.create("same", opts={"type": "tmpfs", "device": "tmpfs"})
    assert svc.create("same", opts={"type": "tmpfs", "device": "tmpfs"}, strict=False)[0] is v1
    with pytest.raises(NotFound, match='plugin "other" not found'):
        svc.create("x2", "other")


def test_anonymous_names_and_labels(svc):
    v, _ = svc.create(anonymous=True)
    assert len(v.name) == 64 and all(c in "0123456789abcdef" for c in v.name)
    assert v.anonymous and v.labels == {"com.docker.volume.anonymous": ""}


@pytest.mark.parametrize("name", ["..", "../etc", "a/b", "/abs", "-x", ".x", "_x", "x y", "x\n", "x\x00y", "é1"])
def test_hostile_names_never_touch_disk(svc, tmp_path, name):
    with pytest.raises(InvalidParameter, match="includes invalid characters"):
        svc.create(name)
    assert os.listdir(tmp_path / "volumes") == []
    assert sorted(os.listdir(tmp_path)) == ["h.db", "h.db-shm", "h.db-wal", "volumes"]


def test_name_grammar():
    assert validate_name("a1") == "a1" and validate_name("A.b_c-9") == "A.b_c-9"
    with pytest.raises(InvalidParameter, match="^create a: volume name is too short"):
        validate_name("a")


def test_remove_refuses_a_volume_in_use(svc):
    svc.create("busy")
    svc.refs_of = lambda: {"busy": ["c2" * 32, "c1" * 32]}
    with pytest.raises(Conflict) as e:
        svc.remove("busy", force=True)
    assert str(e.value) == f"remove busy: volume is in use - [{'c1' * 32}, {'c2' * 32}]"
    svc.refs_of = dict
    svc.remove("busy")
    with pytest.raises(NotFound, match="^get busy: no such volume$"):
        svc.get("busy")
    with pytest.raises(NotFound, match="^get busy: no such volume$"):
        svc.remove("busy")
    svc.remove("busy", force=True)  # force: a missing volume is not an error


def test_list_filters(svc):
    svc.create("blue", labels={"team": "blue", "x": ""})
    svc.create("red", labels={"team": "red"})
    svc.create("used")
    in_use = {"used"}.__contains__
    names = lambda f: sorted(v.name for v in svc.all() if list_matcher(f, in_use)(v))  # noqa: E731
    assert names({"label": ["team=blue"]}) == ["blue"]
    assert names({"label": ["team"]}) == ["blue", "red"]
    assert names({"label!": ["team=blue"]}) == ["red", "used"]
    assert names({"name": ["e"]}) == ["blue", "red", "used"] and names({"name": ["bl"]}) == ["blue"]
    assert names({"dangling": ["true"]}) == ["blue", "red"] and names({"dangling": ["0"]}) == ["used"]
    assert names({"driver": ["local"]}) == ["blue", "red", "used"] and names({"driver": ["nfs"]}) == []
    with pytest.raises(InvalidParameter, match="^invalid filter 'dangling=maybe'$"):
        list_matcher({"dangling": ["maybe"]}, in_use)
    with pytest.raises(InvalidParameter, match="^invalid filter 'until'$"):
        list_matcher({"until": ["1h"]}, in_use)


def test_prune_anonymous_only_unless_all(svc):
    anon, _ = svc.create(anonymous=True)
    svc.create("named")
    svc.create("kept", labels={"keep": "1"})
    used, _ = svc.create(anonymous=True)
    with open(os.path.join(anon.mountpoint, "f"), "wb") as f:
        f.write(b"x" * 1000)
    svc.refs_of = lambda: {used.name: ["c" * 64]}
    assert svc.prune(prune_keeper({}, (1, 45))) == ([anon.name], 1000)
    assert svc.prune(prune_keeper({"all": ["true"], "label!": ["keep"]}, (1, 45)))[0] == ["named"]
    # before API 1.42 prune took named volumes too
    assert svc.prune(prune_keeper({}, (1, 41)))[0] == ["kept"]
    assert [v.name for v in svc.all()] == [used.name]
    with pytest.raises(InvalidParameter, match="invalid filter 'dangling'"):
        prune_keeper({"dangling": ["true"]}, (1, 45))


def test_driver_options():
    local_opts.validate_opts("v", {"type": "tmpfs", "device": "tmpfs", "o": "size=1m"})
    for opts, msg in (({"bogus": "1"}, 'create v: invalid option: "bogus"'),
                      ({"type": "tmpfs"}, 'create v: missing required option: "device"'),
                      ({"device": "/x"}, 'create v: missing required option: "type"'),
                      ({"o": "bind"}, 'create v: missing required option: "device"'),
                      ({"size": "1g"}, "create v: quota size requested but no quota support")):
        with pytest.raises(InvalidParameter) as e:
            local_opts.validate_opts("v", opts)
        assert str(e.value) == msg
    assert local_opts.parse_mount_options("size=10m,uid=1000,ro,noexec") == (1 | 8, "size=10m,uid=1000")
    assert local_opts.parse_mount_options("rbind,rw")[0] == 4096 | 16384
    assert local_opts.needs_mount({"type": "tmpfs", "device": "tmpfs"}) and not local_opts.needs_mount({})


@pytest.fixture
def hostile_rootfs(tmp_path):
    """A rootfs whose /data holds links aimed at the host, and whose /up climbs out of it."""
    host = tmp_path / "host"
    host.mkdir()
    (host / "secret").write_text("host secret")
    root = tmp_path / "rootfs"
    (root / "data" / "sub").mkdir(parents=True)
    (root / "data" / "sub" / "f").write_text("image file")
    os.chmod(root / "data" / "sub" / "f", 0o4755)
    os.symlink(str(host / "secret"), root / "data" / "abs-link")
    os.symlink("../../../../host", root / "data" / "rel-link")
    os.mkfifo(root / "data" / "fifo")
    os.symlink("../../../../../.." + str(host), root / "up")
    return root, host


def test_copy_up_keeps_links_as_links(hostile_rootfs, tmp_path):
    root, host = hostile_rootfs
    dest = tmp_path / "vol"
    dest.mkdir()
    assert copy_up(str(root), "/data", str(dest))
    assert (dest / "sub" / "f").read_text() == "image file"
    assert stat.S_IMODE(os.stat(dest / "sub" / "f").st_mode) == 0o4755
    assert os.readlink(dest / "abs-link") == str(host / "secret")  # copied as a link, never followed
    assert os.path.islink(dest / "rel-link") and stat.S_ISFIFO(os.lstat(dest / "fifo").st_mode)
    assert not copy_up(str(root), "/data", str(dest))  # not empty any more: nothing copied again


def test_copy_up_resolves_the_path_inside_the_rootfs(hostile_rootfs, tmp_path):
    root, host = hostile_rootfs
    dest = tmp_path / "vol2"
    dest.mkdir()
    # /up -> ../../..<host>: inside the rootfs that is <rootfs><host>, which does not exist
    assert not copy_up(str(root), "/up", str(dest))
    assert os.listdir(dest) == []
    assert not copy_up(str(root), "/nonexistent/deeper", str(dest))
    os.symlink("/data/sub", root / "inner")  # an absolute link that stays inside: followed in scope
    assert copy_up(str(root), "/inner", str(dest)) and os.listdir(dest) == ["f"]
