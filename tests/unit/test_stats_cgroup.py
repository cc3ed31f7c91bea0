"""docker stats, the pure parts: cgroup v1 and procfs parsing, Docker's JSON, the CLI's arithmetic."""
from __future__ import annotations

import asyncio
import json
import os
import types

import pytest

from hithe.containers import stats_cgroupv1 as v1
from hithe.containers.stats_cgroup import BLKIO_KEYS, CgroupStats, CPUUsage, MemoryUsage, PidsUsage
from hithe.containers.stats_host import NetDev, parse_meminfo_total, parse_net_dev, parse_system_cpu
from hithe.containers.stats_render import Sample, empty_cpu_stats, empty_frame, encode, frame

MEMORY_STAT = """cache 9400320
rss 7004160
rss_huge 0
shmem 9084928
mapped_file 7524352
dirty 126976
writeback 0
swap 0
pgpgin 90990
pgpgout 86985
pgfault 156174
pgmajfault 0
inactive_anon 0
active_anon 1531904
inactive_file 8192
active_file 307200
unevictable 0
hierarchical_memory_limit 67108864
hierarchical_memsw_limit 134217728
total_cache 630263808
total_rss 12357632
total_inactive_file 263270400
"""

BLKIO_THROTTLE = """8:0 Read 4096
8:0 Write 81920
8:0 Sync 86016
8:0 Async 0
8:0 Discard 0
8:0 Total 86016
Total 86016
"""

PROC_STAT = """cpu  1000 20 300 50000 40 0 6 7 0 0
cpu0 500 10 150 25000 20 0 3 3 0 0
intr 12345
"""

NET_DEV = """Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:     140       2    0    0    0     0          0         0      140       2    0    0    0     0       0          0
  eth0:    1296      16    1    2    0     0          0         0      866      11    3    4    0     0       0          0
"""


# --- cgroup v1 files --------------------------------------------------------------------------
def test_memory_stat_parses_every_key():
    kv = v1.parse_kv(MEMORY_STAT)
    assert kv["cache"] == 9400320 and kv["total_inactive_file"] == 263270400 and kv["swap"] == 0


def test_blkio_drops_total_lines_and_keeps_ops():
    entries = v1.parse_blkio(BLKIO_THROTTLE)
    assert [(e.major, e.minor, e.op, e.value) for e in entries][:2] == [(8, 0, "Read", 4096), (8, 0, "Write", 81920)]
    assert len(entries) == 6  # "8:0 Total" is a device line; the bare "Total" is not
    assert v1.parse_blkio("Total 0\n") == []
    assert [(e.op, e.value) for e in v1.parse_blkio("8:16 1234\n")] == [("", 1234)]


def test_cpuacct_stat_ticks_to_ns_and_pids_max():
    assert v1.parse_cpuacct_stat("user 323\nsystem 1\n") == (3_230_000_000, 10_000_000)
    assert v1.parse_percpu("2475303497 771242917 \n") == [2475303497, 771242917]
    assert v1.parse_pids_max("max\n") == 0 and v1.parse_pids_max("50\n") == 50


def _fake_cgroup(root, cgroup: str, *, cfq: bool = False) -> None:
    files = {
        "cpuacct": {"cpuacct.stat": "user 10\nsystem 5\n", "cpuacct.usage": "150000000\n",
                    "cpuacct.usage_percpu": "100000000 50000000\n"},
        "cpu": {"cpu.stat": "nr_periods 7\nnr_throttled 2\nthrottled_time 999\n"},
        "memory": {"memory.usage_in_bytes": "1000000\n", "memory.max_usage_in_bytes": "2000000\n",
                   "memory.limit_in_bytes": "9223372036854771712\n", "memory.failcnt": "0\n",
                   "memory.stat": MEMORY_STAT},
        "pids": {"pids.current": "3\n", "pids.max": "max\n"},
        "blkio": {"blkio.throttle.io_service_bytes": BLKIO_THROTTLE, "blkio.throttle.io_serviced": "8:0 Read 1\nTotal 1\n"},
    }
    if cfq:
        files["blkio"].update({"blkio." + n: "" for n, _ in v1._BLKIO_CFQ})
    for ctrl, fs in files.items():
        d = root / ctrl / cgroup.strip("/")
        d.mkdir(parents=True)
        for name, text in fs.items():
            (d / name).write_text(text)


