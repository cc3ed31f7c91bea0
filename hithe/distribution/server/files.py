"""Small durable-file helpers: what is renamed into place is complete and on disk first."""
from __future__ import annotations

import os


def fsync_dir(path: str) -> None:
    # A rename or create is durable only once the directory entry is on disk.
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_temp(directory: str, prefix: str, data: bytes) -> str:
    """A new file in ``directory`` holding ``data``, on disk (fsynced): ready to be renamed into place."""
    os.makedirs(directory, exist_ok=True)
    tmp = os.path.join(directory, f"{prefix}{os.urandom(8).hex()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        unlink_quiet(tmp)
        raise
    os.close(fd)
    return tmp


def write_atomic(path: str, data: bytes) -> None:
    """Replace ``path`` with ``data``: readers see the old or the new content, never a mix."""
    directory = os.path.dirname(path)
    tmp = write_temp(directory, ".tmp-", data)
    try:
        os.rename(tmp, path)
    except BaseException:
        unlink_quiet(tmp)
        raise
    fsync_dir(directory)


def read_small(path: str, limit: int = 4096) -> bytes | None:
    """A small metadata file's content, or None when it does not exist."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        return os.read(fd, limit)
    finally:
        os.close(fd)


def unlink_quiet(path: str) -> bool:
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    return True
