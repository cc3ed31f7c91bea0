"""Seccomp: a Docker / containers-common profile resolved into the OCI ``linux.seccomp`` object.

The profile format is the one of ``/usr/share/containers/seccomp.json`` (Debian
``golang-github-containers-common``) and of Docker's ``profiles/seccomp/default.json``:
``defaultAction``, ``defaultErrnoRet``, ``archMap`` (or the older ``architectures``),
``flags`` and ``syscalls[]`` whose rules carry ``names`` (or the older ``name``),
``action``, ``errnoRet``, ``args`` and ``includes`` / ``excludes`` conditions on
``caps``, ``arches`` and ``minKernel``.

Resolution follows Docker (moby ``profiles/seccomp/seccomp_linux.go``):

* a rule is kept when *every* cap in ``includes.caps`` is held, the host arch is in
  ``includes.arches`` and the kernel is at least ``includes.minKernel``; and it is
  dropped when *any* cap in ``excludes.caps`` is held, the arch is in
  ``excludes.arches`` or the kernel is at least ``excludes.minKernel``;
* ``architectures`` is the ``archMap`` entry of the host arch: the main arch and its
  sub-arches (``SCMP_ARCH_X86_64`` -> ``+ SCMP_ARCH_X86, SCMP_ARCH_X32``);
* ``minKernel`` compares "kernel.major" only (4.8.17 and 4.8-1-amd64 are both 4.8).

Every container start needs this, so parsed files are cached by path and
(mtime, size, inode), each profile is compiled once into a rule table, and the
result for one (profile, caps, arch, kernel) is memoized; a cached call copies
the memoized result (callers may mutate it) and costs some tens of microseconds.
Profiles handed to :func:`to_oci` are treated as immutable.
"""
from __future__ import annotations

import errno as _errno
import json
import logging
import os
import platform
import re
import sys
import threading
from collections import OrderedDict
from typing import Any

from hithe.errors import InvalidParameter

__all__ = [
    "DEFAULT_PROFILE_PATHS", "default_profile_path", "load_profile", "parse_profile",
    "to_oci", "seccomp_for", "host_arch", "host_kernel", "kernel_supports_seccomp", "clear_caches",
]

log = logging.getLogger("hithe.runtime.seccomp")

# containers-common's lookup order (c/common pkg/config): the admin override in /etc
# first, then the packaged profile.
DEFAULT_PROFILE_PATHS: tuple[str, ...] = (
    "/etc/containers/seccomp.json",
    "/usr/share/containers/seccomp.json",
)

# --security-opt seccomp=<value> keywords (Docker: config.SeccompProfileUnconfined / Default).
UNCONFINED = "unconfined"
BUILTIN = "builtin"

ACTIONS = frozenset({
    "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
    "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY",
})
OPERATORS = frozenset({
    "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE",
    "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ",
})
FLAGS = frozenset({
    "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
})

# libseccomp "native" arch names (the ones used in includes/excludes.arches) -> SCMP_ARCH_*.
NATIVE_TO_SCMP: dict[str, str] = {
    "x86": "SCMP_ARCH_X86",
    "amd64": "SCMP_ARCH_X86_64",
    "x32": "SCMP_ARCH_X32",
    "arm": "SCMP_ARCH_ARM",
    "arm64": "SCMP_ARCH_AARCH64",
    "mips": "SCMP_ARCH_MIPS",
    "mips64": "SCMP_ARCH_MIPS64",
    "mips64n32": "SCMP_ARCH_MIPS64N32",
    "mipsel": "SCMP_ARCH_MIPSEL",
    "mipsel64": "SCMP_ARCH_MIPSEL64",
    "mipsel64n32": "SCMP_ARCH_MIPSEL64N32",
    "ppc": "SCMP_ARCH_PPC",
    "ppc64": "SCMP_ARCH_PPC64",
    "ppc64le": "SCMP_ARCH_PPC64LE",
    "s390": "SCMP_ARCH_S390",
    "s390x": "SCMP_ARCH_S390X",
    "parisc": "SCMP_ARCH_PARISC",
    "parisc64": "SCMP_ARCH_PARISC64",
    "riscv64": "SCMP_ARCH_RISCV64",
    "loong64": "SCMP_ARCH_LOONGARCH64",
}
_SCMP_TO_NATIVE = {v: k for k, v in NATIVE_TO_SCMP.items()}

