"""extract_tar on well-formed archives: what ends up on disk, and how fast."""
from __future__ import annotations

import hashlib
import io
import os
import stat
import tarfile
import threading
import time
import tracemalloc

import pytest

from hithe.archive import ExtractStats, extract_tar
from hithe.errors import InvalidParameter

MTIME = 1_600_000_000

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (chown, mknod, trusted xattrs)")


# -- building archives in memory -------------------------------------------

def entry(name: str, kind: bytes = tarfile.REGTYPE, *, data: bytes = b"", mode: int = 0o644,
          uid: int = 0, gid: int = 0, mtime: float = MTIME, link: str = "",
          major: int = 0, minor: int = 0, xattrs: dict[str, bytes] | None = None):
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.mode, ti.uid, ti.gid, ti.mtime = mode, uid, gid, mtime
    ti.linkname = link
    ti.devmajor, ti.devminor = major, minor
    if kind == tarfile.REGTYPE:
        ti.size = len(data)
    for k, v in (xattrs or {}).items():
        ti.pax_headers["SCHILY.xattr." + k] = v.decode("utf-8", "surrogateescape")
    return ti, data


def make_tar(*entries) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for ti, data in entries:
            tf.addfile(ti, io.BytesIO(data) if ti.type == tarfile.REGTYPE else None)
    return buf.getvalue()


def extract(data: bytes, dest, **kw) -> ExtractStats:
    return extract_tar(io.BytesIO(data), str(dest), **kw)


# -- entry kinds -------------------------------------------------------------

def test_files_dirs_and_contents(tmp_path):
    data = make_tar(entry("etc", tarfile.DIRTYPE, mode=0o755),
                    entry("etc/hostname", data=b"box\n"),
                    entry("usr/share/doc/README", data=b"implied parents\n"))
    stats = extract(data, tmp_path)
    assert (tmp_path / "etc/hostname").read_bytes() == b"box\n"
    assert (tmp_path / "usr/share/doc/README").read_text() == "implied parents\n"
    # Parents the archive did not list are made like Docker makes them: 0755.
    assert stat.S_IMODE((tmp_path / "usr/share").stat().st_mode) == 0o755
    assert stats.files == 3 and stats.bytes == len(b"box\n") + len(b"implied parents\n")


def test_modes_keep_setuid_setgid_sticky(tmp_path):
    data = make_tar(entry("bin/su", data=b"\x7fELF", mode=0o4755, uid=1000, gid=1000),
                    entry("bin/wall", data=b"\x7fELF", mode=0o2755, gid=5),
                    entry("tmp", tarfile.DIRTYPE, mode=0o1777),
                    entry("srv", tarfile.DIRTYPE, mode=0o2775))
    extract(data, tmp_path)
    # chown clears setuid/setgid on files: the mode must be applied after it.
    assert stat.S_IMODE((tmp_path / "bin/su").lstat().st_mode) == 0o4755
    assert stat.S_IMODE((tmp_path / "bin/wall").lstat().st_mode) == 0o2755
    assert stat.S_IMODE((tmp_path / "tmp").lstat().st_mode) == 0o1777
    assert stat.S_IMODE((tmp_path / "srv").lstat().st_mode) == 0o2775


@needs_root
def test_ownership_is_preserved_and_can_be_skipped(tmp_path):
    data = make_tar(entry("home/u", tarfile.DIRTYPE, uid=1234, gid=5678, mode=0o750),
                    entry("home/u/f", data=b"x", uid=1234, gid=5678),
                    entry("home/u/l", tarfile.SYMTYPE, link="f", uid=1234, gid=99))
    extract(data, tmp_path / "a")
    st = (tmp_path / "a/home/u/f").lstat()
    assert (st.st_uid, st.st_gid) == (1234, 5678)
    assert (tmp_path / "a/home/u").lstat().st_uid == 1234
    assert ((tmp_path / "a/home/u/l").lstat().st_uid, (tmp_path / "a/home/u/l").lstat().st_gid) == (1234, 99)

    extract(data, tmp_path / "b", same_owner=False)
    assert (tmp_path / "b/home/u/f").lstat().st_uid == os.geteuid()


