"""Seccomp profiles chosen by --security-opt / --privileged (seccomp_for), and their caching."""
from __future__ import annotations

import json
import logging
import os
import time

import pytest

from hithe.errors import InvalidParameter
from hithe.runtime import seccomp
from hithe.runtime.seccomp import (default_profile_path, load_profile, parse_profile, seccomp_for,
                                   to_oci)
from tests.seccomp_helpers import (ADMIN_CAPS, CC_PROFILE, DEFAULT_CAPS, DOCKER_LIKE, X86_ARCHES,
                                   allowed, denied_eperm, needs_cc)


@pytest.fixture(autouse=True)
def _fresh_caches():
    seccomp.clear_caches()
    yield
    seccomp.clear_caches()


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
    first = to_oci(DOCKER_LIKE, caps=DEFAULT_CAPS, arch="amd64", x32=True)
    first["syscalls"][0]["names"].append("reboot")
    first["syscalls"].clear()
    first["architectures"].clear()
    again = to_oci(DOCKER_LIKE, caps=DEFAULT_CAPS, arch="amd64", x32=True)
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
