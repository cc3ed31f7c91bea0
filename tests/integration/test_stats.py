"""docker stats: GET /containers/{id}/stats against real containers and cgroups."""
from __future__ import annotations

import http.client
import json
import socket
import time

import pytest

pytestmark = pytest.mark.integration


class _UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float = 30) -> None:
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


def _get(daemon, path: str) -> tuple[int, bytes]:
    conn = _UnixHTTP(daemon.socket)
    conn.request("GET", path)
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, body


def _run(hithe, *args: str) -> str:
    r = hithe("run", "-d", *args)
    assert r.rc == 0, r.err
    return r.out.strip()


@pytest.fixture
def busy(hithe):
    cid = _run(hithe, "--name", "st-busy", "busybox", "sh", "-c", "while :; do :; done")
    yield cid
    hithe("rm", "-f", cid)


def test_busy_container_uses_cpu(daemon, busy):
    status, body = _get(daemon, f"/v1.45/containers/{busy}/stats?stream=0")
    assert status == 200
    s = json.loads(body)
    assert body.count(b"\n") == 1  # exactly one object
    assert s["id"] == busy and s["name"] == "/st-busy"
    cpu, pre = s["cpu_stats"], s["precpu_stats"]
    assert cpu["online_cpus"] >= 1 and cpu["system_cpu_usage"] > pre["system_cpu_usage"] > 0
    cpu_delta = cpu["cpu_usage"]["total_usage"] - pre["cpu_usage"]["total_usage"]
    sys_delta = cpu["system_cpu_usage"] - pre["system_cpu_usage"]
    assert cpu_delta > 0 and cpu_delta / sys_delta * cpu["online_cpus"] * 100 > 20
    assert s["preread"] != "0001-01-01T00:00:00Z" and s["read"] > s["preread"]
    assert s["pids_stats"]["current"] >= 1
    mem = s["memory_stats"]
    assert mem["usage"] > 0 and mem["limit"] > 64 << 20
    assert {"cache", "rss", "total_inactive_file", "hierarchical_memory_limit"} <= set(mem["stats"])
    assert isinstance(s["blkio_stats"]["io_service_bytes_recursive"], list)
    # the default bridge's eth0 (loopback is never listed, as in Docker)
    assert set(s["networks"]) == {"eth0"} and "rx_bytes" in s["networks"]["eth0"]


def test_one_shot_has_no_precpu(daemon, busy):
    t = time.monotonic()
    status, body = _get(daemon, f"/containers/{busy}/stats?stream=0&one-shot=1")
    assert status == 200 and time.monotonic() - t < 0.9
    s = json.loads(body)
    assert s["preread"] == "0001-01-01T00:00:00Z"
    assert s["precpu_stats"]["cpu_usage"]["total_usage"] == 0 and "system_cpu_usage" not in s["precpu_stats"]
    assert s["cpu_stats"]["cpu_usage"]["total_usage"] > 0
    assert _get(daemon, f"/containers/{busy}/stats?stream=1&one-shot=1")[0] == 400


def test_memory_and_pids_limits(daemon, hithe):
    cid = _run(hithe, "-m", "64m", "--pids-limit", "50", "busybox", "sleep", "60")
    try:
        # right after start, runc's init helpers may still be leaving the cgroup: let them go
        deadline = time.monotonic() + 3
        while True:
            s = json.loads(_get(daemon, f"/containers/{cid}/stats?stream=0&one-shot=1")[1])
            if s["pids_stats"].get("current") == 1 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert s["memory_stats"]["limit"] == 64 << 20
        assert s["memory_stats"]["stats"]["hierarchical_memory_limit"] == 64 << 20
        assert s["pids_stats"] == {"current": 1, "limit": 50}
    finally:
        hithe("rm", "-f", cid)


def test_streaming_frames_a_second_apart(daemon, busy):
    conn = _UnixHTTP(daemon.socket)
    conn.request("GET", f"/containers/{busy}/stats")
    r = conn.getresponse()
    assert r.status == 200
    frames, times = [], []
    while len(frames) < 3:
        frames.append(json.loads(r.readline()))
        times.append(time.monotonic())
    conn.close()
    assert frames[0]["preread"] == "0001-01-01T00:00:00Z"
    assert frames[0]["precpu_stats"]["cpu_usage"]["total_usage"] == 0
    # each frame carries the previous one's CPU figures
    assert frames[1]["precpu_stats"] == frames[0]["cpu_stats"]
    assert frames[2]["preread"] == frames[1]["read"]
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert all(0.7 < g < 1.6 for g in gaps), gaps


