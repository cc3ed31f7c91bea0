"""`docker update` on real containers (cgroup files, inspect, restart) and health checks."""
from __future__ import annotations

import json
import os
import shutil
import time

import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.integration
MB = 1024 * 1024


def cgroup(daemon, ctrl: str, cid: str, name: str) -> str:
    with open(os.path.join("/sys/fs/cgroup", ctrl, daemon.instance(), cid, name)) as f:
        return f.read().strip()


def inspect(hithe, ref: str) -> dict:
    r = hithe("inspect", ref)
    assert r.rc == 0, r.err
    return json.loads(r.out)[0]


def wait_for(pred, timeout: float = 15.0, step: float = 0.2):
    deadline = time.time() + timeout
    while True:
        value = pred()
        if value or time.time() > deadline:
            return value
        time.sleep(step)


# --- update ---------------------------------------------------------------------
def test_update_running_container_limits(hithe, daemon):
    cid = hithe("run", "-d", "--name", "upd1", "-m", "64m", "--memory-swap", "128m", "busybox",
                "sleep", "300").out.strip()
    r = hithe("update", "-m", "96m", "--memory-swap", "192m", "--cpus", "0.5", "--pids-limit", "42",
              "--cpu-shares", "512", "--memory-reservation", "32m", "--cpuset-cpus", "0", "upd1")
    assert (r.rc, r.out) == (0, "upd1\n"), r.err
    assert cgroup(daemon, "memory", cid, "memory.limit_in_bytes") == str(96 * MB)
    assert cgroup(daemon, "memory", cid, "memory.memsw.limit_in_bytes") == str(192 * MB)
    assert cgroup(daemon, "memory", cid, "memory.soft_limit_in_bytes") == str(32 * MB)
    assert cgroup(daemon, "cpu", cid, "cpu.cfs_quota_us") == "50000"
    assert cgroup(daemon, "cpu", cid, "cpu.cfs_period_us") == "100000"
    assert cgroup(daemon, "cpu", cid, "cpu.shares") == "512"
    assert cgroup(daemon, "pids", cid, "pids.max") == "42"
    assert cgroup(daemon, "cpuset", cid, "cpuset.cpus") == "0"
    hc = inspect(hithe, cid)["HostConfig"]
    assert (hc["Memory"], hc["MemorySwap"], hc["NanoCpus"], hc["PidsLimit"]) == (96 * MB, 192 * MB, 500_000_000, 42)
    assert (hc["CpuShares"], hc["MemoryReservation"], hc["CpusetCpus"]) == (512, 32 * MB, "0")
    # the process inside sees the same limit
    assert hithe("exec", cid, "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes").out.strip() == str(96 * MB)
    # unlimited pids again
    assert hithe("update", "--pids-limit", "-1", cid).rc == 0
    assert cgroup(daemon, "pids", cid, "pids.max") == "max"
    assert inspect(hithe, cid)["HostConfig"]["PidsLimit"] == 0
    # a restart builds the container from the saved values
    assert hithe("restart", "-t", "0", cid).rc == 0
    assert cgroup(daemon, "memory", cid, "memory.limit_in_bytes") == str(96 * MB)
    assert cgroup(daemon, "memory", cid, "memory.soft_limit_in_bytes") == str(32 * MB)
    assert cgroup(daemon, "cpu", cid, "cpu.cfs_quota_us") == "50000"
    assert cgroup(daemon, "cpuset", cid, "cpuset.cpus") == "0"
    assert cgroup(daemon, "pids", cid, "pids.max") == "max"
    hithe("rm", "-f", cid)


