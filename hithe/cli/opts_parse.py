"""Parsers for docker's option values: sizes, CPUs, env files, ports, mounts,
ulimits, restart policies, capabilities.  Each raises ValueError with the
message the docker CLI prints for the same input."""
from __future__ import annotations

import os
TYPE_CHECKING = False  # typing costs ~5 ms at start-up; annotations are strings anyway
if TYPE_CHECKING:
    from typing import Any

_MULT = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}


def ram_in_bytes(value: str) -> int:
    """go-units RAMInBytes: binary multiples, "64m", "1.5g", "512MiB", "10 kb"."""
    sep = max(value.rfind(c) for c in "0123456789. ")
    if sep < 0:
        raise ValueError(f"invalid size: '{value}'")
    if value[sep] != " ":
        num, sfx = value[:sep + 1], value[sep + 1:]
    else:
        num, sfx = value[:sep], value[sep + 1:]
    try:
        size = float(num)
    except ValueError:
        raise ValueError(f'strconv.ParseFloat: parsing "{num}": invalid syntax') from None
    if size < 0:
        raise ValueError(f"invalid size: '{value}'")
    if not sfx:
        return int(size)
    low = sfx.lower()
    if len(sfx) > 3:
        raise ValueError(f"invalid suffix: '{sfx}'")
    if low[0] == "b":
        if len(low) > 1:
            raise ValueError(f"invalid suffix: '{low}'")
        return int(size)
    if low[0] not in _MULT or (len(low) == 2 and low[1] != "b") or (len(low) == 3 and low[1:] != "ib"):
        raise ValueError(f"invalid suffix: '{low}'")
    return int(size * _MULT[low[0]])


def mem_bytes(value: str) -> int:
    return ram_in_bytes(value)


def mem_swap_bytes(value: str) -> int:
    return -1 if value == "-1" else ram_in_bytes(value)


def nano_cpus(value: str) -> int:
    """docker's NanoCPUs: a decimal number of CPUs to an integer of 1e-9 CPUs."""
    from fractions import Fraction

    try:
        cpus = Fraction(value)
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"failed to parse {value} as a rational number") from None
    nano = cpus * 1_000_000_000
    if nano.denominator != 1:
        raise ValueError("value is too precise")
    return int(nano)


def validate_env(value: str) -> str:
    """-e NAME=v stays; -e NAME takes the value from the local environment if set."""
    key, eq, _ = value.partition("=")
    if not key:
        raise ValueError(f"invalid environment variable: {value}")
    if eq:
        return value
    if key in os.environ:
        return f"{key}={os.environ[key]}"
    return value


def validate_label(value: str) -> str:
    key = value.partition("=")[0]
    if not key.strip():
        raise ValueError(f"invalid label '{value}': empty name")
    return value


def validate_attach(value: str) -> str:
    v = value.lower()
    if v in ("stdin", "stdout", "stderr"):
        return v
    raise ValueError("valid streams are STDIN, STDOUT and STDERR")


def read_kv_file(path: str, lookup_env: bool) -> list[str]:
    """docker's env-file / label-file format: NAME=value lines, '#' comments,
    a bare NAME passes the local variable through (env files only)."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise ValueError(f"open {path}: {exc.strerror.lower() if exc.strerror else exc}") from None
    out: list[str] = []
    for lineno, bline in enumerate(raw.split(b"\n"), 1):
        bline = bline.rstrip(b"\r")
        try:
            line = bline.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError(f"env file {path} contains invalid utf8 bytes at line {lineno}") from None
        if lineno == 1:
            line = line.lstrip("\ufeff")
        line = line.lstrip()
        if not line or line.startswith("#"):
            continue
        name, eq, val = line.partition("=")
        name = name.lstrip(" \t")
        if any(c in name for c in " \t\n\v\f\r"):
            raise ValueError(f"variable '{name}' contains whitespaces")
        if not name:
            raise ValueError(f"no variable name on line '{line}'")
        if eq:
            out.append(f"{name}={val}")
        elif lookup_env and name in os.environ:
            out.append(f"{name.strip()}={os.environ[name]}")
    return out


def kv_to_map(items: list[str]) -> dict[str, str]:
    result: dict[str, str] = {}
    for item in items:
        k, _, v = item.partition("=")
        result[k] = v
    return result


def parse_restart_policy(policy: str) -> dict[str, Any]:
    if not policy:
        return {"Name": "", "MaximumRetryCount": 0}
    name, colon, count = policy.partition(":")
    if colon and not name:
        raise ValueError("invalid restart policy format: no policy provided before colon")
    n = 0
    if count:
        try:
            n = int(count)
        except ValueError:
            raise ValueError("invalid restart policy format: maximum retry count must be an integer") from None
    return {"Name": name, "MaximumRetryCount": n}


def parse_ulimit(value: str) -> dict[str, Any]:
    name, eq, limits = value.partition("=")
    if not eq:
        raise ValueError(f"invalid ulimit argument: {value}")
    soft_s, colon, hard_s = limits.partition(":")
    try:
        soft = int(soft_s)
        hard = int(hard_s) if colon else soft
    except ValueError:
        raise ValueError(f"invalid ulimit argument: {value}") from None
    if soft > hard:
        raise ValueError(f"ulimit soft limit must be less than or equal to hard limit: {soft} > {hard}")
    return {"Name": name, "Hard": hard, "Soft": soft}


def normalize_caps(add: list[str], drop: list[str]) -> tuple[list[str] | None, list[str] | None]:
    """docker's EffectiveCapAddCapDrop: CAP_ prefix, ALL trumps, adding wins over dropping."""
    def norm(cap: str) -> str:
        c = cap.strip().upper()
        if c == "ALL" or c.startswith("CAP_"):
            return c
        return "CAP_" + c

    adds = {norm(c) for c in add if c.strip()}
    drops = {norm(c) for c in drop if c.strip()}
    if "ALL" in adds:
        adds = {"ALL"}
    if "ALL" in drops:
        drops = {"ALL"}
    drops = {c for c in drops if c not in adds}
    return (sorted(adds) or None, sorted(drops) or None)


