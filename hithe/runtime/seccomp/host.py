"""Host facts for resolving a profile: the libseccomp arch name, the kernel version, CONFIG_SECCOMP."""
from __future__ import annotations

import os
import platform
import re
import sys


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


_X32_SYSCALL_BIT = 0x40000000
_NR_GETPID_X32 = 39  # getpid's number in the x32 table (same as x86_64's)
_KERNEL_X32: bool | None = None


def kernel_has_x32() -> bool:
    """Whether the kernel runs x32-ABI system calls (CONFIG_X86_X32_ABI, on by
    default only with syscall.x32=y on Debian). Probed with an x32 getpid: a
    kernel without the ABI answers ENOSYS."""
    global _KERNEL_X32
    if _KERNEL_X32 is None:
        if host_arch() != "amd64":
            _KERNEL_X32 = False
        else:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            _KERNEL_X32 = libc.syscall(ctypes.c_long(_X32_SYSCALL_BIT | _NR_GETPID_X32)) >= 0
    return _KERNEL_X32
