"""Mount requests of a container (`-v`, `--mount`, `--tmpfs`, `--volumes-from`) parsed the Docker way.

Pure parsing and checks, with Docker's error texts (moby's volume/mounts
linux parser).  The result is a list of MountPoint records, which
hithe/containers/mounts.py turns into volumes and OCI mounts.
"""
from __future__ import annotations

import dataclasses
import posixpath
from dataclasses import dataclass
from typing import Any, Callable

from hithe.errors import InvalidParameter

RW_MODES = {"rw", "ro", "ro-non-recursive", "ro-force-recursive", "rro"}
LABEL_MODES = {"z", "Z"}
PROPAGATIONS = {"private", "rprivate", "slave", "rslave", "shared", "rshared"}
COPY_MODES = {"nocopy"}
CONSISTENCY_MODES = {"consistent", "cached", "delegated"}
DEFAULT_PROPAGATION = "rprivate"


@dataclass
class MountPoint:
    type: str                       # "volume", "bind" or "tmpfs"
    destination: str
    source: str = ""                # host path (bind; a volume's data directory once known)
    name: str = ""                  # volume name; "" until an anonymous volume is made
    driver: str = ""
    mode: str = ""
    rw: bool = True
    propagation: str = ""
    copy_data: bool = True          # Docker's copy-up of the image's content into a new volume
    non_recursive: bool = False
    anonymous: bool = False         # created for this container: `rm -v` removes it
    create_source: bool = False     # `-v /missing:/x` makes /missing (`--mount` refuses it)
    tmpfs_options: str = ""
    volume_labels: dict[str, str] | None = None
    driver_opts: dict[str, str] | None = None

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> "MountPoint":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in doc.items() if k in known})


def _mode_words(mode: str) -> list[str]:
    return mode.split(",") if mode else []


def valid_mode(mode: str) -> bool:
    if mode == "":
        return True
    counts = [0, 0, 0, 0, 0]
    for o in mode.split(","):
        for i, group in enumerate((RW_MODES, LABEL_MODES, PROPAGATIONS, COPY_MODES, CONSISTENCY_MODES)):
            if o in group:
                counts[i] += 1
                break
        else:
            return False
    return all(n <= 1 for n in counts)


def read_write(mode: str) -> bool:
    return valid_mode(mode) and "ro" not in _mode_words(mode) and "rro" not in _mode_words(mode) \
        and "ro-non-recursive" not in _mode_words(mode) and "ro-force-recursive" not in _mode_words(mode)


def _propagation(mode: str) -> str:
    for o in _mode_words(mode):
        if o in PROPAGATIONS:
            return o
    return ""


def _clean(p: str) -> str:
    return posixpath.normpath(p) if p else p


def _check_target(target: str) -> None:
    if not target:
        raise InvalidParameter("field Target must not be empty")
    if _clean(target.replace("\\", "/")) in ("/", "//"):
        raise InvalidParameter("invalid specification: destination can't be '/'")
    if not target.replace("\\", "/").startswith("/"):
        raise InvalidParameter(f"invalid mount path: '{target}' mount path must be absolute")


def _config_error(kind: str, msg: str) -> InvalidParameter:
    return InvalidParameter(f'invalid mount config for type "{kind}": {msg}')


def parse_bind(raw: str) -> MountPoint:
    """One `HostConfig.Binds` entry: `name:/dst[:mode]`, `/host:/dst[:mode]` or `/dst`."""
    arr = raw.split(":", 3)
    if arr[0] == "":
        raise InvalidParameter(f"invalid volume specification: '{raw}'")
    source, mode = "", ""
    if len(arr) == 1:
        target = arr[0]
    elif len(arr) == 2:
        if valid_mode(arr[1]):
            raise InvalidParameter(f"invalid volume specification: '{raw}'")  # "/foo:rw": no target
        source, target = arr
    elif len(arr) == 3:
        source, target, mode = arr
    else:
        raise InvalidParameter(f"invalid volume specification: '{raw}'")
    if not valid_mode(mode):
        raise InvalidParameter(f"invalid mode: {mode}")
    kind = "bind" if source.startswith("/") else "volume"
    rw = read_write(mode)
    try:
        _check_target(target)
    except InvalidParameter as e:
        raise InvalidParameter(f"invalid volume specification: '{raw}': "
                               f'invalid mount config for type "{kind}": {e}') from None
    mp = MountPoint(type=kind, destination=_clean(target), mode=mode, rw=rw,
                    copy_data="nocopy" not in _mode_words(mode))
    if kind == "bind":
        mp.source = _clean(source)
        mp.propagation = _propagation(mode) or DEFAULT_PROPAGATION
        mp.create_source = True
    else:
        mp.name = source
        mp.anonymous = not source
        mp.driver = "local"
        mp.mode = mode or "z"  # Docker's setBindModeIfNull for local volumes
    return mp


