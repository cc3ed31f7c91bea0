"""The build context, client side: the directory as a tar, .dockerignore applied (as the docker CLI does).

Entries are sorted, owned by 0:0 (the docker CLI sends them so; COPY gives
root ownership anyway), symlinks sent as symlinks (never followed).  The
Dockerfile and .dockerignore are always sent, even when .dockerignore
names them.
"""
from __future__ import annotations

import os
import tarfile
from typing import BinaryIO

from hithe.build.dockerignore import Matcher, parse_dockerignore


def load_matcher(context: str) -> Matcher:
    try:
        with open(os.path.join(context, ".dockerignore"), encoding="utf-8") as f:
            return Matcher(parse_dockerignore(f.read()))
    except FileNotFoundError:
        return Matcher([])


def _info(tf: tarfile.TarFile, path: str, arcname: str) -> tarfile.TarInfo:
    ti = tf.gettarinfo(path, arcname)
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = ""
    return ti


def write_context(context: str, out: BinaryIO, *, keep: tuple[str, ...] = (),
                  extra: tuple[tuple[str, bytes], ...] = ()) -> int:
    """Write the context to `out`; `keep`: relative names always sent; `extra`: (name, data) added.
    Returns the number of bytes of file data sent."""
    matcher = load_matcher(context)
    always = {".dockerignore", *keep}
    total = 0
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tf:
        def walk(rel: str) -> None:
            nonlocal total
            full = os.path.join(context, rel) if rel else context
            try:
                names = sorted(os.listdir(full))
            except PermissionError as e:
                raise OSError(f"error checking context: can't stat '{full}'") from e
            for name in names:
                r = f"{rel}/{name}" if rel else name
                p = os.path.join(context, r)
                excluded = matcher.excluded(r) and r not in always
                isdir = os.path.isdir(p) and not os.path.islink(p)
                if excluded:
                    if isdir and matcher.may_include_below(r):
                        walk(r)
                    continue
                ti = _info(tf, p, r)
                if ti.isfile():
                    with open(p, "rb") as f:
                        tf.addfile(ti, f)
                    total += ti.size
                else:
                    tf.addfile(ti)
                if isdir:
                    walk(r)
        walk("")
        for name, data in extra:
            import io
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode = len(data), 0o644
            tf.addfile(ti, io.BytesIO(data))
            total += len(data)
    return total
