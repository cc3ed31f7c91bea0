"""The container monitor: one conmon per container (and per exec), runc underneath.

conmon holds the container's stdio, writes its log, records its exit code
and survives a daemon restart. The protocol (ARCHITECTURE.md §5): fd 3 is the
sync pipe conmon answers on, fd 4 the start pipe we write to, fd 5 (exec
with attach) the pipe conmon tells us its attach socket is ready on.
These calls block: the daemon runs them in worker threads.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from dataclasses import dataclass

from hithe.errors import SystemError_
from hithe.runtime.execfifo import InitDied, start_created

_DEVNULL = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
_ENV = "/usr/bin/env"


@dataclass
class RuntimePaths:
    runc_root: str
    exits_dir: str
    socket_dir: str
    conmon: str = "/usr/bin/conmon"
    runc: str = "/usr/sbin/runc"


class RuntimeFailure(SystemError_):
    """runc or conmon refused: the message is the runtime's."""


def _clean_runtime_message(msg: str) -> str:
    # runc prints logrus lines: time="..." level=error msg="..."; keep the msg part.
    msg = msg.strip()
    if 'msg="' in msg:
        part = msg.split('msg="', 1)[1]
        part = part.rsplit('"', 1)[0]
        msg = part.replace('\\"', '"')
    return msg


def _read_sync(fd: int, pending: bytearray | None = None) -> dict:
    """One JSON message from conmon's sync pipe (newline-terminated).

    With `pending`, bytes read past the message are kept there for the next call: an exec
    that exits at once has its pid and its exit code arrive in one read."""
    buf = bytes(pending or b"")
    if pending is not None:
        pending.clear()
    while b"\n" not in buf:
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        buf += chunk
    if not buf:
        raise RuntimeFailure("conmon exited without reporting the container's status")
    line, _, rest = buf.partition(b"\n")
    if pending is not None:
        pending.extend(rest)
    return json.loads(line)


def _same_process(pid: int, start_ticks: int) -> bool:
    """Is `pid` still the process that started at `start_ticks` (field 22 of /proc/pid/stat)?"""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z" and int(fields[19]) == start_ticks


def open_seqpacket(path: str) -> socket.socket:
    """Connect to conmon's attach socket, whatever the length of its path."""
    dfd = os.open(os.path.dirname(path), os.O_PATH | os.O_CLOEXEC)
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.connect(f"/proc/self/fd/{dfd}/{os.path.basename(path)}")
        return s
    finally:
        os.close(dfd)