def _dict(v: Any, what: str) -> dict[str, Any] | None:
    if v is None:
        return None
    if not isinstance(v, dict):
        raise InvalidParameter(f"json: cannot unmarshal {type(v).__name__} into Go struct field {what}")
    return v


def parse_mount(m: Any, exists: Callable[[str], bool]) -> MountPoint:
    """One `HostConfig.Mounts` object (`--mount type=...,source=...,target=...`)."""
    if not isinstance(m, dict):
        raise InvalidParameter("json: cannot unmarshal into Go struct field HostConfig.Mounts of type mount.Mount")
    kind = str(m.get("Type") or "")
    target = str(m.get("Target") or "")
    source = str(m.get("Source") or "")
    ro = bool(m.get("ReadOnly"))
    bind_opts = _dict(m.get("BindOptions"), "Mount.BindOptions")
    vol_opts = _dict(m.get("VolumeOptions"), "Mount.VolumeOptions")
    tmpfs_opts = _dict(m.get("TmpfsOptions"), "Mount.TmpfsOptions")
    try:
        _check_target(target)
    except InvalidParameter as e:
        raise _config_error(kind, str(e)) from None
    dest = _clean(target)
    if kind == "bind":
        if not source:
            raise _config_error(kind, "field Source must not be empty")
        prop = str((bind_opts or {}).get("Propagation") or "")
        if prop and prop not in PROPAGATIONS:
            raise _config_error(kind, f"invalid propagation mode: {prop}")
        if vol_opts is not None:
            raise _config_error(kind, "field VolumeOptions must not be specified")
        if tmpfs_opts is not None:
            raise _config_error(kind, "field TmpfsOptions must not be specified")
        if not source.startswith("/"):
            raise _config_error(kind, f"invalid mount path: '{source}' mount path must be absolute")
        create = bool((bind_opts or {}).get("CreateMountpoint"))
        if not create and not exists(source):
            raise _config_error(kind, f"bind source path does not exist: {source}")
        return MountPoint(type="bind", destination=dest, source=_clean(source), rw=not ro,
                          propagation=prop or DEFAULT_PROPAGATION, create_source=create,
                          non_recursive=bool((bind_opts or {}).get("NonRecursive")))
    if kind == "volume":
        if bind_opts is not None:
            raise _config_error(kind, "field BindOptions must not be specified")
        if tmpfs_opts is not None:
            raise _config_error(kind, "field TmpfsOptions must not be specified")
        vo = vol_opts or {}
        if vo.get("Subpath"):
            raise _config_error(kind, "volume subpaths are not supported by hithe yet")
        if ro and not source:
            raise _config_error(kind, "must not set ReadOnly mode when using anonymous volumes")
        driver_cfg = _dict(vo.get("DriverConfig"), "Mount.VolumeOptions.DriverConfig") or {}
        opts = _dict(driver_cfg.get("Options"), "Mount.VolumeOptions.DriverConfig.Options")
        labels = _dict(vo.get("Labels"), "Mount.VolumeOptions.Labels")
        return MountPoint(type="volume", destination=dest, name=source, anonymous=not source, rw=not ro,
                          driver=str(driver_cfg.get("Name") or "local"), mode="z",
                          copy_data=not vo.get("NoCopy"),
                          driver_opts={str(k): str(v) for k, v in opts.items()} if opts else None,
                          volume_labels={str(k): str(v) for k, v in labels.items()} if labels else None)
    if kind == "tmpfs":
        if bind_opts is not None:
            raise _config_error(kind, "field BindOptions must not be specified")
        if vol_opts is not None:
            raise _config_error(kind, "field VolumeOptions must not be specified")
        if source:
            raise _config_error(kind, "field Source must not be specified")
        return MountPoint(type="tmpfs", destination=dest, rw=not ro,
                          tmpfs_options=tmpfs_data(tmpfs_opts or {}, ro))
    raise _config_error(kind, "mount type unknown")


