"""Hostile archives: nothing may be written, linked or removed outside dest.

Every test extracts into tmp/a/b/dest next to tmp/outside (holding a
"secret") and checks, besides what the user would see in dest, that the
rest of tmp is byte-for-byte and inode-for-inode what it was.
"""
from __future__ import annotations

import hashlib
import io
import os
import tarfile
import uuid

import pytest

from hithe.archive import extract_tar, rootdir
from hithe.errors import InvalidParameter

MTIME = 1_600_000_000


def entry(name: str, kind: bytes = tarfile.REGTYPE, *, data: bytes = b"", mode: int = 0o644,
          link: str = "", xattrs: dict[str, str] | None = None):
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.mtime, ti.linkname = kind, mode, MTIME, link
    if kind == tarfile.REGTYPE:
        ti.size = len(data)
    for k, v in (xattrs or {}).items():
        ti.pax_headers["SCHILY.xattr." + k] = v
    return ti, data


def make_tar(*entries) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for ti, data in entries:
            tf.addfile(ti, io.BytesIO(data) if ti.type == tarfile.REGTYPE else None)
    return buf.getvalue()


def _snapshot(top: str, skip: str) -> dict[str, tuple]:
    """Everything under `top` except `skip`: kind, mode, inode, links, content."""
    out: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(top):
        if dirpath == skip:
            dirnames[:] = []
            continue
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            if path == skip:
                continue
            st = os.lstat(path)
            digest = None
            if os.path.isfile(path) and not os.path.islink(path):
                with open(path, "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()
            out[path] = (st.st_mode, st.st_ino, st.st_nlink, st.st_size, st.st_mtime_ns, digest,
                         os.readlink(path) if os.path.islink(path) else None)
    return out


class Jail:
    def __init__(self, tmp_path) -> None:
        self.top = str(tmp_path)
        self.outside = tmp_path / "outside"
        self.outside.mkdir()
        self.secret = self.outside / "secret"
        self.secret.write_text("do not touch")
        self.dest = tmp_path / "a" / "b" / "dest"
        self.dest.mkdir(parents=True)
        self.before = _snapshot(self.top, str(self.dest))
        self.passwd = os.stat("/etc/passwd")

    def extract(self, data: bytes, **kw):
        return extract_tar(io.BytesIO(data), str(self.dest), **kw)

    def assert_untouched(self) -> None:
        assert _snapshot(self.top, str(self.dest)) == self.before
        now = os.stat("/etc/passwd")
        assert (now.st_ino, now.st_nlink, now.st_mtime_ns, now.st_size) == (
            self.passwd.st_ino, self.passwd.st_nlink, self.passwd.st_mtime_ns, self.passwd.st_size)


@pytest.fixture(params=["openat2", "walk"])
def jail(request, tmp_path, monkeypatch):
    """Each test runs twice: kernel RESOLVE_IN_ROOT, and the component walk
    used where openat2 is missing."""
    if request.param == "walk":
        monkeypatch.setattr(rootdir, "_openat2_works", False)
    elif rootdir._openat2_works is False:
        pytest.skip("openat2 is not available here")
    j = Jail(tmp_path)
    yield j
    j.assert_untouched()


# -- names -------------------------------------------------------------------

@pytest.mark.parametrize("name", ["../../outside/pwned", "../x", "a/../../x", "./../x", "..", "d/../../../../etc/x"])
def test_relative_names_climbing_out_are_rejected(jail, name):
    with pytest.raises(InvalidParameter, match="outside of the destination"):
        jail.extract(make_tar(entry(name, data=b"evil")))
    assert os.listdir(jail.dest) == []
    jail.assert_untouched()


def test_absolute_names_land_inside_dest(jail):
    unique = f"hithe-archive-test-{uuid.uuid4().hex}"
    jail.extract(make_tar(entry(f"/tmp/{unique}", data=b"in dest"),
                          entry("/../../../etc/abs-clamped", data=b"clamped"),
                          entry(f"{jail.secret}", data=b"shadow copy")))
    assert not os.path.exists(f"/tmp/{unique}")
    assert (jail.dest / "tmp" / unique).read_bytes() == b"in dest"
    assert (jail.dest / "etc/abs-clamped").read_bytes() == b"clamped"  # "/.." stops at the root
    assert (jail.dest / str(jail.secret).lstrip("/")).read_bytes() == b"shadow copy"
    jail.assert_untouched()


def test_nul_in_name_is_rejected_or_cut(jail):
    # tarfile stops names at NUL; either way nothing escapes.
    jail.extract(make_tar(entry("ok\x00/../../../x", data=b"1")))
    assert os.listdir(jail.dest) == ["ok"]
    jail.assert_untouched()


# -- symlinks on the way -------------------------------------------------------

def test_symlink_then_file_under_it_stays_inside(jail):
    data = make_tar(entry("a", tarfile.SYMTYPE, link=str(jail.outside)),
                    entry("a/pwned", data=b"evil"))
    jail.extract(data)
    assert not (jail.outside / "pwned").exists()
    # The link is resolved as if dest were "/": the file lands under dest.
    assert (jail.dest / str(jail.outside).lstrip("/") / "pwned").read_bytes() == b"evil"
    assert os.readlink(jail.dest / "a") == str(jail.outside)
    jail.assert_untouched()


def test_relative_symlink_escape_is_clamped_at_root(jail):
    data = make_tar(entry("x", tarfile.SYMTYPE, link="../../../outside"),
                    entry("x/secret", data=b"overwrite?"))
    jail.extract(data)
    assert jail.secret.read_text() == "do not touch"
    assert (jail.dest / "outside/secret").read_bytes() == b"overwrite?"
    jail.assert_untouched()


def test_symlink_to_parent_chain(jail):
    data = make_tar(entry("up", tarfile.SYMTYPE, link=".."),
                    entry("d", tarfile.DIRTYPE),
                    entry("d/up2", tarfile.SYMTYPE, link="../up/.."),
                    entry("up/up/up/up/up/up/evil", data=b"1"),
                    entry("d/up2/up/outside/evil2", data=b"2"))
    jail.extract(data)
    assert (jail.dest / "evil").read_bytes() == b"1"
    assert (jail.dest / "outside/evil2").read_bytes() == b"2"
    assert not (jail.outside / "evil2").exists()
    jail.assert_untouched()


def test_symlink_to_root_then_deep_write(jail):
    data = make_tar(entry("root", tarfile.SYMTYPE, link="/"),
                    entry("root/etc/passwd", data=b"root::0:0::/:/bin/sh\n"))
    jail.extract(data)
    assert (jail.dest / "etc/passwd").read_bytes().startswith(b"root::0:0")
    jail.assert_untouched()


def test_existing_symlinks_in_dest_are_not_written_through(jail):
    os.symlink(str(jail.secret), jail.dest / "f")
    os.symlink(str(jail.outside), jail.dest / "dir")
    jail.extract(make_tar(entry("f", data=b"replaced"), entry("dir/secret", data=b"inside")))
    assert not os.path.islink(jail.dest / "f")
    assert (jail.dest / "f").read_bytes() == b"replaced"
    assert (jail.dest / str(jail.outside).lstrip("/") / "secret").read_bytes() == b"inside"
    jail.assert_untouched()


def test_symlink_loop(jail):
    data = make_tar(entry("a", tarfile.SYMTYPE, link="b"), entry("b", tarfile.SYMTYPE, link="a"),
                    entry("a/x", data=b"1"))
    with pytest.raises(InvalidParameter, match="symbolic links"):
        jail.extract(data)
    jail.assert_untouched()


def test_parent_that_is_a_file(jail):
    with pytest.raises(InvalidParameter, match="not a directory"):
        jail.extract(make_tar(entry("f", data=b"1"), entry("f/x", data=b"2")))
    jail.assert_untouched()


# -- hardlinks -----------------------------------------------------------------

def test_hardlink_to_host_etc_passwd_is_resolved_in_dest(jail):
    with pytest.raises(InvalidParameter, match="target does not exist"):
        jail.extract(make_tar(entry("h", tarfile.LNKTYPE, link="/etc/passwd")))
    assert not os.path.lexists(jail.dest / "h")
    # With an /etc/passwd of its own in the archive, the link goes there.
    jail.extract(make_tar(entry("etc/passwd", data=b"mine\n"), entry("h", tarfile.LNKTYPE, link="/etc/passwd")))
    assert (jail.dest / "h").stat().st_ino == (jail.dest / "etc/passwd").stat().st_ino
    jail.assert_untouched()


@pytest.mark.parametrize("target", ["../outside/secret", "../../../outside/secret", "x/../../outside/secret"])
def test_hardlink_climbing_out_is_rejected(jail, target):
    with pytest.raises(InvalidParameter, match="outside of the destination"):
        jail.extract(make_tar(entry("h", tarfile.LNKTYPE, link=target)))
    assert jail.secret.stat().st_nlink == 1
    jail.assert_untouched()


def test_hardlink_through_a_symlink_stays_inside(jail):
    data = make_tar(entry("s", tarfile.SYMTYPE, link=str(jail.outside)),
                    entry("h", tarfile.LNKTYPE, link="s/secret"))
    with pytest.raises(InvalidParameter, match="target does not exist"):
        jail.extract(data)
    assert jail.secret.stat().st_nlink == 1
    jail.assert_untouched()


def test_hardlink_to_a_symlink_pointing_outside_links_the_symlink(jail):
    data = make_tar(entry("s", tarfile.SYMTYPE, link=str(jail.secret)), entry("h", tarfile.LNKTYPE, link="s"))
    jail.extract(data)
    assert os.path.islink(jail.dest / "h")
    assert jail.secret.stat().st_nlink == 1
    jail.assert_untouched()


# -- whiteouts used as weapons ---------------------------------------------------

@pytest.mark.parametrize("mode", ["overlay", "delete"])
def test_whiteout_through_a_symlink_cannot_delete_outside(jail, mode):
    data = make_tar(entry("s", tarfile.SYMTYPE, link=str(jail.outside)),
                    entry("s/.wh.secret", data=b""),
                    entry("s2", tarfile.SYMTYPE, link="../../../outside"),
                    entry("s2/.wh..wh..opq", data=b""))
    jail.extract(data, whiteouts=mode)
    assert jail.secret.read_text() == "do not touch"
    jail.assert_untouched()


@pytest.mark.parametrize("name", [".wh.", ".wh..", ".wh...", "d/.wh.."])
def test_malformed_whiteouts_are_rejected(jail, name):
    with pytest.raises(InvalidParameter, match="whiteout"):
        jail.extract(make_tar(entry(name)), whiteouts="delete")
    jail.assert_untouched()


def test_whiteout_climbing_out_is_rejected(jail):
    with pytest.raises(InvalidParameter, match="outside of the destination"):
        jail.extract(make_tar(entry("../../../outside/.wh.secret")), whiteouts="delete")
    jail.assert_untouched()


# -- headers -----------------------------------------------------------------------

def test_overlay_xattrs_in_the_archive_are_never_applied(jail):
    data = make_tar(entry("d", tarfile.DIRTYPE, xattrs={"trusted.overlay.opaque": "y",
                                                       "trusted.overlay.redirect": "/etc",
                                                       "security.selinux": "system_u:object_r:shadow_t:s0",
                                                       "user.fine": "kept"}))
    jail.extract(data)
    names = os.listxattr(jail.dest / "d")
    assert not [n for n in names if n.startswith("trusted.overlay.")]
    assert os.getxattr(jail.dest / "d", "user.fine") == b"kept"
    jail.assert_untouched()


def test_unsupported_entry_type(jail):
    ti, _ = entry("vol")
    ti.type = b"V"
    with pytest.raises(InvalidParameter, match="unsupported type"):
        jail.extract(make_tar((ti, b"")))
    jail.assert_untouched()


def test_huge_extended_header_is_refused_before_reading_it(jail):
    data = make_tar(entry("f", data=b"x", xattrs={"user.big": "A" * (2 << 20)}))
    with pytest.raises(InvalidParameter, match="extended header"):
        jail.extract(data)
    jail.assert_untouched()


def test_empty_symlink_target(jail):
    with pytest.raises(InvalidParameter, match="empty target"):
        jail.extract(make_tar(entry("l", tarfile.SYMTYPE, link="")))
    jail.assert_untouched()


def _raw_pax_then_file(records: bytes) -> bytes:
    """A PAX extended header with exactly `records` as data, then a file."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        hdr = tarfile.TarInfo("PaxHeaders/f")
        hdr.type, hdr.size = tarfile.XHDTYPE, len(records)
        tf.addfile(hdr, io.BytesIO(records))
        ti, data = entry("f", data=b"1")
        tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


@pytest.mark.parametrize("records", [
    b"1" * 200_000,                                   # digits only: quadratic regex backtracking
    b"30 user.x=" + b"7" * 19 + b"\n" + b"9" * 150,   # a record, then an overlong number
    b"11 nokeyval\n",                                 # a record without "="
    b"99 a=b\n",                                      # length past the end
    b"x a=b\n",                                       # length not a number
])
def test_malformed_pax_records_are_refused_quickly(jail, records):
    import time
    t0 = time.perf_counter()
    with pytest.raises(InvalidParameter, match="PAX header"):
        jail.extract(_raw_pax_then_file(records))
    assert time.perf_counter() - t0 < 1.0
    jail.assert_untouched()


def test_reasonable_pax_records_are_accepted(jail):
    jail.extract(_raw_pax_then_file(b"24 SCHILY.xattr.user.n=\n"))  # an empty value
    jail.extract(make_tar(entry("g", xattrs={"user.n": "1" * 100, "user.m": "x=y=z"})))
    assert os.getxattr(jail.dest / "g", "user.n") == b"1" * 100
    assert os.getxattr(jail.dest / "g", "user.m") == b"x=y=z"
    jail.assert_untouched()
