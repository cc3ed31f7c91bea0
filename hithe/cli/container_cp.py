"""``cp``: tar archives over GET/HEAD/PUT /containers/{id}/archive.

Path rules follow docker's (cli/command/container/cp.go and pkg/archive's
copy.go): copying into an existing directory keeps the source's base name,
copying to a path that does not exist renames the top entry to it, and
``SRC/.`` copies a directory's contents.  The daemon names the top entry of
what it sends after the requested path ("d", or "." for "d/."); we rebase
those names here, as docker's PrepareArchiveCopy does.  ``-`` on either side
streams a tar archive through stdin/stdout.
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

_MODE_DIR = 1 << 31       # Go's os.FileMode bits, as the stat header carries them
_MODE_SYMLINK = 1 << 27
_MODE_IRREGULAR = (1 << 26) | (1 << 25) | (1 << 24) | (1 << 21) | (1 << 19)


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


def _specifies_current_dir(path: str) -> bool:
    return os.path.basename(path) == "."


def split_dir_entry(path: str) -> tuple[str, str]:
    """docker's SplitPathDirEntry: ("/d", ".") for "/d/.", ("/", "d") for "/d/"."""
    cleaned = os.path.normpath(path) if path else "."
    if cleaned.startswith("//"):
        cleaned = "/" + cleaned.lstrip("/")
    if _specifies_current_dir(path):
        cleaned = cleaned.rstrip("/") + "/."
    head, base = os.path.split(cleaned)
    if cleaned == "/":
        return "/", "/"
    return head or ".", base


def rebase_name(name: str, old: str, new: str) -> str:
    """Replace the leading component `old` of an archive name by `new` (docker's RebaseArchiveEntries)."""
    if old == "/":
        rest = name.lstrip("/")
        return f"{new}/{rest}" if rest else new + "/"
    if name == old or name.startswith(old + "/"):
        return new + name[len(old):]
    return name


def copy(cli: Cli, src: str, dst: str, *, follow: bool, archive: bool, quiet: bool) -> int:
    src_c, src_path = split_arg(src)
    dst_c, dst_path = split_arg(dst)
    if src_c and dst_c:
        raise StatusError(1, "copying between containers is not supported")
    if not src_c and not dst_c:
        raise StatusError(1, "must specify at least one container source")
    if src_c:
        return _from_container(cli, src_c, src_path, dst_path, follow, quiet)
    return _to_container(cli, src_path, dst_c, dst_path, archive, follow, quiet)


def _head(cli: Cli, container: str, path: str) -> dict[str, Any]:
    resp = cli.client.request("HEAD", f"/containers/{container}/archive", {"path": path})
    resp.read()
    return _stat_header(resp.headers)


def _from_container(cli: Cli, container: str, src: str, dst: str, follow: bool, quiet: bool) -> int:
    if not src:
        raise StatusError(1, "filepath cannot be empty")
    rebase = ""
    if follow:
        st = _head(cli, container, src)
        if int(st.get("mode", 0)) & _MODE_SYMLINK:
            target = st.get("linkTarget") or ""
            if not target.startswith("/"):
                target = os.path.join(split_dir_entry(src)[0], target)
            src, rebase = _rebase_for_link(src, target)
    resp = cli.client.request("GET", f"/containers/{container}/archive", {"path": src})
    if dst == "-":
        for chunk in resp.iter_raw():
            write_all(1, chunk)
        return 0
    stat = _stat_header(resp.headers)
    src_is_dir = bool(int(stat.get("mode", 0)) & _MODE_DIR)
    target_dir, old, new = _prepare(src, src_is_dir, rebase, dst)
    total = _extract(_IterReader(resp.iter_raw()), target_dir, old, new)
    if not quiet and os.isatty(2):
        from hithe.cli.formatters import human_size
        sys.stderr.write(f"Successfully copied {human_size(total)} to {dst}\n")
    return 0


def _rebase_for_link(path: str, resolved: str) -> tuple[str, str]:
    """docker's GetRebaseName: keep the requested name when following a link changed it."""
    if _specifies_current_dir(path) and not _specifies_current_dir(resolved):
        resolved += "/."
    if path.endswith("/") and not resolved.endswith("/"):
        resolved += "/"
    name = os.path.basename(path.rstrip("/")) if not _specifies_current_dir(path) else "."
    rname = os.path.basename(resolved.rstrip("/")) if not _specifies_current_dir(resolved) else "."
    return resolved, (name if name != rname else "")


