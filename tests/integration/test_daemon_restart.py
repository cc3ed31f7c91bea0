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
    retry = hithe("run", "-d", "--restart", "on-failure:1", "busybox", "sh", "-c", "sleep 1; exit 3").out.strip()
    daemon.stop(signal.SIGKILL)
    time.sleep(2)  # dies_meanwhile exits while no daemon runs
    daemon.start()
    ps = hithe("ps", "--format", "{{.Names}}").out.split()
    assert "survivor" in ps and "tty_survivor" in ps and "dies_meanwhile" not in ps
    doc = hithe("inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", dies).out.split()
    assert doc == ["exited", "9"]
    # an exit during the outage still gets its restart policy applied
    deadline = time.time() + 10
    while time.time() < deadline and hithe("inspect", "-f", "{{.RestartCount}}", retry).out.strip() != "1":
        time.sleep(0.2)
    assert hithe("inspect", "-f", "{{.RestartCount}}", retry).out.strip() == "1"
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
    hithe("rm", "-f", keep, dies, tty, retry)


def test_restart_policies_at_daemon_start(daemon, hithe):
    always = hithe("run", "-d", "--restart", "always", "busybox", "sleep", "300").out.strip()
    unless = hithe("run", "-d", "--restart", "unless-stopped", "busybox", "sleep", "300").out.strip()
    plain = hithe("run", "-d", "busybox", "sleep", "300").out.strip()
    for cid in (always, unless, plain):
        assert hithe("stop", "-t", "0", cid).rc == 0
    daemon.stop()
    daemon.start()
    time.sleep(1.0)
    status = {cid: hithe("inspect", "-f", "{{.State.Status}}", cid).out.strip() for cid in (always, unless, plain)}
    assert status == {always: "running", unless: "exited", plain: "exited"}
    hithe("rm", "-f", always, unless, plain)


def test_logs_since_until(hithe):
    cid = hithe("run", "-d", "busybox", "sh", "-c", "echo early; sleep 1.2; echo late").out.strip()
    time.sleep(0.6)
    mid = time.time()
    hithe("wait", cid)
    assert hithe("logs", "--since", f"{mid:.3f}", cid).out == "late\n"
    assert hithe("logs", "--until", f"{mid:.3f}", cid).out == "early\n"
    assert hithe("logs", "--since", "1h", cid).out == "early\nlate\n"
    hithe("rm", cid)


def test_daemon_stops_promptly_with_an_exec_running(daemon, hithe):
    cid = hithe("run", "-d", "busybox", "sleep", "300").out.strip()
    assert hithe("exec", "-d", cid, "sleep", "200").rc == 0
    t = time.time()
    daemon.stop()
    assert time.time() - t < 5
    daemon.start()
    assert hithe("inspect", "-f", "{{.State.Running}}", cid).out.strip() == "true"
    hithe("rm", "-f", cid)
