"""Shared fixtures: one private hithed per test session (own data root, socket, cgroup parent)."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

# Every hithed a test starts (this session's, restarts, autostart checks) inherits this: its
# registry client then refuses any address outside 127.0.0.0/8 before resolving a name, so a
# pull of "nosuch" fails at once instead of trying Docker Hub.
os.environ["HITHE_REGISTRY_LOOPBACK_ONLY"] = "1"

REPO = Path(__file__).resolve().parent.parent
BUSYBOX_SCRIPT = REPO / "scripts" / "busybox-rootfs.sh"


def _have_runtime() -> bool:
    return os.geteuid() == 0 and bool(shutil.which("runc")) and bool(shutil.which("conmon")) \
        and os.path.exists("/bin/busybox")


@dataclass
class Daemon:
    root: str
    socket: str
    proc: subprocess.Popen | None = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def host(self) -> str:
        return "unix://" + self.socket

    @property
    def data_root(self) -> str:
        return os.path.join(self.root, "data")

    @property
    def exec_root(self) -> str:
        return os.path.join(self.root, "exec")

    def start(self) -> None:
        log = open(os.path.join(self.root, "hithed.log"), "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hithe.daemon.main", "-H", self.host, "--data-root", self.data_root,
             "--exec-root", self.exec_root, "--config-file", os.path.join(self.root, "daemon.json")],
            stdout=log, stderr=log, cwd=str(REPO), start_new_session=True)
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.ping():
                return
            if self.proc.poll() is not None:
                raise RuntimeError("hithed exited at start-up: " + self.log_tail())
            time.sleep(0.05)
        raise RuntimeError("hithed did not answer /_ping: " + self.log_tail())

    def ping(self) -> bool:
        try:
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(1)
            s.connect(self.socket)
            s.sendall(b"GET /_ping HTTP/1.1\r\nHost: x\r\n\r\n")
            ok = s.recv(100).startswith(b"HTTP/1.1 200")
            s.close()
            return ok
        except OSError:
            return False

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log_tail(self) -> str:
        try:
            return Path(self.root, "hithed.log").read_text()[-3000:]
        except OSError:
            return ""

    def instance(self) -> str:
        import hashlib
        return "hithe-" + hashlib.sha256(os.path.abspath(self.data_root).encode()).hexdigest()[:8]


def session_network_config() -> dict:
    """This test session's own bridge and private subnets (derived from the pid): never docker0's."""
    pid = os.getpid()
    a, b = 100 + pid % 100, (pid // 100) % 16 * 16
    return {"bridge": f"ht{pid}", "bip": f"10.{a}.{b}.1/24",
            "default-address-pools": [{"base": f"10.{a}.{b}.0/20", "size": 24}],
            # containers' resolvers: nothing a test does may query outside resolvers
            "dns": ["127.0.0.1"], "ip-forward": False}


def cleanup_network(instance: str) -> None:
    """The daemon's bridges (tagged with its instance name as interface alias) and its nft table.

    hithed keeps them across its own restarts (as dockerd keeps docker0): running containers
    use them. A test session removes them here, at the end."""
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.rstrip().endswith(f"alias {instance}"):
            name = line.split(":")[1].strip().split("@")[0]
            subprocess.run(["ip", "link", "del", name], stderr=subprocess.DEVNULL)
    subprocess.run(["nft", "delete", "table", "ip", instance], stderr=subprocess.DEVNULL)


def cleanup_instance(d: Daemon) -> None:
    """Remove everything the daemon created on the host: containers, mounts, cgroups, bridges, rules."""
    runc_root = os.path.join(d.exec_root, "runc")
    if os.path.isdir(runc_root):
        for cid in os.listdir(runc_root):
            subprocess.run(["runc", "--root", runc_root, "delete", "--force", cid],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # conmon processes of this instance
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if cmd.startswith(b"/usr/bin/conmon") and d.exec_root.encode() in cmd:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
    with open("/proc/mounts") as f:
        mounts = [line.split()[1] for line in f]
    for m in sorted(mounts, key=len, reverse=True):
        if m.startswith(d.root):
            subprocess.run(["umount", "-l", m], stderr=subprocess.DEVNULL)
    parent = d.instance()
    for ctrl in os.listdir("/sys/fs/cgroup"):
        p = os.path.join("/sys/fs/cgroup", ctrl, parent)
        if os.path.isdir(p):
            for sub in os.listdir(p):
                if os.path.isdir(os.path.join(p, sub)):
                    try:
                        os.rmdir(os.path.join(p, sub))
                    except OSError:
                        pass
            try:
                os.rmdir(p)
            except OSError:
                pass
    cleanup_network(parent)


def busybox_tar(*flags: str) -> bytes:
    return subprocess.run(["bash", str(BUSYBOX_SCRIPT), *flags], check=True, capture_output=True).stdout


@pytest.fixture(scope="session")
def daemon() -> Daemon:
    if not _have_runtime():
        pytest.skip("needs root, runc, conmon and busybox-static")
    root = tempfile.mkdtemp(prefix="ht-", dir="/tmp")
    d = Daemon(root=root, socket=os.path.join(root, "h.sock"))
    d.env = {**os.environ, "HITHE_HOST": d.host, "DOCKER_HOST": d.host, "HITHE_NO_AUTOSTART": "1"}
    # daemon.json with Docker's keys: default log options for every container
    Path(root, "daemon.json").write_text(json.dumps({"log-opts": {"max-size": "30m", "max-file": "4"},
                                                     **session_network_config()}))
    d.start()
    try:
        yield d
    finally:
        try:
            _remove_all(d)
        except Exception:  # noqa: BLE001 - best effort before the hard cleanup
            pass
        d.stop()
        cleanup_instance(d)
        shutil.rmtree(root, ignore_errors=True)


def _remove_all(d: Daemon) -> None:
    import docker
    cli = docker.APIClient(base_url=d.host, version="1.45", timeout=30)
    for c in cli.containers(all=True):
        cli.remove_container(c["Id"], force=True)


@pytest.fixture(scope="session")
def api(daemon: Daemon):
    import docker
    return docker.APIClient(base_url=daemon.host, version="auto", timeout=60)


@pytest.fixture(scope="session")
def busybox(daemon: Daemon, api) -> str:
    """The busybox image, imported from busybox-static, tagged busybox:latest and ubuntu:18.04."""
    out = api.import_image_from_data(busybox_tar(), repository="busybox", tag="latest",
                                     changes=['ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
                                              'CMD ["sh"]'])
    image_id = json.loads(out.strip().splitlines()[-1])["status"] if isinstance(out, str) else None
    # "ubuntu:18.04" for the tutorial: busybox plus the host's bash and its libraries
    api.import_image_from_data(busybox_tar("--with-bash"), repository="ubuntu", tag="18.04",
                               changes=['ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
                                        'CMD ["/bin/bash"]'])
    return image_id or api.inspect_image("busybox")["Id"]


@dataclass
class CLIResult:
    rc: int
    out: str
    err: str


def run_cli(daemon: Daemon, *args: str, input: str | bytes | None = None, timeout: float = 60,
            prog: str = "hithe") -> CLIResult:
    if prog == "hithe":
        cmd = [sys.executable, "-m", "hithe.cli.main", *args]
    else:
        cmd = [prog, *args]
    r = subprocess.run(cmd, input=input.encode() if isinstance(input, str) else input,
                       capture_output=True, timeout=timeout, env=daemon.env, cwd=str(REPO))
    return CLIResult(r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace"))


@pytest.fixture
def hithe(daemon: Daemon, busybox):
    def run(*args: str, **kw) -> CLIResult:
        return run_cli(daemon, *args, **kw)
    return run
