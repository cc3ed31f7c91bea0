"""Host-side figures Docker puts next to a container's cgroup stats, computed as moby does."""
from __future__ import annotations

import os
from dataclasses import dataclass

from hithe.containers.stats_cgroupv1 import CLOCK_TICKS, NS_PER_SEC


def parse_system_cpu(text: str) -> int:
    """/proc/stat's aggregate `cpu` line: the first seven fields (user … softirq), ticks → ns.

    moby leaves out steal, guest and guest_nice; the CPU-percent arithmetic of every client is
    built on this sum, so it is reproduced exactly (including the integer division).
    """
    for line in text.splitlines():
        parts = line.split()
        if parts and parts[0] == "cpu":
            if len(parts) < 8:
                raise ValueError("invalid number of cpu fields in /proc/stat")
            ticks = sum(int(x) for x in parts[1:8])
            return ticks * NS_PER_SEC // CLOCK_TICKS
    raise ValueError("no cpu line in /proc/stat")


def system_cpu_usage() -> int:
    with open("/proc/stat") as f:
        return parse_system_cpu(f.read())


def online_cpus() -> int:
    # moby counts the daemon's CPU affinity mask, not the CPUs the machine has
    return len(os.sched_getaffinity(0))


def parse_meminfo_total(text: str) -> int:
    for line in text.splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return 0


def machine_memory() -> int:
    """Bytes of RAM (MemTotal): Docker's memory limit for a container without one."""
    try:
        with open("/proc/meminfo") as f:
            return parse_meminfo_total(f.read())
    except OSError:
        return 0


@dataclass
class NetDev:
    rx_bytes: int
    rx_packets: int
    rx_errors: int
    rx_dropped: int
    tx_bytes: int
    tx_packets: int
    tx_errors: int
    tx_dropped: int


def parse_net_dev(text: str, skip_loopback: bool = True) -> dict[str, NetDev]:
    """/proc/<pid>/net/dev: per interface, receive columns then transmit columns.

    Docker reports the interfaces of the container's network endpoints, never `lo`: a
    container with only loopback (`--network none`) has no `networks` at all.
    """
    out: dict[str, NetDev] = {}
    for line in text.splitlines()[2:]:  # two header lines
        name, sep, rest = line.partition(":")
        if not sep:
            continue
        name = name.strip()
        f = rest.split()
        if len(f) < 12 or (skip_loopback and name == "lo"):
            continue
        try:
            v = [int(x) for x in f[:12]]
        except ValueError:
            continue
        out[name] = NetDev(rx_bytes=v[0], rx_packets=v[1], rx_errors=v[2], rx_dropped=v[3],
                           tx_bytes=v[8], tx_packets=v[9], tx_errors=v[10], tx_dropped=v[11])
    return out


def net_stats(pid: int) -> dict[str, NetDev]:
    """The interfaces of the network namespace `pid` lives in (procfs shows it without setns)."""
    if pid <= 0:
        return {}
    try:
        with open(f"/proc/{pid}/net/dev") as f:
            return parse_net_dev(f.read())
    except OSError:
        return {}