def test_symlinks_are_stored_verbatim_and_not_followed(tmp_path):
    data = make_tar(entry("bin/sh", tarfile.SYMTYPE, link="busybox"),
                    entry("abs", tarfile.SYMTYPE, link="/etc/passwd"),
                    entry("dangling", tarfile.SYMTYPE, link="../../nowhere/at/all"),
                    entry("bin/busybox", data=b"bb", mode=0o755))
    extract(data, tmp_path)
    assert os.readlink(tmp_path / "bin/sh") == "busybox"
    assert os.readlink(tmp_path / "abs") == "/etc/passwd"
    assert os.readlink(tmp_path / "dangling") == "../../nowhere/at/all"
    assert (tmp_path / "bin/sh").read_bytes() == b"bb"


def test_hardlinks_share_the_inode(tmp_path):
    data = make_tar(entry("bin/busybox", data=b"ELF", mode=0o755),
                    entry("bin/ls", tarfile.LNKTYPE, link="bin/busybox"),
                    entry("usr/bin/env", tarfile.LNKTYPE, link="/bin/busybox"),  # absolute: inside dest
                    entry("s", tarfile.SYMTYPE, link="bin/busybox"),
                    entry("s2", tarfile.LNKTYPE, link="s"))  # a link to the symlink itself
    extract(data, tmp_path)
    ino = (tmp_path / "bin/busybox").stat().st_ino
    assert (tmp_path / "bin/ls").stat().st_ino == ino
    assert (tmp_path / "usr/bin/env").stat().st_ino == ino
    assert (tmp_path / "bin/busybox").stat().st_nlink == 3
    assert os.path.islink(tmp_path / "s2") and os.readlink(tmp_path / "s2") == "bin/busybox"


def test_hardlink_to_missing_target_is_an_error(tmp_path):
    with pytest.raises(InvalidParameter, match="target does not exist"):
        extract(make_tar(entry("x", tarfile.LNKTYPE, link="not/there")), tmp_path)