# -- ports (go-connections/nat) ----------------------------------------------

def _port_range(text: str) -> tuple[int, int]:
    lo, dash, hi = text.partition("-")
    start = int(lo)
    end = int(hi) if dash else start
    if not (0 <= start <= 65535 and 0 <= end <= 65535) or end < start:
        raise ValueError(text)
    return start, end


def parse_port_spec(raw: str) -> list[tuple[str, str, str]]:
    """One -p value to [(\"80/tcp\", host_ip, host_port)], nat.ParsePortSpec's rules."""
    parts = raw.split(":")
    n = len(parts)
    container = parts[-1]
    if n == 1:
        ip, host = "", ""
    elif n == 2:
        ip, host = "", parts[0]
    elif n == 3:
        ip, host = parts[0], parts[1]
    else:
        ip, host = ":".join(parts[:-2]), parts[-2]
    port, slash, proto = container.partition("/")
    proto = proto if slash else "tcp"
    if ip.startswith("[") and ip.endswith("]"):
        ip = ip[1:-1]
    if ip:
        import ipaddress
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            raise ValueError(f"invalid IP address: {ip}") from None
    if not port:
        raise ValueError(f"no port specified: {container}<empty>")
    try:
        start, end = _port_range(port)
    except ValueError:
        raise ValueError(f"invalid containerPort: {port}") from None
    hstart = hend = 0
    if host:
        try:
            hstart, hend = _port_range(host)
        except ValueError:
            raise ValueError(f"invalid hostPort: {host}") from None
        if (end - start) != (hend - hstart) and end != start:
            raise ValueError(f"invalid ranges specified for container and host Ports: {port} and {host}")
    if proto.lower() not in ("tcp", "udp", "sctp"):
        raise ValueError(f"invalid proto: {proto}")
    out = []
    for i in range(end - start + 1):
        hp = str(hstart + i) if host else ""
        if start == end and hstart != hend:
            hp = f"{hp}-{hend}"
        out.append((f"{start + i}/{proto.lower()}", ip, hp))
    return out


def convert_publish_long(value: str) -> str:
    """``-p published=8080,target=80,protocol=udp`` to the short syntax."""
    if "=" not in value:
        return value
    params = {"protocol": "tcp"}
    for param in value.split(","):
        k, eq, v = param.partition("=")
        if not eq or not k:
            raise ValueError(f"invalid publish opts format (should be name=value but got '{param}')")
        params[k] = v
    return f"{params.get('published', '')}:{params.get('target', '')}/{params['protocol']}"


def parse_expose(value: str) -> list[str]:
    port, slash, proto = value.partition("/")
    proto = proto if slash else "tcp"
    try:
        start, end = _port_range(port)
    except ValueError:
        raise ValueError(f"invalid range format for --expose: {value}") from None
    return [f"{p}/{proto}" for p in range(start, end + 1)]


# -- --mount ------------------------------------------------------------------

def _parse_bool_opt(key: str, value: str) -> bool:
    v = value.lower()
    if v in ("", "1", "true"):
        return True
    if v in ("0", "false"):
        return False
    raise ValueError(f"invalid value for {key}: {value}")


