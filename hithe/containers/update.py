"""`docker update` on a container: validate, persist, apply to a running one through runc.

The record is the source of truth: the merged limits are saved with the container,
so `inspect` shows them and the next start builds its OCI spec from them. A running
(or paused) container gets them at once through `runc update` with our private root;
if runc refuses, the record goes back to what it was, as Docker does.
"""
from __future__ import annotations

import copy
import json
import os
from typing import TYPE_CHECKING

from hithe.containers.record import DEAD, PAUSED, REMOVING, RUNNING, Container
from hithe.containers.resources import HostCaps, UpdateRequest, merge, runc_resources, verify
from hithe.errors import Conflict, HitheError, SystemError_
from hithe.runtime.conmon import RuntimeFailure

if TYPE_CHECKING:
    from hithe.containers.service import ContainerService


def _apply_running(svc: "ContainerService", c: Container) -> None:
    path = os.path.join(svc.dir_of(c), "update.json")
    with open(path, "w") as f:
        json.dump(runc_resources(c.spec), f)
    try:
        svc.mon.runc("update", "-r", path, c.id)
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass


async def update_container(svc: "ContainerService", ref: str, upd: UpdateRequest,
                           host: HostCaps) -> list[str]:
    """Returns Docker's warnings; raises with Docker's statuses and wording."""
    warnings = verify(upd, host)            # the request alone first (400), as Docker
    c = svc.get(ref)
    rs = svc.runstate(c)
    async with rs.lock:
        if c.state.status in (REMOVING, DEAD):
            raise SystemError_(f'Cannot update container {c.id}: container is marked for removal '
                               'and cannot be "update"')
        before = copy.deepcopy(c.spec)
        running = c.state.status in (RUNNING, PAUSED)
        try:
            merge(c.spec, upd, running)
        except Conflict as e:
            c.spec = before
            raise Conflict(f"Cannot update container {c.id}: {e.message}") from None
        if running:
            try:
                await svc._thread(_apply_running, svc, c)
            except RuntimeFailure as e:
                if not _gone(e.message):
                    c.spec = before
                    raise SystemError_(f"Cannot update container {c.id}: {e.message}") from None
                # it exited meanwhile: the saved values apply at its next start
            except (HitheError, OSError) as e:
                c.spec = before
                raise SystemError_(f"Cannot update container {c.id}: {e}") from None
        svc._save(c)
    svc._event(c, "update")
    return warnings


def _gone(message: str) -> bool:
    return "does not exist" in message or "not running" in message or "stopped" in message
