"""Validating a profile and compiling it into a rule table resolved per (caps, arch, kernel)."""
from __future__ import annotations

import errno as _errno
from typing import Any

from hithe.errors import InvalidParameter
from hithe.runtime.seccomp.host import NATIVE_TO_SCMP, _parse_kernel


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
