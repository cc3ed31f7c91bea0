"""docker diff classification on fake overlay trees, and the path-stat header."""
from __future__ import annotations

import base64
import json
import os
import stat

import pytest

from hithe.containers.changes import ADDED, DELETED, MODIFIED, compute_changes
from hithe.containers.pathstat import MODE_DIR, MODE_SYMLINK, PathStat, go_file_mode

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="whiteouts and trusted xattrs need root")


def _mk(base, rel, content="x"):
    p = base / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(content)
    return p


def _whiteout(base, rel):
    p = base / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    os.mknod(p, stat.S_IFCHR | 0o600, os.makedev(0, 0))


def _copy_dir_meta(src, dst):
    st = os.stat(src)
    os.chmod(dst, stat.S_IMODE(st.st_mode))
    os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns))


@pytest.fixture
def layers(tmp_path):
    base, top, upper = tmp_path / "base", tmp_path / "top", tmp_path / "upper"
    for rel in ("bin/sh", "bin/vi", "etc/passwd", "tmp/.keep", "old/a", "old/b", "gone/x"):
        _mk(base, rel)
    for d in ("proc", "sys", "dev"):
        (base / d).mkdir()
    _mk(top, "etc/group")
    upper.mkdir()
    return base, top, upper


def _diff(upper, *lowers):
    return {(c.path, c.kind) for c in compute_changes(str(upper), [str(l) for l in lowers])}


def test_added_modified_and_parents(layers):
    base, top, upper = layers
    _mk(upper, "tmp/new")
    _mk(upper, "etc/group", "changed")   # from the top layer: modified
    _mk(upper, "d/sub/f")
    got = _diff(upper, top, base)
    assert got == {("/tmp", MODIFIED), ("/tmp/new", ADDED), ("/etc", MODIFIED), ("/etc/group", MODIFIED),
                   ("/d", ADDED), ("/d/sub", ADDED), ("/d/sub/f", ADDED)}


def test_unchanged_dir_shows_only_for_added_child(layers):
    base, top, upper = layers
    _mk(upper, "etc/passwd", "changed")
    _copy_dir_meta(top / "etc", upper / "etc")  # the highest layer with it counts
    assert _diff(upper, top, base) == {("/etc/passwd", MODIFIED)}
    _mk(upper, "etc/newfile")
    _copy_dir_meta(top / "etc", upper / "etc")  # the highest layer with it counts
    assert _diff(upper, top, base) == {("/etc", MODIFIED), ("/etc/passwd", MODIFIED), ("/etc/newfile", ADDED)}


@root_only
def test_whiteouts_and_opaque(layers):
    base, top, upper = layers
    _whiteout(upper, "bin/vi")
    _copy_dir_meta(base / "bin", upper / "bin")
    (upper / "old").mkdir()
    os.setxattr(upper / "old", "trusted.overlay.opaque", b"y")
    _mk(upper, "old/a")
    got = _diff(upper, top, base)
    # rm -rf /old && mkdir /old && touch /old/a: what `docker diff` shows
    assert got == {("/bin", MODIFIED), ("/bin/vi", DELETED), ("/old", MODIFIED), ("/old/a", MODIFIED),
                   ("/old/b", DELETED)}


@root_only
def test_lower_whiteout_hides_lower_file(layers):
    base, top, upper = layers
    _whiteout(top, "gone")           # deleted by the top image layer
    _mk(upper, "gone")               # so this is new to the container
    assert ("/gone", ADDED) in _diff(upper, top, base)


def test_runtime_mountpoints_and_files_are_hidden(layers):
    base, top, upper = layers
    for d in ("proc", "sys", "dev"):
        (upper / d).mkdir()
    (upper / "etc").mkdir()
    for f in ("hosts", "hostname", "resolv.conf"):
        (upper / "etc" / f).write_text("")
    assert _diff(upper, top, base) == set()
    _mk(upper, "dev/kept")           # something the user put there is a change
    assert ("/dev/kept", ADDED) in _diff(upper, top, base)


def test_symlinked_lower_dirs_are_not_followed(tmp_path):
    base, upper, outside = tmp_path / "base", tmp_path / "upper", tmp_path / "outside"
    _mk(outside, "x")
    base.mkdir()
    os.symlink(str(outside), base / "link")
    _mk(upper, "link/x")   # upper has a real dir where the image had a symlink
    got = _diff(upper, base)
    assert ("/link/x", ADDED) in got   # not "modified" by the host file the link points at


def test_empty_upper(tmp_path):
    (tmp_path / "u").mkdir()
    assert compute_changes(str(tmp_path / "u"), []) == []
    assert compute_changes(str(tmp_path / "missing"), []) == []


def test_go_file_mode():
    assert go_file_mode(stat.S_IFDIR | 0o755) == MODE_DIR | 0o755
    assert go_file_mode(stat.S_IFDIR | 0o1777) == 2148532735  # /tmp as Docker reports it
    assert go_file_mode(stat.S_IFLNK | 0o777) == 134218239
    assert go_file_mode(stat.S_IFREG | 0o4755) == (1 << 23) | 0o755
    assert go_file_mode(stat.S_IFCHR | 0o600) == (1 << 26) | (1 << 21) | 0o600


def test_stat_header_encoding(tmp_path):
    p = tmp_path / "f"
    p.write_text("abc")
    os.utime(p, ns=(0, 1_700_000_000_123_400_000))
    ps = PathStat.from_stat("f", os.lstat(p))
    doc = json.loads(base64.b64decode(ps.header_value()))
    assert list(doc) == ["name", "size", "mode", "mtime", "linkTarget"]
    assert doc == {"name": "f", "size": 3, "mode": stat.S_IMODE(os.lstat(p).st_mode),
                   "mtime": "2023-11-14T22:13:20.1234Z", "linkTarget": ""}
    assert not ps.is_dir and PathStat("d", 0, MODE_DIR | 0o755, "").is_dir
    assert PathStat("l", 4, MODE_SYMLINK | 0o777, "", "/etc").to_json()["linkTarget"] == "/etc"
