"""The stock docker CLI, unchanged, against hithed."""
from __future__ import annotations

import shutil
import time

import pytest

from tests.conftest import run_cli

pytestmark = [pytest.mark.compat, pytest.mark.integration,
              pytest.mark.skipif(shutil.which("docker") is None, reason="docker CLI not installed")]


@pytest.fixture
def docker(daemon, busybox):
    def run(*args: str, **kw):
        return run_cli(daemon, *args, prog="docker", **kw)
    return run


def test_version_and_info(docker):
    r = docker("version")
    assert r.rc == 0, r.err
    assert "API version:" in r.out and "1.45" in r.out
    assert docker("info").rc == 0


def test_run_rm_echo(docker):
    r = docker("run", "--rm", "busybox", "echo", "hello from docker cli")
    assert (r.rc, r.out) == (0, "hello from docker cli\n")
    assert docker("run", "--rm", "busybox", "sh", "-c", "exit 4").rc == 4


def test_run_i_stdin(docker):
    r = docker("run", "--rm", "-i", "busybox", "sh", "-c", "tr a-z A-Z", input="shout\n")
    assert r.out == "SHOUT\n"


def test_detached_lifecycle(docker):
    cid = docker("run", "-d", "--name", "dcli", "busybox", "sh", "-c", "while true; do echo hey; sleep 0.2; done").out.strip()
    time.sleep(0.6)
    assert "hey" in docker("logs", "--tail", "1", "dcli").out
    assert "dcli" in docker("ps").out
    r = docker("exec", "dcli", "sh", "-c", "echo in exec; exit 2")
    assert (r.rc, r.out) == (2, "in exec\n")
    assert docker("top", "dcli").rc == 0
    assert docker("stop", "-t", "1", "dcli").rc == 0
    assert docker("inspect", "-f", "{{.State.ExitCode}}", cid).out.strip() == "137"
    assert docker("start", "dcli").rc == 0
    assert docker("rm", "-f", "dcli").rc == 0


def test_images_tag_rmi(docker):
    assert docker("tag", "busybox", "dcli/tagged:1").rc == 0
    out = docker("images").out
    assert "dcli/tagged" in out and "busybox" in out
    r = docker("rmi", "dcli/tagged:1")
    assert "Untagged: dcli/tagged:1" in r.out


def test_errors(docker):
    r = docker("run", "--rm", "nosuch_image_q")
    assert r.rc == 125 and "Unable to find image 'nosuch_image_q:latest' locally" in r.err
    r = docker("rm", "nosuch_container_q")
    assert r.rc == 1 and "No such container: nosuch_container_q" in r.err


def _docker_pty(daemon, *args: str):
    from tests.conftest import REPO
    from tests.integration.ptyutil import PtyProc
    return PtyProc(list(args), daemon.env, str(REPO), prog=["docker"])


def test_run_it_with_docker_cli(daemon, busybox):
    pp = _docker_pty(daemon, "run", "-it", "--rm", "busybox", "sh")
    pp.expect("# ")
    pp.send("echo dockercli-$((2*21))\r")
    pp.expect("dockercli-42")
    pp.send("exit\r")
    assert pp.wait() == 0


def test_attach_and_exec_it_with_docker_cli(daemon, docker):
    cid = docker("run", "-dit", "--name", "dcli_att", "busybox", "sh").out.strip()
    pp = _docker_pty(daemon, "exec", "-it", "dcli_att", "sh")
    pp.expect("# ")
    pp.send("echo exec-$((3*3))\r")
    pp.expect("exec-9")
    pp.send("exit\r")
    assert pp.wait() == 0
    assert docker("inspect", "-f", "{{.State.Running}}", cid).out.strip() == "true"
    pp = _docker_pty(daemon, "attach", "dcli_att")
    time.sleep(0.3)
    pp.send("echo att-$((4*4))\r")
    pp.expect("att-16")
    pp.send(b"\x10\x11")  # ctrl-p ctrl-q: detach, the container keeps running
    pp.wait()
    assert docker("inspect", "-f", "{{.State.Running}}", cid).out.strip() == "true"
    pp = _docker_pty(daemon, "attach", "dcli_att")
    time.sleep(0.3)
    pp.send("exit\r")
    pp.wait()
    time.sleep(0.3)
    assert docker("inspect", "-f", "{{.State.Running}}", cid).out.strip() == "false"
    docker("rm", cid)


def test_logs_follow_with_docker_cli(docker):
    cid = docker("run", "-d", "busybox", "sh", "-c", "echo a; sleep 0.5; echo b").out.strip()
    r = docker("logs", "-f", cid, timeout=20)
    assert r.out == "a\nb\n"
    docker("rm", cid)


def test_system_df_and_ps_size(docker):
    cid = docker("run", "-d", "busybox", "sh", "-c", "echo data > /f; sleep 30").out.strip()
    time.sleep(0.3)
    r = docker("system", "df")
    assert r.rc == 0, r.err
    rows = {l.split()[0]: l for l in r.out.splitlines()[1:]}
    assert "Images" in rows and "Containers" in rows
    assert docker("ps", "-s", "--filter", f"id={cid}", "--format", "{{.Size}}").out.strip().startswith("5B")
    docker("rm", "-f", cid)
