"""kill -9 of hithed while containers run: conmon keeps them, the new daemon re-adopts them."""
from __future__ import annotations

import signal
import time

import pytest

pytestmark = pytest.mark.integration


def test_kill9_daemon_keeps_containers(daemon, hithe):
    keep = hithe("run", "-d", "--name", "survivor", "busybox", "sh", "-c",
                 "while true; do echo tick; sleep 0.2; done").out.strip()
    dies = hithe("run", "-d", "--name", "dies_meanwhile", "busybox", "sh", "-c", "sleep 1; exit 9").out.strip()
    tty = hithe("run", "-dit", "--name", "tty_survivor", "busybox", "sh").out.strip()
    daemon.stop(signal.SIGKILL)
    time.sleep(2)  # dies_meanwhile exits while no daemon runs
    daemon.start()
    ps = hithe("ps", "--format", "{{.Names}}").out.split()
    assert "survivor" in ps and "tty_survivor" in ps and "dies_meanwhile" not in ps
    doc = hithe("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", dies).out.split()
    assert doc == ["exited", "9"]
    assert "tick" in hithe("logs", "--tail", "1", keep).out
    # attach still works on a re-adopted container
    from tests.conftest import REPO
    from tests.integration.ptyutil import PtyProc
    p = PtyProc(["attach", "tty_survivor"], daemon.env, str(REPO))
    time.sleep(0.3)
    p.send("echo still-$((40+2))\r")
    p.expect("still-42")
    p.send("exit\r")
    p.wait()
    assert hithe("stop", "-t", "1", "survivor").rc == 0
    assert hithe("inspect", "-f", "{{.State.Status}}", keep).out.strip() == "exited"
    # an exit after re-adoption is noticed too
    assert hithe("inspect", "-f", "{{.State.Status}}", tty).out.strip() == "exited"
    hithe("rm", "-f", keep, dies, tty)
