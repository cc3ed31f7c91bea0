"""The local driver's options (`-o type=tmpfs -o device=tmpfs -o o=size=10m`): checks and mounts.

Like Docker's local driver, a volume with options is mounted on its `_data`
directory while at least one running container uses it, and unmounted after.
"""
from __future__ import annotations

import os

from hithe.errors import InvalidParameter, SystemError_
from hithe.util.sys import MS_BIND, MS_RDONLY, MS_REC, is_mountpoint, mount, umount

VALID_OPTS = ("type", "o", "device", "size")
# Docker's mandatoryOpts, checked in a fixed order so the message does not vary.
_MANDATORY = (("device", ("type",)), ("type", ("device",)), ("o", ("device", "type")))

MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_SYNCHRONOUS = 2, 4, 8, 16
MS_REMOUNT, MS_MANDLOCK, MS_DIRSYNC = 32, 64, 128
MS_NOATIME, MS_NODIRATIME, MS_RELATIME, MS_STRICTATIME = 1024, 2048, 1 << 21, 1 << 24
# mount(8)'s flag words: (flags to set, flags to clear); everything else is fs data.
_FLAGS: dict[str, tuple[int, int]] = {
    "ro": (MS_RDONLY, 0), "rw": (0, MS_RDONLY), "bind": (MS_BIND, 0), "rbind": (MS_BIND | MS_REC, 0),
    "nosuid": (MS_NOSUID, 0), "suid": (0, MS_NOSUID), "nodev": (MS_NODEV, 0), "dev": (0, MS_NODEV),
    "noexec": (MS_NOEXEC, 0), "exec": (0, MS_NOEXEC), "sync": (MS_SYNCHRONOUS, 0),
    "async": (0, MS_SYNCHRONOUS), "dirsync": (MS_DIRSYNC, 0), "mand": (MS_MANDLOCK, 0),
    "nomand": (0, MS_MANDLOCK), "noatime": (MS_NOATIME, 0), "atime": (0, MS_NOATIME),
    "nodiratime": (MS_NODIRATIME, 0), "diratime": (0, MS_NODIRATIME), "relatime": (MS_RELATIME, 0),
    "norelatime": (0, MS_RELATIME), "strictatime": (MS_STRICTATIME, 0), "defaults": (0, 0),
}


def validate_opts(name: str, opts: dict[str, str] | None) -> None:
    if not opts:
        return
    for key in sorted(opts):
        if key not in VALID_OPTS:
            raise InvalidParameter(f'create {name}: invalid option: "{key}"')
    if "size" in opts:
        # Docker sets sizes through project quotas (xfs); hithe's data root has none.
        raise InvalidParameter(f"create {name}: quota size requested but no quota support")
    for key, required in _MANDATORY:
        if key in opts:
            for req in required:
                if req not in opts:
                    raise InvalidParameter(f'create {name}: missing required option: "{req}"')


def needs_mount(opts: dict[str, str] | None) -> bool:
    return bool(opts) and bool(opts.get("device") or opts.get("type"))  # type: ignore[union-attr]


def parse_mount_options(text: str) -> tuple[int, str]:
    """`o=` into mount(2) flags and the filesystem's data string."""
    flags, data = 0, []
    for word in (w for w in text.split(",") if w):
        if word in _FLAGS:
            on, off = _FLAGS[word]
            flags = (flags | on) & ~off
        else:
            data.append(word)
    return flags, ",".join(data)


def mount_volume(opts: dict[str, str], path: str) -> None:
    if is_mountpoint(path):
        return  # still mounted from before a daemon restart
    device, fstype = opts.get("device", ""), opts.get("type", "")
    if not device:
        raise SystemError_("missing device in volume options")
    flags, data = parse_mount_options(opts.get("o", ""))
    try:
        if flags & MS_BIND:
            if not os.path.exists(device):
                raise FileNotFoundError(2, f"no such file or directory: {device}")
            # A bind ignores MS_RDONLY on the first call: read-only needs a remount.
            mount(device, path, None, flags & (MS_BIND | MS_REC))
            if flags & ~(MS_BIND | MS_REC):
                mount("none", path, None, flags | MS_REMOUNT | MS_BIND)
        else:
            mount(device, path, fstype or None, flags, data or None)
    except OSError as e:
        msg = e.strerror or str(e)
        raise SystemError_(f"error while mounting volume '{path}': failed to mount local volume: "
                           f"mount {device}:{path}, flags: {hex(flags)}, data: {data}: {msg}") from None


def unmount_volume(path: str) -> None:
    umount(path, lazy=True)
