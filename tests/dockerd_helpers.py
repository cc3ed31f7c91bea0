"""A private reference dockerd for compat tests: its own socket, data root, exec root, containerd
namespace and client config, no networking, started under a machine-wide lock so that only one
runs at a time; removed with everything it mounted."""
from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import tempfile
import time
from typing import Iterator

import pytest

DOCKER_LOCK = "/tmp/hithe-docker.lock"


def docker_env(host: str, root: str) -> dict[str, str]:
    # Its own client config too: `docker login` must not touch the user's ~/.docker.
    return {**os.environ, "DOCKER_HOST": host, "DOCKER_CONFIG": os.path.join(root, "cli")}


def _docker(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, env=env, timeout=180)


@contextlib.contextmanager
def _locked(wait: float) -> Iterator[None]:
    with open(DOCKER_LOCK, "a") as lock:
        deadline = time.time() + wait
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.time() > deadline:
                    pytest.skip("another private dockerd holds the lock")
                time.sleep(2)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextlib.contextmanager
def private_dockerd(ns: str, *, lock_wait: float = 60) -> Iterator[tuple[str, str]]:
    """(DOCKER_HOST, its root dir); skips the test when docker.io is missing or busy."""
    if shutil.which("dockerd") is None or shutil.which("docker") is None:
        pytest.skip("docker.io not installed")
    with _locked(lock_wait):
        root = tempfile.mkdtemp(prefix=ns + "-", dir="/tmp")
        sock = os.path.join(root, "d.sock")
        host = "unix://" + sock
        env = docker_env(host, root)
        with open(os.path.join(root, "dockerd.log"), "ab") as log:
            proc = subprocess.Popen(
                ["dockerd", "-H", host, "--data-root", os.path.join(root, "data"),
                 "--exec-root", os.path.join(root, "exec"), "--pidfile", os.path.join(root, "d.pid"),
                 "--bridge", "none", "--iptables=false", "--ip6tables=false", "--ip-forward=false",
                 "--ip-masq=false", "--containerd-namespace", ns, "--containerd-plugins-namespace", ns + "-p"],
                stdout=log, stderr=log, start_new_session=True)
        try:
            for _ in range(300):
                if _docker(env, "version").returncode == 0:
                    break
                time.sleep(0.1)
            else:
                pytest.skip("private dockerd did not start")
            yield host, root
        finally:
            for cid in _docker(env, "ps", "-aq").stdout.decode().split():
                _docker(env, "rm", "-f", cid)
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            with open("/proc/mounts") as f:
                mounts = [line.split()[1] for line in f if line.split()[1].startswith(root)]
            for m in sorted(mounts, key=len, reverse=True):
                subprocess.run(["umount", "-l", m], stderr=subprocess.DEVNULL)
            shutil.rmtree(root, ignore_errors=True)