def _local_dest(dst: str) -> tuple[str, bool, bool]:
    """docker's CopyInfoDestinationPath: (path, exists, is_dir); a symlink is followed."""
    path = dst
    for _ in range(11):
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            parent = split_dir_entry(path)[0]
            try:
                pst = os.stat(parent)
            except OSError as exc:
                raise StatusError(1, f"stat {parent}: {exc.strerror.lower() if exc.strerror else exc}") from None
            import stat as _stat
            if not _stat.S_ISDIR(pst.st_mode):
                raise StatusError(1, "not a directory")
            return path, False, False
        import stat as _stat
        if not _stat.S_ISLNK(st.st_mode):
            return path, True, _stat.S_ISDIR(st.st_mode)
        target = os.readlink(path)
        path = target if target.startswith("/") else os.path.join(split_dir_entry(path)[0], target)
    raise StatusError(1, f"too many symlinks in {dst}")


def _prepare(src: str, src_is_dir: bool, rebase: str, dst: str) -> tuple[str, str, str]:
    """docker's PrepareArchiveCopy: (directory to extract in, old top name, new top name)."""
    path, exists, is_dir = _local_dest(dst)
    dst_dir, dst_base = split_dir_entry(path)
    src_base = rebase or split_dir_entry(src)[1]
    if exists and is_dir:
        return path, "", ""
    if exists and src_is_dir:
        raise StatusError(1, "cannot copy directory")
    if not exists and not src_is_dir and (path.endswith("/") or _specifies_current_dir(path)):
        raise StatusError(1, "no such directory")
    return dst_dir, src_base, dst_base


def _extract(stream: Any, target: str, old: str, new: str) -> int:
    import tarfile

    total = 0
    with tarfile.open(fileobj=stream, mode="r|") as tf:
        tf.chown = lambda *a, **k: None  # type: ignore[method-assign]  # docker cp keeps the local owner
        for member in tf:
            if old:
                member.name = rebase_name(member.name, old, new)
                if member.islnk():
                    member.linkname = rebase_name(member.linkname, old, new)
            total += member.size
            try:
                tf.extract(member, target, filter="tar")
            except IsADirectoryError:
                raise StatusError(1, f"cannot overwrite directory {os.path.join(target, member.name)!r} "
                                     "with non-directory") from None
    return total


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


def _to_container(cli: Cli, src: str, container: str, dst: str, archive: bool, follow: bool,
                  quiet: bool) -> int:
    import tarfile
    import tempfile

    if not dst:
        raise StatusError(1, "filepath cannot be empty")
    dst_path, exists, dst_is_dir, mode = dst, True, False, 0
    try:
        st = _head(cli, container, dst)
        mode = int(st.get("mode", 0))
        if mode & _MODE_SYMLINK:
            target = st.get("linkTarget") or ""
            if not target.startswith("/"):
                target = os.path.join(split_dir_entry(dst)[0], target)
            dst_path = target
            mode = int(_head(cli, container, target).get("mode", 0))
        dst_is_dir = bool(mode & _MODE_DIR)
    except APIError as exc:
        if exc.status != 404:
            raise
        exists = False
    if exists and mode & _MODE_IRREGULAR:
        raise StatusError(1, f'destination "{container}:{dst}" must be a directory or a regular file')
    params = {"path": dst_path, "noOverwriteDirNonDir": "true", "copyUIDGID": "true" if archive else None}
    if src == "-":
        if not dst_is_dir:
            raise StatusError(1, f'destination "{container}:{dst}" must be a directory')
        cli.client.request("PUT", f"/containers/{container}/archive", params,
                           body=_stdin_chunks(), headers={"Content-Type": "application/x-tar"}).read()
        return 0
    src_abs = os.path.abspath(src) + ("/." if _specifies_current_dir(src) else "")
    if follow:
        src_abs = os.path.realpath(src_abs)
    if not os.path.lexists(src_abs):
        raise StatusError(1, f"lstat {src_abs}: no such file or directory")
    src_dir, src_base = split_dir_entry(src_abs)
    src_is_dir = os.path.isdir(src_abs) and not os.path.islink(src_abs)
    if exists and dst_is_dir:
        upload_dir, arc_top = dst_path, src_base
    elif exists and src_is_dir:
        raise StatusError(1, "cannot copy directory")
    elif not exists and not src_is_dir and (dst.endswith("/") or _specifies_current_dir(dst)):
        raise StatusError(1, "no such directory")
    else:
        upload_dir, arc_top = split_dir_entry(dst_path)
    params["path"] = upload_dir
    with tempfile.TemporaryFile() as tmp:
        with tarfile.open(fileobj=tmp, mode="w", format=tarfile.PAX_FORMAT) as tf:
            top = os.path.join(src_dir, src_base) if src_base != "." else src_dir
            tf.add(top, arcname=arc_top, recursive=True)
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
