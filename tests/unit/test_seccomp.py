"""Seccomp profiles (containers-common / Docker format) resolved into OCI linux.seccomp."""
from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import time
import uuid

import pytest

from hithe.errors import InvalidParameter
from hithe.runtime import seccomp
from hithe.runtime.seccomp import (default_profile_path, load_profile, parse_profile, seccomp_for,
                                   to_oci)

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


@pytest.fixture(autouse=True)
def _fresh_caches():
    seccomp.clear_caches()
    yield
    seccomp.clear_caches()


def rules_for(oci: dict, name: str) -> list[tuple]:
    """(action, errnoRet, args) of every rule naming *name*, in profile order."""
    return [(r["action"], r.get("errnoRet"), r.get("args")) for r in oci["syscalls"]
            if name in r["names"]]


def allowed(oci: dict, name: str) -> bool:
    """Whether some rule allows *name* without argument conditions."""
    return any(a == "SCMP_ACT_ALLOW" and not args for a, _, args in rules_for(oci, name))


def denied_eperm(oci: dict, name: str) -> bool:
    return ("SCMP_ACT_ERRNO", 1, None) in rules_for(oci, name)


# ---------------------------------------------------------------------------------------
# The real containers-common profile


@needs_cc
def test_default_profile_path_is_containers_common():
    p = default_profile_path()
    assert p in seccomp.DEFAULT_PROFILE_PATHS
    assert os.path.isfile(p)


@needs_cc
def test_containers_common_default_caps():
    oci = to_oci(load_profile(CC_PROFILE), caps=DEFAULT_CAPS, arch="amd64", kernel=(6, 1))
    assert oci["defaultAction"] == "SCMP_ACT_ERRNO"
    assert oci["defaultErrnoRet"] == 38  # ENOSYS: unknown syscalls look unimplemented
    assert oci["architectures"] == X86_ARCHES
    # only OCI fields survive
    for r in oci["syscalls"]:
        assert set(r) <= {"names", "action", "errnoRet", "args"}, r
    assert set(oci) == {"defaultAction", "defaultErrnoRet", "architectures", "syscalls"}
    # CAP_SYS_ADMIN-gated calls are refused with EPERM without the cap
    for name in ("bpf", "sethostname", "setdomainname", "perf_event_open", "quotactl"):
        assert denied_eperm(oci, name), name
        assert not allowed(oci, name), name
    # setns sits in the general allow list *and* in the EPERM rule: converted faithfully
    # (libseccomp keeps the first, so containers-common 0.50 effectively allows setns)
    assert allowed(oci, "setns") and denied_eperm(oci, "setns")
    # other cap-gated groups, with their caps missing from Docker's default set
    for name in ("open_by_handle_at", "init_module", "acct", "kcmp", "iopl", "settimeofday",
                 "vhangup"):
        assert denied_eperm(oci, name) and not allowed(oci, name), name
    # kexec & co. are refused for everyone
    assert denied_eperm(oci, "kexec_load")
    # CAP_SYS_CHROOT is in the default set
    assert allowed(oci, "chroot") and not denied_eperm(oci, "chroot")
    # CAP_AUDIT_WRITE held: one unconditional socket rule, no argument-filtered ones
    assert rules_for(oci, "socket") == [("SCMP_ACT_ALLOW", None, None)]
    # argument filters carried with index/value/valueTwo/op
    pers = [args for _, _, args in rules_for(oci, "personality")]
    assert {a[0]["value"] for a in pers} == {0, 8, 131072, 131080, 4294967295}
    assert pers[0] == [{"index": 0, "value": 0, "valueTwo": 0, "op": "SCMP_CMP_EQ"}]
    # containers-common relies on the capability, not seccomp, for mount/unshare/ptrace
    for name in ("mount", "umount2", "unshare", "ptrace", "clone", "clone3"):
        assert allowed(oci, name), name


