"""What a container's cgroup says about its resource use, independent of the cgroup version.

The records hold what Docker's stats carry, in Docker's units (nanoseconds, bytes); a reader
per cgroup version fills them. Only the v1 reader exists (this host kind is v1 hybrid); a v2
reader implements the same interface and `reader_for_host` picks it once it exists.
"""
from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from hithe.errors import NotImplementedYet

CGROUP_ROOT = "/sys/fs/cgroup"


@dataclass
class BlkioEntry:
    major: int
    minor: int
    op: str
    value: int


@dataclass
class CPUUsage:
    total: int = 0                                       # ns
    percpu: list[int] = field(default_factory=list)      # ns per possible CPU
    kernel: int = 0                                      # ns
    user: int = 0                                        # ns
    # CFS bandwidth throttling
    periods: int = 0
    throttled_periods: int = 0
    throttled_time: int = 0                              # ns


@dataclass
class MemoryUsage:
    usage: int = 0
    max_usage: int = 0
    limit: int = 0          # the cgroup's own value: "unlimited" is a huge number here
    failcnt: int = 0
    stats: dict[str, int] = field(default_factory=dict)  # memory.stat, keys as the kernel names them


@dataclass
class PidsUsage:
    current: int = 0
    limit: int = 0          # 0: no limit (pids.max "max"), as Docker reports it


# Docker's names for the blkio lists, in its JSON order.
BLKIO_KEYS = ("io_service_bytes_recursive", "io_serviced_recursive", "io_queue_recursive",
              "io_service_time_recursive", "io_wait_time_recursive", "io_merged_recursive",
              "io_time_recursive", "sectors_recursive")


@dataclass
class CgroupStats:
    cpu: CPUUsage | None = None
    memory: MemoryUsage | None = None
    pids: PidsUsage | None = None
    blkio: dict[str, list[BlkioEntry]] = field(default_factory=lambda: {k: [] for k in BLKIO_KEYS})


class CgroupReader(ABC):
    """Reads one container's cgroup; `cgroup` is the path below the hierarchy root ("/parent/id")."""

    @abstractmethod
    def read(self, cgroup: str) -> CgroupStats | None:
        """The stats now, or None when the cgroup is gone (the container stopped)."""


def reader_for_host(root: str = CGROUP_ROOT) -> CgroupReader:
    # cgroup.controllers at the root means the unified (v2-only) hierarchy.
    if os.path.exists(os.path.join(root, "cgroup.controllers")):
        raise NotImplementedYet("container stats on a cgroup v2 (unified) host are not implemented yet")
    from hithe.containers.stats_cgroupv1 import CgroupV1Reader
    return CgroupV1Reader(root)