def test_stream_ends_when_container_removed(daemon, hithe):
    cid = _run(hithe, "busybox", "sleep", "60")
    conn = _UnixHTTP(daemon.socket, timeout=15)
    conn.request("GET", f"/containers/{cid}/stats?stream=1")
    r = conn.getresponse()
    assert json.loads(r.readline())["id"] == cid
    assert hithe("rm", "-f", cid).rc == 0
    t = time.monotonic()
    rest = r.read()  # returns at the end of the chunked body
    assert time.monotonic() - t < 5
    for line in rest.splitlines():
        json.loads(line)
    conn.close()


def test_stopped_container_gives_zeroed_stats(daemon, hithe, api):
    cid = hithe("create", "--name", "st-stopped", "busybox", "true").out.strip()
    try:
        t = time.monotonic()
        status, body = _get(daemon, f"/containers/{cid}/stats?stream=0")
        assert status == 200 and time.monotonic() - t < 0.9
        s = json.loads(body)
        assert s["name"] == "/st-stopped" and s["id"] == cid
        assert s["read"] == s["preread"] == "0001-01-01T00:00:00Z"
        assert s["pids_stats"] == {} and s["memory_stats"] == {}
        assert s["blkio_stats"]["io_service_bytes_recursive"] is None
        assert s["cpu_stats"] == {"cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
                                  "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}}
        r = hithe("stats", "--no-stream", "st-stopped")
        assert r.rc == 0, r.err
        assert r.out.splitlines()[1].split() == [cid[:12], "st-stopped", "0.00%", "0B", "/", "0B", "0.00%",
                                                 "0B", "/", "0B", "0B", "/", "0B", "0"]
    finally:
        hithe("rm", "-f", cid)


def test_unknown_container_is_404(daemon, busybox):
    status, body = _get(daemon, "/containers/nope-nope/stats?stream=0")
    assert status == 404 and json.loads(body)["message"] == "No such container: nope-nope"


def test_docker_py_stats(api, busy):
    s = api.stats(busy, stream=False)
    assert s["id"] == busy and s["cpu_stats"]["cpu_usage"]["total_usage"] > 0
    assert s["precpu_stats"]["cpu_usage"]["total_usage"] > 0
    gen = api.stats(busy, decode=True)
    first, second = next(gen), next(gen)
    assert second["precpu_stats"] == first["cpu_stats"]
    gen.close()


def test_cli_no_stream_columns(hithe, busy):
    lim = _run(hithe, "--name", "st-lim", "-m", "64m", "busybox", "sleep", "60")
    try:
        r = hithe("stats", "--no-stream", "st-busy", "st-lim")
        assert r.rc == 0, r.err
        lines = r.out.splitlines()
        assert lines[0].split("   ")[:1] == ["CONTAINER ID"]
        for col in ("NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS"):
            assert col in lines[0]
        rows = {ln.split()[1]: ln.split() for ln in lines[1:]}
        assert rows["st-busy"][0] == busy[:12]
        assert float(rows["st-busy"][2].rstrip("%")) > 20
        assert rows["st-lim"][5] == "64MiB" and rows["st-lim"][-1] == "1"
        assert rows["st-lim"][3].endswith("B") and rows["st-lim"][4] == "/"
    finally:
        hithe("rm", "-f", lim)


def test_docker_cli_no_stream(daemon, hithe, busy):
    import shutil
    from tests.conftest import run_cli
    if not shutil.which("docker"):
        pytest.skip("docker CLI not installed")
    r = run_cli(daemon, "stats", "--no-stream", "st-busy", prog="docker")
    assert r.rc == 0, r.err
    print(r.out)
    head, row = r.out.splitlines()
    assert head.split() == ["CONTAINER", "ID", "NAME", "CPU", "%", "MEM", "USAGE", "/", "LIMIT", "MEM", "%",
                            "NET", "I/O", "BLOCK", "I/O", "PIDS"]
    f = row.split()
    assert f[0] == busy[:12] and f[1] == "st-busy" and float(f[2].rstrip("%")) > 20 and f[-1] == "1"


def test_cli_streaming_redraws(daemon, busy):
    import subprocess
    import sys
    from tests.conftest import REPO
    p = subprocess.Popen([sys.executable, "-m", "hithe.cli.main", "stats", "st-busy"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=daemon.env, cwd=str(REPO))
    time.sleep(3.5)
    p.terminate()
    out, _ = p.communicate(timeout=10)
    screens = [s for s in out.decode().split("\x1b[2J\x1b[H") if s.strip()]
    assert len(screens) >= 2
    last = screens[-1].splitlines()
    assert last[0].startswith("CONTAINER ID") and last[1].split()[1] == "st-busy"
    assert float(last[1].split()[2].rstrip("%")) > 20
