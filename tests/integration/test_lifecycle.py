"""The rest of a container's life: kill, wait, top, rename, pause, restart policies, events, init."""
from __future__ import annotations

import json
import time

import pytest

pytestmark = pytest.mark.integration


def test_kill_with_signal_and_wait(hithe):
    cid = hithe("run", "-d", "busybox", "sh", "-c", "trap 'exit 42' USR1; while true; do sleep 0.1; done").out.strip()
    time.sleep(0.3)
    assert hithe("kill", "-s", "USR1", cid).rc == 0
    r = hithe("wait", cid)
    assert r.out.strip() == "42"
    r = hithe("kill", cid)
    assert r.rc == 1 and "is not running" in r.err
    hithe("rm", cid)


def test_stop_signal_and_timeout(hithe):
    cid = hithe("run", "-d", "--stop-signal", "USR2", "busybox", "sh", "-c",
                "trap 'exit 7' USR2; while true; do sleep 0.1; done").out.strip()
    time.sleep(0.3)
    t = time.time()
    hithe("stop", cid)
    assert time.time() - t < 5
    assert hithe("inspect", "-f", "{{.State.ExitCode}}", cid).out.strip() == "7"
    hithe("rm", cid)


def test_inspect_shape(hithe, api):
    cid = hithe("run", "-d", "-e", "FOO=bar", "-w", "/tmp", "-u", "nobody", "-h", "myhost", "-l", "k=v",
                "--name", "insp", "busybox", "sleep", "30").out.strip()
    doc = api.inspect_container(cid)
    assert doc["Name"] == "/insp"
    st = doc["State"]
    assert st["Status"] == "running" and st["Running"] and st["Pid"] > 0 and not st["OOMKilled"]
    assert st["StartedAt"].endswith("Z") and st["FinishedAt"].startswith("0001-01-01")
    assert "FOO=bar" in doc["Config"]["Env"]
    assert doc["Config"]["WorkingDir"] == "/tmp" and doc["Config"]["User"] == "nobody"
    assert doc["Config"]["Hostname"] == "myhost" and doc["Config"]["Labels"] == {"k": "v"}
    assert doc["HostConfig"]["RestartPolicy"]["Name"] == "no"
    assert "Networks" in doc["NetworkSettings"] and doc["Mounts"] == []
    r = hithe("exec", cid, "sh", "-c", "hostname; id -u; pwd; echo $FOO")
    assert r.out.split() == ["myhost", "65534", "/tmp", "bar"]
    hithe("rm", "-f", cid)


def test_top_rename_pause(hithe):
    cid = hithe("run", "-d", "--name", "toprn", "busybox", "sleep", "31").out.strip()
    r = hithe("top", "toprn")
    assert "sleep 31" in r.out and "PID" in r.out.splitlines()[0]
    assert hithe("rename", "toprn", "toprn2").rc == 0
    assert hithe("inspect", "-f", "{{.Name}}", cid).out.strip() == "/toprn2"
    assert hithe("pause", "toprn2").rc == 0
    assert hithe("inspect", "-f", "{{.State.Status}}", cid).out.strip() == "paused"
    assert "(Paused)" in hithe("ps", "--filter", "id=" + cid, "--format", "{{.Status}}").out
    assert hithe("unpause", "toprn2").rc == 0
    assert hithe("inspect", "-f", "{{.State.Status}}", cid).out.strip() == "running"
    hithe("rm", "-f", cid)


def test_restart_policy_on_failure(hithe):
    cid = hithe("run", "-d", "--restart", "on-failure:2", "busybox", "sh", "-c", "exit 1").out.strip()
    deadline = time.time() + 10
    while time.time() < deadline:
        doc = json.loads(hithe("inspect", cid).out)[0]
        if doc["RestartCount"] == 2 and doc["State"]["Status"] == "exited":
            break
        time.sleep(0.2)
    assert doc["RestartCount"] == 2
    assert doc["State"]["Status"] == "exited" and doc["State"]["ExitCode"] == 1
    hithe("rm", "-f", cid)


def test_restart_policy_always_and_manual_stop(hithe):
    cid = hithe("run", "-d", "--restart", "always", "busybox", "sh", "-c", "sleep 0.2").out.strip()
    time.sleep(1.5)
    doc = json.loads(hithe("inspect", cid).out)[0]
    assert doc["RestartCount"] >= 1
    hithe("stop", "-t", "1", cid)
    time.sleep(0.5)
    assert hithe("inspect", "-f", "{{.State.Status}}", cid).out.strip() == "exited"
    hithe("rm", "-f", cid)


def test_init_reaps_and_forwards(hithe):
    r = hithe("run", "--rm", "--init", "busybox", "sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '")
    assert r.out.startswith("/sbin/docker-init -- sh")


def test_env_file_and_entrypoint(hithe, tmp_path):
    f = tmp_path / "env"
    f.write_text("A=1\n# comment\nB=two words\n")
    r = hithe("run", "--rm", "--env-file", str(f), "--entrypoint", "sh", "busybox", "-c", 'echo "$A|$B"')
    assert r.out == "1|two words\n"


