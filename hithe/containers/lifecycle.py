"""Starting, stopping and watching containers: the running half of the container service.

A mixin of ContainerService (hithe/containers/service.py), which owns the records;
this part drives conmon and runc and reacts to exits (restart policies, --rm).
"""
from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import signal
from typing import Any

from hithe.containers import cgroups
from hithe.containers import mounts as mount_plan
from hithe.containers.procs import exit_code_for_error as _exit_code_for_error
from hithe.containers.record import CREATED, EXITED, PAUSED, REMOVING, RESTARTING, RUNNING, Container
from hithe.containers.restart_policy import restart_delay, should_restart
from hithe.containers.runstate import RunState
from hithe.containers.users import home_of, resolve_user
from hithe.errors import Conflict, HitheError, InvalidParameter, NotFound, NotModified
from hithe.logs.rotation import LogKeeper, parse_log_opts
from hithe.runtime.conmon import RuntimeFailure
from hithe.runtime.oci_spec import build_spec, effective_caps, signal_number
from hithe.util.timefmt import ZERO_TIME, rfc3339_now

log = logging.getLogger("hithe.containers")


class Lifecycle:
    """Uses ContainerService's stores and helpers: db, mon, snap, paths, seccomp, volumes, _c, _rs,
    _keepers, watch_dir, _thread, _save, _event, get, runstate, dir_of, log_path, remove."""

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
                raise Conflict("container is marked for removal and cannot be started")
            await self._start_locked(c, rs)

    async def _start_locked(self, c: Container, rs: RunState) -> None:
        waiters = [f for f in rs.pending_attach if not f.done()]
        rs.pending_attach = []
        rs.exited = asyncio.Event()
        rs.handling_exit = False
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
            await self._thread(self.mon.start, c.id, pid)
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
            if not any(e.startswith("HOME=") for e in c.env):
                c = dataclasses.replace(c, env=c.env + ["HOME=" + home_of(rootfs, uid)])
            user_mounts = []
            if self.volumes is not None and c.mounts:
                user_mounts = mount_plan.setup(c.id, c.mounts, rootfs, self.volumes)
            # the container's network namespace, endpoints, ports, hosts and resolv.conf
            netns = self.network.setup(c) if self.network is not None else None
            seccomp = None
            if self.seccomp is not None:
                caps = set(effective_caps(c.spec.privileged, c.spec.cap_add, c.spec.cap_drop))
                seccomp = self.seccomp(c.spec.security_opt, caps, c.spec.privileged)
            spec = build_spec(c, rootfs=rootfs, uid=uid, gid=gid, additional_gids=extra,
                              cgroups_path=f"/{self.paths.cgroup_parent}/{c.id}", files_dir=d,
                              init_path=self.paths.init_path, seccomp=seccomp, netns=netns,
                              user_mounts=user_mounts)
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
        if os.path.exists(os.path.join(self.mon.p.runc_root, c.id)):  # skip a runc run when already gone
            self.mon.delete(c.id)
        try:
            self.snap.unmount(self.dir_of(c))
        except OSError as e:
            log.warning("unmount %s: %s", c.id, e)
        if self.volumes is not None:
            mount_plan.release(c.id, c.mounts, self.volumes)
        if self.network is not None:
            self.network.teardown(c)
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
        rs = self.runstate(c)
        if rs.handling_exit:
            return  # inotify and the post-start check can both report one exit
        rs.handling_exit = True
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
        if should_restart(c):
            c.state.status = RESTARTING
            self._save(c)
            rs.restart_task = asyncio.get_running_loop().create_task(self._restart_later(c))
        elif c.spec.auto_remove:
            try:
                await self.remove(c.id, force=True, volumes=True)
            except NotFound:
                pass

    async def _restart_later(self, c: Container) -> None:
        delay = restart_delay(c.state.restart_count)
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