@pytest.mark.parametrize("cfq", [False, True])
def test_v1_reader_on_a_fake_hierarchy(tmp_path, cfq):
    _fake_cgroup(tmp_path, "/inst/abc", cfq=cfq)
    st = v1.CgroupV1Reader(str(tmp_path)).read("/inst/abc")
    assert st is not None
    assert st.cpu == CPUUsage(total=150000000, percpu=[100000000, 50000000], kernel=50_000_000, user=100_000_000,
                              periods=7, throttled_periods=2, throttled_time=999)
    assert st.memory.usage == 1000000 and st.memory.max_usage == 2000000 and st.memory.stats["rss"] == 7004160
    assert st.pids == PidsUsage(current=3, limit=0)
    # no CFQ entries: the throttle files, as containerd falls back to them
    assert [e.value for e in st.blkio["io_service_bytes_recursive"]][:2] == [4096, 81920]
    assert [e.op for e in st.blkio["io_serviced_recursive"]] == ["Read"]
    assert st.blkio["sectors_recursive"] == []
    assert v1.CgroupV1Reader(str(tmp_path)).read("/inst/gone") is None


# --- host figures -------------------------------------------------------------------------------
def test_system_cpu_usage_sums_seven_fields_like_moby():
    # user nice system idle iowait irq softirq = 51366 ticks; steal (7) is left out
    assert parse_system_cpu(PROC_STAT) == 51366 * 10_000_000
    with pytest.raises(ValueError):
        parse_system_cpu("cpu 1 2 3\n")


def test_meminfo_and_net_dev():
    assert parse_meminfo_total("MemTotal:       24684084 kB\nMemFree: 1 kB\n") == 24684084 * 1024
    nets = parse_net_dev(NET_DEV)
    assert list(nets) == ["eth0"]  # Docker never reports lo
    assert nets["eth0"] == NetDev(1296, 16, 1, 2, 866, 11, 3, 4)
    assert parse_net_dev(NET_DEV.rsplit("\n", 2)[0] + "\n") == {}


# --- Docker's JSON ------------------------------------------------------------------------------
def _sample(**kw) -> Sample:
    cg = CgroupStats(cpu=CPUUsage(total=3_000, percpu=[2_000, 1_000], kernel=10, user=20),
                     memory=MemoryUsage(usage=544768, max_usage=4083712, limit=9223372036854771712,
                                        stats=v1.parse_kv(MEMORY_STAT)),
                     pids=PidsUsage(current=1))
    base = dict(read_ns=1_700_000_000_123_456_789, cgroup=cg, system_cpu=17606310000000, online_cpus=2,
                machine_memory=25276502016, networks=None)
    base.update(kw)
    return Sample(**base)