class Monitor:
    def __init__(self, paths: RuntimePaths) -> None:
        self.p = paths
        for d in (paths.runc_root, paths.exits_dir, paths.socket_dir):
            os.makedirs(d, exist_ok=True)

    def _spawn(self, args: list[str], *, cwd: str, sync_w: int, start_r: int, attach_w: int | None = None) -> int:
        """conmon with stdio on /dev/null and its pipes on fds 3, 4 (and 5); closes our copies.

        conmon writes some files (an `oom` marker) into its working directory: run it in the
        bundle, through `env -C` since posix_spawn here has no chdir action."""
        env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
               "_OCI_SYNCPIPE": "3", "_OCI_STARTPIPE": "4"}
        actions = [(os.POSIX_SPAWN_DUP2, _DEVNULL, 0), (os.POSIX_SPAWN_DUP2, _DEVNULL, 1),
                   (os.POSIX_SPAWN_DUP2, _DEVNULL, 2), (os.POSIX_SPAWN_DUP2, sync_w, 3),
                   (os.POSIX_SPAWN_DUP2, start_r, 4)]
        if attach_w is not None:
            env["_OCI_ATTACHPIPE"] = "5"
            actions.append((os.POSIX_SPAWN_DUP2, attach_w, 5))
        try:
            return os.posix_spawn(_ENV, [_ENV, "-C", cwd, "--"] + args, env, setsid=True, file_actions=actions)
        finally:
            for fd in (sync_w, start_r, attach_w):
                if fd is not None:
                    os.close(fd)

    # --- containers ------------------------------------------------------
    def _base_args(self, cid: str, uid: str, name: str, bundle: str, pidfile: str, log_path: str,
                   exit_dir: str, log_size_max: int | None) -> list[str]:
        args = [self.p.conmon, "--api-version", "1", "-c", cid, "-u", uid, "-n", name,
                "-r", self.p.runc, "-b", bundle, "-p", pidfile,
                "-l", "k8s-file:" + log_path, "--exit-dir", exit_dir,
                "--socket-dir-path", self.p.socket_dir, "--runtime-arg", "--root=" + self.p.runc_root,
                "--log-level", "error"]
        if log_size_max:
            args += ["--log-size-max", str(log_size_max)]
        return args

    def create(self, cid: str, bundle: str, *, tty: bool, stdin: bool, leave_stdin_open: bool,
               log_path: str, log_size_max: int | None, persist_dir: str) -> tuple[int, int]:
        """Start conmon, which runs `runc create`; returns (container pid, conmon pid)."""
        args = self._base_args(cid, cid, cid, bundle, os.path.join(bundle, "pid"), log_path,
                               self.p.exits_dir, log_size_max)
        args += ["-P", os.path.join(bundle, "conmon.pid"), "-0", persist_dir]
        if tty:
            args.append("-t")
        if stdin:
            args.append("-i")
        if leave_stdin_open:
            args.append("--leave-stdin-open")
        sync_r, sync_w = os.pipe2(os.O_CLOEXEC)
        start_r, start_w = os.pipe2(os.O_CLOEXEC)
        pid = self._spawn(args, cwd=bundle, sync_w=sync_w, start_r=start_r)
        try:
            os.write(start_w, b"0")
            msg = _read_sync(sync_r)
        finally:
            os.close(start_w)
            os.close(sync_r)
            os.waitpid(pid, 0)  # conmon's first process exits once it has daemonized
        if msg.get("data", -1) < 0:
            raise RuntimeFailure(_clean_runtime_message(msg.get("message", "runc create failed")))
        conmon_pid = 0
        try:
            with open(os.path.join(bundle, "conmon.pid")) as f:
                conmon_pid = int(f.read().strip() or 0)
        except (OSError, ValueError):
            pass
        return int(msg["data"]), conmon_pid

    def runc(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
        r = subprocess.run([self.p.runc, "--root", self.p.runc_root, *args],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if check and r.returncode != 0:
            raise RuntimeFailure(_clean_runtime_message(r.stderr.decode(errors="replace") or
                                                        r.stdout.decode(errors="replace")))
        return r

    def start(self, cid: str, init_pid: int = 0) -> None:
        """Run a created container's process: through its exec fifo when we know
        init's pid (what `runc start` does, without starting runc), else runc."""
        if init_pid:
            try:
                if start_created(os.path.join(self.p.runc_root, cid), init_pid):
                    return
            except InitDied as exc:
                raise RuntimeFailure(str(exc)) from None
        self.runc("start", cid)

    def kill(self, cid: str, sig: int, all_procs: bool = False) -> None:
        args = ["kill"] + (["--all"] if all_procs else []) + [cid, str(sig)]
        self.runc(*args)

    def delete(self, cid: str) -> None:
        """Forget a container's runtime state; quick path when its process is already gone."""
        if not self._delete_stopped(cid):
            self.runc("delete", "--force", cid, check=False)

    def _delete_stopped(self, cid: str) -> bool:
        """What `runc delete` does for a stopped container (remove its cgroups and state dir),
        without starting runc: ~0.5 ms instead of ~5 ms on every exit. False when anything
        looks unusual, so that runc itself handles it."""
        state_dir = os.path.join(self.p.runc_root, cid)
        try:
            with open(os.path.join(state_dir, "state.json")) as f:
                state = json.load(f)
            pid = int(state.get("init_process_pid") or 0)
            if pid and _same_process(pid, int(state.get("init_process_start") or 0)):
                return False  # still running: runc kills it first
            for path in sorted(set((state.get("cgroup_paths") or {}).values()), key=len, reverse=True):
                try:
                    os.rmdir(path)
                except FileNotFoundError:
                    pass
            shutil.rmtree(state_dir)
            return True
        except (OSError, ValueError, TypeError):
            return False

    def pause(self, cid: str) -> None:
        self.runc("pause", cid)

    def resume(self, cid: str) -> None:
        self.runc("resume", cid)

    def state(self, cid: str) -> dict | None:
        r = self.runc("state", cid, check=False)
        if r.returncode != 0:
            return None
        return json.loads(r.stdout)

    def exit_code(self, cid: str) -> int | None:
        try:
            with open(os.path.join(self.p.exits_dir, cid)) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def clear_exit(self, cid: str) -> None:
        try:
            os.unlink(os.path.join(self.p.exits_dir, cid))
        except FileNotFoundError:
            pass

    def attach_path(self, cid: str) -> str:
        return os.path.join(self.p.socket_dir, cid, "attach")

    def attach(self, cid: str) -> socket.socket:
        try:
            return open_seqpacket(self.attach_path(cid))
        except OSError as e:
            raise RuntimeFailure(f"cannot attach to container {cid}: {e.strerror}") from None

    def resize(self, bundle: str, height: int, width: int) -> None:
        # conmon reads "<type> <height> <width>\n" on its ctl fifo; type 1 is a resize.
        path = os.path.join(bundle, "ctl")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            return
        try:
            os.write(fd, f"1 {height} {width}\n".encode())
        finally:
            os.close(fd)

    # --- exec ------------------------------------------------------------
    def exec_spawn(self, cid: str, exec_id: str, exec_dir: str, process_json: str, *, tty: bool,
                   stdin: bool, attach: bool, keep_log: bool = True) -> "ExecHandle":
        """keep_log=False: the output goes to the attach socket only (health probes)."""
        os.makedirs(exec_dir, exist_ok=True)
        args = self._base_args(cid, exec_id, cid, exec_dir, os.path.join(exec_dir, "pid"),
                               os.path.join(exec_dir, "log"), exec_dir, None)
        if not keep_log:
            args[args.index("-l") + 1] = "none"   # conmon's no-op log driver
        args += ["--exec", "--exec-process-spec", process_json]
        if attach:
            args.append("--exec-attach")
        if tty:
            args.append("-t")
        if stdin:
            args.append("-i")
        sync_r, sync_w = os.pipe2(os.O_CLOEXEC)
        start_r, start_w = os.pipe2(os.O_CLOEXEC)
        att_r, att_w = os.pipe2(os.O_CLOEXEC)
        pid = self._spawn(args, cwd=exec_dir, sync_w=sync_w, start_r=start_r, attach_w=att_w)
        return ExecHandle(self, exec_id, pid, sync_r, start_w, att_r, attach)


class ExecHandle:
    """One exec session's conmon: attach (optionally), start, then pid and exit code."""

    def __init__(self, mon: Monitor, exec_id: str, pid: int, sync_r: int, start_w: int, att_r: int,
                 attach: bool) -> None:
        self.mon, self.exec_id, self.pid = mon, exec_id, pid
        self.sync_r, self.start_w, self.att_r, self.attach = sync_r, start_w, att_r, attach
        self.sock: socket.socket | None = None
        self.pending = bytearray()   # sync-pipe bytes read ahead (the exit code of a quick exec)

    def begin(self) -> int:
        """Run the exec; returns the process pid (attach socket connected first if asked)."""
        try:
            os.write(self.start_w, b"0")
            if self.attach:
                ready = _read_sync(self.att_r)
                if ready.get("data", -1) < 0:
                    raise RuntimeFailure(_clean_runtime_message(ready.get("message", "exec attach failed")))
                self.sock = self.mon.attach(self.exec_id)
                os.write(self.start_w, b"0")
            msg = _read_sync(self.sync_r, self.pending)
        except BaseException:
            self.close()
            raise
        finally:
            os.close(self.att_r)
            os.close(self.start_w)
            try:
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass
        if msg.get("data", -1) < 0:
            os.close(self.sync_r)
            self.sync_r = -1
            raise RuntimeFailure(_clean_runtime_message(msg.get("message", "exec failed")))
        return int(msg["data"])

    def wait(self) -> int:
        """Block until the process exits; its exit code."""
        try:
            msg = _read_sync(self.sync_r, self.pending)
            return int(msg.get("data", -1))
        except RuntimeFailure:
            return -1
        finally:
            os.close(self.sync_r)
            self.sync_r = -1

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