# uname -m (platform.machine()) and a few Go/Debian spellings -> native name.
_MACHINE_TO_NATIVE: dict[str, str] = {
    "x86_64": "amd64", "amd64": "amd64", "x64": "amd64",
    "i386": "x86", "i486": "x86", "i586": "x86", "i686": "x86", "x86": "x86", "386": "x86",
    "aarch64": "arm64", "arm64": "arm64", "armv8b": "arm64", "aarch64_be": "arm64",
    "arm": "arm", "armhf": "arm", "armel": "arm",
    "ppc": "ppc", "ppc64": "ppc64", "ppc64le": "ppc64le", "ppc64el": "ppc64le",
    "s390": "s390", "s390x": "s390x",
    "riscv64": "riscv64",
    "loongarch64": "loong64", "loong64": "loong64",
    "parisc": "parisc", "parisc64": "parisc64",
    "mips64le": "mipsel64", "mips64el": "mipsel64", "mipsle": "mipsel", "mipsel": "mipsel",
}

_KERNEL_RE = re.compile(r"^\s*(\d+)\.(\d+)")


# ---------------------------------------------------------------------------------------
# Host facts


def _native_arch(name: str) -> str:
    """Any spelling of an arch (uname -m, Go, libseccomp native, SCMP_ARCH_*) -> native."""
    if name in NATIVE_TO_SCMP:
        return name
    if name in _SCMP_TO_NATIVE:
        return _SCMP_TO_NATIVE[name]
    low = name.lower()
    if low in _MACHINE_TO_NATIVE:
        return _MACHINE_TO_NATIVE[low]
    if low.startswith("armv") or low.startswith("arm"):
        return "arm"
    if low in ("mips", "mips64"):  # uname says "mips64" for both endiannesses
        little = sys.byteorder == "little"
        return {"mips": "mipsel" if little else "mips",
                "mips64": "mipsel64" if little else "mips64"}[low]
    return low


_HOST_ARCH: str | None = None


def host_arch() -> str:
    """The host's libseccomp native arch name ("amd64", "arm64", ...)."""
    global _HOST_ARCH
    if _HOST_ARCH is None:
        _HOST_ARCH = _native_arch(platform.machine())
    return _HOST_ARCH


def _parse_kernel(text: str) -> tuple[int, int] | None:
    m = _KERNEL_RE.match(text)
    return (int(m.group(1)), int(m.group(2))) if m else None


_HOST_KERNEL: tuple[int, int] | None = None


def host_kernel() -> tuple[int, int]:
    """(kernel, major) of the running kernel, e.g. (6, 1) for 6.1.0-18-amd64."""
    global _HOST_KERNEL
    if _HOST_KERNEL is None:
        _HOST_KERNEL = _parse_kernel(os.uname().release) or (0, 0)
    return _HOST_KERNEL


_KERNEL_SECCOMP: bool | None = None


def kernel_supports_seccomp() -> bool:
    """CONFIG_SECCOMP: /proc/self/status has a ``Seccomp:`` line."""
    global _KERNEL_SECCOMP
    if _KERNEL_SECCOMP is None:
        try:
            with open("/proc/self/status") as f:
                _KERNEL_SECCOMP = any(line.startswith("Seccomp:") for line in f)
        except OSError:
            _KERNEL_SECCOMP = True  # cannot tell: let the runtime decide
    return _KERNEL_SECCOMP


def default_profile_path() -> str | None:
    """containers-common's profile on this host, or None when it is not installed."""
    for p in DEFAULT_PROFILE_PATHS:
        if os.path.isfile(p):
            return p
    return None


# ---------------------------------------------------------------------------------------
# Parsing and validation


class _ProfileError(ValueError):
    pass


