"""write_tree_tar (rootfs export) and write_layer_tar (overlay upper -> OCI layer)."""
from __future__ import annotations

import hashlib
import io
import os
import socket
import stat
import subprocess
import tarfile

import pytest

from hithe.archive import extract_tar, write_layer_tar, write_tree_tar
from hithe.errors import SystemError_

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (chown, mknod, trusted xattrs)")

T = 1_600_000_000


def tar_of(fn, src, **kw) -> bytes:
    buf = io.BytesIO()
    fn(str(src), buf, **kw)
    return buf.getvalue()


def members(data: bytes) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        return tf.getmembers()


def raw_names(data: bytes) -> list[str]:
    """Member names as written (tarfile strips the trailing "/" of dirs)."""
    out = []
    for m in members(data):
        out.append(m.name + "/" if m.isdir() else m.name)
    return out


def describe(root) -> dict[str, tuple]:
    """A tree as a user would compare it: kind, mode, owner, content, target, device, xattrs."""
    out: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in sorted(dirnames + filenames):
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            content = link = None
            if stat.S_ISREG(st.st_mode):
                with open(path, "rb") as f:
                    content = hashlib.sha256(f.read()).hexdigest()
            if stat.S_ISLNK(st.st_mode):
                link = os.readlink(path)
            xattrs = {k: os.getxattr(path, k, follow_symlinks=False)
                      for k in sorted(os.listxattr(path, follow_symlinks=False))}
            # a whiteout's time means nothing to overlayfs and is not carried
            whiteout = stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
            mtime = None if whiteout else int(st.st_mtime)
            out[os.path.relpath(path, root)] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode),
                                                st.st_uid, st.st_gid, content, link,
                                                st.st_rdev if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else None,
                                                xattrs, mtime)
    return out


def touch_all(root, t=T) -> None:
    """Give every entry a fixed mtime (dirs last) so trees compare exactly."""
    for dirpath, dirnames, filenames in os.walk(root, topdown=False):
        for name in dirnames + filenames:
            os.utime(os.path.join(dirpath, name), (t, t), follow_symlinks=False)


def rootfs(root) -> None:
    """A small rootfs with every kind of entry docker export has to carry."""
    for d in ("bin", "etc", "tmp", "dev", "usr/bin"):
        (root / d).mkdir(parents=True)
    (root / "bin/busybox").write_bytes(b"\x7fELF" + os.urandom(5000))
    os.chmod(root / "bin/busybox", 0o755)
    os.symlink("busybox", root / "bin/sh")
    os.link(root / "bin/busybox", root / "usr/bin/env")
    (root / "bin/su").write_bytes(b"su")
    os.chown(root / "bin/su", 0, 0)
    os.chmod(root / "bin/su", 0o4755)
    (root / "etc/passwd").write_text("root:x:0:0::/root:/bin/sh\n")
    (root / "etc/owned").write_text("x")
    os.chown(root / "etc/owned", 1234, 5678)
    os.setxattr(root / "etc/owned", "user.note", b"\xff binary \x00")
    os.chmod(root / "tmp", 0o1777)
    os.mknod(root / "dev/null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    os.chmod(root / "dev/null", 0o666)
    os.mkfifo(root / "dev/fifo", 0o600)
    (root / "a-b").write_text("sorts after a/")
    (root / "a").mkdir()
    (root / "a/x").write_text("x")
    long_dir = root / ("long-" * 30) / ("deeper-" * 20)  # past ustar's 100/155 limits
    long_dir.mkdir(parents=True)
    (long_dir / "f").write_text("long")
    os.symlink("t" * 300, root / "long-link")
    (root / os.fsdecode(b"not-utf8-\xff\xfe")).write_text("bytes in the name")
    (root / "ünïcode").write_text("u")
    touch_all(root)


# -- write_tree_tar -------------------------------------------------------------

def test_tree_tar_naming_and_order_match_docker_export(tmp_path):
    rootfs(tmp_path)
    names = raw_names(tar_of(write_tree_tar, tmp_path))
    # no "./" prefix, no root entry, dirs end with "/", depth-first, byte order
    assert names[:4] == ["a/", "a/x", "a-b", "bin/"]
    assert names.index("bin/") < names.index("bin/busybox") < names.index("bin/sh") < names.index("bin/su")
    assert all(not n.startswith("./") and not n.startswith("/") for n in names)
    assert "usr/bin/env" in names and "dev/null" in names


def test_tree_tar_headers(tmp_path):
    rootfs(tmp_path)
    by_name = {m.name: m for m in members(tar_of(write_tree_tar, tmp_path))}
    assert by_name["bin/su"].mode == 0o4755
    assert by_name["tmp"].mode == 0o1777
    assert (by_name["etc/owned"].uid, by_name["etc/owned"].gid) == (1234, 5678)
    assert by_name["etc/owned"].uname == ""  # host user names are not the image's
    assert by_name["bin/sh"].issym() and by_name["bin/sh"].linkname == "busybox"
    env = by_name["usr/bin/env"]
    assert env.islnk() and env.linkname == "bin/busybox" and env.size == 0
    null = by_name["dev/null"]
    assert null.ischr() and (null.devmajor, null.devminor) == (1, 3)
    assert by_name["dev/fifo"].isfifo()
    assert by_name["etc/owned"].pax_headers["SCHILY.xattr.user.note"].encode("utf-8", "surrogateescape") \
        == b"\xff binary \x00"
    assert by_name["a/x"].mtime == T


def test_tree_tar_is_deterministic_and_round_trips(tmp_path):
    src = tmp_path / "src"
    rootfs(src)
    first = tar_of(write_tree_tar, src)
    assert tar_of(write_tree_tar, src) == first
    extract_tar(io.BytesIO(first), str(tmp_path / "copy"), whiteouts="none")
    assert describe(tmp_path / "copy") == describe(src)
    assert (tmp_path / "copy/usr/bin/env").stat().st_ino == (tmp_path / "copy/bin/busybox").stat().st_ino


def test_tree_tar_exclude_and_skipped_kinds(tmp_path):
    rootfs(tmp_path)
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "etc/sock"))
    os.setxattr(tmp_path / "etc/passwd", "trusted.overlay.origin", b"\x00\x01")
    try:
        data = tar_of(write_tree_tar, tmp_path, exclude=lambda rel: rel in ("dev", "bin/su"))
    finally:
        sock.close()
    by_name = {m.name: m for m in members(data)}
    assert not [n for n in by_name if n == "dev" or n.startswith("dev/")]
    assert "bin/su" not in by_name and "bin/busybox" in by_name
    assert "etc/sock" not in by_name  # sockets have no tar form
    assert not [k for k in by_name["etc/passwd"].pax_headers if "trusted.overlay" in k]