def test_frame_shape_matches_docker():
    doc = frame(_sample(), name="/busy", cid="b50a", pre_cpu=empty_cpu_stats(), pre_read="0001-01-01T00:00:00Z")
    assert list(doc) == ["read", "preread", "pids_stats", "blkio_stats", "num_procs", "storage_stats",
                         "cpu_stats", "precpu_stats", "memory_stats", "name", "id"]
    assert doc["read"] == "2023-11-14T22:13:20.123456789Z"
    assert doc["pids_stats"] == {"current": 1}
    assert doc["blkio_stats"] == {k: [] for k in BLKIO_KEYS}
    assert doc["cpu_stats"] == {"cpu_usage": {"total_usage": 3000, "percpu_usage": [2000, 1000],
                                              "usage_in_kernelmode": 10, "usage_in_usermode": 20},
                                "system_cpu_usage": 17606310000000, "online_cpus": 2,
                                "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}}
    mem = doc["memory_stats"]
    assert list(mem) == ["usage", "max_usage", "stats", "limit"]  # failcnt 0 is omitted
    assert mem["limit"] == 25276502016  # unlimited: the host's memory
    assert list(mem["stats"]) == sorted(mem["stats"]) and len(mem["stats"]) == 32
    assert "shmem" not in mem["stats"] and "swap" not in mem["stats"]
    assert mem["stats"]["total_inactive_file"] == 263270400 and mem["stats"]["total_unevictable"] == 0
    line = encode(doc)
    assert line.endswith(b"}\n") and b", " not in line and json.loads(line) == doc


def test_frame_networks_and_limit():
    s = _sample(networks={"eth0": NetDev(1, 2, 3, 4, 5, 6, 7, 8)})
    s.cgroup.memory.limit = 64 << 20
    doc = frame(s, name="/n", cid="x", pre_cpu=empty_cpu_stats(), pre_read="")
    assert doc["networks"] == {"eth0": {"rx_bytes": 1, "rx_packets": 2, "rx_errors": 3, "rx_dropped": 4,
                                        "tx_bytes": 5, "tx_packets": 6, "tx_errors": 7, "tx_dropped": 8}}
    assert doc["memory_stats"]["limit"] == 64 << 20


def test_empty_frame_is_docker_zero_value():
    doc = empty_frame(name="/stopped", cid="addd")
    assert encode(doc) == (
        b'{"read":"0001-01-01T00:00:00Z","preread":"0001-01-01T00:00:00Z","pids_stats":{},"blkio_stats":'
        b'{"io_service_bytes_recursive":null,"io_serviced_recursive":null,"io_queue_recursive":null,'
        b'"io_service_time_recursive":null,"io_wait_time_recursive":null,"io_merged_recursive":null,'
        b'"io_time_recursive":null,"sectors_recursive":null},"num_procs":0,"storage_stats":{},"cpu_stats":'
        b'{"cpu_usage":{"total_usage":0,"usage_in_kernelmode":0,"usage_in_usermode":0},"throttling_data":'
        b'{"periods":0,"throttled_periods":0,"throttled_time":0}},"precpu_stats":{"cpu_usage":{"total_usage":0,'
        b'"usage_in_kernelmode":0,"usage_in_usermode":0},"throttling_data":{"periods":0,"throttled_periods":0,'
        b'"throttled_time":0}},"memory_stats":{},"name":"/stopped","id":"addd"}\n')


# --- the sampling loop, with a fake reader ------------------------------------------------------
class _FakeReader:
    def __init__(self) -> None:
        self.total = 0

    def read(self, cgroup: str) -> CgroupStats:
        self.total += 1_000_000
        return CgroupStats(cpu=CPUUsage(total=self.total), memory=MemoryUsage(usage=1, limit=2),
                           pids=PidsUsage(current=1))


def _service(running: bool = True):
    from hithe.containers.stats import StatsService
    from hithe.errors import NotFound

    c = types.SimpleNamespace(id="c" * 64, name="box", state=types.SimpleNamespace(running=running, status="running", pid=0),
                              spec=types.SimpleNamespace(network_mode="none"))
    store = {c.id: c}

    def get(ref: str):
        for x in store.values():
            if ref in (x.id, x.name):
                return x
        raise NotFound(f"No such container: {ref}")
    containers = types.SimpleNamespace(get=get, paths=types.SimpleNamespace(cgroup_parent="inst"))
    return StatsService(containers, reader=_FakeReader(), interval=0.01), c, store  # type: ignore[arg-type]


async def _collect(it, n: int = 100) -> list[dict]:
    out = []
    async for line in it:
        out.append(json.loads(line))
        if len(out) >= n:
            break
    return out


def test_no_stream_primes_precpu_and_one_shot_does_not():
    svc, c, _ = _service()
    [doc] = asyncio.run(_collect(svc.frames(c.id, stream=False, one_shot=False)))
    assert doc["precpu_stats"]["cpu_usage"]["total_usage"] == 1_000_000
    assert doc["cpu_stats"]["cpu_usage"]["total_usage"] == 2_000_000 and doc["name"] == "/box"
    [doc] = asyncio.run(_collect(svc.frames(c.id, stream=False, one_shot=True)))
    assert doc["precpu_stats"] == empty_cpu_stats() and doc["preread"] == "0001-01-01T00:00:00Z"


def test_stream_pairs_frames_and_ends_on_removal():
    svc, c, store = _service()

    async def run() -> list[dict]:
        out = []
        async for line in svc.frames(c.id, stream=True, one_shot=False):
            out.append(json.loads(line))
            if len(out) == 3:
                store.clear()  # removed: the stream ends by itself
        return out
    docs = asyncio.run(run())
    assert len(docs) == 3
    assert docs[1]["precpu_stats"] == docs[0]["cpu_stats"] and docs[2]["preread"] == docs[1]["read"]


def test_stopped_and_invalid_requests():
    from hithe.errors import InvalidParameter, NotFound
    svc, c, _ = _service(running=False)
    [doc] = asyncio.run(_collect(svc.frames("box", stream=False, one_shot=False)))
    assert doc == empty_frame(name="/box", cid=c.id)
    docs = asyncio.run(_collect(svc.frames("box", stream=True, one_shot=False), n=2))
    assert docs == [empty_frame(name="/box", cid=c.id)] * 2
    with pytest.raises(InvalidParameter, match="cannot have stream=true and one-shot=true"):
        svc.frames("box", stream=True, one_shot=True)
    with pytest.raises(NotFound):
        svc.frames("nope", stream=False, one_shot=False)


# --- the CLI's columns ---------------------------------------------------------------------------
def test_cli_cpu_and_memory_arithmetic():
    from hithe.cli.container_stats import StatsContext, bytes_size
    s = {"id": "b50ad16ba57a43d8", "name": "/busy",
         "cpu_stats": {"cpu_usage": {"total_usage": 3246546414}, "system_cpu_usage": 17606310000000, "online_cpus": 2},
         "precpu_stats": {"cpu_usage": {"total_usage": 2244010729}, "system_cpu_usage": 17604320000000},
         "memory_stats": {"usage": 544768 + 4096, "limit": 25276502016, "stats": {"total_inactive_file": 4096}},
         "blkio_stats": {"io_service_bytes_recursive": [{"op": "Read", "value": 4096}, {"op": "Write", "value": 2_000_000}]},
         "pids_stats": {"current": 1}}
    ctx = StatsContext(s, "busy", trunc=True)
    assert ctx.CPUPerc() == "100.76%"  # 1002535685 / 1990000000 * 2 online CPUs * 100
    assert ctx.MemUsage() == "532KiB / 23.54GiB" and ctx.MemPerc() == "0.00%"
    assert ctx.BlockIO() == "4.1kB / 2MB" and ctx.NetIO() == "0B / 0B" and ctx.PIDs() == "1"
    assert ctx.ID() == "b50ad16ba57a" and ctx.Name() == "busy"
    assert bytes_size(64 << 20) == "64MiB"
    # cgroup v1 key present but not below usage: docker falls back to the v2 key
    s2 = {"memory_stats": {"usage": 100, "limit": 1000, "stats": {"total_inactive_file": 200, "inactive_file": 40}}}
    assert StatsContext(s2, "x", True).MemUsage() == "60B / 1000B"


def test_reader_for_host_refuses_v2(tmp_path):
    from hithe.containers.stats_cgroup import reader_for_host
    from hithe.errors import NotImplementedYet
    (tmp_path / "cgroup.controllers").write_text("cpu memory\n")
    with pytest.raises(NotImplementedYet):
        reader_for_host(str(tmp_path))
    os.remove(tmp_path / "cgroup.controllers")
    assert isinstance(reader_for_host(str(tmp_path)), v1.CgroupV1Reader)