@needs_cc
def test_containers_common_with_sys_admin():
    profile = load_profile(CC_PROFILE)
    oci = to_oci(profile, caps=ADMIN_CAPS, arch="amd64", kernel=(6, 1))
    for name in ("setns", "bpf", "sethostname", "setdomainname", "fanotify_init", "quotactl"):
        assert allowed(oci, name), name
        assert not denied_eperm(oci, name), name
    # still nothing for caps not granted
    assert denied_eperm(oci, "init_module")
    base = to_oci(profile, caps=DEFAULT_CAPS, arch="amd64", kernel=(6, 1))
    assert len(oci["syscalls"]) == len(base["syscalls"])  # one ALLOW replaces one ERRNO rule


@needs_cc
def test_containers_common_without_audit_write_filters_netlink_audit():
    oci = to_oci(load_profile(CC_PROFILE), caps=DEFAULT_CAPS - {"CAP_AUDIT_WRITE"}, arch="amd64")
    socket = rules_for(oci, "socket")
    # socket(AF_NETLINK=16, *, NETLINK_AUDIT=9) -> EINVAL, everything else allowed
    assert ("SCMP_ACT_ERRNO", 22, [
        {"index": 0, "value": 16, "valueTwo": 0, "op": "SCMP_CMP_EQ"},
        {"index": 2, "value": 9, "valueTwo": 0, "op": "SCMP_CMP_EQ"}]) in socket
    assert not allowed(oci, "socket")
    assert len(socket) == 4


@needs_cc
@pytest.mark.parametrize("arch", ["amd64", "x86_64", "SCMP_ARCH_X86_64"])
def test_arch_spellings(arch):
    oci = to_oci(load_profile(CC_PROFILE), caps=DEFAULT_CAPS, arch=arch)
    assert oci["architectures"] == X86_ARCHES
    assert allowed(oci, "arch_prctl") and allowed(oci, "modify_ldt")


@needs_cc
def test_arch_filtering():
    profile = load_profile(CC_PROFILE)
    arm = to_oci(profile, caps=DEFAULT_CAPS, arch="aarch64")
    assert arm["architectures"] == ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]
    for name in ("breakpoint", "cacheflush", "set_tls", "arm_fadvise64_64"):
        assert allowed(arm, name), name
    for name in ("arch_prctl", "modify_ldt", "s390_runtime_instr"):
        assert rules_for(arm, name) == [], name

    x86 = to_oci(profile, caps=DEFAULT_CAPS, arch="amd64")
    for name in ("breakpoint", "cacheflush", "s390_pci_mmio_read", "sync_file_range2"):
        assert rules_for(x86, name) == [], name

    s390 = to_oci(profile, caps=DEFAULT_CAPS, arch="s390x")
    assert s390["architectures"] == ["SCMP_ARCH_S390X", "SCMP_ARCH_S390"]
    assert allowed(s390, "s390_pci_mmio_write") and rules_for(s390, "arch_prctl") == []

    ppc = to_oci(profile, caps=DEFAULT_CAPS, arch="ppc64le")
    assert "architectures" not in ppc  # no archMap entry: the runtime uses the native arch
    assert allowed(ppc, "sync_file_range2") and rules_for(ppc, "cacheflush") == []


def test_host_arch_names():
    m = seccomp._native_arch
    assert m("x86_64") == "amd64" and m("aarch64") == "arm64" and m("armv7l") == "arm"
    assert m("i686") == "x86" and m("ppc64le") == "ppc64le" and m("s390x") == "s390x"
    assert m("riscv64") == "riscv64" and m("SCMP_ARCH_AARCH64") == "arm64"
    assert seccomp.host_arch() == m(__import__("platform").machine())
    assert seccomp.host_kernel() == tuple(int(x) for x in os.uname().release.split(".")[:2])


@needs_cc
def test_default_arch_and_kernel_are_the_hosts():
    profile = load_profile(CC_PROFILE)
    assert to_oci(profile, caps=DEFAULT_CAPS) == to_oci(
        profile, caps=DEFAULT_CAPS, arch=seccomp.host_arch(), kernel=seccomp.host_kernel())


# ---------------------------------------------------------------------------------------
# Docker-format conditions