def parse_mount(value: str) -> dict[str, Any]:
    """docker's --mount CSV (opts.MountOpt) to an API Mount object."""
    import csv

    fields = next(csv.reader([value]), [])
    mount: dict[str, Any] = {"Type": "volume"}
    bind: dict[str, Any] = {}
    vol: dict[str, Any] = {}
    tmpfs: dict[str, Any] = {}
    for field in fields:
        key, eq, val = field.partition("=")
        key = key.lower()
        if not eq:
            if key in ("readonly", "ro"):
                mount["ReadOnly"] = True
                continue
            if key == "volume-nocopy":
                vol["NoCopy"] = True
                continue
            if key == "bind-nonrecursive":
                bind["NonRecursive"] = True
                continue
            raise ValueError(f"invalid field '{field}' must be a key=value pair")
        if key == "type":
            mount["Type"] = val.lower()
        elif key in ("source", "src"):
            mount["Source"] = val
        elif key in ("target", "dst", "destination"):
            mount["Target"] = val
        elif key in ("readonly", "ro"):
            mount["ReadOnly"] = _parse_bool_opt(key, val)
        elif key == "consistency":
            mount["Consistency"] = val
        elif key == "bind-propagation":
            bind["Propagation"] = val.lower()
        elif key == "bind-nonrecursive":
            bind["NonRecursive"] = _parse_bool_opt(key, val)
        elif key == "bind-create-host-path":
            bind["CreateMountpoint"] = _parse_bool_opt(key, val)
        elif key == "volume-nocopy":
            vol["NoCopy"] = _parse_bool_opt(key, val)
        elif key == "volume-label":
            k, _, v = val.partition("=")
            vol.setdefault("Labels", {})[k] = v
        elif key == "volume-driver":
            vol.setdefault("DriverConfig", {})["Name"] = val
        elif key == "volume-opt":
            k, _, v = val.partition("=")
            vol.setdefault("DriverConfig", {}).setdefault("Options", {})[k] = v
        elif key == "volume-subpath":
            vol["Subpath"] = val
        elif key == "tmpfs-size":
            tmpfs["SizeBytes"] = ram_in_bytes(val)
        elif key == "tmpfs-mode":
            try:
                tmpfs["Mode"] = int(val, 8)
            except ValueError:
                raise ValueError(f"invalid value for {key}: {val}") from None
        else:
            raise ValueError(f"unexpected key '{key}' in '{field}'")
    kind = mount["Type"]
    if kind not in ("bind", "volume", "tmpfs", "npipe", "cluster", "image"):
        raise ValueError(f"invalid mount type: {kind}")
    if not mount.get("Target"):
        raise ValueError("target is required")
    if bind and kind != "bind":
        raise ValueError(f"cannot mix 'bind-*' options with mount type '{kind}'")
    if vol and kind != "volume":
        raise ValueError(f"cannot mix 'volume-*' options with mount type '{kind}'")
    if tmpfs and kind != "tmpfs":
        raise ValueError(f"cannot mix 'tmpfs-*' options with mount type '{kind}'")
    if bind:
        mount["BindOptions"] = bind
    if vol:
        mount["VolumeOptions"] = vol
    if tmpfs:
        mount["TmpfsOptions"] = tmpfs
    # Go's encoder writes fields in struct order; keep that order for byte-equal bodies
    order = ["Type", "Source", "Target", "ReadOnly", "Consistency", "BindOptions",
             "VolumeOptions", "ImageOptions", "TmpfsOptions", "ClusterOptions"]
    return {k: mount[k] for k in order if k in mount}


def split_volume(spec: str) -> tuple[str, str, str]:
    """-v [SRC:]DST[:MODE] on a Linux daemon: (src, dst, mode)."""
    parts = spec.split(":")
    if len(parts) == 1:
        return "", parts[0], ""
    if len(parts) == 2:
        return parts[0], parts[1], ""
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    raise ValueError(f"invalid spec: {spec}: too many colons")


# -- --filter -------------------------------------------------------------------

def parse_filter(value: str) -> tuple[str, str]:
    """docker's FilterOpt.Set: name=value, name lower-cased, both trimmed."""
    if "=" not in value:
        raise ValueError("bad format of filter (expected name=value)")
    name, _, val = value.partition("=")
    return name.strip().lower(), val.strip()


def filters_json(pairs: list[tuple[str, str]]) -> str | None:
    """filters.Args.ToJSON: {"name": {"value": true}}; None when empty."""
    if not pairs:
        return None
    import json

    args: dict[str, dict[str, bool]] = {}
    for name, val in pairs:
        args.setdefault(name, {})[val] = True
    return json.dumps(args, separators=(",", ":"))
