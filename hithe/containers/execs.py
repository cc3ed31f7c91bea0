"""Exec sessions: a process started inside a running container, under its own conmon."""
from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import signal
import socket
from dataclasses import dataclass, field
from typing import Any

from hithe.containers.create import merge_env
from hithe.containers.record import PAUSED, Container
from hithe.containers.procs import exit_code_for_error as _exit_code_for_error
from hithe.containers.service import ContainerService
from hithe.containers.users import home_of, resolve_user
from hithe.errors import Conflict, HitheError, InvalidParameter, NotFound
from hithe.runtime.conmon import ExecHandle
from hithe.runtime.oci_spec import effective_caps, rlimits


@dataclass
class ExecSession:
    id: str
    container_id: str
    cmd: list[str]
    tty: bool
    attach_stdin: bool
    attach_stdout: bool
    attach_stderr: bool
    env: list[str]
    user: str
    working_dir: str
    privileged: bool
    detach_keys: str
    running: bool = False
    exit_code: int | None = None
    pid: int = 0
    can_remove: bool = False
    done: asyncio.Event = field(default_factory=asyncio.Event)


class ExecService:
    def __init__(self, containers: ContainerService, exec_root: str) -> None:
        self.containers = containers
        self.exec_root = exec_root
        self._s: dict[str, ExecSession] = {}
        os.makedirs(exec_root, exist_ok=True)

    def get(self, eid: str) -> ExecSession:
        s = self._s.get(eid)
        if s is None:
            raise NotFound(f"No such exec instance: {eid}")
        return s

    def _running_container(self, c: Container) -> None:
        if c.state.status == PAUSED:
            raise Conflict(f"Container {c.id} is paused, unpause the container before exec")
        if not c.state.running:
            raise Conflict(f"Container {c.id} is not running")

    def create(self, ref: str, body: dict[str, Any]) -> ExecSession:
        c = self.containers.get(ref)
        self._running_container(c)
        cmd = body.get("Cmd")
        if isinstance(cmd, str):
            cmd = [cmd]
        if not cmd or not isinstance(cmd, list):
            raise InvalidParameter("No exec command specified")
        s = ExecSession(
            id=secrets.token_hex(32), container_id=c.id, cmd=[str(x) for x in cmd], tty=bool(body.get("Tty")),
            attach_stdin=bool(body.get("AttachStdin")), attach_stdout=bool(body.get("AttachStdout")),
            attach_stderr=bool(body.get("AttachStderr")), env=list(body.get("Env") or []),
            user=body.get("User") or "", working_dir=body.get("WorkingDir") or "",
            privileged=bool(body.get("Privileged")), detach_keys=body.get("DetachKeys") or "")
        self._s[s.id] = s
        self.containers._event(c, "exec_create: " + " ".join(s.cmd), execID=s.id)
        self._gc()
        return s

    def _gc(self) -> None:
        # Docker forgets finished exec sessions; keep the last ones for `exec inspect`.
        done = [s for s in self._s.values() if s.exit_code is not None]
        for s in done[:-256]:
            self._s.pop(s.id, None)

    def _process_json(self, c: Container, s: ExecSession, rootfs: str) -> dict[str, Any]:
        uid, gid, extra = resolve_user(rootfs, s.user or c.user)
        caps = effective_caps(c.spec.privileged or s.privileged, c.spec.cap_add, c.spec.cap_drop)
        env = merge_env(c.env, s.env)
        if not any(e.startswith("HOME=") for e in env):
            env.append("HOME=" + home_of(rootfs, uid))
        if s.tty and not any(e.startswith("TERM=") for e in env):
            env.append("TERM=xterm")
        return {
            "terminal": s.tty, "args": s.cmd, "env": env, "cwd": s.working_dir or c.working_dir or "/",
            "user": {"uid": uid, "gid": gid, **({"additionalGids": extra} if extra else {})},
            "capabilities": {k: caps for k in ("bounding", "effective", "permitted")},
            "rlimits": rlimits(c.spec.ulimits),
            "noNewPrivileges": "no-new-privileges" in c.spec.security_opt,
        }

    def _spawn_sync(self, c: Container, s: ExecSession, attach: bool,
                    keep_log: bool = True) -> tuple[ExecHandle, int]:
        d = os.path.join(self.exec_root, s.id)
        os.makedirs(d, exist_ok=True)
        rootfs = os.path.join(self.containers.dir_of(c), "rootfs")
        pj = os.path.join(d, "process.json")
        with open(pj, "w") as f:
            json.dump(self._process_json(c, s, rootfs), f)
        h = self.containers.mon.exec_spawn(c.id, s.id, d, pj, tty=s.tty, stdin=s.attach_stdin and attach,
                                           attach=attach, keep_log=keep_log)
        pid = h.begin()
        return h, pid

    def check_startable(self, eid: str) -> ExecSession:
        s = self.get(eid)
        if s.running or s.exit_code is not None:
            raise Conflict(f"Error: Exec command {eid} is already running" if s.running
                           else f"Error: Exec command {eid} has already run")
        self._running_container(self.containers.get(s.container_id))
        return s

    async def start(self, eid: str, *, detach: bool) -> tuple[ExecSession, ExecHandle, socket.socket | None]:
        s = self.check_startable(eid)
        c = self.containers.get(s.container_id)
        s.running = True
        try:
            h, pid = await self.containers._thread(self._spawn_sync, c, s, not detach)
        except HitheError as e:
            s.running = False
            s.exit_code = _exit_code_for_error(e.message)
            s.done.set()
            self._cleanup(s)
            raise
        s.pid = pid
        self.containers._event(c, "exec_start: " + " ".join(s.cmd), execID=s.id)
        asyncio.get_running_loop().create_task(self._wait(c, s, h))
        return s, h, h.sock

    async def _wait(self, c: Container, s: ExecSession, h: ExecHandle) -> None:
        code = await self.containers._thread(h.wait)
        s.exit_code = code if code >= 0 else 126
        s.running = False
        s.pid = 0
        s.done.set()
        self._cleanup(s)
        self.containers._event(c, "exec_die", execID=s.id, exitCode=str(s.exit_code))

    async def run_probe(self, c: Container, cmd: list[str], timeout: float) -> tuple[int, bytes, bool]:
        """A health probe: an exec with Docker's exec_* events but listed nowhere, its output
        read from conmon's attach socket (never logged) and cut at PROBE_OUTPUT bytes, killed
        after `timeout` seconds. Returns (exit code, output, timed out)."""
        self._running_container(c)
        s = ExecSession(id=secrets.token_hex(32), container_id=c.id, cmd=list(cmd), tty=False,
                        attach_stdin=False, attach_stdout=True, attach_stderr=True, env=[], user="",
                        working_dir="", privileged=False, detach_keys="")
        what = " ".join(s.cmd)
        self.containers._event(c, "exec_create: " + what, execID=s.id)
        try:
            h, pid = await self.containers._thread(self._spawn_sync, c, s, True, False)
        except BaseException:
            self._cleanup(s)
            raise
        self.containers._event(c, "exec_start: " + what, execID=s.id)
        loop = asyncio.get_running_loop()
        out = bytearray()
        timed_out = False
        exited = _exit_code(loop, h)
        reader = loop.create_task(_drain(loop, h.sock, out))
        try:
            try:
                code = await asyncio.wait_for(asyncio.shield(exited), timeout)
            except asyncio.TimeoutError:
                timed_out = True
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                code = await exited
            try:
                await asyncio.wait_for(reader, 2)  # conmon closes the socket once it has flushed
            except asyncio.TimeoutError:
                pass
        finally:
            if not reader.done():  # cancelled (daemon shutdown): stop using the socket first
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)
            if not exited.done():
                exited.cancel()     # its done callback stops watching the pipe
            loop.remove_reader(h.sync_r)
            h.close()
            os.close(h.sync_r)
            h.sync_r = -1
            self._cleanup(s)
        code = code if code >= 0 else 126
        self.containers._event(c, "exec_die", execID=s.id, exitCode=str(code))
        return code, bytes(out), timed_out

    def _cleanup(self, s: ExecSession) -> None:
        shutil.rmtree(os.path.join(self.exec_root, s.id), ignore_errors=True)
        sockdir = os.path.join(self.containers.mon.p.socket_dir, s.id)
        try:
            os.unlink(sockdir)
        except IsADirectoryError:
            shutil.rmtree(sockdir, ignore_errors=True)
        except OSError:
            pass

    def resize(self, eid: str, h: int, w: int) -> None:
        s = self.get(eid)
        if not s.running:
            raise Conflict(f"Exec {eid} is not running")
        self.containers.mon.resize(os.path.join(self.exec_root, s.id), h, w)

    def inspect(self, eid: str) -> dict[str, Any]:
        s = self.get(eid)
        return {
            "CanRemove": False, "ContainerID": s.container_id, "DetachKeys": s.detach_keys,
            "ExitCode": s.exit_code, "ID": s.id, "OpenStderr": s.attach_stderr, "OpenStdin": s.attach_stdin,
            "OpenStdout": s.attach_stdout, "Running": s.running, "Pid": s.pid,
            "ProcessConfig": {"arguments": s.cmd[1:], "entrypoint": s.cmd[0], "privileged": s.privileged,
                              "tty": s.tty, "user": s.user},
        }