def test_docker_profile_sys_admin_gates_mount_and_unshare():
    base = to_oci(DOCKER_LIKE, caps=DEFAULT_CAPS, arch="amd64", kernel=(6, 1))
    admin = to_oci(DOCKER_LIKE, caps=ADMIN_CAPS, arch="amd64", kernel=(6, 1))
    for name in ("mount", "unshare", "umount2", "setns", "sethostname", "bpf"):
        assert not rules_for(base, name), name  # falls to defaultAction (EPERM)
        assert allowed(admin, name), name
    # clone: only without namespace flags unless CAP_SYS_ADMIN
    assert rules_for(base, "clone") == [("SCMP_ACT_ALLOW", None, [
        {"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}])]
    assert rules_for(admin, "clone") == [("SCMP_ACT_ALLOW", None, None)]
    # clone3 -> ENOSYS so that libcs fall back to clone
    assert rules_for(base, "clone3") == [("SCMP_ACT_ERRNO", 38, None)]
    assert rules_for(admin, "clone3") == [("SCMP_ACT_ALLOW", None, None)]
    assert base["defaultErrnoRet"] == 1
    # excludes.arches: the masked clone rule is not for s390x
    s390 = to_oci(DOCKER_LIKE, caps=DEFAULT_CAPS, arch="s390x", kernel=(6, 1))
    assert rules_for(s390, "clone") == [] and "architectures" not in s390


@pytest.mark.parametrize("kernel,ptrace", [((3, 10), False), ((4, 7), False), ((4, 8), True),
                                           ((4, 19), True), ((6, 1), True)])
def test_docker_profile_ptrace_by_kernel(kernel, ptrace):
    oci = to_oci(DOCKER_LIKE, caps=DEFAULT_CAPS, arch="amd64", kernel=kernel)
    assert allowed(oci, "ptrace") is ptrace
    # with CAP_SYS_PTRACE, ptrace is allowed on any kernel
    assert allowed(to_oci(DOCKER_LIKE, caps=DEFAULT_CAPS | {"CAP_SYS_PTRACE"}, arch="amd64",
                          kernel=kernel), "ptrace")
    # excludes.minKernel 5.0: uselib is refused only on older kernels
    assert bool(rules_for(oci, "uselib")) is (kernel < (5, 0))


def test_includes_need_every_cap():
    p = {"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["x"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_A", "CAP_B"]}},
        {"names": ["y"], "action": "SCMP_ACT_ALLOW", "excludes": {"caps": ["CAP_A", "CAP_B"]}}]}
    names = lambda caps: [r["names"][0] for r in to_oci(p, caps=caps)["syscalls"]]  # noqa: E731
    assert names(set()) == ["y"]
    assert names({"CAP_A"}) == []
    assert names({"CAP_A", "CAP_B"}) == ["x"]
    assert names({"a", "b"}) == ["x"]  # names without CAP_ and in lower case are accepted


def test_singular_name_errno_names_and_flags():
    p = {"defaultAction": "SCMP_ACT_KILL_PROCESS", "defaultErrno": "ENOSYS",
         "flags": ["SECCOMP_FILTER_FLAG_LOG"], "architectures": ["SCMP_ARCH_X86_64"],
         "syscalls": [{"name": "read", "action": "SCMP_ACT_ALLOW"},
                      {"names": ["write"], "action": "SCMP_ACT_ERRNO", "errno": "EACCES"},
                      {"names": ["open"], "action": "SCMP_ACT_ERRNO", "errno": "EPERM", "errnoRet": 5}]}
    oci = to_oci(p, caps=set(), arch="arm64")
    assert oci["flags"] == ["SECCOMP_FILTER_FLAG_LOG"]
    assert oci["architectures"] == ["SCMP_ARCH_X86_64"]  # explicit list is kept as written
    assert "defaultErrnoRet" not in oci  # only meaningful with ERRNO/TRACE
    assert oci["syscalls"] == [{"names": ["read"], "action": "SCMP_ACT_ALLOW"},
                               {"names": ["write"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
                               {"names": ["open"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5}]


def test_empty_profile_means_no_filter():
    assert to_oci({}, caps=DEFAULT_CAPS) is None
    assert seccomp_for(["seccomp={}"], DEFAULT_CAPS, False) is None


@pytest.mark.parametrize("profile,msg", [
    ({"defaultAction": "SCMP_ACT_NOPE", "syscalls": []}, "invalid defaultAction"),
    ({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["x"], "action": "ALLOW"}]},
     "invalid action"),
    ({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"name": "x", "names": ["y"],
                                                        "action": "SCMP_ACT_ALLOW"}]},
     "'name' and 'names' were specified in the seccomp profile, use either 'name' or 'names'"),
    ({"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X86"],
      "archMap": [{"architecture": "SCMP_ARCH_X86_64"}], "syscalls": []},
     "'architectures' and 'archMap' were specified in the seccomp profile"),
    ({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["x"], "action": "SCMP_ACT_ALLOW",
                                                        "args": [{"index": 7, "value": 0,
                                                                  "op": "SCMP_CMP_EQ"}]}]},
     "index must be an unsigned integer"),
    ({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["x"], "action": "SCMP_ACT_ALLOW",
                                                        "includes": {"minKernel": "four"}}]},
     "invalid kernel version"),
    ({"defaultAction": "SCMP_ACT_ERRNO", "flags": ["SECCOMP_FILTER_FLAG_BOGUS"], "syscalls": []},
     "invalid seccomp flag"),
    ([], "must be a JSON object"),
])
def test_invalid_profiles(profile, msg):
    with pytest.raises(InvalidParameter, match="Decoding seccomp profile failed") as ei:
        to_oci(profile, caps=DEFAULT_CAPS)
    assert msg in str(ei.value)


