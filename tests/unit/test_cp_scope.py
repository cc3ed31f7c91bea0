"""docker cp path handling: resolution inside a container rootfs must never leave it."""
from __future__ import annotations

import io
import os
import tarfile

import pytest

from hithe.archive.create import write_entry_tar
from hithe.archive.extract import DirNonDirConflict, extract_tar
from hithe.archive.rootdir import RootDir
from hithe.containers.scope import Located, parse_container_path, resolve_in_scope
from hithe.errors import InvalidParameter


@pytest.fixture
def tree(tmp_path):
    """host/{secret} next to root/ (the container's rootfs) full of hostile links."""
    host = tmp_path / "host"
    host.mkdir()
    (host / "secret").write_text("host secret")
    root = tmp_path / "root"
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "secret").write_text("container secret")
    (root / "tmp").mkdir()
    os.symlink("/", root / "tmp" / "evil")                      # absolute: the container's /
    os.symlink("../../../../../..", root / "tmp" / "up")         # climbs: clamped at /
    os.symlink(str(host), root / "tmp" / "hostabs")              # host path: means root/<that path>
    os.symlink("/etc", root / "lnk")
    os.symlink("loop2", root / "loop1")
    os.symlink("loop1", root / "loop2")
    os.symlink("/tmp/evil/etc", root / "chain")
    (root / "file").write_text("x")
    return root, host


def _resolve(root, path, follow=None):
    cp = parse_container_path(path)
    with RootDir(str(root)) as rd:
        return resolve_in_scope(rd, cp.parts, follow_last=cp.follow_last if follow is None else follow)


@pytest.mark.parametrize("path,want", [
    ("/tmp/evil/etc/secret", ("etc", "secret")),
    ("tmp/up/etc/secret", ("etc", "secret")),
    ("/tmp/up/../../../etc/secret", ("etc", "secret")),   # ".." is lexical first, as Docker does
    ("/chain/secret", ("etc", "secret")),
    ("/lnk/", ("etc",)),
    ("/lnk/.", ("etc",)),
    ("/lnk", ("lnk",)),                                      # last component not followed
    ("/../../etc", ("etc",)),
    ("/", ()),
    (".", ()),
])
def test_resolution_stays_in_scope(tree, path, want):
    root, _ = tree
    assert _resolve(root, path) == want


def test_host_absolute_link_is_read_inside(tree):
    root, host = tree
    got = _resolve(root, "/tmp/hostabs/secret")
    assert got == tuple(str(host).strip("/").split("/")) + ("secret",)
    with RootDir(str(root)) as rd, pytest.raises(FileNotFoundError):
        Located(rd, got).lstat()  # that path does not exist inside the rootfs


def test_symlink_loop_is_an_error(tree):
    root, _ = tree
    with pytest.raises(InvalidParameter):
        _resolve(root, "/loop1/x")


def test_names_follow_docker():
    assert parse_container_path("/d/.").name == "."
    assert parse_container_path("d/").name == "d" and parse_container_path("d/").follow_last
    assert parse_container_path("/").name == "/"
    assert not parse_container_path("/a/b").follow_last
    assert parse_container_path("/a/../b").parts == ("b",)


def test_swapped_component_is_refused(tree):
    """A directory turned into a symlink after resolution is not followed when opened."""
    root, host = tree
    got = _resolve(root, "/tmp/evil/etc/secret")
    os.rename(root / "etc", root / "etc.old")
    os.symlink(str(host), root / "etc")
    with RootDir(str(root)) as rd, pytest.raises((InvalidParameter, FileNotFoundError, OSError)):
        Located(rd, got).lstat()


def _tar(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in entries:
            ti = tarfile.TarInfo(name)
            if data is None:
                ti.type = tarfile.DIRTYPE
                tf.addfile(ti)
            else:
                ti.size = len(data)
                tf.addfile(ti, io.BytesIO(data))
    buf.seek(0)
    return buf


def test_extract_through_hostile_links_stays_inside(tree):
    root, host = tree
    extract_tar(_tar([("tmp/evil/secret", b"pwned"), ("tmp/hostabs/x", b"pwned")]), str(root),
                whiteouts="none")
    assert (host / "secret").read_text() == "host secret"
    assert (root / "secret").read_text() == "pwned"
    assert not (host / "x").exists()


def test_no_overwrite_dir_nondir(tree):
    root, _ = tree
    with pytest.raises(DirNonDirConflict) as e:
        extract_tar(_tar([("etc", b"file now")]), str(root), whiteouts="none", no_overwrite_dir_nondir=True)
    assert e.value.existing_is_dir and e.value.parts == ("etc",)
    with pytest.raises(DirNonDirConflict):
        extract_tar(_tar([("file", None)]), str(root), whiteouts="none", no_overwrite_dir_nondir=True)
    extract_tar(_tar([("etc", None), ("file", b"y")]), str(root), whiteouts="none",
                no_overwrite_dir_nondir=True, owner=(123, 456))
    assert (root / "file").stat().st_uid == 123 and (root / "file").stat().st_gid == 456


def test_entry_tar_names(tree):
    root, _ = tree
    (root / "d" / "sub").mkdir(parents=True)
    (root / "d" / "a.txt").write_text("a")

    def names(dirfd, name, arc):
        buf = io.BytesIO()
        write_entry_tar(dirfd, name, arc, buf)
        buf.seek(0)
        with tarfile.open(fileobj=buf) as tf:
            return tf.getnames()

    with RootDir(str(root)) as rd:
        assert names(rd.fd, "d", "d") == ["d", "d/a.txt", "d/sub"]
        assert names(rd.fd, "lnk", "lnk") == ["lnk"]
        fd = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=rd.fd)
        try:
            assert names(fd, None, ".") == [".", "./a.txt", "./sub"]
        finally:
            os.close(fd)
