"""hithed: start-up, the exit watcher, periodic chores, shutdown."""
from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys

from hithe.api.router import Router
from hithe.api.server import APIServer
from hithe.daemon.config import DaemonConfig, parse_args
from hithe.daemon.engine import Engine
from hithe.util.inotify import IN_CLOSE_WRITE, IN_IGNORED, IN_MOVED_TO, Inotify

log = logging.getLogger("hithed")


def build_router(eng: Engine) -> Router:
    from hithe.api.routes import archive, containers, execs, image_io, images, registry, stats, system, volumes
    from hithe.api.routes import build as build_routes
    from hithe.api.routes import networks
    from hithe.api.routes import update
    r = Router()
    for mod in (system, containers, archive, stats, execs, images, image_io, volumes, registry, networks, build_routes, update):
        mod.register(r, eng)
    return r


def _write_pidfile(path: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    try:
        with open(path) as f:
            old = int(f.read().strip() or 0)
        if old and old != os.getpid():
            try:
                os.kill(old, 0)
                with open(f"/proc/{old}/cmdline", "rb") as f:
                    if b"hithe" in f.read():
                        raise SystemExit(f"hithed: pid file found, ensure hithed is not running or "
                                         f"delete {path}")
            except (ProcessLookupError, FileNotFoundError):
                pass
    except (FileNotFoundError, ValueError):
        pass
    with open(path, "w") as f:
        f.write(str(os.getpid()))


async def run(cfg: DaemonConfig) -> None:
    _write_pidfile(cfg.pidfile)
    eng = Engine.open(cfg)
    loop = asyncio.get_running_loop()
    ino = Inotify()

    exits_wd = ino.add_watch(eng.containers.mon.p.exits_dir, IN_CLOSE_WRITE | IN_MOVED_TO)
    log_dirs: dict[int, str] = {}

    def watch_dir(cid: str, path: str) -> None:
        # conmon rotates by renaming a new file over the log: keep the old one at once.
        try:
            log_dirs[ino.add_watch(path, IN_MOVED_TO)] = cid
        except OSError:
            pass
    eng.containers.watch_dir = watch_dir

    def on_inotify() -> None:
        for wd, mask, name in ino.read_events():
            if mask & IN_IGNORED:  # the container's directory is gone
                log_dirs.pop(wd, None)
            elif wd == exits_wd:
                eng.containers.on_exit_file(name)
            elif name == "container.log" and wd in log_dirs:
                eng.containers.on_log_rotated(log_dirs[wd])
    loop.add_reader(ino.fd, on_inotify)
    eng.networks.start(loop)  # bridges, nft table, DNS: in the background
    await eng.containers.restore()
    if eng.health is not None:
        eng.health.resume()  # probes of the containers that kept running while we were down
    # An exit file written between restore() and the watch would be missed: rescan once.
    for c in eng.containers.all():
        if c.state.running:
            eng.containers.on_exit_file(c.id)
    server = APIServer(build_router(eng), cfg.socket)
    await server.start()
    log.info("hithed listening on unix://%s (data root %s)", cfg.socket, cfg.data_root)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    async def chores() -> None:
        while True:
            await asyncio.sleep(1.0)
            eng.containers.check_logs()
    chore_task = asyncio.ensure_future(chores())
    await stop.wait()
    log.info("hithed shutting down; containers keep running under conmon")
    chore_task.cancel()
    await server.close()
    loop.remove_reader(ino.fd)
    ino.close()
    eng.networks.close()  # bridges and rules stay (as docker0 does): running containers use them
    eng.db.close()
    from hithe.containers.cgroups import remove_parent
    remove_parent(cfg.cgroup_parent)  # only succeeds once no container of ours runs
    try:
        os.unlink(cfg.pidfile)
    except FileNotFoundError:
        pass


def main(argv: list[str] | None = None) -> None:
    cfg = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=getattr(logging, cfg.log_level.upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if os.geteuid() != 0:
        raise SystemExit("hithed: must run as root")
    try:
        asyncio.run(run(cfg))
    except KeyboardInterrupt:
        pass
    # Worker threads may still block on an exec's or attach's pipe; conmon keeps those
    # processes, so leave now instead of joining the threads.
    logging.shutdown()
    os._exit(0)


if __name__ == "__main__":
    main()
