"""Seccomp filters resolved by hithe, run in a real runtime: runc with a busybox rootfs."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid

import pytest

from hithe.runtime import seccomp
from hithe.runtime.seccomp import seccomp_for
from tests.seccomp_helpers import ADMIN_CAPS, CC_PROFILE, DEFAULT_CAPS, needs_cc

BUSYBOX = "/bin/busybox"
RUNC = shutil.which("runc")

needs_runc = pytest.mark.skipif(
    os.geteuid() != 0 or RUNC is None or not os.path.isfile(BUSYBOX),
    reason="needs root, runc and busybox-static")


@pytest.fixture(autouse=True)
def _fresh_caches():
    seccomp.clear_caches()
    yield
    seccomp.clear_caches()


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
