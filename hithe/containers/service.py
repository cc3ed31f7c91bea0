"""The container service: create, start, stop, kill, wait, remove — the lifecycle.

State lives in the container record (persisted in SQLite on every change);
coordination (waits, attach-before-start) lives in RunState, in memory.
Blocking work (mounts, conmon, runc) runs in worker threads.
"""
from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, AsyncIterator, Callable, TypeVar

from hithe.containers import cgroups
from hithe.containers import mounts as mount_plan
from hithe.containers.create import new_container
from hithe.containers.files import write_files
from hithe.containers.lifecycle import Lifecycle
from hithe.containers.mountspec import MountPoint
from hithe.containers.names import random_name, validate_name
from hithe.containers.procs import alive as _alive
from hithe.containers.procs import dir_size as _dir_size
from hithe.containers.record import EXITED, PAUSED, REMOVING, RESTARTING, RUNNING, Container
from hithe.containers.runstate import RunState
from hithe.containers.spec import CreateSpec
from hithe.containers.top import run_ps
from hithe.errors import Conflict, InvalidParameter, NotFound, SystemError_
from hithe.events.bus import EventBus
from hithe.images.store import ImageStore
from hithe.logs.follow import log_stream
from hithe.logs.rotation import LogKeeper, parse_log_opts
from hithe.metadata.db import Database, dump, load
from hithe.runtime.conmon import Monitor
from hithe.snapshots.overlay import OverlaySnapshotter
from hithe.volumes.service import VolumeService

log = logging.getLogger("hithe.containers")
T = TypeVar("T")


@dataclass
class ServicePaths:
    containers_dir: str
    cgroup_parent: str
    init_path: str | None
    default_log_opts: dict[str, str]