def test_tree_tar_large_file_streams(tmp_path):
    with open(tmp_path / "big", "wb") as f:
        f.truncate(64 * 1024 * 1024)  # sparse on disk, 64 MiB in the tar

    class Sink:
        def __init__(self):
            self.n = 0
            self.h = hashlib.sha256()

        def write(self, b):
            self.n += len(b)
            self.h.update(b)
            return len(b)

    sink = Sink()
    write_tree_tar(str(tmp_path), sink)  # type: ignore[arg-type]
    assert sink.n >= 64 * 1024 * 1024 + 1024


# -- write_layer_tar ------------------------------------------------------------------

def overlay_upper(upper) -> None:
    """An upper dir the way overlayfs leaves it after a container ran."""
    (upper / "etc").mkdir(parents=True)
    (upper / "etc/hostname").write_text("changed\n")
    os.mknod(upper / "etc/motd", stat.S_IFCHR, os.makedev(0, 0))   # rm /etc/motd
    os.link(upper / "etc/motd", upper / "etc/issue")                 # kernel-shared whiteout inode
    (upper / "var/lib/app").mkdir(parents=True)
    os.setxattr(upper / "var/lib/app", "trusted.overlay.opaque", b"y")  # rm -rf + mkdir
    os.setxattr(upper / "var/lib", "trusted.overlay.origin", b"\x00\xfb")
    os.chmod(upper / "var/lib/app", 0o750)
    (upper / "var/lib/app/state").write_text("fresh")
    (upper / "usr/bin").mkdir(parents=True)
    (upper / "usr/bin/tool").write_bytes(b"tool")
    os.chmod(upper / "usr/bin/tool", 0o2755)
    os.link(upper / "usr/bin/tool", upper / "usr/bin/tool2")
    for d in ("proc", "sys", "dev"):  # runc's mountpoints
        (upper / d).mkdir()
    touch_all(upper)


def test_layer_tar_converts_overlay_markers(tmp_path):
    overlay_upper(tmp_path)
    data = tar_of(write_layer_tar, tmp_path, exclude_top={"proc", "sys", "dev"})
    ms = members(data)
    by_name = {m.name: m for m in ms}
    names = [m.name for m in ms]
    for wh in ("etc/.wh.motd", "etc/.wh.issue"):
        m = by_name[wh]
        assert m.isreg() and m.size == 0 and m.mode == 0o600
    assert "etc/motd" not in by_name and "etc/issue" not in by_name
    opq = names.index("var/lib/app/.wh..wh..opq")
    assert names[opq - 1] == "var/lib/app"  # right after its directory, before its children
    assert by_name["var/lib/app/.wh..wh..opq"].mode == 0o750
    assert names.index("var/lib/app/state") > opq
    for m in ms:
        assert not [k for k in m.pax_headers if k.startswith("SCHILY.xattr.trusted.overlay.")], m.name
    assert by_name["usr/bin/tool2"].islnk()
    assert by_name["usr/bin/tool"].mode == 0o2755
    assert not {"proc", "sys", "dev"} & set(names)


