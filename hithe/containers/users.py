"""Resolve `-u user[:group]` against the container's own /etc/passwd and /etc/group."""
from __future__ import annotations

import os

from hithe.errors import SystemError_


def _read(rootfs: str, name: str) -> list[list[str]]:
    # The rootfs is the container's: open below it, never following a link out of it.
    path = os.path.join(rootfs, "etc", name)
    try:
        real = os.path.realpath(path)
        if not real.startswith(os.path.realpath(rootfs) + os.sep):
            return []
        with open(real, errors="replace") as f:
            return [line.rstrip("\n").split(":") for line in f if line.strip() and not line.startswith("#")]
    except OSError:
        return []


def resolve_user(rootfs: str, spec: str) -> tuple[int, int, list[int]]:
    """(uid, gid, supplementary gids) the way Docker resolves them."""
    user, _, group = (spec or "0").partition(":")
    passwd = _read(rootfs, "passwd")
    groups = _read(rootfs, "group")
    uid: int | None = None
    gid = 0
    name = ""
    if user.isdigit():
        uid = int(user)
        for ent in passwd:
            if len(ent) > 3 and ent[2] == user:
                gid, name = int(ent[3] or 0), ent[0]
                break
    else:
        for ent in passwd:
            if len(ent) > 3 and ent[0] == user:
                uid, gid, name = int(ent[2]), int(ent[3] or 0), ent[0]
                break
        if uid is None:
            raise SystemError_(f"unable to find user {user}: no matching entries in passwd file")
    if group:
        if group.isdigit():
            gid = int(group)
        else:
            for ent in groups:
                if len(ent) > 2 and ent[0] == group:
                    gid = int(ent[2])
                    break
            else:
                raise SystemError_(f"unable to find group {group}: no matching entries in group file")
    extra: list[int] = []
    if name:
        for ent in groups:
            if len(ent) > 3 and name in ent[3].split(",") and ent[2].isdigit() and int(ent[2]) != gid:
                extra.append(int(ent[2]))
    return uid, gid, extra


def home_of(rootfs: str, uid: int) -> str:
    """The user's home from the container's passwd; Docker sets HOME from it (or "/")."""
    for ent in _read(rootfs, "passwd"):
        if len(ent) > 5 and ent[2] == str(uid):
            return ent[5] or "/"
    return "/"