# ---------------------------------------------------------------------------------------
# --security-opt / --privileged


@needs_cc
def test_seccomp_for_default_and_builtin():
    want = to_oci(load_profile(default_profile_path()), caps=DEFAULT_CAPS)
    assert seccomp_for([], DEFAULT_CAPS, False) == want
    assert seccomp_for(None, DEFAULT_CAPS, False) == want
    assert seccomp_for(["seccomp=builtin"], DEFAULT_CAPS, False) == want
    assert seccomp_for(["no-new-privileges", "label=disable", "apparmor=unconfined"],
                       DEFAULT_CAPS, False) == want
    admin = seccomp_for([], ADMIN_CAPS, False)
    assert allowed(admin, "sethostname") and not allowed(want, "sethostname")
    assert denied_eperm(want, "setns") and not denied_eperm(admin, "setns")


@pytest.mark.parametrize("opts", [["seccomp=unconfined"], ["seccomp:unconfined"],
                                  ["seccomp=/etc/x.json", "seccomp=unconfined"]])
def test_unconfined(opts):
    assert seccomp_for(opts, DEFAULT_CAPS, False) is None


def test_privileged(tmp_path):
    assert seccomp_for([], DEFAULT_CAPS, True) is None
    f = tmp_path / "p.json"
    f.write_text(json.dumps(DOCKER_LIKE))
    assert seccomp_for([f"seccomp={f}"], DEFAULT_CAPS, True) is None
    # the named profile is still read and checked, as docker run does
    with pytest.raises(InvalidParameter, match=r"^opening seccomp profile"):
        seccomp_for([f"seccomp={tmp_path}/missing.json"], DEFAULT_CAPS, True)


def test_custom_profile_file_and_inline_json(tmp_path):
    f = tmp_path / "custom.json"
    f.write_text(json.dumps(DOCKER_LIKE, indent=2))
    by_path = seccomp_for([f"seccomp={f}"], DEFAULT_CAPS, False)
    assert by_path == to_oci(DOCKER_LIKE, caps=DEFAULT_CAPS)
    # docker CLI reads the file and sends it compacted in the option
    inline = seccomp_for(["seccomp=" + json.dumps(DOCKER_LIKE, separators=(",", ":"))],
                         DEFAULT_CAPS, False)
    assert inline == by_path
    assert seccomp_for([" seccomp= " + json.dumps(DOCKER_LIKE)], ADMIN_CAPS, False) == \
        to_oci(DOCKER_LIKE, caps=ADMIN_CAPS)
    assert seccomp_for([f"seccomp:{f}"], DEFAULT_CAPS, False) == by_path  # deprecated form


