"""Whiteouts and opaque directories in the three extraction modes."""
from __future__ import annotations

import io
import os
import stat
import tarfile

import pytest

from hithe.archive import extract_tar

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (mknod, trusted xattrs)")


def entry(name: str, kind: bytes = tarfile.REGTYPE, *, data: bytes = b"", mode: int = 0o644,
          uid: int = 0, gid: int = 0):
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.uid, ti.gid, ti.mtime = kind, mode, uid, gid, 1_600_000_000
    if kind == tarfile.REGTYPE:
        ti.size = len(data)
    return ti, data


def make_tar(*entries) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for ti, data in entries:
            tf.addfile(ti, io.BytesIO(data) if ti.type == tarfile.REGTYPE else None)
    return buf.getvalue()


def lower_tree(root) -> None:
    """What the layers below left: files, a directory tree, a symlink."""
    (root / "etc").mkdir(parents=True)
    (root / "etc/motd").write_text("hello")
    (root / "etc/keep").write_text("keep")
    (root / "app/lib/deep").mkdir(parents=True)
    (root / "app/lib/deep/old.so").write_text("old")
    (root / "app/config").write_text("old config")
    os.symlink("etc/motd", root / "motd-link")


def is_whiteout(path) -> bool:
    st = os.lstat(path)
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


LAYER = make_tar(
    entry("etc/.wh.motd"),
    entry(".wh.motd-link"),
    entry("app", tarfile.DIRTYPE, mode=0o755),
    entry("app/.wh..wh..opq"),
    entry("app/config", data=b"new config"),
    entry("app/lib", tarfile.DIRTYPE),
    entry("app/lib/new.so", data=b"new"),
    entry("gone/.wh.nothing-here"),  # whiteout for something no lower layer had
)


def test_overlay_mode_writes_kernel_whiteouts(tmp_path):
    dest = tmp_path / "upper"
    extract_tar(io.BytesIO(LAYER), str(dest), whiteouts="overlay")
    assert is_whiteout(dest / "etc/motd")
    assert is_whiteout(dest / "motd-link")
    assert is_whiteout(dest / "gone/nothing-here")
    assert os.getxattr(dest / "app", "trusted.overlay.opaque") == b"y"
    assert (dest / "app/config").read_bytes() == b"new config"
    assert (dest / "app/lib/new.so").read_bytes() == b"new"
    # the markers themselves are never materialized
    assert not os.path.lexists(dest / "etc/.wh.motd")
    assert not os.path.lexists(dest / "app/.wh..wh..opq")


def test_overlay_whiteout_replaces_what_was_there(tmp_path):
    (tmp_path / "d/x/y").mkdir(parents=True)
    (tmp_path / "f").write_text("1")
    extract_tar(io.BytesIO(make_tar(entry("d/.wh.x", uid=7, gid=8), entry(".wh.f"))), str(tmp_path))
    assert is_whiteout(tmp_path / "d/x") and is_whiteout(tmp_path / "f")
    assert (os.lstat(tmp_path / "d/x").st_uid, os.lstat(tmp_path / "d/x").st_gid) == (7, 8)


def test_delete_mode_applies_the_layer_onto_lower(tmp_path):
    lower_tree(tmp_path)
    extract_tar(io.BytesIO(LAYER), str(tmp_path), whiteouts="delete")
    assert not os.path.lexists(tmp_path / "etc/motd")
    assert not os.path.lexists(tmp_path / "motd-link")
    assert (tmp_path / "etc/keep").read_text() == "keep"
    # opaque app/: everything from lower is gone, this layer's entries stay
    assert sorted(os.listdir(tmp_path / "app")) == ["config", "lib"]
    assert os.listdir(tmp_path / "app/lib") == ["new.so"]
    assert (tmp_path / "app/config").read_bytes() == b"new config"
    assert not os.path.lexists(tmp_path / "gone/nothing-here")
    for dirpath, dirnames, filenames in os.walk(tmp_path):
        for name in dirnames + filenames:
            assert not name.startswith(".wh."), os.path.join(dirpath, name)
            assert not is_whiteout(os.path.join(dirpath, name))
    assert "trusted.overlay.opaque" not in os.listxattr(tmp_path / "app")


def test_delete_mode_opaque_keeps_entries_of_this_archive_before_it(tmp_path):
    lower_tree(tmp_path)
    data = make_tar(entry("app/early", data=b"early"),
                    entry("app/lib/deep/also-early.so", data=b"e"),
                    entry("app/.wh..wh..opq"))
    extract_tar(io.BytesIO(data), str(tmp_path), whiteouts="delete")
    assert (tmp_path / "app/early").read_bytes() == b"early"
    assert os.listdir(tmp_path / "app/lib/deep") == ["also-early.so"]  # old.so from lower is gone
    assert not (tmp_path / "app/config").exists()


def test_delete_mode_whiteout_removes_a_whole_tree(tmp_path):
    lower_tree(tmp_path)
    extract_tar(io.BytesIO(make_tar(entry(".wh.app"))), str(tmp_path), whiteouts="delete")
    assert not os.path.lexists(tmp_path / "app")
    assert (tmp_path / "etc/keep").exists()


def test_delete_mode_root_opaque(tmp_path):
    lower_tree(tmp_path)
    extract_tar(io.BytesIO(make_tar(entry("new", data=b"1"), entry(".wh..wh..opq"))), str(tmp_path),
                whiteouts="delete")
    assert os.listdir(tmp_path) == ["new"]


def test_none_mode_keeps_whiteout_names_as_files(tmp_path):
    extract_tar(io.BytesIO(LAYER), str(tmp_path), whiteouts="none")
    assert (tmp_path / "etc/.wh.motd").is_file()
    assert (tmp_path / "app/.wh..wh..opq").is_file()
    assert not os.path.lexists(tmp_path / "etc/motd")
    assert "trusted.overlay.opaque" not in os.listxattr(tmp_path / "app")


@pytest.mark.parametrize("mode", ["overlay", "delete"])
def test_aufs_bookkeeping_is_skipped(tmp_path, mode):
    data = make_tar(entry(".wh..wh.plnk", tarfile.DIRTYPE), entry(".wh..wh.plnk/1234.5678", data=b"x"),
                    entry(".wh..wh.aufs", data=b""), entry("real", data=b"r"))
    extract_tar(io.BytesIO(data), str(tmp_path), whiteouts=mode)
    assert os.listdir(tmp_path) == ["real"]


def test_unknown_mode_is_a_programming_error(tmp_path):
    with pytest.raises(ValueError):
        extract_tar(io.BytesIO(b""), str(tmp_path), whiteouts="aufs")  # type: ignore[arg-type]