def test_layer_tar_keeps_non_empty_or_nested_excluded_names(tmp_path):
    (tmp_path / "dev").mkdir()
    (tmp_path / "dev/custom").write_text("user data")
    (tmp_path / "sys").mkdir()
    os.setxattr(tmp_path / "sys", "trusted.overlay.opaque", b"y")  # deliberately emptied: a real change
    (tmp_path / "x/proc").mkdir(parents=True)  # only the top level is special
    (tmp_path / "proc").write_bytes(b"")  # an empty file mountpoint at the top
    names = [m.name for m in members(tar_of(write_layer_tar, tmp_path, exclude_top={"proc", "sys", "dev"}))]
    assert "dev/custom" in names and "sys" in names and "sys/.wh..wh..opq" in names
    assert "x/proc" in names and "proc" not in names


@pytest.mark.parametrize("key,kind", [("trusted.overlay.redirect", "dir"), ("trusted.overlay.metacopy", "file")])
def test_layer_tar_refuses_uppers_it_cannot_diff(tmp_path, key, kind):
    target = tmp_path / "moved"
    if kind == "dir":
        target.mkdir()
    else:
        target.write_bytes(b"")
    os.setxattr(target, key, b"/old" if kind == "dir" else b"")
    with pytest.raises(SystemError_, match="redirect_dir=off"):
        tar_of(write_layer_tar, tmp_path)
    # a plain export does not care: the merged view is complete
    assert [m.name for m in members(tar_of(write_tree_tar, tmp_path))] == ["moved"]


def test_upper_to_layer_to_extract_round_trip(tmp_path):
    upper = tmp_path / "upper"
    overlay_upper(upper)
    data = tar_of(write_layer_tar, upper, exclude_top={"proc", "sys", "dev"})
    # Unpacked as a snapshot, the layer is the upper dir again.
    again = tmp_path / "again"
    extract_tar(io.BytesIO(data), str(again), whiteouts="overlay")
    want = describe(upper)
    for d in ("proc", "sys", "dev"):
        del want[d]
    got = describe(again)
    # origin is the kernel's bookkeeping, rightly not carried; the whiteout
    # inode was shared in the upper, two separate devices now.
    want["var/lib"][7].pop("trusted.overlay.origin")
    assert got == want


def _mount_overlay(lower, upper, work, merged) -> bool:
    r = subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                        f"lowerdir={lower},upperdir={upper},workdir={work}", str(merged)],
                       capture_output=True)
    return r.returncode == 0


def test_real_overlay_diff_applied_with_delete_equals_merged_view(tmp_path):
    lower, upper, work, merged = (tmp_path / n for n in ("lower", "upper", "work", "merged"))
    for d in (lower, upper, work, merged):
        d.mkdir()
    (lower / "etc").mkdir()
    (lower / "etc/motd").write_text("bye")
    (lower / "etc/keep").write_text("keep")
    (lower / "app/lib").mkdir(parents=True)
    (lower / "app/lib/old").write_text("old")
    (lower / "app/cfg").write_text("old cfg")
    if not _mount_overlay(lower, upper, work, merged):
        pytest.skip("cannot mount overlayfs here")
    try:
        os.unlink(merged / "etc/motd")
        subprocess.run(["rm", "-rf", str(merged / "app")], check=True)
        (merged / "app").mkdir()
        (merged / "app/cfg").write_text("new cfg")
        (merged / "etc/new").write_text("new")
        os.chmod(merged / "etc/keep", 0o600)
        touch_all(merged)
        expected = describe(merged)
    finally:
        subprocess.run(["umount", str(merged)], check=True)
    data = tar_of(write_layer_tar, upper)
    names = [m.name for m in members(data)]
    assert "etc/.wh.motd" in names and "app/.wh..wh..opq" in names
    # Flattening: lower + layer (delete mode) must equal what the container saw.
    extract_tar(io.BytesIO(data), str(lower), whiteouts="delete")
    got = describe(lower)
    for key in list(got):  # copy-up leaves origin/impure markers on the upper only
        got[key][7].clear()
    for key in list(expected):
        expected[key][7].clear()
    assert got == expected