def test_update_stopped_container_applies_at_start(hithe, daemon):
    cid = hithe("create", "busybox", "sleep", "300").out.strip()
    r = hithe("container", "update", "--cpu-quota", "30000", "--cpu-period", "60000", "--pids-limit", "7",
              "--blkio-weight", "300", cid)
    assert (r.rc, r.out) == (0, cid + "\n"), r.err
    if not os.path.exists("/sys/fs/cgroup/blkio/blkio.weight") and \
            not os.path.exists("/sys/fs/cgroup/blkio/blkio.bfq.weight"):
        # as dockerd on such a kernel: a warning, and the weight is not kept
        assert "Your kernel does not support Block I/O weight or the cgroup is not mounted. " \
               "Weight discarded." in r.err
    assert hithe("start", cid).rc == 0
    assert cgroup(daemon, "cpu", cid, "cpu.cfs_quota_us") == "30000"
    assert cgroup(daemon, "cpu", cid, "cpu.cfs_period_us") == "60000"
    assert cgroup(daemon, "pids", cid, "pids.max") == "7"
    hithe("rm", "-f", cid)


def test_update_paused_container_stays_paused(hithe, daemon):
    cid = hithe("run", "-d", "busybox", "sleep", "300").out.strip()
    assert hithe("pause", cid).rc == 0
    assert hithe("update", "--pids-limit", "9", cid).rc == 0
    assert cgroup(daemon, "pids", cid, "pids.max") == "9"
    assert inspect(hithe, cid)["State"]["Status"] == "paused"
    assert cgroup(daemon, "freezer", cid, "freezer.state") == "FROZEN"
    hithe("rm", "-f", cid)