def _errno_value(v: Any, where: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise _ProfileError(f"{where}: errnoRet must be a non-negative integer, not {v!r}")
    return v


def _errno_name(name: Any, where: str) -> int:
    if not isinstance(name, str) or not hasattr(_errno, name):
        raise _ProfileError(f"{where}: unknown errno {name!r}")
    return int(getattr(_errno, name))


def _kernel_cond(v: Any, where: str) -> tuple[int, int] | None:
    if v is None or v == "":
        return None
    k = _parse_kernel(v) if isinstance(v, str) else None
    if k is None:
        raise _ProfileError(f'{where}: invalid kernel version: {v!r}, expected "<kernel>.<major>"')
    return k


def _str_list(v: Any, where: str) -> list[str]:
    if v is None:
        return []
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise _ProfileError(f"{where} must be a list of strings")
    return v


def _uint(v: Any, where: str, limit: int = 1 << 64) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < limit:
        raise _ProfileError(f"{where} must be an unsigned integer, not {v!r}")
    return v


class _Rule:
    """One syscall rule, its conditions precomputed, its OCI form prebuilt."""

    __slots__ = ("inc_caps", "inc_arches", "inc_kernel", "exc_caps", "exc_arches",
                 "exc_kernel", "oci")

    def __init__(self, raw: Any, i: int) -> None:
        where = f"syscalls[{i}]"
        if not isinstance(raw, dict):
            raise _ProfileError(f"{where} must be an object")
        names = _str_list(raw.get("names"), where + ".names")
        name = raw.get("name")
        if name:
            if not isinstance(name, str):
                raise _ProfileError(f"{where}.name must be a string")
            if names:
                raise _ProfileError("'name' and 'names' were specified in the seccomp profile, "
                                    "use either 'name' or 'names'")
            names = [name]
        if not names:
            raise _ProfileError(f"{where}: no syscall names")
        action = raw.get("action")
        if action not in ACTIONS:
            raise _ProfileError(f"{where}: invalid action {action!r}")
        oci: dict[str, Any] = {"names": list(names), "action": action}
        if raw.get("errnoRet") is not None:
            oci["errnoRet"] = _errno_value(raw["errnoRet"], where)
        elif raw.get("errno") and action in ("SCMP_ACT_ERRNO", "SCMP_ACT_TRACE"):
            # containers-common writes the symbolic name next to the number; honour it alone
            oci["errnoRet"] = _errno_name(raw["errno"], where)
        args = raw.get("args") or []
        if not isinstance(args, list):
            raise _ProfileError(f"{where}.args must be a list")
        out_args = []
        for j, a in enumerate(args):
            aw = f"{where}.args[{j}]"
            if not isinstance(a, dict):
                raise _ProfileError(f"{aw} must be an object")
            op = a.get("op")
            if op not in OPERATORS:
                raise _ProfileError(f"{aw}: invalid operator {op!r}")
            out_args.append({
                "index": _uint(a.get("index", 0), aw + ".index", 6),
                "value": _uint(a.get("value", 0), aw + ".value"),
                "valueTwo": _uint(a.get("valueTwo", 0) or 0, aw + ".valueTwo"),
                "op": op,
            })
        if out_args:
            oci["args"] = out_args
        self.oci = oci

        inc = raw.get("includes") or {}
        exc = raw.get("excludes") or {}
        if not isinstance(inc, dict) or not isinstance(exc, dict):
            raise _ProfileError(f"{where}: includes/excludes must be objects")
        self.inc_caps = frozenset(_str_list(inc.get("caps"), where + ".includes.caps"))
        self.inc_arches = frozenset(_str_list(inc.get("arches"), where + ".includes.arches"))
        self.inc_kernel = _kernel_cond(inc.get("minKernel"), where + ".includes.minKernel")
        self.exc_caps = frozenset(_str_list(exc.get("caps"), where + ".excludes.caps"))
        self.exc_arches = frozenset(_str_list(exc.get("arches"), where + ".excludes.arches"))
        self.exc_kernel = _kernel_cond(exc.get("minKernel"), where + ".excludes.minKernel")

    def applies(self, caps: frozenset[str], arch: str, kernel: tuple[int, int]) -> bool:
        if self.exc_arches and arch in self.exc_arches:
            return False
        if self.exc_caps and not self.exc_caps.isdisjoint(caps):
            return False
        if self.exc_kernel is not None and kernel >= self.exc_kernel:
            return False
        if self.inc_arches and arch not in self.inc_arches:
            return False
        if self.inc_caps and not self.inc_caps <= caps:
            return False
        if self.inc_kernel is not None and kernel < self.inc_kernel:
            return False
        return True


class _Compiled:
    __slots__ = ("disabled", "head", "arch_map", "architectures", "rules")

    def __init__(self, p: Any) -> None:
        if not isinstance(p, dict):
            raise _ProfileError("the profile must be a JSON object")
        syscalls = p.get("syscalls") or []
        if not isinstance(syscalls, list):
            raise _ProfileError("syscalls must be a list")
        default_action = p.get("defaultAction") or ""
        # Docker: no default action and no syscalls means no filter at all.
        self.disabled = default_action == "" and not syscalls
        if not self.disabled and default_action not in ACTIONS:
            raise _ProfileError(f"invalid defaultAction {default_action!r}")
        head: dict[str, Any] = {"defaultAction": default_action}
        if p.get("defaultErrnoRet") is not None:
            head["defaultErrnoRet"] = _errno_value(p["defaultErrnoRet"], "defaultErrnoRet")
        elif p.get("defaultErrno") and default_action in ("SCMP_ACT_ERRNO", "SCMP_ACT_TRACE"):
            head["defaultErrnoRet"] = _errno_name(p["defaultErrno"], "defaultErrno")
        flags = _str_list(p.get("flags"), "flags")
        for f in flags:
            if f not in FLAGS:
                raise _ProfileError(f"invalid seccomp flag {f!r}")
        if flags:
            head["flags"] = list(flags)
        if p.get("listenerPath"):
            if not isinstance(p["listenerPath"], str):
                raise _ProfileError("listenerPath must be a string")
            head["listenerPath"] = p["listenerPath"]
            if p.get("listenerMetadata"):
                head["listenerMetadata"] = str(p["listenerMetadata"])
        self.head = head

        architectures = _str_list(p.get("architectures"), "architectures")
        arch_map = p.get("archMap") or []
        if not isinstance(arch_map, list):
            raise _ProfileError("archMap must be a list")
        if architectures and arch_map:
            raise _ProfileError("'architectures' and 'archMap' were specified in the seccomp "
                                "profile, use either 'architectures' or 'archMap'")
        self.architectures = list(architectures)
        self.arch_map: dict[str, list[str]] = {}
        for i, m in enumerate(arch_map):
            if not isinstance(m, dict) or not isinstance(m.get("architecture"), str):
                raise _ProfileError(f"archMap[{i}] needs an 'architecture'")
            subs = _str_list(m.get("subArchitectures"), f"archMap[{i}].subArchitectures")
            self.arch_map.setdefault(m["architecture"], [m["architecture"], *subs])
        self.rules = [_Rule(r, i) for i, r in enumerate(syscalls)]

    def resolve(self, caps: frozenset[str], arch: str, kernel: tuple[int, int]) -> dict[str, Any] | None:
        if self.disabled:
            return None
        out = dict(self.head)
        archs = list(self.architectures)
        scmp = NATIVE_TO_SCMP.get(arch)
        if scmp is not None and scmp in self.arch_map:
            archs.extend(self.arch_map[scmp])
        if archs:
            out["architectures"] = archs
        out["syscalls"] = [r.oci for r in self.rules if r.applies(caps, arch, kernel)]
        return out


def _check(profile: Any) -> _Compiled:
    try:
        return _Compiled(profile)
    except _ProfileError as exc:
        raise InvalidParameter(f"Decoding seccomp profile failed: {exc}") from None


def parse_profile(text: str | bytes) -> dict:
    """Parse and validate a profile given as JSON text (what docker CLI sends inline)."""
    key = text if isinstance(text, str) else bytes(text)
    with _lock:
        hit = _inline_cache.get(key)
        if hit is not None:
            _inline_cache.move_to_end(key)
            return hit
    try:
        profile = json.loads(text)
    except ValueError as exc:
        raise InvalidParameter(f"Decoding seccomp profile failed: {exc}") from None
    _remember(profile, _check(profile))
    with _lock:
        _inline_cache[key] = profile
        while len(_inline_cache) > _INLINE_MAX:
            _inline_cache.popitem(last=False)
    return profile


def _open_error(path: str, exc: OSError) -> InvalidParameter:
    # Go's *PathError text, as docker prints it: "open /x.json: no such file or directory"
    reason = os.strerror(exc.errno).lower() if exc.errno else str(exc)
    op = "read" if exc.errno == _errno.EISDIR else "open"
    return InvalidParameter(f"opening seccomp profile ({path}) failed: {op} {path}: {reason}")


def load_profile(path: str) -> dict:
    """Read, parse and validate a profile file; cached by path and (mtime, size, inode).

    Raises InvalidParameter with Docker's wording: ``opening seccomp profile (PATH)
    failed: open PATH: no such file or directory``, ``Decoding seccomp profile failed: ...``.
    """
    try:
        st = os.stat(path)
    except OSError as exc:
        raise _open_error(path, exc) from None
    stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
    with _lock:
        hit = _file_cache.get(path)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise _open_error(path, exc) from None
    try:
        profile = json.loads(data)
    except ValueError as exc:
        raise InvalidParameter(f"Decoding seccomp profile failed: {exc}") from None
    try:
        compiled = _Compiled(profile)
    except _ProfileError as exc:
        raise InvalidParameter(f"loading seccomp profile ({path}) failed: {exc}") from None
    _remember(profile, compiled)
    with _lock:
        _file_cache[path] = (stamp, profile)
    return profile


# ---------------------------------------------------------------------------------------
# Caches. Compiled profiles and results are keyed by id(profile); each entry holds a strong
# reference to the profile so that the id cannot be reused while the entry lives.

_lock = threading.Lock()
_file_cache: dict[str, tuple[tuple[int, int, int], dict]] = {}
_INLINE_MAX = 32
_inline_cache: OrderedDict[str | bytes, dict] = OrderedDict()
_COMPILED_MAX = 64
_compiled: OrderedDict[int, tuple[Any, _Compiled]] = OrderedDict()
_RESULTS_MAX = 512
_results: OrderedDict[tuple, tuple[Any, dict[str, Any] | None]] = OrderedDict()


def _remember(profile: Any, compiled: _Compiled) -> None:
    with _lock:
        _compiled[id(profile)] = (profile, compiled)
        _compiled.move_to_end(id(profile))
        while len(_compiled) > _COMPILED_MAX:
            _compiled.popitem(last=False)


def _compiled_for(profile: Any) -> _Compiled:
    with _lock:
        hit = _compiled.get(id(profile))
    if hit is not None and hit[0] is profile:
        return hit[1]
    compiled = _check(profile)
    _remember(profile, compiled)
    return compiled


def clear_caches() -> None:
    """Forget every parsed profile and conversion (tests; a changed profile is noticed anyway)."""
    global _warned_missing
    with _lock:
        _file_cache.clear()
        _inline_cache.clear()
        _compiled.clear()
        _results.clear()
        _warned_missing = False


def _copy(oci: dict[str, Any]) -> dict[str, Any]:
    """A copy deep enough that a caller editing the spec cannot spoil the memo."""
    out = dict(oci)
    if "architectures" in out:
        out["architectures"] = list(out["architectures"])
    if "flags" in out:
        out["flags"] = list(out["flags"])
    rules = []
    for r in oci["syscalls"]:
        c = dict(r)
        c["names"] = list(r["names"])
        if "args" in r:
            c["args"] = [dict(a) for a in r["args"]]
        rules.append(c)
    out["syscalls"] = rules
    return out


# ---------------------------------------------------------------------------------------
# Conversion


def _norm_cap(c: str) -> str:
    c = c.upper()
    return c if c.startswith("CAP_") else "CAP_" + c


def to_oci(profile: dict, *, caps: set[str] | frozenset[str], arch: str | None = None,
           kernel: tuple[int, int] | None = None) -> dict | None:
    """Resolve *profile* for one container into the OCI ``linux.seccomp`` object.

    *caps* are the container's capability names (``CAP_SYS_ADMIN``; ``SYS_ADMIN`` is
    accepted too). *arch* is any spelling of an arch (``amd64``, ``x86_64``,
    ``SCMP_ARCH_X86_64``), default the host's; *kernel* is ``(kernel, major)``, default
    the running kernel. Returns None only for a profile with neither ``defaultAction``
    nor ``syscalls`` (Docker treats it as "no filter"). The result is a fresh copy.
    """
    if isinstance(caps, frozenset) and all(c.startswith("CAP_") for c in caps):
        fcaps = caps
    else:
        fcaps = frozenset(_norm_cap(c) for c in caps)
    native = host_arch() if arch is None else _native_arch(arch)
    kern = host_kernel() if kernel is None else (int(kernel[0]), int(kernel[1]))
    key = (id(profile), fcaps, native, kern)
    with _lock:
        hit = _results.get(key)
        if hit is not None and hit[0] is profile:
            _results.move_to_end(key)
        else:
            hit = None
    if hit is None:
        result = _compiled_for(profile).resolve(fcaps, native, kern)
        with _lock:
            _results[key] = (profile, result)
            while len(_results) > _RESULTS_MAX:
                _results.popitem(last=False)
    else:
        result = hit[1]
    return None if result is None else _copy(result)


# ---------------------------------------------------------------------------------------
# --security-opt seccomp=...

_warned_missing = False


def _seccomp_opt(security_opt: list[str] | None) -> str | None:
    """The value of the last ``seccomp=`` (or deprecated ``seccomp:``) option, else None."""
    value = None
    for opt in security_opt or ():
        k, eq, v = opt.partition("=")
        if not eq:
            k, eq, v = opt.partition(":")
        if eq and k.strip() == "seccomp":
            value = v
    return value


def seccomp_for(security_opt: list[str] | None, caps: set[str] | frozenset[str],
                privileged: bool) -> dict | None:
    """The ``linux.seccomp`` object for a container, or None for no filter (Docker's rules).

    * ``seccomp=unconfined`` or ``--privileged``: no filter;
    * ``seccomp=<JSON>`` (docker CLI sends file contents inline) or ``seccomp=/path.json``:
      that profile (InvalidParameter ``opening seccomp profile (PATH) failed: ...`` when
      the file cannot be read). It is loaded and checked even with ``--privileged``, as
      ``docker run`` does, and then not applied;
    * nothing, ``seccomp=`` or ``seccomp=builtin``: containers-common's profile, or no
      filter and one logged warning when the host has none.
    """
    value = _seccomp_opt(security_opt)
    spec = value.strip() if value is not None else ""
    if spec == UNCONFINED:
        return None
    custom = spec not in ("", BUILTIN)
    if custom:
        if not kernel_supports_seccomp():
            raise InvalidParameter("seccomp is not enabled in your kernel, cannot run a custom seccomp profile")
        profile = parse_profile(spec) if spec.startswith("{") else load_profile(spec)
        if privileged:
            return None
        return to_oci(profile, caps=caps)
    if privileged:
        return None
    path = default_profile_path()
    if path is None or not kernel_supports_seccomp():
        global _warned_missing
        if not _warned_missing:
            _warned_missing = True
            if path is None:
                log.warning("no default seccomp profile (%s not found): running containers "
                            "without a seccomp filter; install golang-github-containers-common",
                            " or ".join(DEFAULT_PROFILE_PATHS))
            else:
                log.warning("seccomp is not enabled in your kernel, running container without default profile")
        return None
    return to_oci(load_profile(path), caps=caps)
