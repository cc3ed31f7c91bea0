"""to_oci: a profile resolved for one container into the OCI ``linux.seccomp`` object."""
from __future__ import annotations

from typing import Any

from hithe.runtime.seccomp.host import _native_arch, host_arch, host_kernel, kernel_has_x32
from hithe.runtime.seccomp.profile import _RESULTS_MAX, _compiled_for, _lock, _results


# ---------------------------------------------------------------------------------------
# Conversion


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


def _norm_cap(c: str) -> str:
    c = c.upper()
    return c if c.startswith("CAP_") else "CAP_" + c


def to_oci(profile: dict, *, caps: set[str] | frozenset[str], arch: str | None = None,
           kernel: tuple[int, int] | None = None, x32: bool | None = None) -> dict | None:
    """Resolve *profile* for one container into the OCI ``linux.seccomp`` object.

    *caps* are the container's capability names (``CAP_SYS_ADMIN``; ``SYS_ADMIN`` is
    accepted too). *arch* is any spelling of an arch (``amd64``, ``x86_64``,
    ``SCMP_ARCH_X86_64``), default the host's; *kernel* is ``(kernel, major)``, default
    the running kernel. *x32* says whether the kernel runs x32 system calls (default:
    probed); without them SCMP_ARCH_X32 is left out of the filter, since no x32
    program can run there anyway and the runtime then compiles the filter for
    one arch less (~8 ms off every container start and exec). Returns None only for a profile with neither ``defaultAction``
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
    if result is None:
        return None
    out = _copy(result)
    archs = out.get("architectures")
    if native == "amd64" and archs and len(archs) > 1 and "SCMP_ARCH_X32" in archs:
        if not (kernel_has_x32() if x32 is None else x32):
            out["architectures"] = [a for a in archs if a != "SCMP_ARCH_X32"]
    return out
