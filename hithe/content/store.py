"""Content-addressed blob store: layers, configs and manifests, keyed by digest.

Layout under the root::

    ROOT/blobs/sha256/<64 hex>   committed blobs, read-only (0444)
    ROOT/ingest/<random>.tmp     writes in progress

A blob is written to ingest/ while it is hashed, fsynced, checked against the
digest the caller expects, then renamed into blobs/.  A blob therefore exists
under its name only when complete and verified; a crash leaves at most a temp
file, which :meth:`ContentStore.clean_ingest` removes at start-up.

Every digest taken from a caller is checked against ``sha256:`` + 64 lowercase
hex before it comes near a path, so no digest can name a file outside blobs/.
"""
from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import re
from dataclasses import dataclass
from types import TracebackType
from typing import BinaryIO, Iterator

from hithe.errors import InvalidParameter, NotFound

_DIGEST_RE = re.compile(r"sha256:([a-f0-9]{64})")
_HEX_RE = re.compile(r"[a-f0-9]{64}")
_TMP_SUFFIX = ".tmp"


@dataclass(frozen=True)
class Descriptor:
    """What a committed blob is: its digest, size and (optional) media type."""

    digest: str
    size: int
    media_type: str = ""


def _hex_of(digest: str) -> str:
    """The hex part of a valid sha256 digest; InvalidParameter for anything else."""
    m = _DIGEST_RE.fullmatch(digest) if isinstance(digest, str) else None
    if m is None:
        raise InvalidParameter(f"invalid digest {digest!r}: expected sha256:<64 lowercase hex>")
    return m.group(1)


def _fsync_dir(path: str) -> None:
    # A rename is durable only once the directory entry itself is on disk.
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class BlobWriter:
    """One blob being written.  Use as a context manager::

        with store.writer(expected) as w:
            w.write(chunk) ...
            desc = w.commit()

    Leaving the block without :meth:`commit` (or by an exception) aborts:
    the temp file is removed and nothing appears in the store.
    """

    def __init__(self, store: ContentStore, expected: str | None, media_type: str = "") -> None:
        if expected is not None:
            _hex_of(expected)  # reject a bad expectation before writing anything
        self._store = store
        self._expected = expected
        self._media_type = media_type
        self._hash = hashlib.sha256()
        self._size = 0
        self._done = False
        self._fd = -1
        self._tmp = ""
        while True:
            # Random name, created exclusively: concurrent writers (even of
            # the same content) never share a temp file.
            tmp = os.path.join(store.ingest_dir, os.urandom(16).hex() + _TMP_SUFFIX)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                         | os.O_CLOEXEC, 0o600)
            try:
                # Held until commit/abort so that clean_ingest, in this or
                # another process, can tell a live write from a crashed one.
                fcntl.flock(fd, fcntl.LOCK_EX)
                alive = os.fstat(fd).st_nlink > 0
            except BaseException:
                os.close(fd)
                _unlink_quiet(tmp)
                raise
            if alive:
                break
            # clean_ingest took the file between our create and our lock
            # (it unlinks only while holding the lock): start over.
            os.close(fd)
        self._fd, self._tmp = fd, tmp

    @property
    def size(self) -> int:
        """Bytes written so far."""
        return self._size

    @property
    def digest(self) -> str:
        """Digest of the bytes written so far."""
        return "sha256:" + self._hash.hexdigest()

    def write(self, data: bytes | bytearray | memoryview) -> int:
        if self._done:
            raise ValueError("write to a finished blob writer")
        view = memoryview(data).cast("B")
        self._hash.update(view)
        total = len(view)
        try:
            while view:  # os.write may write less than asked
                n = os.write(self._fd, view)
                view = view[n:]
        except BaseException:
            # The hash already covers bytes the file may not hold (ENOSPC,
            # EIO): this writer can never commit correctly, so end it now.
            self.abort()
            raise
        self._size += total
        return total

    def commit(self) -> Descriptor:
        """Verify and publish the blob; return its descriptor.

        Raises InvalidParameter (and removes the temp file) if the content
        does not hash to the expected digest.  If the blob already exists
        (another writer got there first) this one is dropped and the call
        still succeeds: same digest, same bytes.
        """
        if self._done:
            raise ValueError("commit of a finished blob writer")
        got = self.digest
        try:
            if self._expected is not None and got != self._expected:
                raise InvalidParameter(f"digest mismatch: expected {self._expected}, got {got}")
            os.fsync(self._fd)
            os.fchmod(self._fd, 0o444)  # blobs are immutable; make edits fail loudly
        except BaseException:
            self.abort()
            raise
        os.close(self._fd)
        self._fd = -1
        self._done = True
        target = self._store._blob_path(got[len("sha256:"):])
        try:
            if os.path.exists(target):
                os.unlink(self._tmp)
            else:
                # rename(2) is atomic and replaces: if a concurrent writer
                # renames the same content in between, both still succeed.
                os.rename(self._tmp, target)
                _fsync_dir(self._store.blobs_dir)
        except BaseException:
            _unlink_quiet(self._tmp)
            raise
        return Descriptor(digest=got, size=self._size, media_type=self._media_type)

    def abort(self) -> None:
        """Drop the write; idempotent, and a no-op after commit."""
        if self._done:
            return
        self._done = True
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        _unlink_quiet(self._tmp)

    def __enter__(self) -> BlobWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.abort()

    def __del__(self) -> None:
        # A writer dropped without commit/abort must not leak its fd or file.
        try:
            self.abort()
        except Exception:
            pass