PROBE_OUTPUT = 4096 + 1   # one byte more than Docker keeps tells it that there was more


def _exit_code(loop: asyncio.AbstractEventLoop, h: ExecHandle) -> asyncio.Future[int]:
    """conmon's second sync message (the exit code), read without a waiting thread."""
    fut: asyncio.Future[int] = loop.create_future()
    buf = bytearray(h.pending)   # a quick probe's exit code may have come with its pid
    fd = h.sync_r
    os.set_blocking(fd, False)

    def finish() -> None:
        loop.remove_reader(fd)
        try:
            code = int(json.loads(bytes(buf).split(b"\n", 1)[0]).get("data", -1))
        except (ValueError, AttributeError):
            code = -1
        if not fut.done():
            fut.set_result(code)

    def readable() -> None:
        try:
            chunk = os.read(fd, 4096)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        buf.extend(chunk)
        if not chunk or b"\n" in buf:
            finish()
    if b"\n" in buf:
        finish()
    else:
        loop.add_reader(fd, readable)
        fut.add_done_callback(lambda _: loop.remove_reader(fd))
    return fut


async def _drain(loop: asyncio.AbstractEventLoop, sock: socket.socket | None, out: bytearray) -> None:
    """Collect stdout and stderr packets ([stream byte][data]) in arrival order; keep reading
    (and discarding) past the limit so that the probe never blocks on a full socket."""
    if sock is None:
        return
    sock.setblocking(False)
    while True:
        try:
            pkt = await loop.sock_recv(sock, 65536)
        except OSError:
            return
        if not pkt:
            return
        if len(out) < PROBE_OUTPUT and pkt[0] in (2, 3):
            out.extend(pkt[1:PROBE_OUTPUT - len(out) + 1])