@needs_root
def test_device_nodes_and_fifos(tmp_path):
    data = make_tar(entry("dev/null", tarfile.CHRTYPE, major=1, minor=3, mode=0o666),
                    entry("dev/loop0", tarfile.BLKTYPE, major=7, minor=0, mode=0o660, gid=6),
                    entry("run/fifo", tarfile.FIFOTYPE, mode=0o620))
    extract(data, tmp_path)
    st = (tmp_path / "dev/null").lstat()
    assert stat.S_ISCHR(st.st_mode) and os.major(st.st_rdev) == 1 and os.minor(st.st_rdev) == 3
    assert stat.S_IMODE(st.st_mode) == 0o666
    st = (tmp_path / "dev/loop0").lstat()
    assert stat.S_ISBLK(st.st_mode) and (os.major(st.st_rdev), os.minor(st.st_rdev)) == (7, 0)
    assert st.st_gid == 6 and stat.S_IMODE(st.st_mode) == 0o660
    st = (tmp_path / "run/fifo").lstat()
    assert stat.S_ISFIFO(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o620


@needs_root
def test_xattrs_from_pax_headers(tmp_path):
    import struct
    cap = struct.pack("<IIIII", 0x02000001, 1 << 13, 0, 0, 0)  # cap_net_raw+ep
    binary = b"\xff\xfe\x00not utf-8"
    data = make_tar(entry("bin/ping", data=b"ELF", mode=0o755, uid=0,
                          xattrs={"security.capability": cap, "user.blob": binary}),
                    entry("d", tarfile.DIRTYPE, xattrs={"user.dir": b"yes"}),
                    entry("d/l", tarfile.SYMTYPE, link="x", xattrs={"trusted.note": b"on a link"}))
    stats = extract(data, tmp_path)
    # set after chown, which would otherwise drop the capability again
    assert os.getxattr(tmp_path / "bin/ping", "security.capability") == cap
    assert os.getxattr(tmp_path / "bin/ping", "user.blob") == binary
    assert os.getxattr(tmp_path / "d", "user.dir") == b"yes"
    assert os.getxattr(tmp_path / "d/l", "trusted.note", follow_symlinks=False) == b"on a link"
    assert stats.warnings == []


def test_mtimes_including_directories_with_later_children(tmp_path):
    data = make_tar(entry("d", tarfile.DIRTYPE, mode=0o555, mtime=1000),
                    entry("d/f", data=b"1", mtime=2000.5),
                    entry("d/sub", tarfile.DIRTYPE, mtime=3000),
                    entry("d/sub/g", data=b"2", mtime=4000),
                    entry("d/l", tarfile.SYMTYPE, link="f", mtime=5000))
    extract(data, tmp_path)
    assert (tmp_path / "d").stat().st_mtime == 1000  # children came later; still the header's time
    assert (tmp_path / "d/sub").stat().st_mtime == 3000
    assert (tmp_path / "d/f").stat().st_mtime_ns == 2_000_500_000_000
    assert (tmp_path / "d/l").lstat().st_mtime == 5000
    # A read-only directory gets its mode only after its children are in.
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o555


def test_root_entries_are_skipped(tmp_path):
    os.chmod(tmp_path, 0o711)
    data = make_tar(entry("./", tarfile.DIRTYPE, mode=0o700, mtime=5),
                    entry(".", tarfile.DIRTYPE, mode=0o700),
                    entry("./etc/", tarfile.DIRTYPE),
                    entry("./etc/os-release", data=b"ID=test\n"))
    stats = extract(data, tmp_path)
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o711
    assert (tmp_path / "etc/os-release").read_bytes() == b"ID=test\n"
    assert stats.files == 2


def test_empty_stream_and_empty_archive(tmp_path):
    assert extract(b"", tmp_path).files == 0
    assert extract(make_tar(), tmp_path).files == 0
    assert os.listdir(tmp_path) == []


def test_dest_is_created_when_missing(tmp_path):
    extract(make_tar(entry("f", data=b"x")), tmp_path / "new/dir")
    assert (tmp_path / "new/dir/f").read_bytes() == b"x"


# -- replacing what is already there ------------------------------------------

def test_file_over_file_does_not_touch_other_hardlinks(tmp_path):
    (tmp_path / "old").write_text("old")
    os.link(tmp_path / "old", tmp_path / "f")
    extract(make_tar(entry("f", data=b"new")), tmp_path)
    assert (tmp_path / "f").read_text() == "new"
    assert (tmp_path / "old").read_text() == "old"


def test_file_over_directory_removes_the_tree(tmp_path):
    (tmp_path / "x/deep/er").mkdir(parents=True)
    (tmp_path / "x/deep/er/file").write_text("gone")
    extract(make_tar(entry("x", data=b"now a file")), tmp_path)
    assert (tmp_path / "x").read_text() == "now a file"


def test_directory_over_file_and_merge_into_directory(tmp_path):
    (tmp_path / "x").write_text("file")
    (tmp_path / "d").mkdir()
    (tmp_path / "d/kept").write_text("lower")
    extract(make_tar(entry("x", tarfile.DIRTYPE, mode=0o700), entry("d", tarfile.DIRTYPE, mode=0o750),
                     entry("d/new", data=b"upper")), tmp_path)
    assert (tmp_path / "x").is_dir() and stat.S_IMODE((tmp_path / "x").stat().st_mode) == 0o700
    assert (tmp_path / "d/kept").read_text() == "lower"
    assert (tmp_path / "d/new").read_text() == "upper"
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o750


def test_later_entry_wins_and_stale_dir_metadata_is_dropped(tmp_path):
    data = make_tar(entry("a", tarfile.DIRTYPE, mode=0o700),
                    entry("a", tarfile.SYMTYPE, link="b"),  # the dir is replaced by a symlink
                    entry("b", tarfile.DIRTYPE, mode=0o755),
                    entry("f", data=b"1"), entry("f", data=b"22"))
    extract(data, tmp_path)
    assert os.readlink(tmp_path / "a") == "b"
    # the deferred 0700 for "a" must not land on "b" through the symlink
    assert stat.S_IMODE((tmp_path / "b").stat().st_mode) == 0o755
    assert (tmp_path / "f").read_bytes() == b"22"


# -- damaged archives --------------------------------------------------------

def test_truncated_in_file_data(tmp_path):
    payload = os.urandom(300_000)
    data = make_tar(entry("ok", data=b"fine"), entry("big", data=payload))
    cut = data[: data.index(payload[:64]) + 100_000]
    with pytest.raises(InvalidParameter, match="truncated|unexpected end"):
        extract(cut, tmp_path)
    # No short file is left posing as the real one.
    assert not (tmp_path / "big").exists()
    assert (tmp_path / "ok").read_bytes() == b"fine"


def test_truncated_in_a_header(tmp_path):
    data = make_tar(entry("a", data=b"x" * 10), entry("b", data=b"y"))
    second_header = 512 + 512  # ustar header + one data block for "a"
    with pytest.raises(InvalidParameter, match="truncated"):
        extract(data[: second_header + 200], tmp_path)


def test_missing_end_marker_at_a_member_boundary_is_accepted(tmp_path):
    # Go's tar reader (Docker) accepts this too.
    data = make_tar(entry("a", data=b"x" * 10), entry("b", data=b"y"))
    extract(data[: 512 * 4], tmp_path)
    assert (tmp_path / "b").read_bytes() == b"y"


def test_garbage_in_the_middle_is_an_error(tmp_path):
    data = bytearray(make_tar(entry("a", data=b"x"), entry("b", data=b"y")))
    data[1024:1024 + 512] = b"\x01" * 512
    with pytest.raises(InvalidParameter):
        extract(bytes(data), tmp_path)


def test_not_a_tar_at_all(tmp_path):
    with pytest.raises(InvalidParameter):
        extract(b"this is not a tar archive\n" * 40, tmp_path)


# -- scale -------------------------------------------------------------------

def _pattern_chunks(total: int, chunk: int = 1 << 20):
    block = hashlib.sha256(b"seed").digest() * (chunk // 32)
    left = total
    while left > 0:
        piece = block[: min(chunk, left)]
        left -= len(piece)
        yield piece


class _ChunkReader:
    def __init__(self, chunks):
        self._it = iter(chunks)
        self._buf = b""

    def read(self, n):
        while len(self._buf) < n:
            nxt = next(self._it, None)
            if nxt is None:
                break
            self._buf += nxt
        out, self._buf = self._buf[:n], self._buf[n:]
        return out


def test_large_file_is_streamed_not_loaded(tmp_path):
    size = 50 * 1024 * 1024
    r, w = os.pipe()

    def produce():
        with os.fdopen(w, "wb") as out, tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tf:
            ti = tarfile.TarInfo("var/big.bin")
            ti.size = size
            tf.addfile(ti, _ChunkReader(_pattern_chunks(size)))

    producer = threading.Thread(target=produce)
    tracemalloc.start()
    producer.start()
    try:
        with os.fdopen(r, "rb", buffering=0) as pipe:
            stats = extract_tar(pipe, str(tmp_path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        producer.join()
    assert stats.bytes == size
    assert (tmp_path / "var/big.bin").stat().st_size == size
    want = hashlib.sha256()
    for piece in _pattern_chunks(size):
        want.update(piece)
    got = hashlib.sha256()
    with open(tmp_path / "var/big.bin", "rb") as f:
        for piece in iter(lambda: f.read(1 << 20), b""):
            got.update(piece)
    assert got.hexdigest() == want.hexdigest()
    assert peak < 20 * 1024 * 1024, f"peak Python memory {peak} bytes"


def _busybox_like_tar() -> bytes:
    entries = [entry(d, tarfile.DIRTYPE, mode=0o755) for d in
               ("bin", "dev", "etc", "home", "proc", "root", "sys", "tmp", "usr", "usr/bin", "usr/sbin", "var")]
    entries.append(entry("bin/busybox", data=os.urandom(1 << 20), mode=0o755))
    entries += [entry(f"bin/applet{i}", tarfile.SYMTYPE, link="busybox") for i in range(300)]
    entries += [entry(f"usr/bin/tool{i}", tarfile.LNKTYPE, link="bin/busybox") for i in range(50)]
    entries += [entry(f"etc/file{i}", data=b"k=v\n" * 10) for i in range(30)]
    return make_tar(*entries)


@pytest.fixture
def fast_dir(tmp_path):
    """A tmpfs directory when there is one: the check is about our code, and on
    a busy disk a single symlink(2) can take half a millisecond by itself."""
    if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
        import shutil
        import tempfile
        d = tempfile.mkdtemp(prefix="hithe-archive-", dir="/dev/shm")
        yield d
        shutil.rmtree(d)
    else:
        yield str(tmp_path)


def test_busybox_sized_rootfs_extracts_fast(fast_dir):
    data = _busybox_like_tar()
    best = float("inf")
    for i in range(3):
        t0 = time.perf_counter()
        stats = extract(data, os.path.join(fast_dir, str(i)))
        best = min(best, time.perf_counter() - t0)
    assert stats.files == 12 + 1 + 300 + 50 + 30
    assert best < 0.1, f"best of 3 extractions took {best * 1000:.1f} ms"
