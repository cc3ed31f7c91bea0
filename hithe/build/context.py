"""The build context, daemon side: the uploaded tar extracted safely into a temp dir.

The body is a tar (plain or compressed) of the context, or — `docker build -`
with a Dockerfile on stdin — the Dockerfile itself.  Extraction goes through
the project's extractor: names with `..`, absolute names, links out of the
directory are refused or kept inside it.  The directory lives under the data
root and is removed when the build ends.
"""
from __future__ import annotations

import os
import shutil
import tarfile
import tempfile

from hithe.archive.rootdir import RootDir
from hithe.archive.extract import extract_tar
from hithe.containers.scope import Located, resolve_in_scope
from hithe.errors import InvalidParameter, NotFound

_MAGICS = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"\x28\xb5\x2f\xfd")


def _is_tar(path: str) -> bool:
    with open(path, "rb") as f:
        head = f.read(512)
    if not head:
        return False
    if head.startswith(_MAGICS):
        return True
    return len(head) >= 262 and head[257:262] == b"ustar" or _plain_tar(path)


def _plain_tar(path: str) -> bool:
    try:
        with tarfile.open(path, "r:") as tf:
            return tf.next() is not None
    except (tarfile.TarError, OSError, EOFError):
        return False


class BuildContext:
    def __init__(self, tmp_root: str) -> None:
        os.makedirs(tmp_root, exist_ok=True)
        self.dir = tempfile.mkdtemp(dir=tmp_root, prefix="build-")
        self.root = os.path.join(self.dir, "context")
        os.mkdir(self.root, 0o755)
        self.inline_dockerfile: str | None = None

    def load(self, spool: str) -> None:
        """Blocking: unpack the uploaded body."""
        if os.path.getsize(spool) == 0:
            return
        if _is_tar(spool):
            with open(spool, "rb") as f:
                extract_tar(f, self.root, whiteouts="none", same_owner=False)
        else:
            with open(spool, "rb") as f:
                self.inline_dockerfile = f.read().decode("utf-8", "replace")

    def dockerfile(self, name: str) -> str:
        if self.inline_dockerfile is not None:
            return self.inline_dockerfile
        name = name or "Dockerfile"
        with RootDir(self.root) as rd:
            parts = resolve_in_scope(rd, tuple(p for p in name.split("/") if p not in ("", ".")))
            try:
                with Located(rd, parts) as loc:
                    fd = os.open(loc.name or ".", os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=loc.dirfd)
            except (FileNotFoundError, NotADirectoryError, OSError):
                if name == "Dockerfile":
                    # Docker also accepts the lower-case name
                    try:
                        return self.dockerfile("dockerfile")
                    except NotFound:
                        pass
                raise NotFound(f"Cannot locate specified Dockerfile: {name}") from None
        with os.fdopen(fd, "rb") as f:
            data = f.read(16 << 20)
        if not data.strip():
            raise InvalidParameter("the Dockerfile (Dockerfile) cannot be empty")
        return data.decode("utf-8", "replace")

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
