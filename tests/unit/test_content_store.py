"""Content store: round trips, verification, crash safety, hostile digests, GC."""
from __future__ import annotations

import dataclasses
import hashlib
import os
import stat
import subprocess
import sys
import threading

import pytest

import hithe
from hithe.content import BlobWriter, ContentStore, Descriptor
from hithe.errors import InvalidParameter, NotFound

EMPTY = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(hithe.__file__)))


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def ingest_files(store: ContentStore) -> list[str]:
    return sorted(os.listdir(store.ingest_dir))


def blob_files(store: ContentStore) -> list[str]:
    return sorted(os.listdir(store.blobs_dir))


@pytest.fixture
def store(tmp_path):
    return ContentStore(str(tmp_path / "content"))


# --- layout and round trips ----------------------------------------------------

def test_layout(store, tmp_path):
    root = tmp_path / "content"
    assert (root / "blobs" / "sha256").is_dir()
    assert (root / "ingest").is_dir()
    desc = store.put_bytes(b"hello")
    hex_ = desc.digest.split(":", 1)[1]
    assert (root / "blobs" / "sha256" / hex_).read_bytes() == b"hello"
    assert store.path(desc.digest) == str(root / "blobs" / "sha256" / hex_)
    assert ingest_files(store) == []


def test_put_and_read_round_trip(store):
    data = os.urandom(100_000)
    desc = store.put_bytes(data, media_type="application/vnd.oci.image.layer.v1.tar")
    assert desc == Descriptor(digest=sha(data), size=len(data),
                              media_type="application/vnd.oci.image.layer.v1.tar")
    assert store.exists(desc.digest)
    assert store.size(desc.digest) == len(data)
    assert store.read_bytes(desc.digest) == data
    with store.open(desc.digest) as f:
        assert f.read() == data
    assert store.info(desc.digest) == Descriptor(desc.digest, len(data))


def test_empty_blob(store):
    desc = store.put_bytes(b"")
    assert desc == Descriptor(EMPTY, 0)
    assert store.read_bytes(EMPTY) == b""


def test_put_bytes_is_idempotent(store):
    a = store.put_bytes(b"same", sha(b"same"))
    b = store.put_bytes(b"same")
    assert a == b
    assert blob_files(store) == [a.digest[7:]]
    assert ingest_files(store) == []


def test_committed_blobs_are_read_only(store):
    desc = store.put_bytes(b"ro")
    assert stat.S_IMODE(os.stat(store.path(desc.digest)).st_mode) == 0o444


def test_descriptor_is_frozen():
    d = Descriptor(EMPTY, 0)
    assert d.media_type == ""
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.size = 1  # type: ignore[misc]


# --- streaming writer ----------------------------------------------------------

def test_writer_streams_in_chunks(store):
    chunks = [os.urandom(n) for n in (1, 4096, 65536, 0, 1_000_000, 17)]
    data = b"".join(chunks)
    with store.writer(sha(data), media_type="x") as w:
        assert isinstance(w, BlobWriter)
        for i, c in enumerate(chunks):
            # bytes, bytearray and memoryview are all accepted
            piece = (bytes, bytearray, memoryview)[i % 3](c)
            assert w.write(piece) == len(c)
        assert w.size == len(data)
        assert w.digest == sha(data)
        # the temp file is in ingest while writing
        assert len(ingest_files(store)) == 1
        desc = w.commit()
    assert desc == Descriptor(sha(data), len(data), "x")
    assert store.read_bytes(desc.digest) == data
    assert ingest_files(store) == []


def test_writer_without_expected(store):
    with store.writer() as w:
        w.write(b"abc")
        desc = w.commit()
    assert desc.digest == sha(b"abc")


def test_writer_finished_refuses_more(store):
    w = store.writer()
    w.write(b"x")
    w.commit()
    with pytest.raises(ValueError):
        w.write(b"y")
    with pytest.raises(ValueError):
        w.commit()
    w.abort()  # harmless after commit
    assert store.read_bytes(sha(b"x")) == b"x"


# --- verification --------------------------------------------------------------

def test_writer_digest_mismatch(store):
    expected = sha(b"something else")
    w = store.writer(expected)
    w.write(b"actual")
    with pytest.raises(InvalidParameter) as exc:
        w.commit()
    assert str(exc.value) == f"digest mismatch: expected {expected}, got {sha(b'actual')}"
    assert blob_files(store) == []
    assert ingest_files(store) == []