def test_update_restart_policy(hithe):
    cid = hithe("run", "-d", "busybox", "sh", "-c", "sleep 0.3; exit 3").out.strip()
    assert hithe("update", "--restart", "on-failure:2", cid).rc == 0
    assert inspect(hithe, cid)["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 2}
    # the new policy governs the exits that follow
    doc = wait_for(lambda: (lambda d: d if d["RestartCount"] == 2 and d["State"]["Status"] == "exited" else None)(
        inspect(hithe, cid)))
    assert doc and doc["State"]["ExitCode"] == 3
    hithe("rm", "-f", cid)


def test_update_errors(hithe):
    cid = hithe("run", "-d", "--name", "upderr", "--cpus", "1", "busybox", "sleep", "300").out.strip()
    r = hithe("update", "-m", "4m", "upderr")
    assert r.rc == 1 and "Minimum memory limit allowed is 6MB" in r.err
    r = hithe("update", "-m", "64m", "upderr")
    assert r.rc == 1 and (f"Cannot update container {cid}: Memory limit should be smaller than already set "
                          "memoryswap limit, update the memoryswap at the same time") in r.err
    r = hithe("update", "--cpu-quota", "50000", "upderr")
    assert r.rc == 1 and "Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set" in r.err
    r = hithe("update", "--cpus", "1", "--cpu-period", "50000", "upderr")
    assert r.rc == 1 and "Conflicting options: Nano CPUs and CPU Period cannot both be set" in r.err
    r = hithe("update", "--cpuset-cpus", "0-63", "upderr")
    assert r.rc == 1 and "Requested CPUs are not available - requested 0-63" in r.err
    r = hithe("update", "--restart", "sometimes", "upderr")
    assert r.rc == 1 and "invalid restart policy" in r.err
    r = hithe("update", "upderr")
    assert r.rc == 1 and "you must provide one or more flags when using this command" in r.err
    r = hithe("update", "--cpu-shares", "100", "upderr", "nosuchbox")
    assert r.rc == 1 and r.out == "upderr\n" and "No such container: nosuchbox" in r.err
    assert inspect(hithe, cid)["HostConfig"]["CpuShares"] == 100
    rm = hithe("run", "-d", "--rm", "busybox", "sleep", "300").out.strip()
    r = hithe("update", "--restart", "always", rm)
    assert r.rc == 1 and ("Restart policy cannot be updated because AutoRemove is enabled for the container"
                          in r.err)
    hithe("rm", "-f", cid, rm)


def test_update_api_status_codes_and_event(daemon, hithe, api):
    import docker
    cid = hithe("run", "-d", "--cpus", "1", "busybox", "sleep", "300").out.strip()
    since = int(time.time())
    with pytest.raises(docker.errors.APIError) as e:
        api.update_container(cid, mem_limit=1024)
    assert e.value.status_code == 400
    with pytest.raises(docker.errors.APIError) as e:
        api.update_container(cid, cpu_quota=20000)
    assert e.value.status_code == 409
    with pytest.raises(docker.errors.NotFound):
        api.update_container("nosuch", cpu_shares=10)
    resp = api.update_container(cid, cpu_shares=300)
    assert resp == {"Warnings": None}
    # hostile bodies: wrong types are 400s that change nothing
    for body in ({"Memory": "lots"}, {"BlkioWeight": 1 << 20}, {"CpusetCpus": "0-"}, {"NanoCpus": -5},
                 [1], {"RestartPolicy": {"Name": 7}}):
        r = api._post_json(api._url("/containers/{0}/update", cid), data=body)
        assert r.status_code == 400, (body, r.text)
    assert inspect(hithe, cid)["HostConfig"]["CpuShares"] == 300
    events = hithe("events", "--since", str(since), "--until", str(int(time.time()) + 1),
                   "--filter", "event=update", "--format", "{{.Action}} {{.Actor.ID}}").out.split("\n")
    assert f"update {cid}" in events
    hithe("rm", "-f", cid)


def test_docker_py_container_update(daemon, hithe):
    import docker
    client = docker.DockerClient(base_url=daemon.host)
    try:
        c = client.containers.run("busybox", ["sleep", "300"], detach=True, mem_limit="32m",
                                  memswap_limit="64m")
        c.update(mem_limit="48m", cpu_shares=768, cpuset_mems="0", restart_policy={"Name": "unless-stopped"})
        c.reload()
        hc = c.attrs["HostConfig"]
        assert (hc["Memory"], hc["CpuShares"], hc["CpusetMems"]) == (48 * MB, 768, "0")
        assert hc["RestartPolicy"]["Name"] == "unless-stopped"
        assert cgroup(daemon, "memory", c.id, "memory.limit_in_bytes") == str(48 * MB)
        c.remove(force=True)
    finally:
        client.close()


@pytest.mark.skipif(shutil.which("docker") is None, reason="docker CLI not installed")
def test_stock_docker_cli_update(daemon, hithe):
    def docker(*args: str):
        return run_cli(daemon, *args, prog="docker")
    cid = docker("run", "-d", "--name", "dupd", "busybox", "sleep", "300").out.strip()
    r = docker("update", "--cpus", "0.25", "--pids-limit", "11", "--restart", "always", "dupd")
    assert (r.rc, r.out) == (0, "dupd\n"), r.err
    assert cgroup(daemon, "cpu", cid, "cpu.cfs_quota_us") == "25000"
    assert cgroup(daemon, "pids", cid, "pids.max") == "11"
    r = docker("container", "update", "--memory", "64m", "dupd")
    assert r.rc == 1 and "Memory limit should be smaller than already set memoryswap limit" in r.err
    assert docker("inspect", "-f", "{{.HostConfig.RestartPolicy.Name}}", "dupd").out.strip() == "always"
    docker("rm", "-f", "dupd")


# --- health checks -------------------------------------------------------------
def ps_status(hithe, ref: str) -> str:
    return hithe("ps", "-a", "--filter", "id=" + ref, "--format", "{{.Status}}").out.strip()


def test_healthy_probe(hithe):
    since = int(time.time())
    cid = hithe("run", "-d", "--name", "hok", "--health-cmd", "echo alive", "--health-interval", "1s",
                "busybox", "sleep", "300").out.strip()
    assert "(health: starting)" in ps_status(hithe, cid)
    assert wait_for(lambda: "(healthy)" in ps_status(hithe, cid), 6)
    assert ps_status(hithe, cid).startswith("Up ")
    doc = inspect(hithe, cid)
    health = doc["State"]["Health"]
    assert health["Status"] == "healthy" and health["FailingStreak"] == 0
    assert health["Log"][-1]["ExitCode"] == 0 and health["Log"][-1]["Output"] == "alive\n"
    assert doc["Config"]["Healthcheck"] == {"Test": ["CMD-SHELL", "echo alive"], "Interval": 1_000_000_000}
    assert doc["ExecIDs"] is None   # probes are not the user's execs
    assert hithe("ps", "-q", "--filter", "health=healthy").out.split() == [cid[:12]]
    assert cid[:12] not in hithe("ps", "-q", "--filter", "health=unhealthy").out.split()
    none = hithe("run", "-d", "busybox", "sleep", "300").out.strip()
    assert none[:12] in hithe("ps", "-q", "--filter", "health=none").out.split()
    assert cid[:12] not in hithe("ps", "-q", "--filter", "health=none").out.split()
    r = hithe("ps", "--filter", "health=fine")
    assert r.rc == 1 and "Unrecognised filter value for health: fine" in r.err
    # at most 5 results are kept
    assert wait_for(lambda: len(inspect(hithe, cid)["State"]["Health"]["Log"]) == 5, 8)
    assert len(inspect(hithe, cid)["State"]["Health"]["Log"]) == 5
    events = hithe("events", "--since", str(since), "--until", str(int(time.time()) + 1),
                   "--filter", "container=" + cid, "--format", "{{.Action}}").out.splitlines()
    assert "health_status: healthy" in events
    assert "exec_create: /bin/sh -c echo alive" in events and "exec_start: /bin/sh -c echo alive" in events
    assert "exec_die" in events
    hithe("rm", "-f", cid, none)


def test_failing_probe_becomes_unhealthy_with_log(hithe):
    cid = hithe("run", "-d", "--health-cmd", "echo sick >&2; exit 3", "--health-interval", "1s",
                "--health-retries", "2", "busybox", "sleep", "300").out.strip()
    assert wait_for(lambda: "(unhealthy)" in ps_status(hithe, cid), 8)
    health = inspect(hithe, cid)["State"]["Health"]
    assert health["Status"] == "unhealthy" and health["FailingStreak"] >= 2
    last = health["Log"][-1]
    assert last["ExitCode"] == 3 and last["Output"] == "sick\n"
    assert last["Start"] <= last["End"]
    assert cid[:12] in hithe("ps", "-q", "--filter", "health=unhealthy").out.split()
    hithe("rm", "-f", cid)


def test_probe_timeout_and_missing_command(hithe, api):
    cid = hithe("run", "-d", "--health-cmd", "sleep 5", "--health-interval", "1s", "--health-timeout", "300ms",
                "--health-retries", "1", "busybox", "sleep", "300").out.strip()
    assert wait_for(lambda: "(unhealthy)" in ps_status(hithe, cid), 8)
    last = inspect(hithe, cid)["State"]["Health"]["Log"][-1]
    assert last["ExitCode"] == -1 and last["Output"] == "Health check exceeded timeout (300ms)"
    # the killed probe does not linger in the container
    assert "sleep 5" not in hithe("top", cid).out
    hithe("rm", "-f", cid)
    # a CMD probe whose program does not exist: the exec fails to start, a -1 result says why
    c = api.create_container("busybox", ["sleep", "300"], healthcheck={
        "Test": ["CMD", "/nosuch/probe"], "Interval": 500_000_000, "Retries": 1})
    api.start(c["Id"])
    assert wait_for(lambda: "(unhealthy)" in ps_status(hithe, c["Id"]), 8)
    last = inspect(hithe, c["Id"])["State"]["Health"]["Log"][-1]
    assert last["ExitCode"] == -1 and "/nosuch/probe" in last["Output"]
    assert hithe("exec", c["Id"], "true").rc == 0   # the container itself is fine
    hithe("rm", "-f", c["Id"])


def test_probes_stop_with_the_container_and_resume_on_restart(hithe):
    cid = hithe("run", "-d", "--health-cmd", "true", "--health-interval", "1s", "busybox",
                "sleep", "300").out.strip()
    assert wait_for(lambda: inspect(hithe, cid)["State"]["Health"]["Status"] == "healthy", 6)
    assert hithe("stop", "-t", "0", cid).rc == 0
    doc = inspect(hithe, cid)
    assert doc["State"]["Health"]["Status"] == "unhealthy"   # Docker: the monitor stopped
    n = len(doc["State"]["Health"]["Log"])
    time.sleep(2.2)
    assert len(inspect(hithe, cid)["State"]["Health"]["Log"]) == n   # no probes while stopped
    assert ps_status(hithe, cid).startswith("Exited")
    assert hithe("start", cid).rc == 0
    assert inspect(hithe, cid)["State"]["Health"]["Status"] == "starting"
    assert wait_for(lambda: "(healthy)" in ps_status(hithe, cid), 6)
    hithe("rm", "-f", cid)


def test_no_healthcheck_and_image_healthcheck(hithe, api):
    from tests.conftest import busybox_tar
    api.import_image_from_data(busybox_tar(), repository="hcimage", tag="latest",
                               changes=['ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'CMD ["sleep", "300"]',
                                        "HEALTHCHECK --interval=1s --retries=1 CMD test -e /tmp/ok"])
    img = api.inspect_image("hcimage")
    assert img["Config"]["Healthcheck"] == {"Test": ["CMD-SHELL", "test -e /tmp/ok"],
                                            "Interval": 1_000_000_000, "Retries": 1}
    cid = hithe("run", "-d", "hcimage").out.strip()
    assert wait_for(lambda: "(unhealthy)" in ps_status(hithe, cid), 6)
    hithe("exec", cid, "touch", "/tmp/ok")
    assert wait_for(lambda: "(healthy)" in ps_status(hithe, cid), 6)
    # --health-cmd keeps the image's other settings; --no-healthcheck turns it off
    other = hithe("run", "-d", "--health-cmd", "true", "hcimage").out.strip()
    assert inspect(hithe, other)["Config"]["Healthcheck"] == {"Test": ["CMD-SHELL", "true"],
                                                              "Interval": 1_000_000_000, "Retries": 1}
    off = hithe("run", "-d", "--no-healthcheck", "hcimage").out.strip()
    time.sleep(1.5)
    doc = inspect(hithe, off)
    assert "Health" not in doc["State"] and doc["Config"]["Healthcheck"]["Test"] == ["NONE"]
    assert "(" not in ps_status(hithe, off)
    hithe("rm", "-f", cid, other, off)
    api.remove_image("hcimage")


def test_health_config_errors(hithe, api):
    r = hithe("run", "-d", "--health-cmd", "true", "--health-interval", "10us", "busybox", "true")
    assert r.rc != 0 and "Interval in Healthcheck cannot be less than 1ms" in r.err
    import docker
    with pytest.raises(docker.errors.APIError) as e:
        api.create_container("busybox", "true", healthcheck={"Test": ["CMD", "true"], "Retries": -1})
    assert e.value.status_code == 400 and "Retries in Healthcheck cannot be negative" in str(e.value)


def test_health_survives_daemon_restart(hithe, daemon):
    cid = hithe("run", "-d", "--health-cmd", "true", "--health-interval", "1s", "busybox",
                "sleep", "300").out.strip()
    assert wait_for(lambda: inspect(hithe, cid)["State"]["Health"]["Status"] == "healthy", 6)
    daemon.stop()
    daemon.start()
    doc = inspect(hithe, cid)
    assert doc["State"]["Running"] and doc["State"]["Health"]["Status"] in ("starting", "healthy")
    n = len(doc["State"]["Health"]["Log"])
    assert wait_for(lambda: len(inspect(hithe, cid)["State"]["Health"]["Log"]) > n
                    or inspect(hithe, cid)["State"]["Health"]["Log"][-1] != doc["State"]["Health"]["Log"][-1], 6)
    assert wait_for(lambda: "(healthy)" in ps_status(hithe, cid), 6)
    hithe("rm", "-f", cid)