def test_bad_profile_path():
    with pytest.raises(InvalidParameter) as ei:
        seccomp_for(["seccomp=/nonexistent/profile.json"], DEFAULT_CAPS, False)
    assert str(ei.value) == ("opening seccomp profile (/nonexistent/profile.json) failed: "
                             "open /nonexistent/profile.json: no such file or directory")
    with pytest.raises(InvalidParameter, match=r"^opening seccomp profile \(/nonexistent/p\) failed"):
        load_profile("/nonexistent/p")


def test_profile_path_is_a_directory(tmp_path):
    with pytest.raises(InvalidParameter) as ei:
        seccomp_for([f"seccomp={tmp_path}"], DEFAULT_CAPS, False)
    assert str(ei.value) == f"opening seccomp profile ({tmp_path}) failed: read {tmp_path}: is a directory"


def test_bad_profile_contents(tmp_path):
    f = tmp_path / "bad.json"
    f.write_text("{not json")
    with pytest.raises(InvalidParameter, match=r"^Decoding seccomp profile failed: "):
        seccomp_for([f"seccomp={f}"], DEFAULT_CAPS, False)
    with pytest.raises(InvalidParameter, match=r"^Decoding seccomp profile failed: "):
        seccomp_for(['seccomp={"defaultAction": '], DEFAULT_CAPS, False)
    f.write_text(json.dumps({"defaultAction": "SCMP_ACT_ERRNO",
                             "syscalls": [{"names": ["x"], "action": "SCMP_ACT_BOGUS"}]}))
    with pytest.raises(InvalidParameter, match=rf"^loading seccomp profile \({f}\) failed: .*invalid action"):
        load_profile(str(f))


def test_no_profile_on_host_warns_once(monkeypatch, caplog, tmp_path):
    monkeypatch.setattr(seccomp, "DEFAULT_PROFILE_PATHS", (str(tmp_path / "none.json"),))
    assert default_profile_path() is None
    with caplog.at_level(logging.WARNING, logger="hithe.runtime.seccomp"):
        assert seccomp_for([], DEFAULT_CAPS, False) is None
        assert seccomp_for(["seccomp=builtin"], DEFAULT_CAPS, False) is None
    warnings = [r for r in caplog.records if r.name == "hithe.runtime.seccomp"]
    assert len(warnings) == 1 and "without a seccomp filter" in warnings[0].getMessage()
    # an explicit profile still works without the default one
    assert seccomp_for(["seccomp=" + json.dumps(DOCKER_LIKE)], DEFAULT_CAPS, False) is not None


def test_override_in_etc_wins(monkeypatch, tmp_path):
    etc = tmp_path / "etc.json"
    usr = tmp_path / "usr.json"
    usr.write_text(json.dumps(DOCKER_LIKE))
    monkeypatch.setattr(seccomp, "DEFAULT_PROFILE_PATHS", (str(etc), str(usr)))
    assert default_profile_path() == str(usr)
    etc.write_text(json.dumps({**DOCKER_LIKE, "defaultErrnoRet": 38}))
    assert default_profile_path() == str(etc)
    assert seccomp_for([], DEFAULT_CAPS, False)["defaultErrnoRet"] == 38


# ---------------------------------------------------------------------------------------
# Caching


def test_file_cache_follows_mtime(tmp_path):
    f = tmp_path / "p.json"
    f.write_text(json.dumps(DOCKER_LIKE))
    a = load_profile(str(f))
    assert load_profile(str(f)) is a
    f.write_text(json.dumps({**DOCKER_LIKE, "defaultErrnoRet": 38}))
    st = os.stat(f)
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    b = load_profile(str(f))
    assert b is not a and b["defaultErrnoRet"] == 38
    assert to_oci(b, caps=DEFAULT_CAPS)["defaultErrnoRet"] == 38


def test_inline_json_is_cached():
    text = json.dumps(DOCKER_LIKE)
    assert parse_profile(text) is parse_profile(text)


def test_results_are_copies():
    first = to_oci(DOCKER_LIKE, caps=DEFAULT_CAPS, arch="amd64")
    first["syscalls"][0]["names"].append("reboot")
    first["syscalls"].clear()
    first["architectures"].clear()
    again = to_oci(DOCKER_LIKE, caps=DEFAULT_CAPS, arch="amd64")
    assert again["syscalls"] and "reboot" not in again["syscalls"][0]["names"]
    assert again["architectures"] == X86_ARCHES