def test_put_bytes_digest_mismatch(store):
    expected = sha(b"other")
    with pytest.raises(InvalidParameter) as exc:
        store.put_bytes(b"data", expected)
    assert str(exc.value) == f"digest mismatch: expected {expected}, got {sha(b'data')}"
    assert blob_files(store) == []
    assert ingest_files(store) == []


def test_mismatch_inside_with_block(store):
    with pytest.raises(InvalidParameter):
        with store.writer(EMPTY) as w:
            w.write(b"not empty")
            w.commit()
    assert blob_files(store) == [] and ingest_files(store) == []


# --- aborts and crashes ----------------------------------------------------------

def test_exception_in_block_leaves_nothing(store):
    with pytest.raises(RuntimeError):
        with store.writer() as w:
            w.write(b"partial")
            raise RuntimeError("network dropped")
    assert blob_files(store) == [] and ingest_files(store) == []


def test_leaving_block_without_commit_aborts(store):
    with store.writer() as w:
        w.write(b"never committed")
    assert blob_files(store) == [] and ingest_files(store) == []


def test_explicit_abort_is_idempotent(store):
    w = store.writer()
    w.write(b"x")
    w.abort()
    w.abort()
    assert ingest_files(store) == []


def test_crash_mid_write_then_clean_ingest(store):
    # A real crash: a process that dies (no cleanup runs) in the middle of a write.
    code = (
        "import os, sys\n"
        f"sys.path.insert(0, {REPO!r})\n"
        "from hithe.content.store import ContentStore\n"
        f"w = ContentStore({store.root!r}).writer()\n"
        "w.write(b'x' * 100000)\n"
        "os._exit(3)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code])
    assert proc.returncode == 3
    assert blob_files(store) == []
    assert list(store.walk()) == []
    leftovers = ingest_files(store)
    assert len(leftovers) == 1 and leftovers[0].endswith(".tmp")
    assert store.clean_ingest() == 1
    assert ingest_files(store) == []
    assert store.clean_ingest() == 0


def test_clean_ingest_spares_live_writers(store):
    open(os.path.join(store.ingest_dir, "stale.tmp"), "wb").close()
    with store.writer() as live:
        live.write(b"still going")
        assert store.clean_ingest() == 1  # the stale one only
        assert len(ingest_files(store)) == 1
        live.write(b" and done")
        desc = live.commit()
    assert store.read_bytes(desc.digest) == b"still going and done"
    assert ingest_files(store) == []


def test_clean_ingest_handles_symlinks_and_dirs(store, tmp_path):
    target = tmp_path / "outside"
    target.write_bytes(b"keep me")
    os.symlink(target, os.path.join(store.ingest_dir, "link.tmp"))
    os.mkdir(os.path.join(store.ingest_dir, "somedir"))
    assert store.clean_ingest() == 1
    assert ingest_files(store) == ["somedir"]
    assert target.read_bytes() == b"keep me"  # the link went, not its target


def test_clean_ingest_does_not_hang_on_a_fifo(store):
    os.mkfifo(os.path.join(store.ingest_dir, "pipe.tmp"))
    assert store.clean_ingest() == 1
    assert ingest_files(store) == []


def test_writer_retries_if_clean_ingest_wins_the_race(store, monkeypatch):
    # clean_ingest may lock and unlink a brand-new temp file before its
    # writer takes the lock; the writer must notice and start a new file.
    import hithe.content.store as mod

    real_flock = mod.fcntl.flock
    raced = []

    def flock(fd, op):
        if not raced:
            raced.append(True)
            for name in os.listdir(store.ingest_dir):
                os.unlink(os.path.join(store.ingest_dir, name))
        return real_flock(fd, op)

    monkeypatch.setattr(mod.fcntl, "flock", flock)
    with store.writer() as w:
        w.write(b"survived")
        desc = w.commit()
    assert raced and store.read_bytes(desc.digest) == b"survived"
    assert ingest_files(store) == []


# --- hostile digests -------------------------------------------------------------

HOSTILE = [
    "sha256:../../x",
    "sha256:../../../../etc/passwd",
    "../../etc/passwd",
    "/etc/passwd",
    "sha256:/" + "a" * 63,
    "sha256:" + "a" * 63,
    "sha256:" + "a" * 65,
    "sha256:" + "A" * 64,
    "sha256:" + "a" * 64 + "\n",
    "sha256:" + "a" * 64 + "/..",
    "sha256:" + "a" * 60 + "/../",
    "sha256:" + "g" * 64,
    "sha512:" + "a" * 128,
    "SHA256:" + "a" * 64,
    "sha256" + "a" * 64,
    "a" * 64,
    "sha256:",
    "",
    "sha256:\x00" + "a" * 63,
]


@pytest.mark.parametrize("digest", HOSTILE)
def test_hostile_digests_are_refused_everywhere(store, tmp_path, digest):
    before = sorted(p.name for p in tmp_path.iterdir())
    calls = [
        lambda: store.path(digest),
        lambda: store.exists(digest),
        lambda: store.open(digest),
        lambda: store.read_bytes(digest),
        lambda: store.size(digest),
        lambda: store.delete(digest),
        lambda: store.info(digest),
        lambda: store.writer(digest),
        lambda: store.put_bytes(b"data", digest),
    ]
    for call in calls:
        with pytest.raises(InvalidParameter):
            call()
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert ingest_files(store) == [] and blob_files(store) == []


def test_non_string_digest_is_refused(store):
    with pytest.raises(InvalidParameter):
        store.path(None)  # type: ignore[arg-type]


# --- missing blobs ---------------------------------------------------------------

def test_missing_blob(store):
    missing = sha(b"missing")
    assert not store.exists(missing)
    for call in (store.open, store.read_bytes, store.size, store.info):
        with pytest.raises(NotFound) as exc:
            call(missing)
        assert str(exc.value) == f"blob unknown: {missing}"


def test_delete(store):
    desc = store.put_bytes(b"gone soon")
    assert store.delete(desc.digest) is True
    assert not store.exists(desc.digest)
    assert store.delete(desc.digest) is False


# --- walking and GC ---------------------------------------------------------------

def test_walk_lists_blobs_and_skips_strays(store):
    digests = {store.put_bytes(bytes([i]) * (i + 1)).digest for i in range(5)}
    open(os.path.join(store.blobs_dir, "README"), "w").close()
    os.mkdir(os.path.join(store.blobs_dir, "f" * 64))
    os.symlink("/etc/passwd", os.path.join(store.blobs_dir, "e" * 64))
    assert set(store.walk()) == digests


def test_gc(store):
    keep = {store.put_bytes(b"keep-1").digest, store.put_bytes(b"keep-2").digest}
    drop = [store.put_bytes(b"x" * 1000), store.put_bytes(b"y" * 234)]
    freed = store.gc(keep | {sha(b"never stored")})
    assert freed == 1234
    assert set(store.walk()) == keep
    for d in drop:
        assert not store.exists(d.digest)
    assert store.gc(keep) == 0
    assert store.gc(set()) == len(b"keep-1") + len(b"keep-2")
    assert list(store.walk()) == []


# --- concurrency --------------------------------------------------------------------

def test_interleaved_writers_of_same_content(store):
    data = b"same content" * 1000
    w1, w2 = store.writer(sha(data)), store.writer(sha(data))
    w1.write(data)
    w2.write(data)
    assert len(ingest_files(store)) == 2
    d2 = w2.commit()
    d1 = w1.commit()
    assert d1 == d2 == Descriptor(sha(data), len(data))
    assert blob_files(store) == [sha(data)[7:]]
    assert ingest_files(store) == []


def test_concurrent_threads_same_content(store):
    data = os.urandom(300_000)
    n = 8
    barrier = threading.Barrier(n)
    results: list[Descriptor] = []
    errors: list[BaseException] = []

    def work():
        try:
            with store.writer(sha(data)) as w:
                for i in range(0, len(data), 10_000):
                    w.write(data[i:i + 10_000])
                barrier.wait()  # everyone commits at the same moment
                results.append(w.commit())
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(results) == n and set(results) == {Descriptor(sha(data), len(data))}
    assert store.read_bytes(sha(data)) == data
    assert ingest_files(store) == []


def test_concurrent_processes_same_content(store):
    code = (
        "import sys\n"
        f"sys.path.insert(0, {REPO!r})\n"
        "from hithe.content.store import ContentStore\n"
        f"s = ContentStore({store.root!r})\n"
        "for i in range(50):\n"
        "    s.put_bytes(b'shared-%d' % i)\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(4)]
    assert [p.wait() for p in procs] == [0, 0, 0, 0]
    assert len(list(store.walk())) == 50
    assert store.read_bytes(sha(b"shared-7")) == b"shared-7"
    assert ingest_files(store) == []


def test_two_stores_on_one_root(tmp_path):
    a = ContentStore(str(tmp_path / "c"))
    b = ContentStore(str(tmp_path / "c"))
    desc = a.put_bytes(b"shared")
    assert b.read_bytes(desc.digest) == b"shared"
