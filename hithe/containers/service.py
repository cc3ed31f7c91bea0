"""The container service: create, start, stop, kill, wait, remove — the lifecycle.

State lives in the container record (persisted in SQLite on every change);
coordination (waits, attach-before-start) lives in RunState, in memory.
Blocking work (mounts, conmon, runc) runs in worker threads.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import signal
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

from hithe.containers import cgroups
from hithe.containers.create import new_container
from hithe.containers.files import write_files
from hithe.containers.names import random_name, validate_name
from hithe.containers.record import (CREATED, EXITED, PAUSED, REMOVING, RESTARTING, RUNNING, Container,
                                     State)
from hithe.containers.runstate import RunState
from hithe.containers.spec import CreateSpec
from hithe.containers.users import resolve_user
from hithe.errors import Conflict, HitheError, InvalidParameter, NotFound, NotModified, SystemError_
from hithe.events.bus import EventBus
from hithe.images.reference import parse_reference
from hithe.images.store import ImageStore
from hithe.logs.rotation import LogKeeper, parse_log_opts
from hithe.metadata.db import Database, dump, load
from hithe.runtime.conmon import Monitor, RuntimeFailure
from hithe.runtime.oci_spec import build_spec, effective_caps, signal_number
from hithe.snapshots.overlay import OverlaySnapshotter
from hithe.util.timefmt import ZERO_TIME, rfc3339_now

log = logging.getLogger("hithe.containers")
T = TypeVar("T")


@dataclass
class ServicePaths:
    containers_dir: str
    cgroup_parent: str
    init_path: str | None
    default_log_opts: dict[str, str]


class ContainerService:
    def __init__(self, db: Database, images: ImageStore, snap: OverlaySnapshotter, monitor: Monitor,
                 events: EventBus, paths: ServicePaths, seccomp: Callable[..., Any] | None = None) -> None:
        self.db = db
        self.images = images
        self.snap = snap
        self.mon = monitor
        self.events = events
        self.paths = paths
        self.seccomp = seccomp
        self.pool = ThreadPoolExecutor(max_workers=64, thread_name_prefix="rt")
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

    def users_of_image(self, image_id: str) -> list[tuple[str, bool]]:
        return [(c.id, c.state.running) for c in self._c.values() if c.image_id == image_id]

    # --- create -------------------------------------------------------------
    async def create(self, spec: CreateSpec, name: str | None) -> tuple[Container, list[str]]:
        image = self.images.resolve(spec.image)
        if not spec.log.config and spec.log.type in ("json-file", "k8s-file"):
            spec.log.config = dict(self.paths.default_log_opts)  # daemon.json log-opts, as Docker shows them
        parse_log_opts({**self.paths.default_log_opts, **spec.log.config})  # validate early
        warnings: list[str] = []
        if name:
            name = validate_name(name)
            self._check_name_free(name)
        else:
            name = random_name(lambda n: any(c.name == n for c in self._c.values()))
        c = new_container(spec, image, name)
        d = self.dir_of(c)
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
            raise
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

    # --- start --------------------------------------------------------------
    async def start(self, ref: str) -> None:
        c = self.get(ref)
        rs = self.runstate(c)
        async with rs.lock:
            if c.state.status == PAUSED:
                raise Conflict("cannot start a paused container, try unpause instead")
            if c.state.running:
                raise NotModified("container already started")
            if c.state.status == REMOVING:
                raise Conflict(f"container is marked for removal and cannot be started")
            await self._start_locked(c, rs)

    async def _start_locked(self, c: Container, rs: RunState) -> None:
        waiters = [f for f in rs.pending_attach if not f.done()]
        rs.pending_attach = []
        rs.exited = asyncio.Event()
        c.state.manually_stopped = False
        try:
            pid, conmon_pid, socks = await self._thread(self._start_sync, c, len(waiters))
        except HitheError as e:
            c.state.error = e.message
            c.state.exit_code = _exit_code_for_error(e.message)
            c.state.status = EXITED if c.state.started_at != ZERO_TIME else CREATED
            self._save(c)
            for f in waiters:
                if not f.done():
                    f.set_exception(e)
            rs.notify_exit(c.state.exit_code)
            self._remove_if_auto(c)
            raise
        for f, s in zip(waiters, socks):
            if f.done():
                s.close()
            else:
                f.set_result(s)
        try:
            await self._thread(self.mon.start, c.id)
        except HitheError as e:
            await self._thread(self._cleanup_sync, c)
            c.state.error = e.message
            c.state.status = EXITED
            c.state.exit_code = _exit_code_for_error(e.message)
            self._save(c)
            rs.notify_exit(c.state.exit_code)
            self._remove_if_auto(c)
            raise
        c.state.status = RUNNING
        c.state.pid = pid
        c.state.conmon_pid = conmon_pid
        c.state.started_at = rfc3339_now()
        c.state.finished_at = ZERO_TIME
        c.state.exit_code = 0
        c.state.error = ""
        c.state.oom_killed = False
        self._save(c)
        self._event(c, "start")
        # The process may have exited before we marked it running: pick the exit up now.
        if self.mon.exit_code(c.id) is not None:
            asyncio.get_running_loop().call_soon(self.on_exit_file, c.id)

    def _start_sync(self, c: Container, n_attach: int) -> tuple[int, int, list[Any]]:
        d = self.dir_of(c)
        self.mon.clear_exit(c.id)
        self.mon.delete(c.id) if os.path.exists(os.path.join(self.mon.p.runc_root, c.id)) else None
        rootfs = self.snap.mount(d, c.top_layer)
        try:
            uid, gid, extra = resolve_user(rootfs, c.user)
            seccomp = None
            if self.seccomp is not None:
                caps = set(effective_caps(c.spec.privileged, c.spec.cap_add, c.spec.cap_drop))
                seccomp = self.seccomp(c.spec.security_opt, caps, c.spec.privileged)
            spec = build_spec(c, rootfs=rootfs, uid=uid, gid=gid, additional_gids=extra,
                              cgroups_path=f"{self.paths.cgroup_parent}/{c.id}", files_dir=d,
                              init_path=self.paths.init_path, seccomp=seccomp, netns=None)
            self._ensure_workdir(rootfs, c.working_dir, uid, gid)
            with open(os.path.join(d, "config.json"), "w") as f:
                json.dump(spec, f)
            opts = parse_log_opts({**self.paths.default_log_opts, **c.spec.log.config})
            persist = os.path.join(d, "persist")
            os.makedirs(persist, exist_ok=True)
            log_path = self.log_path(c)
            pid, conmon_pid = self.mon.create(
                c.id, d, tty=c.spec.tty, stdin=c.spec.open_stdin,
                leave_stdin_open=c.spec.open_stdin and not c.spec.stdin_once,
                log_path=log_path, log_size_max=opts.max_size, persist_dir=persist)
            if opts.max_file > 1:
                self._keep_logs(c, opts.max_file)
            socks = [self.mon.attach(c.id) for _ in range(n_attach)]
            return pid, conmon_pid, socks
        except BaseException:
            self._cleanup_sync(c)
            raise

    def _keep_logs(self, c: Container, max_file: int) -> None:
        keeper = LogKeeper(self.log_path(c), max_file)
        keeper.track()
        self._keepers[c.id] = keeper
        if self.watch_dir is not None:
            self.watch_dir(c.id, self.dir_of(c))

    def on_log_rotated(self, cid: str) -> None:
        keeper = self._keepers.get(cid)
        if keeper is not None:
            try:
                keeper.check()
            except OSError:
                pass

    @staticmethod
    def _ensure_workdir(rootfs: str, wd: str, uid: int, gid: int) -> None:
        # Docker creates a missing working directory (owned by the container user).
        if not wd or wd == "/":
            return
        path = os.path.join(rootfs, wd.lstrip("/"))
        real = os.path.realpath(path)
        if not real.startswith(os.path.realpath(rootfs)):
            raise InvalidParameter(f"invalid working directory: {wd}")
        if not os.path.isdir(real):
            os.makedirs(real, mode=0o755, exist_ok=True)
            os.chown(real, uid, gid)

    def _cleanup_sync(self, c: Container) -> None:
        self.mon.delete(c.id)
        try:
            self.snap.unmount(self.dir_of(c))
        except OSError as e:
            log.warning("unmount %s: %s", c.id, e)
        self._keepers.pop(c.id, None)

    def _remove_if_auto(self, c: Container) -> None:
        """A --rm container whose start failed is removed, as Docker does."""
        if c.spec.auto_remove:
            async def rm() -> None:
                try:
                    await self.remove(c.id, force=True)
                except HitheError:
                    pass
            asyncio.get_running_loop().create_task(rm())

    # --- exits --------------------------------------------------------------
    def on_exit_file(self, cid: str) -> None:
        c = self._c.get(cid)
        if c is None or c.state.status not in (RUNNING, PAUSED):
            return
        code = self.mon.exit_code(cid)
        if code is None:
            return
        asyncio.get_running_loop().create_task(self._handle_exit(c, code))

    async def _handle_exit(self, c: Container, code: int) -> None:
        rs = self.runstate(c)
        if c.state.status not in (RUNNING, PAUSED):
            return
        oom = cgroups.oom_killed(self.paths.cgroup_parent, c.id) or \
            os.path.exists(os.path.join(self.dir_of(c), "persist", "oom"))
        keeper = self._keepers.get(c.id)
        if keeper is not None:
            await self._thread(keeper.check)
        await self._thread(self._cleanup_sync, c)
        self.mon.clear_exit(c.id)
        c.state.status = EXITED
        c.state.pid = 0
        c.state.exit_code = code
        c.state.oom_killed = oom
        c.state.finished_at = rfc3339_now()
        self._save(c)
        if oom:
            self._event(c, "oom")
        self._event(c, "die", exitCode=str(code))
        rs.notify_exit(code)
        if self._should_restart(c):
            c.state.status = RESTARTING
            self._save(c)
            rs.restart_task = asyncio.get_running_loop().create_task(self._restart_later(c))
        elif c.spec.auto_remove:
            try:
                await self.remove(c.id, force=True, volumes=True)
            except NotFound:
                pass

    def _should_restart(self, c: Container) -> bool:
        p = c.spec.restart
        if c.state.manually_stopped or c.state.status == REMOVING:
            return False
        if p.name in ("always", "unless-stopped"):
            return True
        if p.name == "on-failure" and c.state.exit_code != 0:
            return p.maximum_retry_count == 0 or c.state.restart_count < p.maximum_retry_count
        return False

    async def _restart_later(self, c: Container) -> None:
        # Docker's back-off: 100 ms doubling, reset after 10 s of uptime (kept simple here).
        delay = min(0.1 * (2 ** min(c.state.restart_count, 10)), 60.0)
        try:
            await asyncio.sleep(delay)
        except asyncio.CancelledError:
            return
        rs = self.runstate(c)
        async with rs.lock:
            if c.state.status != RESTARTING:
                return
            c.state.restart_count += 1
            try:
                await self._start_locked(c, rs)
                self._event(c, "restart")
            except HitheError as e:
                log.warning("restart of %s failed: %s", c.id[:12], e)
                c.state.status = EXITED
                self._save(c)

    # --- stop / kill --------------------------------------------------------
    async def stop(self, ref: str, timeout: int | None = None, sig: str | None = None) -> None:
        c = self.get(ref)
        rs = self.runstate(c)
        if c.state.status == RESTARTING:
            await self._cancel_restart(c)
            return
        if not c.state.running:
            raise NotModified("container already stopped")
        c.state.manually_stopped = True
        self._save(c)
        if timeout is None:
            timeout = c.spec.stop_timeout if c.spec.stop_timeout is not None else 10
        signum = signal_number(sig or c.stop_signal)
        self._event(c, "kill", signal=str(signum))
        if c.state.status == PAUSED:
            await self._thread(self.mon.resume, c.id)
        await self._signal(c, signum)
        if timeout < 0:
            await rs.exited.wait()
        else:
            try:
                await asyncio.wait_for(asyncio.shield(rs.exited.wait()), timeout)
            except asyncio.TimeoutError:
                self._event(c, "kill", signal="9")
                await self._signal(c, signal.SIGKILL, all_procs=True)
                await rs.exited.wait()
        self._event(c, "stop")

    async def _cancel_restart(self, c: Container) -> None:
        rs = self.runstate(c)
        if rs.restart_task is not None:
            rs.restart_task.cancel()
        c.state.status = EXITED
        c.state.manually_stopped = True
        self._save(c)

    async def _signal(self, c: Container, signum: int, all_procs: bool = False) -> None:
        try:
            await self._thread(self.mon.kill, c.id, signum, all_procs)
        except RuntimeFailure as e:
            if "not running" in e.message or "container does not exist" in e.message:
                return  # it exited on its own meanwhile; the exit watcher records it
            raise

    async def kill(self, ref: str, sig: str | None = None) -> None:
        c = self.get(ref)
        if c.state.status == RESTARTING:
            await self._cancel_restart(c)
            return
        if not c.state.running:
            raise Conflict(f"Cannot kill container: {ref}: Container {c.id} is not running")
        signum = signal_number(sig or "KILL", default=signal.SIGKILL)
        if signum in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT):
            c.state.manually_stopped = True
            self._save(c)
        if c.state.status == PAUSED and signum == signal.SIGKILL:
            await self._thread(self.mon.resume, c.id)
        self._event(c, "kill", signal=str(signum))
        await self._signal(c, signum, all_procs=signum == signal.SIGKILL)

    async def restart(self, ref: str, timeout: int | None = None, sig: str | None = None) -> None:
        c = self.get(ref)
        if c.state.running or c.state.status == RESTARTING:
            try:
                await self.stop(ref, timeout, sig)
            except NotModified:
                pass
        rs = self.runstate(c)
        async with rs.lock:
            if not c.state.running:
                await self._start_locked(c, rs)
        self._event(c, "restart")

    async def pause(self, ref: str) -> None:
        c = self.get(ref)
        if c.state.status != RUNNING:
            if c.state.status == PAUSED:
                raise Conflict(f"Container {c.id} is already paused")
            raise Conflict(f"Container {c.id} is not running")
        await self._thread(self.mon.pause, c.id)
        c.state.status = PAUSED
        self._save(c)
        self._event(c, "pause")

    async def unpause(self, ref: str) -> None:
        c = self.get(ref)
        if c.state.status != PAUSED:
            raise Conflict(f"Container {c.id} is not paused")
        await self._thread(self.mon.resume, c.id)
        c.state.status = RUNNING
        self._save(c)
        self._event(c, "unpause")

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
        c.state.status = REMOVING
        await self._thread(self._remove_sync, c)
        self.db.execute("DELETE FROM containers WHERE id=?", (c.id,))
        self._c.pop(c.id, None)
        self._rs.pop(c.id, None)
        self._event(c, "destroy")
        rs.notify_removed(c.state.exit_code)

    def _remove_sync(self, c: Container) -> None:
        self._cleanup_sync(c)
        self.mon.clear_exit(c.id)
        shutil.rmtree(os.path.join(self.mon.p.socket_dir, c.id), ignore_errors=True)
        try:
            os.unlink(os.path.join(self.mon.p.socket_dir, c.id))
        except OSError:
            pass
        self.snap.remove(self.dir_of(c))

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
            raise InvalidParameter(f"Renaming a container with the same name as its current name")
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
                    await self._handle_exit(c, code)
                else:
                    self.runstate(c)
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


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _dir_size(path: str) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def _exit_code_for_error(msg: str) -> int:
    low = msg.lower()
    if "executable file not found" in low or "no such file or directory" in low:
        return 127
    if "permission denied" in low or "not executable" in low:
        return 126
    return 128