class ContainerService(Lifecycle):
    def __init__(self, db: Database, images: ImageStore, snap: OverlaySnapshotter, monitor: Monitor,
                 events: EventBus, paths: ServicePaths, seccomp: Callable[..., Any] | None = None,
                 volumes: VolumeService | None = None) -> None:
        self.db = db
        self.images = images
        self.snap = snap
        self.mon = monitor
        self.events = events
        self.paths = paths
        self.seccomp = seccomp
        self.volumes = volumes
        self.pool = ThreadPoolExecutor(max_workers=64, thread_name_prefix="rt")
        # Set by the engine: hithe.network.service.NetworkService (namespaces, ports, files).
        self.network: Any = None
        self._c: dict[str, Container] = {}
        self._rs: dict[str, RunState] = {}
        self._keepers: dict[str, LogKeeper] = {}
        # Set by the daemon: watch a container's directory so a log rotation is seen at once.
        self.watch_dir: Callable[[str, str], None] | None = None
        for (doc,) in db.query("SELECT doc FROM containers"):
            c = Container.from_doc(load(doc))
            self._c[c.id] = c
            self._rs[c.id] = RunState()

    # --- helpers ------------------------------------------------------------
    async def _thread(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)

    def _save(self, c: Container) -> None:
        self.db.execute("UPDATE containers SET name=?, doc=? WHERE id=?", (c.name, dump(c.to_doc()), c.id))

    def dir_of(self, c: Container) -> str:
        return os.path.join(self.paths.containers_dir, c.id)

    def log_path(self, c: Container) -> str:
        return os.path.join(self.dir_of(c), "container.log")

    def runstate(self, c: Container) -> RunState:
        return self._rs.setdefault(c.id, RunState())

    def _event(self, c: Container, action: str, **extra: str) -> None:
        attrs = {"image": c.spec.image, "name": c.name}
        attrs.update(c.spec.labels)
        attrs.update(extra)
        self.events.publish("container", action, c.id, attrs)

    def all(self) -> list[Container]:
        return list(self._c.values())

    def get(self, ref: str) -> Container:
        """By full ID, exact name (with or without '/'), then unique ID prefix (Docker's order)."""
        if ref in self._c:
            return self._c[ref]
        name = ref[1:] if ref.startswith("/") else ref
        for c in self._c.values():
            if c.name == name:
                return c
        if ref:
            hits = [c for c in self._c.values() if c.id.startswith(ref)]
            if len(hits) == 1:
                return hits[0]
            if len(hits) > 1:
                raise InvalidParameter(f"multiple IDs found with provided prefix: {ref}")
        raise NotFound(f"No such container: {ref}")

    def sizes(self, c: Container) -> tuple[int, int]:
        """(SizeRw, SizeRootFs): the writable layer, and that plus the image (blocking: walks the dir)."""
        rw = _dir_size(os.path.join(self.dir_of(c), "upper"))
        try:
            img = self.images.get(c.image_id).size
        except NotFound:
            img = 0
        return rw, rw + img

    def users_of_image(self, image_id: str) -> list[tuple[str, bool]]:
        return [(c.id, c.state.running) for c in self._c.values() if c.image_id == image_id]

    def volume_refs(self) -> dict[str, list[str]]:
        """Volume name -> the containers using it (the volume service's reference counts)."""
        refs: dict[str, list[str]] = {}
        for c in self._c.values():
            for name in mount_plan.volume_names(c.mounts):
                refs.setdefault(name, []).append(c.id)
        return refs

    def _mounts_of(self, ref: str) -> list[MountPoint]:
        return list(self.get(ref).mounts)

    # --- create -------------------------------------------------------------
    async def create(self, spec: CreateSpec, name: str | None) -> tuple[Container, list[str]]:
        image = self.images.resolve(spec.image)
        if not spec.log.config and spec.log.type in ("json-file", "k8s-file"):
            spec.log.config = dict(self.paths.default_log_opts)  # daemon.json log-opts, as Docker shows them
        parse_log_opts({**self.paths.default_log_opts, **spec.log.config})  # validate early
        warnings: list[str] = []
        wanted = self.network.wanted_for(spec) if self.network is not None else None
        if name:
            name = validate_name(name)
            self._check_name_free(name)
        else:
            name = random_name(lambda n: any(c.name == n for c in self._c.values()))
        c = new_container(spec, image, name)
        d = self.dir_of(c)
        if self.volumes is not None:
            c.mounts = mount_plan.plan(spec, image.container_config, self.volumes, self._mounts_of)
        made = [m.name for m in c.mounts if m.anonymous]
        try:
            os.makedirs(d)
            self.snap.prepare(d)
            write_files(d, hostname=c.hostname, domainname=spec.domainname, dns=spec.dns,
                        dns_search=spec.dns_search, dns_options=spec.dns_options,
                        extra_hosts=spec.extra_hosts, host_network=spec.network_mode == "host")
            try:
                self.db.execute("INSERT INTO containers(id, name, doc) VALUES(?, ?, ?)",
                                (c.id, c.name, dump(c.to_doc())))
            except sqlite3.IntegrityError:
                self._check_name_free(name)
                raise
        except BaseException:
            shutil.rmtree(d, ignore_errors=True)  # nothing half-created is left behind
            if self.volumes is not None:
                mount_plan.discard(made, self.volumes)
            raise
        if self.network is not None and wanted is not None:
            self.network.register(c.id, wanted)
        self._c[c.id] = c
        self._rs[c.id] = RunState()
        self._event(c, "create")
        return c, warnings

    def _check_name_free(self, name: str) -> None:
        for other in self._c.values():
            if other.name == name:
                raise Conflict(f'Conflict. The container name "/{name}" is already in use by container '
                               f'"{other.id}". You have to remove (or rename) that container to be able '
                               "to reuse that name.")

    # --- wait ---------------------------------------------------------------
    def register_wait(self, ref: str, condition: str) -> asyncio.Future[int]:
        c = self.get(ref)
        rs = self.runstate(c)
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        if condition in ("", "not-running"):
            if not c.state.running and c.state.status != RESTARTING:
                fut.set_result(c.state.exit_code)
            else:
                rs.exit_waiters.append(fut)
        elif condition == "next-exit":
            rs.exit_waiters.append(fut)
        elif condition == "removed":
            rs.removed_waiters.append(fut)
        else:
            raise InvalidParameter(f"invalid condition: {condition!r}")
        return fut

    # --- remove -------------------------------------------------------------
    async def remove(self, ref: str, force: bool = False, volumes: bool = False) -> None:
        c = self.get(ref)
        rs = self.runstate(c)
        if c.state.status == REMOVING:
            return
        if c.state.running and not force:
            raise Conflict(f'cannot remove container "/{c.name}": container is running: '
                           "stop the container before removing or force remove")
        if c.state.status == RESTARTING:
            await self._cancel_restart(c)
        if c.state.running:
            c.state.manually_stopped = True
            if c.state.status == PAUSED:
                await self._thread(self.mon.resume, c.id)
            await self._signal(c, signal.SIGKILL, all_procs=True)
            try:
                await asyncio.wait_for(asyncio.shield(rs.exited.wait()), 10)
            except asyncio.TimeoutError:
                raise SystemError_(f"could not kill running container {c.id}, cannot remove") from None
        async with rs.lock:
            if c.state.status == REMOVING or c.id not in self._c:
                return  # removed meanwhile (--rm after the kill above): one removal, one event
            c.state.status = REMOVING
            await self._thread(self._remove_sync, c)
            self.db.execute("DELETE FROM containers WHERE id=?", (c.id,))
            self._c.pop(c.id, None)
            self._rs.pop(c.id, None)
        self._event(c, "destroy")
        rs.notify_removed(c.state.exit_code)
        if volumes and self.volumes is not None:
            # Docker's `rm -v` / `--rm`: the container's anonymous volumes go, named ones stay;
            # one still used by another container (--volumes-from) stays too.
            anon = [m.name for m in c.mounts if m.type == "volume" and m.anonymous and m.name]
            if anon:
                await self._thread(mount_plan.discard, anon, self.volumes)

    def _remove_sync(self, c: Container) -> None:
        self._cleanup_sync(c)
        if self.network is not None:
            self.network.forget(c.id)
        self.mon.clear_exit(c.id)
        shutil.rmtree(os.path.join(self.mon.p.socket_dir, c.id), ignore_errors=True)
        try:
            os.unlink(os.path.join(self.mon.p.socket_dir, c.id))
        except OSError:
            pass
        self.snap.remove(self.dir_of(c))

    async def attach(self, c: Container) -> "asyncio.Future[Any]":
        """A future of a connection to conmon's attach socket: now if running, else at next start."""
        self._event(c, "attach")
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if c.state.running:
            fut.set_result(await self._thread(self.mon.attach, c.id))
        else:
            self.runstate(c).pending_attach.append(fut)
        return fut

    def logs(self, c: Container, *, follow: bool, stdout: bool, stderr: bool, since_ns: int,
             until_ns: int | None, tail: int | None, timestamps: bool) -> AsyncIterator[bytes]:
        """Docker's log stream for a container (raw for a TTY, multiplexed otherwise)."""
        if c.spec.log.type == "none":
            raise InvalidParameter("configured logging driver does not support reading")
        keeper = self._keepers.get(c.id)
        if keeper is not None:
            keeper.check()  # absorb a rotation that just happened
        return log_stream(self.log_path(c), follow=follow and c.state.running, exited=self.runstate(c).exited,
                          raw=c.spec.tty, stdout=stdout, stderr=stderr, since_ns=since_ns, until_ns=until_ns,
                          tail=tail, timestamps=timestamps)

    def resize(self, ref: str, height: int, width: int) -> None:
        c = self.get(ref)
        if not c.state.running:
            raise Conflict(f"Container {c.id} is not running")
        self.mon.resize(self.dir_of(c), height, width)

    async def top(self, ref: str, ps_args: str) -> dict[str, Any]:
        c = self.get(ref)
        if not c.state.running:
            raise Conflict(f"Container {c.id} is not running")
        pids = set(cgroups.container_pids(self.paths.cgroup_parent, c.id))
        return await self._thread(run_ps, ps_args, pids)

    async def prune(self, keep: Callable[[Container], bool]) -> tuple[list[str], int]:
        deleted, reclaimed = [], 0
        for c in list(self._c.values()):
            if c.state.running or c.state.status in (RESTARTING, REMOVING) or keep(c):
                continue
            reclaimed += await self._thread(_dir_size, os.path.join(self.dir_of(c), "upper"))
            await self.remove(c.id)
            deleted.append(c.id)
        return deleted, reclaimed

    async def rename(self, ref: str, new: str) -> None:
        c = self.get(ref)
        new = validate_name(new)
        if new == c.name:
            raise InvalidParameter("Renaming a container with the same name as its current name")
        self._check_name_free(new)
        old = c.name
        c.name = new
        self._save(c)
        self._event(c, "rename", oldName="/" + old)

    # --- restore after a daemon restart -------------------------------------
    async def restore(self) -> None:
        """Re-adopt containers conmon kept running; record exits that happened meanwhile."""
        for c in list(self._c.values()):
            if c.state.status == REMOVING:
                await self._thread(self._remove_sync, c)
                self.db.execute("DELETE FROM containers WHERE id=?", (c.id,))
                self._c.pop(c.id, None)
                continue
            if c.state.status in (RUNNING, PAUSED):
                code = self.mon.exit_code(c.id)
                if code is None and not _alive(c.state.conmon_pid):
                    code = 255  # the monitor died with it: nothing recorded the exit
                if code is not None:
                    self.runstate(c).handling_exit = True
                    await self._handle_exit(c, code)
                else:
                    self.runstate(c)
                    if self.volumes is not None:
                        for vname in mount_plan.volume_names(c.mounts):
                            self.volumes.adopt(vname, c.id)
                    opts = parse_log_opts({**self.paths.default_log_opts, **c.spec.log.config})
                    if opts.max_file > 1:
                        self._keep_logs(c, opts.max_file)
            elif c.state.status == RESTARTING or (c.state.status == EXITED and (
                    c.spec.restart.name == "always" or
                    (c.spec.restart.name == "unless-stopped" and not c.state.manually_stopped))):
                # Docker's rule at daemon start: "always" comes back even after a manual stop,
                # "unless-stopped" only if nobody stopped it.
                c.state.status = RESTARTING
                self._save(c)
                rs = self.runstate(c)
                rs.restart_task = asyncio.get_running_loop().create_task(self._restart_later(c))

    def check_logs(self) -> None:
        for cid, keeper in list(self._keepers.items()):
            try:
                keeper.check()
            except OSError:
                pass

    def running_count(self) -> tuple[int, int, int]:
        r = sum(1 for c in self._c.values() if c.state.status == RUNNING)
        p = sum(1 for c in self._c.values() if c.state.status == PAUSED)
        return r, p, len(self._c) - r - p