def test_memo_keys_on_caps_arch_kernel():
    a = to_oci(DOCKER_LIKE, caps=DEFAULT_CAPS, arch="amd64", kernel=(6, 1))
    assert to_oci(DOCKER_LIKE, caps=set(DEFAULT_CAPS), arch="x86_64", kernel=(6, 1)) == a
    assert to_oci(DOCKER_LIKE, caps=ADMIN_CAPS, arch="amd64", kernel=(6, 1)) != a
    assert to_oci(DOCKER_LIKE, caps=DEFAULT_CAPS, arch="arm64", kernel=(6, 1)) != a
    assert to_oci(DOCKER_LIKE, caps=DEFAULT_CAPS, arch="amd64", kernel=(4, 4)) != a


@needs_cc
def test_cached_calls_are_fast():
    caps = set(DEFAULT_CAPS)
    t0 = time.perf_counter()
    first = seccomp_for([], caps, False)
    cold = time.perf_counter() - t0
    n = 2000
    t0 = time.perf_counter()
    for _ in range(n):
        seccomp_for([], caps, False)
    warm = (time.perf_counter() - t0) / n
    profile = load_profile(CC_PROFILE)
    t0 = time.perf_counter()
    for _ in range(n):
        to_oci(profile, caps=caps)
    conv = (time.perf_counter() - t0) / n
    t0 = time.perf_counter()
    for _ in range(n):
        to_oci(profile, caps=ADMIN_CAPS | {f"CAP_X{_ % 1000}"})  # every call misses the memo
    miss = (time.perf_counter() - t0) / n
    print(f"\nseccomp_for: first {cold * 1e3:.3f} ms, cached {warm * 1e6:.1f} us; "
          f"to_oci cached {conv * 1e6:.1f} us, uncached {miss * 1e6:.1f} us")
    assert seccomp_for([], caps, False) == first


# ---------------------------------------------------------------------------------------
# A real runtime: runc with a busybox rootfs

BUSYBOX = "/bin/busybox"
RUNC = shutil.which("runc")

needs_runc = pytest.mark.skipif(
    os.geteuid() != 0 or RUNC is None or not os.path.isfile(BUSYBOX),
    reason="needs root, runc and busybox-static")


@pytest.fixture(scope="module")
def rootfs(tmp_path_factory):
    root = tmp_path_factory.mktemp("busybox") / "rootfs"
    for d in ("bin", "proc", "dev", "sys", "tmp", "etc"):
        (root / d).mkdir(parents=True)
    shutil.copy2(BUSYBOX, root / "bin" / "busybox")
    out = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True, check=True).stdout
    for applet in out.split():
        if applet != "busybox":
            os.symlink("busybox", root / "bin" / applet)
    return root


