"""Seccomp profiles (containers-common / Docker format) resolved into OCI linux.seccomp.

--security-opt handling and caching: test_seccomp_options.py; running the filters in
a real runtime (runc): tests/integration/test_seccomp_runc.py."""
from __future__ import annotations

import os

import pytest

from hithe.errors import InvalidParameter
from hithe.runtime import seccomp
from hithe.runtime.seccomp import default_profile_path, load_profile, seccomp_for, to_oci
from hithe.runtime.seccomp.host import kernel_has_x32
from tests.seccomp_helpers import (ADMIN_CAPS, CC_PROFILE, DEFAULT_CAPS, DOCKER_LIKE, X86_ARCHES,
                                   allowed, denied_eperm, needs_cc, rules_for)


@pytest.fixture(autouse=True)
def _fresh_caches():
    seccomp.clear_caches()
    yield
    seccomp.clear_caches()


# ---------------------------------------------------------------------------------------
# The real containers-common profile


@needs_cc
def test_default_profile_path_is_containers_common():
    p = default_profile_path()
    assert p in seccomp.DEFAULT_PROFILE_PATHS
    assert os.path.isfile(p)


@needs_cc
def test_containers_common_default_caps():
    oci = to_oci(load_profile(CC_PROFILE), caps=DEFAULT_CAPS, arch="amd64", kernel=(6, 1), x32=True)
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
    oci = to_oci(load_profile(CC_PROFILE), caps=DEFAULT_CAPS, arch=arch, x32=True)
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


@needs_cc
def test_x32_left_out_where_the_kernel_has_no_x32_abi():
    profile = load_profile(CC_PROFILE)
    without = to_oci(profile, caps=DEFAULT_CAPS, arch="amd64", x32=False)
    assert without["architectures"] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]
    assert without["syscalls"] == to_oci(profile, caps=DEFAULT_CAPS, arch="amd64", x32=True)["syscalls"]
    # the host default follows the probe
    expected = X86_ARCHES if kernel_has_x32() else ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"]
    assert to_oci(profile, caps=DEFAULT_CAPS, arch="amd64")["architectures"] == expected


def test_x32_kept_when_it_is_all_a_profile_names():
    p = {"defaultAction": "SCMP_ACT_ERRNO", "architectures": ["SCMP_ARCH_X32"], "syscalls": []}
    assert to_oci(p, caps=DEFAULT_CAPS, arch="amd64", x32=False)["architectures"] == ["SCMP_ARCH_X32"]
