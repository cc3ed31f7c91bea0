"""A container's mounts: volumes made at create, host paths and OCI mounts at start.

`plan` runs at create: it parses the request (hithe/containers/mountspec.py),
adds `--volumes-from` and the image's and user's anonymous volumes, and makes
the volumes.  `setup` runs at start with the container's root mounted: it
mounts volumes that have driver options, does Docker's copy-up into empty new
volumes, creates missing `-v` host directories and returns the OCI mounts.
"""
from __future__ import annotations

import dataclasses
import os
import posixpath
from typing import Any, Callable

from hithe.containers.mountspec import MountPoint, check_tmpfs_destination, parse_all, parse_volumes_from, read_write
from hithe.containers.spec import CreateSpec
from hithe.errors import HitheError, InvalidParameter, SystemError_
from hithe.volumes.copyup import copy_up, is_empty
from hithe.volumes.service import VolumeService


def _volumes_from(spec: CreateSpec) -> list[str]:
    raw = spec.extra_host_config.get("VolumesFrom") or []
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        raise InvalidParameter("invalid VolumesFrom: must be a list of strings")
    return raw


def plan(spec: CreateSpec, image_cfg: dict[str, Any], volumes: VolumeService,
         mounts_of: Callable[[str], list[MountPoint]]) -> list[MountPoint]:
    """The container's mount points, its volumes created. `mounts_of` looks up another
    container's mount points by reference (NotFound like Docker when there is none)."""
    requested = parse_all(spec.binds, spec.mounts, spec.tmpfs, os.path.exists)
    by_dest: dict[str, MountPoint] = {}
    for ref_spec in _volumes_from(spec):
        ref, mode = parse_volumes_from(ref_spec)
        for m in mounts_of(ref):
            # Shared, not owned: `rm -v` of this container leaves them; no copy-up either.
            by_dest[m.destination] = dataclasses.replace(m, rw=m.rw and read_write(mode), copy_data=False,
                                                          anonymous=False)
    # --volume-driver: the driver of -v volumes and anonymous ones (--mount names its own)
    vdriver = str(spec.extra_host_config.get("VolumeDriver") or "local")
    for _raw, mp in zip(spec.binds, requested):  # parse_all keeps Binds first, in their order
        if mp.type == "volume":
            mp.driver = vdriver
    for mp in requested:
        by_dest[mp.destination] = mp  # -v/--mount win over --volumes-from at the same path
    tmpfs_dests = {posixpath.normpath(d) for d in spec.tmpfs}
    for raw in list(image_cfg.get("Volumes") or {}) + list(spec.volumes or {}):
        dest = posixpath.normpath(raw) if raw else raw
        try:
            check_tmpfs_destination(raw)
        except InvalidParameter as e:
            raise InvalidParameter(f"invalid volume specification: '{raw}': "
                                   f'invalid mount config for type "volume": {e}') from None
        if dest in by_dest or dest in tmpfs_dests:
            continue
        by_dest[dest] = MountPoint(type="volume", destination=dest, driver=vdriver, anonymous=True)
    made: list[str] = []
    try:
        for mp in by_dest.values():
            if mp.type != "volume" or (mp.name and mp.source):
                continue  # from --volumes-from: the volume exists already
            v, new = volumes.create(mp.name, mp.driver, mp.driver_opts, mp.volume_labels,
                                    anonymous=not mp.name, strict=False)
            if new and mp.anonymous:
                made.append(v.name)
            mp.name, mp.source, mp.driver = v.name, v.mountpoint, v.driver
    except BaseException:
        discard(made, volumes)
        raise
    return sorted(by_dest.values(), key=lambda m: m.destination)


def discard(names: list[str], volumes: VolumeService) -> None:
    for name in names:
        try:
            volumes.remove(name)
        except HitheError:
            pass


def volume_names(mounts: list[MountPoint]) -> list[str]:
    return [m.name for m in mounts if m.type == "volume" and m.name]


def setup(cid: str, mounts: list[MountPoint], rootfs: str, volumes: VolumeService) -> list[dict[str, Any]]:
    """OCI mounts for a start (blocking). On failure, volumes taken so far are released."""
    out: list[dict[str, Any]] = []
    taken: list[str] = []
    try:
        for mp in mounts:
            if mp.type == "tmpfs":
                opts = ["nosuid", "nodev", "noexec"] + [o for o in mp.tmpfs_options.split(",") if o]
                out.append({"destination": mp.destination, "type": "tmpfs", "source": "tmpfs", "options": opts})
                continue
            if mp.type == "volume":
                source = volumes.acquire(mp.name, cid)
                taken.append(mp.name)
                if mp.copy_data:
                    try:
                        if is_empty(source):
                            copy_up(rootfs, mp.destination, source)
                    except OSError as e:
                        raise SystemError_(f"failed to populate volume {mp.name}: {e}") from None
                    mp.copy_data = False  # once, like Docker: a volume emptied later stays empty
            else:
                source = mp.source
                if mp.create_source and not os.path.lexists(source):
                    try:
                        os.makedirs(source, mode=0o755, exist_ok=True)  # Docker does so for -v
                    except OSError as e:
                        raise SystemError_(f"error while creating mount source path '{source}': "
                                           f"mkdir {source}: {e.strerror}") from None
            opts = ["bind" if mp.non_recursive else "rbind"]
            if not mp.rw:
                opts.append("ro")
            opts.append(mp.propagation or "rprivate")
            out.append({"destination": mp.destination, "type": "bind", "source": source, "options": opts})
    except BaseException:
        for name in taken:
            volumes.release(name, cid)
        raise
    return out  # build_spec orders them (parents first)


def release(cid: str, mounts: list[MountPoint], volumes: VolumeService) -> None:
    for name in volume_names(mounts):
        volumes.release(name, cid)
