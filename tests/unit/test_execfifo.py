"""Starting a created container through its exec fifo, against a stand-in for `runc init`
(a process that blocks opening the fifo for writing, writes one byte, then execs)."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from hithe.runtime.execfifo import FIFO, InitDied, start_created

# what runc init does: blocking open for writing (close-on-exec), write "0", exec
FAKE_INIT = ("import os, sys\n"
             "fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CLOEXEC)\n"
             "os.write(fd, b'0')\n"
             "os.execv('/bin/sh', ['sh', '-c', 'echo ran > ' + sys.argv[2] + '; sleep 0.2'])\n")


def _state_dir(tmp_path):
    os.mkfifo(tmp_path / FIFO, 0o622)
    return str(tmp_path)


def test_starts_the_process_and_removes_the_fifo(tmp_path):
    d = _state_dir(tmp_path)
    marker = tmp_path / "ran"
    init = subprocess.Popen([sys.executable, "-c", FAKE_INIT, str(tmp_path / FIFO), str(marker)])
    try:
        time.sleep(0.05)
        assert not marker.exists()  # init waits for us
        assert start_created(d, init.pid) is True
        assert not (tmp_path / FIFO).exists()  # runc now reports "running"
        assert init.wait(5) == 0
        assert marker.read_text() == "ran\n"
    finally:
        init.kill()
        init.wait()


def test_no_fifo_means_let_runc_do_it(tmp_path):
    assert start_created(str(tmp_path), os.getpid()) is False


def test_dead_init_is_an_error_not_a_hang(tmp_path):
    d = _state_dir(tmp_path)
    dead = subprocess.Popen(["true"])
    dead.wait()
    t = time.monotonic()
    with pytest.raises(InitDied, match="container process is already dead"):
        start_created(d, dead.pid)
    assert time.monotonic() - t < 2
    assert (tmp_path / FIFO).exists()  # left as it was


def test_init_closing_without_writing_is_dead(tmp_path):
    d = _state_dir(tmp_path)
    code = "import os, sys, time\nfd = os.open(sys.argv[1], os.O_WRONLY)\nos.close(fd)\ntime.sleep(1)\n"
    init = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / FIFO)])
    try:
        with pytest.raises(InitDied):
            start_created(d, init.pid)
    finally:
        init.kill()
        init.wait()