def test_ps_filters_and_format(hithe):
    a = hithe("run", "-d", "-l", "grp=x", "busybox", "sleep", "30").out.strip()
    b = hithe("run", "-d", "-l", "grp=y", "busybox", "sleep", "30").out.strip()
    r = hithe("ps", "-q", "--no-trunc", "--filter", "label=grp=x")
    assert r.out.split() == [a]
    r = hithe("ps", "--format", "{{json .}}", "--filter", "id=" + b)
    doc = json.loads(r.out)
    assert doc["ID"] == b[:12] and doc["Labels"] == "grp=y"
    assert hithe("ps", "-l", "-q").out.strip() == b[:12]
    r = hithe("ps", "--format", "table {{.ID}}\t{{.Names}}", "-n", "1")
    assert r.out.splitlines()[0].split() == ["CONTAINER", "ID", "NAMES"]
    hithe("rm", "-f", a, b)


def test_events_stream(daemon, api, busybox):
    since = int(time.time()) - 1
    c = api.create_container("busybox", "true")
    api.start(c["Id"])
    api.wait(c["Id"])
    api.remove_container(c["Id"])
    evs = list(api.events(since=since, until=int(time.time()) + 1, decode=True,
                          filters={"container": c["Id"]}))
    actions = [e["Action"] for e in evs]
    assert actions[:4] == ["create", "start", "die", "destroy"]
    assert evs[2]["Actor"]["Attributes"]["exitCode"] == "0"


def test_log_rotation_keeps_files(hithe, daemon):
    cid = hithe("run", "-d", "--log-opt", "max-size=100k", "--log-opt", "max-file=3", "busybox", "sh", "-c",
                # batches of 300 lines: conmon rotates every few batches, not several times a millisecond
                "i=0; while [ $i -lt 6000 ]; do echo line-$i-padding-padding-padding; i=$((i+1)); "
                "[ $((i % 300)) = 0 ] && sleep 0.05; done; sleep 3").out.strip()
    time.sleep(3.0)
    r = hithe("logs", cid)
    lines = r.out.splitlines()
    assert lines[-1] == "line-5999-padding-padding-padding"
    # three files of at most 100 kB: older lines are gone, the newest ones are all there
    assert 2000 < len(lines) < 6000
    nums = [int(l.split("-")[1]) for l in lines]
    assert nums == list(range(nums[0], 6000))
    hithe("rm", "-f", cid)


def test_events_cli_format(hithe):
    import time as _t
    since = int(_t.time())
    name = "evcli"
    hithe("run", "--rm", "--name", name, "busybox", "true")
    _t.sleep(1.1)
    r = hithe("events", "--since", str(since), "--until", str(int(_t.time())), "--filter", f"container={name}",
              "--format", "{{.Action}} {{.Actor.Attributes.name}}")
    assert r.out.splitlines() == [f"{a} {name}" for a in ("create", "attach", "start", "die", "destroy")]
    r = hithe("events", "--since", str(since), "--until", str(int(_t.time())), "--filter", "event=die",
              "--filter", f"container={name}")
    line = r.out.strip()
    assert "container die" in line and f"name={name}" in line and "exitCode=0" in line


def test_rm_f_of_a_rm_container_removes_once(hithe, api):
    import time as _t
    since = int(_t.time())
    cid = hithe("run", "-d", "--rm", "busybox", "sleep", "60").out.strip()
    assert hithe("rm", "-f", cid).rc == 0
    _t.sleep(1.1)
    evs = list(api.events(since=since, until=int(_t.time()), decode=True, filters={"container": cid}))
    assert [e["Action"] for e in evs].count("destroy") == 1
    assert hithe("inspect", cid).rc == 1


def test_memory_limit_and_oom(hithe, daemon):
    cid = hithe("run", "-d", "-m", "16m", "busybox", "sleep", "30").out.strip()
    limit = open(f"/sys/fs/cgroup/memory/{daemon.instance()}/{cid}/memory.limit_in_bytes").read().strip()
    assert int(limit) == 16 * 1024 * 1024
    hithe("rm", "-f", cid)
    r = hithe("run", "--name", "oomer", "-m", "16m", "busybox", "tail", "/dev/zero")
    assert r.rc == 137
    assert hithe("inspect", "-f", "{{.State.OOMKilled}}", "oomer").out.strip() == "true"
    hithe("rm", "oomer")


def test_stop_timeout_from_create(hithe):
    cid = hithe("run", "-d", "--stop-timeout", "1", "busybox", "sleep", "30").out.strip()
    t = time.time()
    assert hithe("stop", cid).rc == 0
    took = time.time() - t
    assert 0.8 < took < 5, took
    assert hithe("inspect", "-f", "{{.State.ExitCode}} {{.Config.StopTimeout}}", cid).out.split() == ["137", "1"]
    hithe("rm", cid)


def test_host_flag_selects_daemon(daemon, busybox):
    from tests.conftest import run_cli
    env_backup = dict(daemon.env)
    daemon.env = {k: v for k, v in daemon.env.items() if k not in ("HITHE_HOST", "DOCKER_HOST")}
    try:
        r = run_cli(daemon, "-H", daemon.host, "ps", "-q")
        assert r.rc == 0, r.err
        r = run_cli(daemon, "--host", "unix:///tmp/no-hithe-here.sock", "ps")
        assert r.rc == 1 and "Cannot connect to the hithe daemon at unix:///tmp/no-hithe-here.sock" in r.err
    finally:
        daemon.env = env_backup


def test_one_die_event_per_exit(hithe, api):
    since = int(time.time())
    ids = [hithe("run", "-d", "busybox", "true").out.strip() for _ in range(8)]
    for cid in ids:
        hithe("wait", cid)
    time.sleep(1.1)
    evs = list(api.events(since=since, until=int(time.time()), decode=True, filters={"event": "die"}))
    for cid in ids:
        assert sum(1 for e in evs if e["Actor"]["ID"] == cid) == 1, cid
    hithe("rm", *ids)
