"""Docker's stats JSON (API ≥ 1.21, the shape of moby's types.StatsJSON) from one sample.

Go's encoder decides the details clients see: `omitempty` drops zero numbers, empty maps and
nil lists, but never nested structs (so `pids_stats: {}` stays); a nil blkio list is `null` (a
stopped container) while a running one has `[]`; map keys come out sorted.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hithe.containers.stats_cgroup import BLKIO_KEYS, CgroupStats
from hithe.containers.stats_host import NetDev
from hithe.util.timefmt import ZERO_TIME, rfc3339_ns

# The memory.stat keys Docker reports on cgroup v1 (moby's statsV1), and only those.
MEMORY_KEYS = ("cache", "rss", "rss_huge", "mapped_file", "dirty", "writeback", "pgpgin", "pgpgout",
               "pgfault", "pgmajfault", "inactive_anon", "active_anon", "inactive_file", "active_file",
               "unevictable", "hierarchical_memory_limit", "hierarchical_memsw_limit")
MEMORY_TOTAL_KEYS = ("cache", "rss", "rss_huge", "mapped_file", "dirty", "writeback", "pgpgin", "pgpgout",
                     "pgfault", "pgmajfault", "inactive_anon", "active_anon", "inactive_file", "active_file",
                     "unevictable")


@dataclass
class Sample:
    """One reading of a running container, with the host figures taken right after it."""
    read_ns: int
    cgroup: CgroupStats
    system_cpu: int
    online_cpus: int
    machine_memory: int
    networks: dict[str, NetDev] | None   # None: the container has no network endpoints to report


def _omit_zero(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v}


def empty_cpu_stats() -> dict[str, Any]:
    return {"cpu_usage": {"total_usage": 0, "usage_in_kernelmode": 0, "usage_in_usermode": 0},
            "throttling_data": {"periods": 0, "throttled_periods": 0, "throttled_time": 0}}


def cpu_stats(s: Sample) -> dict[str, Any]:
    out = empty_cpu_stats()
    cpu = s.cgroup.cpu
    if cpu is not None:
        usage: dict[str, Any] = {"total_usage": cpu.total}
        if cpu.percpu:
            usage["percpu_usage"] = list(cpu.percpu)
        usage.update(usage_in_kernelmode=cpu.kernel, usage_in_usermode=cpu.user)
        out["cpu_usage"] = usage
        out["throttling_data"] = {"periods": cpu.periods, "throttled_periods": cpu.throttled_periods,
                                  "throttled_time": cpu.throttled_time}
    # system_cpu_usage and online_cpus sit between cpu_usage and throttling_data in Go's order
    return {"cpu_usage": out["cpu_usage"],
            **_omit_zero({"system_cpu_usage": s.system_cpu, "online_cpus": s.online_cpus}),
            "throttling_data": out["throttling_data"]}


def memory_stats(s: Sample) -> dict[str, Any]:
    mem = s.cgroup.memory
    if mem is None:
        return {}
    raw = {k: mem.stats.get(k, 0) for k in MEMORY_KEYS}
    raw.update({"total_" + k: mem.stats.get("total_" + k, 0) for k in MEMORY_TOTAL_KEYS})
    limit = mem.limit
    if s.machine_memory and limit > s.machine_memory:
        limit = s.machine_memory  # no limit set: the host's memory, as Docker reports it
    return _omit_zero({"usage": mem.usage, "max_usage": mem.max_usage, "stats": dict(sorted(raw.items())),
                       "failcnt": mem.failcnt, "limit": limit})


def frame(s: Sample, *, name: str, cid: str, pre_cpu: dict[str, Any], pre_read: str) -> dict[str, Any]:
    cg = s.cgroup
    pids = _omit_zero({"current": cg.pids.current, "limit": cg.pids.limit}) if cg.pids else {}
    blkio = {k: [{"major": e.major, "minor": e.minor, "op": e.op, "value": e.value} for e in cg.blkio.get(k, [])]
             for k in BLKIO_KEYS}
    doc: dict[str, Any] = {
        "read": rfc3339_ns(s.read_ns), "preread": pre_read, "pids_stats": pids, "blkio_stats": blkio,
        "num_procs": 0, "storage_stats": {}, "cpu_stats": cpu_stats(s), "precpu_stats": pre_cpu,
        "memory_stats": memory_stats(s), "name": name, "id": cid,
    }
    if s.networks:
        doc["networks"] = {n: vars(v).copy() for n, v in sorted(s.networks.items())}
    return doc


def empty_frame(*, name: str, cid: str, pre_cpu: dict[str, Any] | None = None,
                pre_read: str = ZERO_TIME) -> dict[str, Any]:
    """What Docker sends for a container that is not running: zero values, name and ID only."""
    return {"read": ZERO_TIME, "preread": pre_read, "pids_stats": {},
            "blkio_stats": {k: None for k in BLKIO_KEYS}, "num_procs": 0, "storage_stats": {},
            "cpu_stats": empty_cpu_stats(), "precpu_stats": pre_cpu or empty_cpu_stats(),
            "memory_stats": {}, "name": name, "id": cid}


def encode(doc: dict[str, Any]) -> bytes:
    """One line, compact, as Go's json.Encoder writes it."""
    return json.dumps(doc, separators=(",", ":")).encode() + b"\n"
