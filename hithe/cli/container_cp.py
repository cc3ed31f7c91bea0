"""``cp``: tar archives over GET/HEAD/PUT /containers/{id}/archive.

Path rules follow docker's CopyTo/CopyFrom: copying into an existing
directory keeps the source's base name, copying to a path that does not
exist renames the top entry to it, and ``SRC/.`` copies a directory's
contents.  ``-`` on either side streams a tar archive through stdin/stdout.
"""
from __future__ import annotations

import base64
import json
import os
import sys
TYPE_CHECKING = False  # typing costs ~5 ms at start-up; annotations are strings anyway
if TYPE_CHECKING:
    from typing import Any, Iterator

from hithe.cli.command import Cli, StatusError
from hithe.client.errors import APIError
from hithe.client.stream import write_all


def split_arg(arg: str) -> tuple[str, str]:
    """(container, path); container is "" for a local path (docker's splitCpArg)."""
    if os.path.isabs(arg) or arg.startswith("."):
        return "", arg
    container, colon, path = arg.partition(":")
    if not colon:
        return "", arg
    return container, path


def _stat_header(headers: Any) -> dict[str, Any]:
    raw = headers.get("x-docker-container-path-stat")
    if not raw:
        return {}
    try:
        return json.loads(base64.b64decode(raw + "=" * (-len(raw) % 4)))
    except ValueError:
        return {}


def _is_dir_mode(mode: int) -> bool:
    # Go's os.FileMode: ModeDir is the top bit (1 << 31)
    return bool(mode & (1 << 31))


def copy(cli: Cli, src: str, dst: str, *, follow: bool, archive: bool, quiet: bool) -> int:
    src_c, src_path = split_arg(src)
    dst_c, dst_path = split_arg(dst)
    if src_c and dst_c:
        raise StatusError(1, "copying between containers is not supported")
    if not src_c and not dst_c:
        raise StatusError(1, "must specify at least one container source")
    if src_c:
        return _from_container(cli, src_c, src_path, dst_path, quiet)
    return _to_container(cli, src_path, dst_c, dst_path, archive, quiet)


def _from_container(cli: Cli, container: str, src: str, dst: str, quiet: bool) -> int:
    import tarfile

    if not src:
        raise StatusError(1, "filepath cannot be empty")
    resp = cli.client.request("GET", f"/containers/{container}/archive", {"path": src})
    if dst == "-":
        for chunk in resp.iter_raw():
            write_all(1, chunk)
        return 0
    stat = _stat_header(resp.headers)
    src_is_dir = _is_dir_mode(int(stat.get("mode", 0)))
    contents_only = src.endswith("/.") or src == "."
    if os.path.isdir(dst):
        target, rename = dst, None
        if contents_only:
            rename = ""
    else:
        if dst.endswith("/") or dst.endswith("/."):
            if not src_is_dir:
                raise StatusError(1, f"destination directory {dst} must exist")
        parent = os.path.dirname(os.path.abspath(dst.rstrip("/")))
        if not os.path.isdir(parent):
            raise StatusError(1, f"destination directory {parent} must exist")
        if os.path.exists(dst) and src_is_dir:
            raise StatusError(1, "cannot copy a directory to a file")
        target, rename = parent, os.path.basename(dst.rstrip("/"))
        if contents_only:
            os.makedirs(dst, exist_ok=True)
            target, rename = dst, ""
    stream = _IterReader(resp.iter_raw())
    total = 0
    with tarfile.open(fileobj=stream, mode="r|") as tf:
        for member in tf:
            member.name = _rebase(member.name, rename)
            if not member.name:
                continue
            total += member.size
            tf.extract(member, target, filter="tar")
    if not quiet and os.isatty(2):
        from hithe.cli.formatters import human_size
        sys.stderr.write(f"Successfully copied {human_size(total)} to {dst}\n")
    return 0


def _rebase(name: str, rename: str | None) -> str:
    """Replace (rename) or drop ("") the archive's top-level component."""
    if rename is None:
        return name
    while name.startswith("./"):
        name = name[2:]
    if name in (".", ""):
        return ""
    _head, _, rest = name.partition("/")
    if rename == "":
        return rest
    return f"{rename}/{rest}" if rest else rename


class _IterReader:
    """A read()-able object over an iterator of byte chunks (for tarfile's stream mode)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = chunks
        self.buf = b""

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self.buf) < n:
            try:
                self.buf += next(self.chunks)
            except StopIteration:
                break
        if n < 0:
            data, self.buf = self.buf, b""
        else:
            data, self.buf = self.buf[:n], self.buf[n:]
        return data


def _stdin_chunks() -> Iterator[bytes]:
    while True:
        data = os.read(0, 65536)
        if not data:
            return
        yield data


def _to_container(cli: Cli, src: str, container: str, dst: str, archive: bool, quiet: bool) -> int:
    import tarfile
    import tempfile

    if not dst:
        raise StatusError(1, "filepath cannot be empty")
    params = {"path": dst, "noOverwriteDirNonDir": "true",
              "copyUIDGID": "true" if archive else None}
    if src == "-":
        cli.client.request("PUT", f"/containers/{container}/archive", params,
                           body=_stdin_chunks(), headers={"Content-Type": "application/x-tar"}).read()
        return 0
    if not os.path.lexists(src):
        raise StatusError(1, f"stat {src}: no such file or directory")
    dst_is_dir = False
    exists = True
    try:
        head = cli.client.request("HEAD", f"/containers/{container}/archive", {"path": dst})
        head.read()
        dst_is_dir = _is_dir_mode(int(_stat_header(head.headers).get("mode", 0)))
    except APIError as exc:
        if exc.status != 404:
            raise
        exists = False
    contents_only = src.endswith("/.") or src == "."
    src_clean = os.path.normpath(src)
    if exists and dst_is_dir:
        upload_dir, arcname = dst, os.path.basename(src_clean)
    else:
        if exists and os.path.isdir(src_clean):
            raise StatusError(1, "cannot copy a directory to a file")
        upload_dir = os.path.dirname(dst.rstrip("/")) or "/"
        arcname = os.path.basename(dst.rstrip("/"))
    params["path"] = upload_dir
    with tempfile.TemporaryFile() as tmp:
        with tarfile.open(fileobj=tmp, mode="w", format=tarfile.PAX_FORMAT) as tf:
            if contents_only and os.path.isdir(src_clean):
                if not (exists and dst_is_dir):
                    tf.add(src_clean, arcname=arcname, recursive=True)
                else:
                    for entry in sorted(os.listdir(src_clean)):
                        tf.add(os.path.join(src_clean, entry), arcname=entry)
            else:
                tf.add(src_clean, arcname=arcname)
        size = tmp.tell()
        tmp.seek(0)

        def chunks() -> Iterator[bytes]:
            while True:
                data = tmp.read(65536)
                if not data:
                    return
                yield data

        cli.client.request("PUT", f"/containers/{container}/archive", params, body=chunks(),
                           headers={"Content-Type": "application/x-tar"}).read()
    if not quiet and os.isatty(2):
        from hithe.cli.formatters import human_size
        sys.stderr.write(f"Successfully copied {human_size(size)} to {container}:{dst}\n")
    return 0