def tmpfs_data(opts: dict[str, Any], read_only: bool) -> str:
    """Docker's ConvertTmpfsOptions: ro, mode=%o, size with the largest exact unit."""
    out = ["ro"] if read_only else []
    mode = opts.get("Mode")
    if mode:
        out.append(f"mode={int(mode):o}")
    size = opts.get("SizeBytes")
    if size:
        size = int(size)
        if size < 0:
            raise _config_error("tmpfs", f"invalid tmpfs size: {size}")
        suffix = ""
        for sfx, div in (("g", 1 << 30), ("m", 1 << 20), ("k", 1 << 10)):
            if size % div == 0:
                size, suffix = size // div, sfx
                break
        out.append(f"size={size}{suffix}")
    for opt in opts.get("Options") or []:
        if not isinstance(opt, list) or not 1 <= len(opt) <= 2:
            raise _config_error("tmpfs", "invalid option array length")
        if opt[0] not in ("exec", "noexec"):
            raise _config_error("tmpfs", f"invalid option: {opt[0]}")
        out.append(opt[0] if len(opt) == 1 else f"{opt[0]}={opt[1]}")
    return ",".join(out)


def check_tmpfs_destination(dest: str) -> None:
    if _clean(dest) == "/":
        raise InvalidParameter("invalid specification: destination can't be '/'")
    if not dest.startswith("/"):
        raise InvalidParameter(f"invalid mount path: '{dest}' mount path must be absolute")


def parse_volumes_from(spec: str) -> tuple[str, str]:
    """`container[:ro|rw]` -> (container, mode)."""
    if not spec:
        raise InvalidParameter("volumes-from specification cannot be an empty string")
    ref, _, mode = spec.partition(":")
    if not mode:
        return ref, "rw"
    if not valid_mode(mode) or _propagation(mode) or "nocopy" in _mode_words(mode):
        raise InvalidParameter(f"invalid mode: {mode}")
    return ref, mode


def duplicate(dest: str) -> InvalidParameter:
    return InvalidParameter(f"Duplicate mount point: {dest}")


def parse_all(binds: list[str], mounts: list[Any], tmpfs: dict[str, str],
              exists: Callable[[str], bool]) -> list[MountPoint]:
    """Binds then Mounts, with Docker's duplicate checks (Tmpfs destinations count too)."""
    seen: dict[str, MountPoint] = {}
    for dest in tmpfs:
        check_tmpfs_destination(dest)
    tmpfs_dests = {_clean(d) for d in tmpfs}
    for raw in binds:
        mp = parse_bind(raw)
        if mp.destination in seen or mp.destination in tmpfs_dests:
            raise duplicate(mp.destination)
        seen[mp.destination] = mp
    if not isinstance(mounts, list):
        raise InvalidParameter("json: cannot unmarshal into Go struct field HostConfig.Mounts of type []mount.Mount")
    for m in mounts:
        mp = parse_mount(m, exists)
        if mp.destination in seen or mp.destination in tmpfs_dests:
            raise duplicate(str(m.get("Target")))
        seen[mp.destination] = mp
    return list(seen.values())


def render_mounts(mounts: list[MountPoint]) -> list[dict[str, Any]]:
    """Docker's MountPoint JSON for inspect and ps (Name and Driver only when set)."""
    out = []
    for m in mounts:
        doc: dict[str, Any] = {"Type": m.type}
        if m.name:
            doc["Name"] = m.name
        doc["Source"] = m.source
        doc["Destination"] = m.destination
        if m.driver:
            doc["Driver"] = m.driver
        doc.update({"Mode": m.mode, "RW": m.rw, "Propagation": m.propagation})
        out.append(doc)
    return out
