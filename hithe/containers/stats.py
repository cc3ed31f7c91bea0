"""`docker stats`: samples of a container's cgroup, one a second, paired with the previous one.

Docker's rules, kept here: every frame carries the previous frame's CPU figures as
`precpu_stats` (zero for the first), so a client computes CPU percent from one frame;
`stream=0` waits for a second sample so that percent is meaningful, unless `one-shot=1`;
a container that is not running yields zeroed frames with only its name and ID; the stream
ends when the container is removed (and, at the HTTP layer, when the client goes away).

Reading a sample is a handful of small procfs/cgroupfs reads (well under a millisecond), so it
runs on the event loop instead of paying a thread hand-off per frame.
"""
from __future__ import annotations

import asyncio
import time
from typing import Any, AsyncIterator

from hithe.containers.record import REMOVING, Container
from hithe.containers.service import ContainerService
from hithe.containers.stats_cgroup import CgroupReader, reader_for_host
from hithe.containers.stats_host import machine_memory, net_stats, online_cpus, system_cpu_usage
from hithe.containers.stats_render import Sample, empty_cpu_stats, empty_frame, encode, frame
from hithe.errors import InvalidParameter, NotFound
from hithe.util.timefmt import ZERO_TIME

INTERVAL = 1.0  # seconds between samples, Docker's collector interval

# Network modes whose interfaces are not the container's own: Docker reports no `networks`.
_NO_OWN_NETWORK = ("host", "none")


class StatsService:
    def __init__(self, containers: ContainerService, reader: CgroupReader | None = None,
                 interval: float = INTERVAL) -> None:
        self.containers = containers
        self._reader = reader
        self.interval = interval
        self._machine_memory: int | None = None

    @property
    def reader(self) -> CgroupReader:
        if self._reader is None:
            self._reader = reader_for_host()  # raises on a host kind without a reader yet
        return self._reader

    def sample(self, c: Container) -> Sample | None:
        """A reading of a running container; None when it is not running (or just stopped)."""
        if not c.state.running:
            return None
        cg = self.reader.read(f"/{self.containers.paths.cgroup_parent.strip('/')}/{c.id}")
        if cg is None:
            return None
        read_ns = time.time_ns()
        if self._machine_memory is None:
            self._machine_memory = machine_memory()
        # The host's CPU time right after the container's, as moby samples it, to keep noise low.
        system = system_cpu_usage()
        nets = None if c.spec.network_mode in _NO_OWN_NETWORK else net_stats(c.state.pid)
        return Sample(read_ns=read_ns, cgroup=cg, system_cpu=system, online_cpus=online_cpus(),
                      machine_memory=self._machine_memory, networks=nets)

    def frames(self, ref: str, *, stream: bool, one_shot: bool) -> AsyncIterator[bytes]:
        """Docker's stats frames, one JSON line each. Validation happens now, before any byte is sent."""
        c = self.containers.get(ref)
        if stream and one_shot:
            raise InvalidParameter("cannot have stream=true and one-shot=true")
        self.reader  # noqa: B018 - a host without a reader answers 501 now, not mid-stream
        if not stream and not c.state.running:
            return _once(encode(empty_frame(name="/" + c.name, cid=c.id)))
        return self._frames(c, stream=stream, skip_first=not stream and not one_shot)

    def _present(self, c: Container) -> bool:
        try:
            return self.containers.get(c.id) is c and c.state.status != REMOVING
        except NotFound:
            return False

    async def _frames(self, c: Container, *, stream: bool, skip_first: bool) -> AsyncIterator[bytes]:
        pre_cpu: dict[str, Any] = empty_cpu_stats()
        pre_read = ZERO_TIME
        first = True
        while True:
            if not first:
                await asyncio.sleep(self.interval)
            first = False
            if not self._present(c):
                return  # removed: Docker closes the stream
            s = self.sample(c)
            name = "/" + c.name  # read per frame: a rename shows up, as in Docker
            if s is None:
                doc = empty_frame(name=name, cid=c.id, pre_cpu=pre_cpu, pre_read=pre_read)
            else:
                doc = frame(s, name=name, cid=c.id, pre_cpu=pre_cpu, pre_read=pre_read)
            pre_cpu, pre_read = doc["cpu_stats"], doc["read"]
            if skip_first:
                skip_first = False  # only primes precpu_stats so CPU percent is not 0
                continue
            yield encode(doc)
            if not stream:
                return


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data
