#!/usr/bin/env python3
"""hithe against docker on this machine: alternating runs, medians, ratios.

Each engine gets its own daemon, socket and data root; docker runs only when
`dockerd` is installed (apt-get install docker.io). hithe runs containers on its
default bridge (a private `hb1`); docker runs once with --bridge=none and, with
--docker-bridge, once more with its default bridge network on a private `hb0`.
Results go to stdout and bench/results/latest.json. Nothing here asserts.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


class Engine:
    def __init__(self, name: str, root: str, bridge: str = "") -> None:
        self.name = name
        self.bridge = bridge  # docker only: its default network on a private bridge of ours
        self.root = root
        self.sock = os.path.join(root, f"{name}{'-br' if bridge else ''}.sock")
        self.label = name + (" (bridge)" if bridge else "")
        self.host = "unix://" + self.sock
        self.proc: subprocess.Popen | None = None
        self.env = {**os.environ, "DOCKER_HOST": self.host, "HITHE_HOST": self.host, "HITHE_NO_AUTOSTART": "1"}

    def cli(self) -> list[str]:
        if self.name == "hithe":
            exe = shutil.which("hithe", path=os.path.dirname(sys.executable)) or shutil.which("hithe")
            return [exe] if exe else [sys.executable, "-m", "hithe.cli.main"]
        return ["docker"]

    def start(self) -> None:
        tag = self.name + ("-br" if self.bridge else "")
        log = open(os.path.join(self.root, f"{tag}.log"), "ab")
        if self.name == "hithe":
            # its default bridge on a private bridge and subnet of ours, like docker's hb0 below
            conf = os.path.join(self.root, "hithe.json")
            with open(conf, "w") as f:
                json.dump({"bridge": "hb1", "bip": "10.213.78.1/24", "ip-forward": False,
                           "default-address-pools": [{"base": "10.213.80.0/20", "size": 24}]}, f)
            cmd = [sys.executable, "-m", "hithe.daemon.main", "-H", self.host, "--data-root",
                   os.path.join(self.root, "hdata"), "--exec-root", os.path.join(self.root, "hexec"),
                   "--config-file", conf]
        else:
            cmd = ["dockerd", "-H", self.host, "--data-root", os.path.join(self.root, tag + "data"),
                   "--exec-root", os.path.join(self.root, tag + "exec"), "--pidfile", os.path.join(self.root, tag + ".pid"),
                   "--bridge", self.bridge or "none", "--iptables=false", "--ip6tables=false", "--ip-forward=false",
                   "--ip-masq=false", "--userland-proxy=false",
                   "--containerd-namespace", "hbench" + tag, "--containerd-plugins-namespace", "hbench-p" + tag]
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=log, start_new_session=True)
        for _ in range(300):
            if self.run("version", check=False).returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} daemon did not start")

    def run(self, *args: str, check: bool = True, input: bytes | None = None) -> subprocess.CompletedProcess:
        r = subprocess.run(self.cli() + list(args), env=self.env, input=input, capture_output=True)
        if check and r.returncode != 0:
            raise RuntimeError(f"{self.name} {' '.join(args)}: {r.stderr.decode()}")
        return r

    def api(self):
        import docker
        return docker.APIClient(base_url=self.host, version="1.41", timeout=120, max_pool_size=64)

    def stop(self) -> None:
        try:
            for cid in self.run("ps", "-aq", check=False).stdout.decode().split():
                self.run("rm", "-f", cid, check=False)
        finally:
            if self.proc and self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(30)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
            if self.name == "hithe":
                self.remove_network()

    def remove_network(self) -> None:
        """hithed keeps its bridges and nft table across restarts (as dockerd keeps docker0);
        the bench removes them: links tagged with the instance name, and the table."""
        from hithe.daemon.config import instance_name
        instance = instance_name(os.path.join(self.root, "hdata"))
        out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.rstrip().endswith(f"alias {instance}"):
                subprocess.run(["ip", "link", "del", line.split(":")[1].strip().split("@")[0]])
        subprocess.run(["nft", "delete", "table", "ip", instance], stderr=subprocess.DEVNULL)


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def rss_kib(pid: int, field: str = "Rss") -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def pids_named(name: str, needle: str = "") -> list[int]:
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            comm = Path(f"/proc/{p}/comm").read_text().strip()
            cmd = Path(f"/proc/{p}/cmdline").read_bytes()
        except OSError:
            continue
        if comm == name and needle.encode() in cmd:
            out.append(int(p))
    return out


def bench_run_rm(e: Engine) -> float:
    return timed(lambda: e.run("run", "--rm", "busybox", "true"))


def bench_run_stop_rm(e: Engine) -> float:
    def go() -> None:
        cid = e.run("run", "-d", "busybox", "sleep", "60").stdout.decode().strip()
        e.run("stop", "-t", "0", cid)
        e.run("rm", cid)
    return timed(go)


def bench_exec(e: Engine, cid: str) -> float:
    return timed(lambda: e.run("exec", cid, "true"))


def floors(e: Engine, cid: str, n: int) -> dict[str, float]:
    """What hithe's exec cannot go below: `runc exec` alone on the same container (its
    seccomp filter is compiled again on every exec) and a bare Python start."""
    full = e.run("inspect", "-f", "{{.Id}}", cid).stdout.decode().strip()
    runc = ["runc", "--root", os.path.join(e.root, "hexec", "runc"), "exec", full, "true"]
    py = [sys.executable, "-c", "pass"]
    return {"floor_runc_exec_s": statistics.median(timed(lambda: subprocess.run(runc, check=True)) for _ in range(n)),
            "floor_python_start_s": statistics.median(timed(lambda: subprocess.run(py, check=True)) for _ in range(n))}


def bench_50(e: Engine) -> float:
    api = e.api()

    def one(i: int) -> str:
        c = api.create_container("busybox", ["sleep", "120"])
        api.start(c["Id"])
        return c["Id"]
    t = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(50) as pool:
        ids = list(pool.map(one, range(50)))
    dt = time.perf_counter() - t
    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        list(pool.map(lambda c: api.remove_container(c, force=True), ids))
    return dt


def per_container_memory(e: Engine, n: int = 10) -> dict[str, float]:
    api = e.api()
    ids = []
    for _ in range(n):
        c = api.create_container("busybox", ["sleep", "120"])
        api.start(c["Id"])
        ids.append(c["Id"])
    time.sleep(1)
    if e.name == "hithe":
        mons = pids_named("conmon", e.root)
    else:
        mons = pids_named("containerd-shim", "hbench" + e.name + ("-br" if e.bridge else ""))
    rss = [rss_kib(p) for p in mons]
    pss = [rss_kib(p, "Pss") for p in mons]
    for c in ids:
        api.remove_container(c, force=True)
    return {"monitors": len(mons), "rss_mib": statistics.mean(rss) / 1024 if rss else 0,
            "pss_mib": statistics.mean(pss) / 1024 if pss else 0}


def daemon_rss(e: Engine) -> float:
    if e.name == "hithe":
        return rss_kib(e.proc.pid) / 1024
    total = rss_kib(e.proc.pid)
    for p in pids_named("containerd", ""):
        cmd = Path(f"/proc/{p}/cmdline").read_bytes()
        if os.path.join(e.root, e.name + ("-br" if e.bridge else "") + "exec").encode() in cmd:
            total += rss_kib(p)
    return total / 1024


def bench_logs(e: Engine) -> float:
    opts = ["--log-opt", "max-size=1g"] if e.name == "hithe" else []
    cid = e.run("run", "-d", *opts, "busybox", "sh", "-c",
                "yes 'hithe benchmark log line that is sixty-four bytes long......' | head -c 104857600").stdout.decode().strip()
    e.run("wait", cid)

    def read() -> None:
        with open(os.devnull, "wb") as devnull:
            subprocess.run(e.cli() + ["logs", cid], env=e.env, stdout=devnull, check=True)
    dt = timed(read)
    e.run("rm", "-f", cid)
    return dt


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=7, help="alternating rounds per timing")
    ap.add_argument("--no-docker", action="store_true")
    ap.add_argument("--docker-bridge", action="store_true",
                    help="also run docker with its default bridge network (on a private bridge hb0)")
    a = ap.parse_args()
    root = tempfile.mkdtemp(prefix="hb-", dir="/tmp")
    engines = [Engine("hithe", root)]
    if shutil.which("dockerd") and not a.no_docker:
        engines.append(Engine("docker", root))
        if a.docker_bridge:
            subprocess.run("ip link add hb0 type bridge && ip addr add 10.213.77.1/24 dev hb0 && ip link set hb0 up",
                           shell=True, check=True)
            engines.append(Engine("docker", root, bridge="hb0"))
    tar = subprocess.run(["bash", str(REPO / "scripts" / "busybox-rootfs.sh")], capture_output=True, check=True).stdout
    results: dict[str, dict[str, float]] = {e.label: {} for e in engines}
    try:
        for e in engines:
            e.start()
            e.run("import", "-c", "CMD [\"sh\"]", "-", "busybox:latest", input=tar)
        time.sleep(2)
        for e in engines:
            results[e.label]["daemon_idle_rss_mib"] = daemon_rss(e)
        samples: dict[tuple[str, str], list[float]] = {}
        execs = {e.label: e.run("run", "-d", "busybox", "sleep", "600").stdout.decode().strip() for e in engines}
        for e in engines:  # warm-up
            bench_run_rm(e)
            bench_exec(e, execs[e.label])
        for _ in range(a.n):
            for e in engines:
                samples.setdefault((e.label, "run_rm_true_s"), []).append(bench_run_rm(e))
                samples.setdefault((e.label, "run_d_stop_rm_s"), []).append(bench_run_stop_rm(e))
                samples.setdefault((e.label, "exec_true_s"), []).append(bench_exec(e, execs[e.label]))
        for _ in range(3):
            for e in engines:
                samples.setdefault((e.label, "start_50_concurrent_s"), []).append(bench_50(e))
        results["hithe"].update(floors(engines[0], execs["hithe"], a.n))
        for e in engines:
            e.run("rm", "-f", execs[e.label])
        for (name, key), vals in samples.items():
            results[name][key] = statistics.median(vals)
        for e in engines:
            mem = per_container_memory(e)
            results[e.label]["per_container_rss_mib"] = mem["rss_mib"]
            results[e.label]["per_container_pss_mib"] = mem["pss_mib"]
        for _ in range(2):
            for e in engines:
                samples.setdefault((e.label, "logs_100mb_s"), []).append(bench_logs(e))
        for e in engines:
            results[e.label]["logs_100mb_s"] = statistics.median(samples[(e.label, "logs_100mb_s")])
    finally:
        for e in engines:
            e.stop()
        subprocess.run(["bash", "-c", f"grep -o ' {root}[^ ]*' /proc/mounts | xargs -r -n1 umount -l"])
        if a.docker_bridge:
            subprocess.run(["ip", "link", "del", "hb0"], stderr=subprocess.DEVNULL)
        shutil.rmtree(root, ignore_errors=True)
    keys = list(results["hithe"].keys())
    others = [k for k in results if k != "hithe"]
    print(f"{'metric':26} {'hithe':>9}" + "".join(f" {o:>16} {'ratio':>6}" for o in others))
    for k in keys:
        h = results["hithe"][k]
        row = f"{k:26} {h:9.3f}"
        for o in others:
            d = results[o].get(k)
            row += f" {d:16.3f} {h / d:5.2f}x" if d else f" {'-':>16} {'-':>6}"
        print(row)
    os.makedirs(REPO / "bench" / "results", exist_ok=True)
    (REPO / "bench" / "results" / "latest.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
