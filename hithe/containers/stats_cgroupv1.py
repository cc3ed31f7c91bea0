"""cgroup v1 reader: the files containerd's cgroups library reads for Docker, parsed the same way.

Each controller is its own hierarchy under /sys/fs/cgroup (cpu and cpuacct may be separate, as
here, or co-mounted as "cpu,cpuacct"). The parsers are pure functions of the file text so they
can be tested on fixtures.
"""
from __future__ import annotations

import os
import re

from hithe.containers.stats_cgroup import (BLKIO_KEYS, BlkioEntry, CgroupReader, CgroupStats, CPUUsage,
                                           MemoryUsage, PidsUsage)

# USER_HZ: cpuacct.stat counts in clock ticks; Linux fixes it at 100 (containerd hard-codes it too).
CLOCK_TICKS = 100
NS_PER_SEC = 1_000_000_000

# The directory names a controller may be mounted under.
_CONTROLLER_DIRS = {
    "cpu": ("cpu", "cpu,cpuacct", "cpuacct,cpu"),
    "cpuacct": ("cpuacct", "cpu,cpuacct", "cpuacct,cpu"),
    "memory": ("memory",),
    "pids": ("pids",),
    "blkio": ("blkio",),
}

# CFQ/BFQ-era recursive files (blkio.<name>) → Docker's keys; tried first, as containerd does.
_BLKIO_CFQ = (("sectors_recursive", "sectors_recursive"),
              ("io_service_bytes_recursive", "io_service_bytes_recursive"),
              ("io_serviced_recursive", "io_serviced_recursive"),
              ("io_queued_recursive", "io_queue_recursive"),
              ("io_service_time_recursive", "io_service_time_recursive"),
              ("io_wait_time_recursive", "io_wait_time_recursive"),
              ("io_merged_recursive", "io_merged_recursive"),
              ("time_recursive", "io_time_recursive"))
# Without entries there (no CFQ device, or a kernel without CFQ), the throttle files.
_BLKIO_THROTTLE = (("throttle.io_serviced", "io_serviced_recursive"),
                   ("throttle.io_service_bytes", "io_service_bytes_recursive"))

_BLKIO_SPLIT = re.compile(r"[ :]+")


def parse_kv(text: str) -> dict[str, int]:
    """`key value` lines (memory.stat, cpu.stat, cpuacct.stat); lines that do not parse are skipped."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        k, _, v = line.strip().partition(" ")
        try:
            out[k] = int(v)
        except ValueError:
            continue
    return out


def parse_blkio(text: str) -> list[BlkioEntry]:
    """`MAJ:MIN [Op] VALUE` lines; the `Total N` line is dropped, as containerd drops it."""
    entries = []
    for line in text.splitlines():
        fields = [f for f in _BLKIO_SPLIT.split(line.strip()) if f]
        if len(fields) < 3:
            continue  # "Total 0" or an empty line
        try:
            major, minor = int(fields[0]), int(fields[1])
            if len(fields) >= 4:
                op, value = fields[2], int(fields[3])
            else:
                op, value = "", int(fields[2])
        except ValueError:
            continue
        entries.append(BlkioEntry(major, minor, op, value))
    return entries


def parse_cpuacct_stat(text: str) -> tuple[int, int]:
    """(user ns, kernel ns) from cpuacct.stat's clock ticks."""
    kv = parse_kv(text)
    to_ns = NS_PER_SEC // CLOCK_TICKS
    return kv.get("user", 0) * to_ns, kv.get("system", 0) * to_ns


def parse_percpu(text: str) -> list[int]:
    return [int(x) for x in text.split()]


def parse_pids_max(text: str) -> int:
    s = text.strip()
    return 0 if s in ("", "max") else int(s)


class CgroupV1Reader(CgroupReader):
    def __init__(self, root: str = "/sys/fs/cgroup") -> None:
        self.root = root
        self._dirs: dict[str, str | None] = {}

    def _controller_root(self, ctrl: str) -> str | None:
        if ctrl not in self._dirs:
            self._dirs[ctrl] = next((os.path.join(self.root, d) for d in _CONTROLLER_DIRS[ctrl]
                                     if os.path.isdir(os.path.join(self.root, d))), None)
        return self._dirs[ctrl]

    def _dir(self, ctrl: str, cgroup: str) -> str | None:
        base = self._controller_root(ctrl)
        if base is None:
            return None
        d = os.path.join(base, cgroup.strip("/"))
        return d if os.path.isdir(d) else None

    def read(self, cgroup: str) -> CgroupStats | None:
        cpuacct, mem = self._dir("cpuacct", cgroup), self._dir("memory", cgroup)
        if cpuacct is None or mem is None:
            return None  # runc removed the leaf: the container is not running
        try:
            return CgroupStats(cpu=self._cpu(cpuacct, self._dir("cpu", cgroup)), memory=self._memory(mem),
                               pids=self._pids(self._dir("pids", cgroup)),
                               blkio=self._blkio(self._dir("blkio", cgroup)))
        except FileNotFoundError:
            return None  # removed while we read it

    @staticmethod
    def _cpu(cpuacct: str, cpu: str | None) -> CPUUsage:
        user, kernel = parse_cpuacct_stat(_read(cpuacct, "cpuacct.stat"))
        u = CPUUsage(total=int(_read(cpuacct, "cpuacct.usage")), percpu=parse_percpu(_read(cpuacct, "cpuacct.usage_percpu")),
                     kernel=kernel, user=user)
        if cpu is not None:
            kv = parse_kv(_read(cpu, "cpu.stat"))
            u.periods, u.throttled_periods = kv.get("nr_periods", 0), kv.get("nr_throttled", 0)
            u.throttled_time = kv.get("throttled_time", 0)
        return u

    @staticmethod
    def _memory(d: str) -> MemoryUsage:
        return MemoryUsage(usage=int(_read(d, "memory.usage_in_bytes")),
                           max_usage=int(_read(d, "memory.max_usage_in_bytes")),
                           limit=int(_read(d, "memory.limit_in_bytes")),
                           failcnt=int(_read(d, "memory.failcnt")),
                           stats=parse_kv(_read(d, "memory.stat")))

    @staticmethod
    def _pids(d: str | None) -> PidsUsage | None:
        if d is None:
            return None
        return PidsUsage(current=int(_read(d, "pids.current")), limit=parse_pids_max(_read(d, "pids.max")))

    @staticmethod
    def _blkio(d: str | None) -> dict[str, list[BlkioEntry]]:
        out: dict[str, list[BlkioEntry]] = {k: [] for k in BLKIO_KEYS}
        if d is None:
            return out
        if os.path.exists(os.path.join(d, "blkio.io_serviced_recursive")):
            for name, key in _BLKIO_CFQ:
                out[key] = parse_blkio(_read(d, "blkio." + name))
            if any(out.values()):
                return out
        for name, key in _BLKIO_THROTTLE:
            out[key] = parse_blkio(_read(d, "blkio." + name))
        return out


def _read(d: str, name: str) -> str:
    with open(os.path.join(d, name)) as f:
        return f.read()
