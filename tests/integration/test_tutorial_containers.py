"""The seed tutorial's container chapter, word for word with `hithe` in place of `docker`."""
from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.integration


def test_run_echo_hello_world(hithe):
    r = hithe("run", "ubuntu:18.04", "/bin/echo", "Hello world")
    assert r.rc == 0, r.err
    assert r.out == "Hello world\n"


def test_run_returns_container_exit_code(hithe):
    assert hithe("run", "--rm", "busybox", "sh", "-c", "exit 3").rc == 3


def test_command_not_found_is_127(hithe):
    r = hithe("run", "--rm", "busybox", "/no/such/binary")
    assert r.rc == 127
    assert "no such file or directory" in r.err or "not found" in r.err


def test_command_not_executable_is_126(hithe):
    r = hithe("run", "--rm", "busybox", "/etc/passwd")
    assert r.rc == 126, (r.rc, r.err)


def test_stdin_is_passed_with_i(hithe):
    r = hithe("run", "--rm", "-i", "busybox", "sh", "-c", "cat; echo done", input="from stdin\n")
    assert r.out == "from stdin\ndone\n"


def test_stdout_and_stderr_are_separate(hithe):
    r = hithe("run", "--rm", "busybox", "sh", "-c", "echo out; echo err >&2")
    assert r.out == "out\n"
    assert r.err == "err\n"


def test_detached_logs_stop_start_restart(hithe):
    r = hithe("run", "-d", "--name", "tut_d", "busybox", "sh", "-c",
              "while true; do echo hello world; sleep 1; done")
    assert r.rc == 0, r.err
    cid = r.out.strip()
    assert len(cid) == 64
    time.sleep(1.5)
    logs = hithe("container", "logs", "tut_d")
    assert "hello world\n" in logs.out
    ls = hithe("container", "ls")
    assert "tut_d" in ls.out and "Up " in ls.out
    assert hithe("container", "stop", "-t", "1", cid[:12]).out.strip() == cid[:12]
    st = hithe("container", "ls", "-a", "--filter", "name=tut_d", "--format", "{{.Status}}")
    assert st.out.startswith("Exited (137)")
    assert hithe("container", "start", "tut_d").rc == 0
    assert "Up " in hithe("ps", "--filter", "name=tut_d", "--format", "{{.Status}}").out
    assert hithe("container", "restart", "-t", "1", "tut_d").rc == 0
    assert hithe("inspect", "-f", "{{.State.Running}}", "tut_d").out.strip() == "true"
    assert hithe("rm", "-f", "tut_d").rc == 0


def test_logs_follow_timestamps_tail(hithe):
    cid = hithe("run", "-d", "busybox", "sh", "-c", "for i in 1 2 3 4 5; do echo line$i; done; sleep 1; echo last").out.strip()
    time.sleep(0.5)
    r = hithe("logs", "-f", "-t", "--tail", "2", cid, timeout=20)
    lines = r.out.splitlines()
    assert [l.split(" ", 1)[1] for l in lines] == ["line4", "line5", "last"]
    assert lines[0][:4].isdigit() and "T" in lines[0].split(" ")[0] and lines[0].split(" ")[0].endswith("Z")
    hithe("rm", "-f", cid)


def test_export_then_import(hithe, tmp_path):
    cid = hithe("run", "-d", "busybox", "sh", "-c", "echo exported > /marker; sleep 60").out.strip()
    time.sleep(0.3)
    tar = tmp_path / "c.tar"
    assert hithe("export", cid, "-o", str(tar)).rc == 0
    assert tar.stat().st_size > 1_000_000
    r = hithe("import", str(tar), "test/exported:v1")
    assert r.rc == 0, r.err
    assert r.out.strip().startswith("sha256:")
    r = hithe("run", "--rm", "test/exported:v1", "cat", "/marker")
    assert r.out == "exported\n"
    # import from stdin, as in `cat file | docker import - name`
    r = hithe("import", "-", "test/exported:v2", input=tar.read_bytes())
    assert r.rc == 0, r.err
    hithe("rm", "-f", cid)
    hithe("rmi", "test/exported:v1", "test/exported:v2")


def test_rm_and_prune(hithe):
    cid = hithe("run", "-d", "busybox", "sleep", "60").out.strip()
    r = hithe("container", "rm", cid)
    assert r.rc != 0
    assert "stop the container before removing or force remove" in r.err
    assert hithe("container", "rm", "-f", cid).rc == 0
    stopped = hithe("create", "busybox", "true").out.strip()
    r = hithe("container", "prune", "-f")
    assert r.rc == 0
    assert stopped in r.out
    assert "Total reclaimed space:" in r.out
    assert stopped[:12] not in hithe("container", "ls", "-a").out


def test_container_ls_a_columns(hithe):
    name = "tut_ls"
    hithe("run", "--name", name, "busybox", "true")
    r = hithe("container", "ls", "-a")
    header = r.out.splitlines()[0]
    assert header.split() == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
    row = [l for l in r.out.splitlines() if l.endswith(name)][0]
    assert '"true"' in row and "Exited (0)" in row
    hithe("rm", name)