def run_in_runc(tmp_path, rootfs, script: str, *, caps, sec: dict | None) -> subprocess.CompletedProcess:
    bundle = tmp_path / f"bundle-{uuid.uuid4().hex[:8]}"
    bundle.mkdir()
    caps = sorted(caps)
    config = {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": False, "user": {"uid": 0, "gid": 0},
            "args": ["/bin/sh", "-c", script],
            "env": ["PATH=/bin"], "cwd": "/",
            "capabilities": {k: caps for k in ("bounding", "effective", "permitted")},
            "noNewPrivileges": False,
        },
        "root": {"path": str(rootfs), "readonly": True},
        "hostname": "seccomp-test",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev"]},
        ],
        "linux": {
            "namespaces": [{"type": t} for t in ("pid", "ipc", "uts", "mount", "network")],
            "maskedPaths": ["/proc/kcore", "/proc/keys"],
            "readonlyPaths": ["/proc/sys", "/proc/sysrq-trigger"],
        },
    }
    if sec is not None:
        config["linux"]["seccomp"] = sec
    (bundle / "config.json").write_text(json.dumps(config))
    state = tmp_path / "runc-state"
    cid = "hithe-seccomp-" + uuid.uuid4().hex[:12]
    try:
        return subprocess.run([RUNC, "--root", str(state), "run", "--bundle", str(bundle), cid],
                              capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    finally:
        subprocess.run([RUNC, "--root", str(state), "delete", "--force", cid],
                       capture_output=True, timeout=30)
        left = subprocess.run([RUNC, "--root", str(state), "list", "-q"],
                              capture_output=True, text=True, timeout=30).stdout.split()
        assert cid not in left


SCRIPT = ("echo ok; unshare -m true; echo unshare=$?; hostname foo 2>/dev/null; echo hostname=$?; "
          "hostname")


@needs_cc
@needs_runc
@pytest.mark.integration
def test_runc_default_profile(tmp_path, rootfs):
    r = run_in_runc(tmp_path, rootfs, SCRIPT, caps=DEFAULT_CAPS,
                    sec=seccomp_for([], DEFAULT_CAPS, False))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.split()
    assert lines[0] == "ok"
    assert "unshare=0" not in lines and "hostname=0" not in lines
    assert lines[-1] == "seccomp-test"


@needs_cc
@needs_runc
@pytest.mark.integration
def test_runc_filter_blocks_what_the_caps_would_allow(tmp_path, rootfs):
    # the process holds CAP_SYS_ADMIN but the filter was resolved for the default caps:
    # sethostname is refused by seccomp alone
    r = run_in_runc(tmp_path, rootfs, SCRIPT, caps=ADMIN_CAPS,
                    sec=seccomp_for([], DEFAULT_CAPS, False))
    assert r.returncode == 0, r.stderr
    assert "hostname=1" in r.stdout.split() and r.stdout.split()[-1] == "seccomp-test"
    # resolved for the caps the process really has: allowed
    r = run_in_runc(tmp_path, rootfs, SCRIPT, caps=ADMIN_CAPS,
                    sec=seccomp_for([], ADMIN_CAPS, False))
    assert r.returncode == 0, r.stderr
    out = r.stdout.split()
    assert "unshare=0" in out and "hostname=0" in out and out[-1] == "foo"


@needs_cc
@needs_runc
@pytest.mark.integration
def test_runc_docker_style_rule_gates_unshare(tmp_path, rootfs):
    # containers-common's profile turned Docker-style: mount/unshare/umount2 allowed only
    # with CAP_SYS_ADMIN (as in Docker's default.json), given as a file by seccomp=PATH
    gated = {"mount", "umount2", "unshare"}
    cc = json.loads(open(CC_PROFILE).read())
    rules = [dict(r, names=[n for n in r["names"] if n not in gated]) for r in cc["syscalls"]]
    rules.append({"names": sorted(gated), "action": "SCMP_ACT_ALLOW",
                  "includes": {"caps": ["CAP_SYS_ADMIN"]}})
    f = tmp_path / "docker-style.json"
    f.write_text(json.dumps({**cc, "syscalls": rules}))
    opt = [f"seccomp={f}"]

    # the process holds CAP_SYS_ADMIN, the filter is resolved without it: seccomp refuses
    r = run_in_runc(tmp_path, rootfs, SCRIPT, caps=ADMIN_CAPS,
                    sec=seccomp_for(opt, DEFAULT_CAPS, False))
    assert r.returncode == 0, r.stderr
    out = r.stdout.split()
    assert out[0] == "ok" and "unshare=1" in out and "hostname=1" in out

    r = run_in_runc(tmp_path, rootfs, SCRIPT, caps=ADMIN_CAPS, sec=seccomp_for(opt, ADMIN_CAPS, False))
    assert r.returncode == 0, r.stderr
    out = r.stdout.split()
    assert out[0] == "ok" and "unshare=0" in out and "hostname=0" in out


@needs_runc
@pytest.mark.integration
def test_runc_unconfined(tmp_path, rootfs):
    r = run_in_runc(tmp_path, rootfs, SCRIPT, caps=ADMIN_CAPS,
                    sec=seccomp_for(["seccomp=unconfined"], ADMIN_CAPS, False))
    assert r.returncode == 0, r.stderr
    out = r.stdout.split()
    assert "unshare=0" in out and "hostname=0" in out
