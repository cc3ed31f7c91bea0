"""Shared by the seccomp tests: tests/unit/test_seccomp*.py, tests/integration/test_seccomp_runc.py."""
from __future__ import annotations

import os

import pytest

CC_PROFILE = "/usr/share/containers/seccomp.json"

# Docker's default capability set (moby oci/caps/defaults.go).
DEFAULT_CAPS = frozenset({
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
})
ADMIN_CAPS = DEFAULT_CAPS | {"CAP_SYS_ADMIN"}

X86_ARCHES = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]

needs_cc = pytest.mark.skipif(not os.path.isfile(CC_PROFILE),
                              reason="apt-get install golang-github-containers-common")

# A profile shaped like Docker's own default.json (profiles/seccomp/default.json), cut down to
# the rules whose conditions matter: containers-common allows mount/unshare unconditionally and
# has no minKernel rule, Docker gates them on CAP_SYS_ADMIN and the kernel version.
DOCKER_LIKE = {
    "defaultAction": "SCMP_ACT_ERRNO",
    "defaultErrnoRet": 1,
    "archMap": [
        {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
        {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]},
    ],
    "syscalls": [
        {"names": ["accept", "arch_prctl", "brk", "capget", "capset", "chdir", "close", "dup2",
                   "execve", "exit", "exit_group", "fcntl", "fstat", "getcwd", "getpid", "getppid",
                   "getuid", "ioctl", "lseek", "mmap", "mprotect", "munmap", "newfstatat", "open",
                   "openat", "prctl", "read", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn",
                   "set_tid_address", "stat", "uname", "wait4", "write", "writev", "fork", "vfork",
                   "getpgrp", "setpgid", "getpgid", "statx", "access", "faccessat", "faccessat2",
                   "geteuid", "getgid", "getegid", "readlink", "sysinfo", "getrandom", "pipe",
                   "pipe2", "dup", "dup3", "rseq", "set_robust_list", "prlimit64", "lstat",
                   "arch_prctl", "getdents64", "clock_gettime", "gettid", "tgkill", "kill"],
         "action": "SCMP_ACT_ALLOW"},
        {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_EQ"}]},
        {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8"}},
        {"names": ["kcmp", "process_vm_readv", "ptrace"], "action": "SCMP_ACT_ALLOW",
         "includes": {"caps": ["CAP_SYS_PTRACE"]}},
        {"names": ["bpf", "clone", "clone3", "mount", "sethostname", "setns", "umount2", "unshare"],
         "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
        {"names": ["clone"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}],
         "excludes": {"caps": ["CAP_SYS_ADMIN"], "arches": ["s390", "s390x"]}},
        {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38,
         "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
        {"name": "sync_file_range2", "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["ppc64le"]}},
        {"names": ["uselib"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
         "excludes": {"minKernel": "5.0"}},
        {"names": ["modify_ldt"], "action": "SCMP_ACT_ALLOW",
         "includes": {"arches": ["amd64", "x32", "x86"]}},
    ],
}


def rules_for(oci: dict, name: str) -> list[tuple]:
    """(action, errnoRet, args) of every rule naming *name*, in profile order."""
    return [(r["action"], r.get("errnoRet"), r.get("args")) for r in oci["syscalls"]
            if name in r["names"]]


def allowed(oci: dict, name: str) -> bool:
    """Whether some rule allows *name* without argument conditions."""
    return any(a == "SCMP_ACT_ALLOW" and not args for a, _, args in rules_for(oci, name))


def denied_eperm(oci: dict, name: str) -> bool:
    return ("SCMP_ACT_ERRNO", 1, None) in rules_for(oci, name)
