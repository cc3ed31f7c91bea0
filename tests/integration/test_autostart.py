"""`hithe` starts hithed itself when nothing listens on the default socket (root only).

Runs in private mount and network namespaces with tmpfs over the default paths, so the
machine's own /var/lib/hithe and /run/hithe are never touched, and the default instance's
bridge (hithe0) and nftables table vanish with the namespace.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.integration

SCRIPT = r"""
set -e
mount -t tmpfs tmpfs /var/lib/hithe
mount -t tmpfs tmpfs /run/hithe
mount -t tmpfs tmpfs /var/log
out=$("$PY" -m hithe.cli.main version --format '{{.Server.APIVersion}}' 2>/tmp/autostart.err.$$) || true
err=$(cat /tmp/autostart.err.$$); rm -f /tmp/autostart.err.$$
echo "OUT=$out"
echo "ERR=$err"
test -S /run/hithe/hithe.sock && echo SOCKET=yes
pid=$(cat /run/hithe/hithed.pid 2>/dev/null || true)
[ -n "$pid" ] && kill "$pid" && while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
echo DONE
"""


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs util-linux unshare")
def test_cli_autostarts_daemon(daemon):
    created = [d for d in ("/var/lib/hithe", "/run/hithe") if not os.path.exists(d)]
    for d in created:
        os.makedirs(d)
    env = {k: v for k, v in os.environ.items() if k not in ("HITHE_HOST", "HITHE_NO_AUTOSTART", "DOCKER_HOST")}
    env["PY"] = sys.executable
    env["PYTHONPATH"] = str(REPO)
    try:
        r = subprocess.run(["unshare", "--mount", "--net", "--propagation", "private", "bash", "-c", SCRIPT],
                           capture_output=True, text=True, timeout=60, env=env, cwd=str(REPO))
    finally:
        for d in created:
            shutil.rmtree(d, ignore_errors=True)
    assert "DONE" in r.stdout, r.stdout + r.stderr
    assert "OUT=1.45" in r.stdout
    assert "hithe: started hithed (pid" in r.stdout
    assert "SOCKET=yes" in r.stdout


def test_no_autostart_when_disabled(daemon):
    env = {**os.environ, "HITHE_NO_AUTOSTART": "1", "HITHE_HOST": "unix:///tmp/nonexistent-hithe.sock"}
    r = subprocess.run([sys.executable, "-m", "hithe.cli.main", "ps"], capture_output=True, text=True,
                       env=env, cwd=str(REPO), timeout=30)
    assert r.returncode == 1
    assert "Cannot connect to the hithe daemon at unix:///tmp/nonexistent-hithe.sock" in r.stderr
