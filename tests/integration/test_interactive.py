"""-it, attach and exec at a real terminal."""
from __future__ import annotations

import time

import pytest

from tests.conftest import REPO
from tests.integration.ptyutil import PtyProc

pytestmark = pytest.mark.integration


def _pty(daemon, *args: str) -> PtyProc:
    return PtyProc(list(args), daemon.env, str(REPO))


def test_run_it_bash_as_in_the_tutorial(daemon, busybox):
    import re
    p = _pty(daemon, "run", "-t", "-i", "ubuntu:18.04", "/bin/bash")
    screen = p.expect(":/# ")
    assert re.search(r"root@[0-9a-f]{12}:/# ", screen), screen
    p.send("exit\r")
    assert p.wait() == 0


def test_run_it_shell(daemon, busybox):
    p = _pty(daemon, "run", "-t", "-i", "--rm", "ubuntu:18.04", "/bin/sh")
    p.expect("# ")
    p.send("echo $((6*7)); tty\r")
    screen = p.expect("/dev/pts/")
    assert "42" in screen
    p.send("exit 5\r")
    assert p.wait() == 5


def test_terminal_size_reaches_container(daemon, busybox):
    import fcntl
    import struct
    import termios
    p = _pty(daemon, "run", "-it", "--rm", "busybox", "sh")
    fcntl.ioctl(p.master, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 101, 0, 0))
    p.expect("# ")
    p.send("stty size\r")
    p.expect("33 101")
    p.send("exit\r")
    assert p.wait() == 0


def test_attach_then_exit_stops_container(daemon, busybox, hithe):
    cid = hithe("run", "-dit", "--name", "att1", "busybox", "sh").out.strip()
    p = _pty(daemon, "attach", "att1")
    time.sleep(0.3)
    p.send("echo attached-$((1+1))\r")
    p.expect("attached-2")
    p.send("exit\r")
    p.wait()
    time.sleep(0.3)
    assert hithe("inspect", "-f", "{{.State.Status}}", cid).out.strip() == "exited"
    hithe("rm", cid)


def test_attach_detach_keys_leave_it_running(daemon, busybox, hithe):
    cid = hithe("run", "-dit", "--name", "att2", "busybox", "sh").out.strip()
    p = _pty(daemon, "attach", "att2")
    time.sleep(0.3)
    p.send("echo before-detach\r")
    p.expect("before-detach")
    p.send(b"\x10\x11")
    p.wait()
    assert hithe("inspect", "-f", "{{.State.Running}}", cid).out.strip() == "true"
    hithe("rm", "-f", cid)


def test_exec_it_exit_leaves_container_running(daemon, busybox, hithe):
    cid = hithe("run", "-dit", "--name", "ex1", "busybox", "sh").out.strip()
    p = _pty(daemon, "exec", "-it", "ex1", "sh")
    p.expect("# ")
    p.send("echo in-exec; exit 3\r")
    p.expect("in-exec")
    assert p.wait() == 3
    assert hithe("inspect", "-f", "{{.State.Running}}", cid).out.strip() == "true"
    hithe("rm", "-f", cid)


def test_exec_non_interactive(hithe):
    cid = hithe("run", "-d", "busybox", "sleep", "60").out.strip()
    r = hithe("exec", "-e", "X=1", "-w", "/tmp", cid, "sh", "-c", "echo $X $(pwd); exit 4")
    assert (r.rc, r.out) == (4, "1 /tmp\n")
    r = hithe("exec", "-i", cid, "cat", input="piped\n")
    assert r.out == "piped\n"
    r = hithe("exec", "-u", "nobody", cid, "id", "-u")
    assert r.out.strip() == "65534"
    assert hithe("exec", "-d", cid, "sh", "-c", "echo bg > /tmp/bg").rc == 0
    time.sleep(0.3)
    assert hithe("exec", cid, "cat", "/tmp/bg").out == "bg\n"
    hithe("rm", "-f", cid)


def test_exec_missing_command_is_127(hithe):
    cid = hithe("run", "-d", "busybox", "sleep", "60").out.strip()
    r = hithe("exec", cid, "/no/such/cmd")
    assert r.rc == 127, (r.rc, r.out, r.err)
    r = hithe("exec", cid, "/etc/passwd")
    assert r.rc == 126, (r.rc, r.out, r.err)
    hithe("rm", "-f", cid)


def _set_size(p: PtyProc, rows: int, cols: int) -> None:
    import fcntl
    import signal
    import struct
    import termios
    fcntl.ioctl(p.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    p.proc.send_signal(signal.SIGWINCH)  # what the terminal does for its foreground process


def test_resize_follows_sigwinch(daemon, busybox):
    p = _pty(daemon, "run", "-it", "--rm", "busybox", "sh")
    _set_size(p, 20, 70)
    p.expect("# ")
    p.send("stty size\r")
    p.expect("20 70")
    _set_size(p, 41, 133)
    import time as _t
    _t.sleep(0.3)
    p.send("stty size\r")
    p.expect("41 133")
    p.send("exit\r")
    assert p.wait() == 0


def test_exec_it_gets_terminal_size(daemon, busybox, hithe):
    cid = hithe("run", "-d", "busybox", "sleep", "60").out.strip()
    p = _pty(daemon, "exec", "-it", cid, "sh")
    _set_size(p, 27, 91)
    p.expect("# ")
    p.send("stty size\r")
    p.expect("27 91")
    p.send("exit\r")
    p.wait()
    hithe("rm", "-f", cid)
