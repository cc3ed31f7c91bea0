"""The volume service: the local driver's volumes, their records, users and mounts.

Records live in the metadata DB (table `volumes`), data under
`<root>/<name>/_data`.  Which containers use a volume is not stored twice:
the container service answers it from its records (`refs`), so a crash can
never leave a stale reference count behind.  Methods are blocking (run them
in a worker thread when they touch much disk) and thread-safe.
"""
from __future__ import annotations

import asyncio
import logging
import os
import shutil
import threading
import time
from typing import Callable

from hithe.containers.procs import dir_size
from hithe.errors import Conflict, InvalidParameter, NotFound, SystemError_
from hithe.events.bus import EventBus
from hithe.metadata.db import Database, dump, load
from hithe.volumes import local_opts
from hithe.volumes.names import anonymous_name, is_valid_name, validate_name
from hithe.volumes.record import ANONYMOUS_LABEL, Volume

log = logging.getLogger("hithe.volumes")
DRIVER = "local"


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class VolumeService:
    def __init__(self, db: Database, root: str, events: EventBus) -> None:
        self.db = db
        self.root = os.path.realpath(root)
        self.events = events
        os.makedirs(self.root, mode=0o701, exist_ok=True)
        self._lock = threading.RLock()
        self._v: dict[str, Volume] = {}
        # running containers holding each volume's mount (local driver options only)
        self._active: dict[str, set[str]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        # Set by the composition root: volume name -> IDs of the containers that use it.
        self.refs_of: Callable[[], dict[str, list[str]]] = dict
        db.execute("CREATE TABLE IF NOT EXISTS volumes (name TEXT PRIMARY KEY, doc TEXT NOT NULL)")
        for (doc,) in db.query("SELECT doc FROM volumes"):
            v = Volume.from_doc(load(doc))
            self._v[v.name] = v

    # --- events: publish on the loop's thread, wherever we are called from ---
    def bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def _event(self, action: str, name: str, **attrs: str) -> None:
        a = {"driver": DRIVER, **attrs}
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is not None or self._loop is None:
            self.events.publish("volume", action, name, a)
        else:
            self._loop.call_soon_threadsafe(self.events.publish, "volume", action, name, a)

    # --- paths ----------------------------------------------------------------
    def _dir(self, name: str) -> str:
        # Names are validated before they get here; this is the last line of defence.
        if not is_valid_name(name):
            raise InvalidParameter(f"invalid volume name: {name!r}")
        d = os.path.join(self.root, name)
        if os.path.dirname(d) != self.root:
            raise InvalidParameter(f"invalid volume name: {name!r}")
        return d

    def data_path(self, name: str) -> str:
        return os.path.join(self._dir(name), "_data")

    # --- records ----------------------------------------------------------------
    def get(self, name: str) -> Volume:
        v = self._v.get(name)
        if v is None:
            raise NotFound(f"get {name}: no such volume")
        return v

    def all(self) -> list[Volume]:
        return list(self._v.values())

    def refs(self, name: str) -> list[str]:
        return sorted(self.refs_of().get(name, []))

    def create(self, name: str = "", driver: str = "", opts: dict[str, str] | None = None,
               labels: dict[str, str] | None = None, *, anonymous: bool = False,
               strict: bool = True) -> tuple[Volume, bool]:
        """(volume, created). An existing name is returned as is; with `strict` (the volumes API)
        asking for another driver or other options is a conflict."""
        driver = driver or DRIVER
        if anonymous or not name:
            name = anonymous_name()
            labels = {**(labels or {}), ANONYMOUS_LABEL: ""}
        validate_name(name)
        if driver != DRIVER:
            raise NotFound(f"create {name}: error looking up volume plugin {driver}: "
                           f'plugin "{driver}" not found')
        with self._lock:
            old = self._v.get(name)
            if old is not None:
                if strict and opts and (old.options or {}) != opts:
                    raise Conflict(f"create {name}: volume name must be unique: a volume named {name} "
                                   "already exists with other driver options")
                return old, False
            local_opts.validate_opts(name, opts)
            d = self._dir(name)
            v = Volume(name=name, driver=driver, created_at=_now(), mountpoint=os.path.join(d, "_data"),
                       labels=None if labels is None else dict(labels),
                       options=None if opts is None else dict(opts))
            try:
                os.makedirs(v.mountpoint, mode=0o755)
            except FileExistsError:
                pass  # a directory left behind by a crash: adopt it
            self.db.execute("INSERT INTO volumes(name, doc) VALUES(?, ?)", (name, dump(v.to_doc())))
            self._v[name] = v
        self._event("create", name)
        return v, True

    def remove(self, name: str, force: bool = False) -> None:
        with self._lock:
            v = self._v.get(name)
            if v is None:
                if force:
                    return
                raise NotFound(f"get {name}: no such volume")
            users = self.refs(name)
            if users:
                raise Conflict(f"remove {name}: volume is in use - [{', '.join(users)}]")
            self._unmount_all(v)
            self.db.execute("DELETE FROM volumes WHERE name=?", (name,))
            self._v.pop(name, None)
            self._active.pop(name, None)
        shutil.rmtree(self._dir(name), ignore_errors=True)
        self._event("destroy", name)

    def size(self, v: Volume) -> int:
        return dir_size(v.mountpoint)

    def prune(self, keep: Callable[[Volume], bool]) -> tuple[list[str], int]:
        deleted, reclaimed = [], 0
        users = self.refs_of()
        for v in sorted(self.all(), key=lambda v: v.name):
            if users.get(v.name) or keep(v):
                continue
            size = self.size(v)
            try:
                self.remove(v.name)
            except (Conflict, NotFound):
                continue  # taken by a container meanwhile
            deleted.append(v.name)
            reclaimed += size
        return deleted, reclaimed

    # --- mounts of volumes with local driver options ------------------------------
    def acquire(self, name: str, cid: str) -> str:
        """The host path to bind into container `cid`, mounting the volume first if it has options."""
        v = self.get(name)
        with self._lock:
            users = self._active.setdefault(name, set())
            if local_opts.needs_mount(v.options) and not users:
                os.makedirs(v.mountpoint, exist_ok=True)
                local_opts.mount_volume(v.options or {}, v.mountpoint)
            users.add(cid)
        self._event("mount", name, container=cid)
        return v.mountpoint

    def release(self, name: str, cid: str) -> None:
        with self._lock:
            users = self._active.get(name)
            if users is None or cid not in users:
                return
            users.discard(cid)
            v = self._v.get(name)
            if not users and v is not None and local_opts.needs_mount(v.options):
                try:
                    local_opts.unmount_volume(v.mountpoint)
                except OSError as e:
                    log.warning("unmount volume %s: %s", name, e)
        self._event("unmount", name, container=cid)

    def adopt(self, name: str, cid: str) -> None:
        """A container still running after a daemon restart keeps holding its volume."""
        if name in self._v:
            with self._lock:
                self._active.setdefault(name, set()).add(cid)

    def _unmount_all(self, v: Volume) -> None:
        if local_opts.needs_mount(v.options):
            try:
                local_opts.unmount_volume(v.mountpoint)
            except OSError as e:
                raise SystemError_(f"remove {v.name}: unmount: {e}") from None