def _unlink_quiet(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


class ContentStore:
    """Blobs by sha256 digest under ``root``; safe for concurrent writers."""

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)
        self.blobs_dir = os.path.join(self.root, "blobs", "sha256")
        self.ingest_dir = os.path.join(self.root, "ingest")
        os.makedirs(self.blobs_dir, exist_ok=True)
        os.makedirs(self.ingest_dir, mode=0o700, exist_ok=True)

    def _blob_path(self, hex_: str) -> str:
        return os.path.join(self.blobs_dir, hex_)

    # --- writing -------------------------------------------------------------

    def writer(self, expected: str | None = None, *, media_type: str = "") -> BlobWriter:
        """A writer for one blob, verified against ``expected`` if given."""
        return BlobWriter(self, expected, media_type)

    def put_bytes(self, data: bytes, expected: str | None = None, *,
                  media_type: str = "") -> Descriptor:
        """Store ``data`` (verified against ``expected`` if given)."""
        got = "sha256:" + hashlib.sha256(data).hexdigest()
        if expected is not None:
            _hex_of(expected)
            if got != expected:
                # Checked before any file is made: nothing to clean up.
                raise InvalidParameter(f"digest mismatch: expected {expected}, got {got}")
        if os.path.exists(self._blob_path(got[len("sha256:"):])):
            return Descriptor(digest=got, size=len(data), media_type=media_type)
        with self.writer(got, media_type=media_type) as w:
            w.write(data)
            return w.commit()

    # --- reading -------------------------------------------------------------

    def path(self, digest: str) -> str:
        """Where the blob lives (or would live); validates the digest."""
        return self._blob_path(_hex_of(digest))

    def exists(self, digest: str) -> bool:
        return os.path.isfile(self.path(digest))

    def open(self, digest: str) -> BinaryIO:
        try:
            return open(self.path(digest), "rb")
        except FileNotFoundError:
            raise NotFound(f"blob unknown: {digest}") from None

    def read_bytes(self, digest: str) -> bytes:
        with self.open(digest) as f:
            return f.read()

    def size(self, digest: str) -> int:
        try:
            return os.stat(self.path(digest)).st_size
        except FileNotFoundError:
            raise NotFound(f"blob unknown: {digest}") from None

    def info(self, digest: str, media_type: str = "") -> Descriptor:
        """Descriptor of a committed blob (NotFound if missing)."""
        return Descriptor(digest=digest, size=self.size(digest), media_type=media_type)

    def walk(self) -> Iterator[str]:
        """Digests of all committed blobs (strays in blobs/ are skipped)."""
        with os.scandir(self.blobs_dir) as it:
            for entry in it:
                if _HEX_RE.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
                    yield "sha256:" + entry.name

    # --- removing ------------------------------------------------------------

    def delete(self, digest: str) -> bool:
        """Remove a blob; False if it was not there (deletes race with GC)."""
        try:
            os.unlink(self.path(digest))
        except FileNotFoundError:
            return False
        return True

    def gc(self, keep: set[str]) -> int:
        """Delete every blob whose digest is not in ``keep``; return bytes freed.

        The caller marks ``keep`` and must hold off writers that would add
        references to blobs committed after the mark (or include them).
        """
        freed = 0
        for digest in list(self.walk()):
            if digest in keep:
                continue
            path = self._blob_path(digest[len("sha256:"):])
            try:
                size = os.lstat(path).st_size
                os.unlink(path)
            except FileNotFoundError:
                continue
            freed += size
        return freed

    def clean_ingest(self) -> int:
        """Remove temp files left by writes that died; return how many.

        A live writer holds an flock on its temp file; files nobody holds
        belong to a writer that crashed or was killed.  Meant for start-up,
        but safe while writers run.
        """
        removed = 0
        with os.scandir(self.ingest_dir) as it:
            entries = list(it)
        for entry in entries:
            path = entry.path
            if entry.is_dir(follow_symlinks=False):
                continue  # we never make directories here; leave others' alone
            try:
                # O_NONBLOCK: a FIFO planted here must not hang start-up.
                fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
            except FileNotFoundError:
                continue
            except OSError as e:
                if e.errno != errno.ELOOP:  # a symlink: not ours, just drop it
                    raise
                _unlink_quiet(path)
                removed += 1
                continue
            try:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # a writer is still at it
                # Unlinked while we hold the lock, so no writer can be
                # mid-way through this file.
                _unlink_quiet(path)
                removed += 1
            finally:
                os.close(fd)
        return removed
