"""`commit`: a container's writable layer becomes a new image on top of its image.

The layer is the container's overlay upper directory written as an OCI layer
tar (overlay whiteouts become ``.wh.`` entries).  It needs no mount, so a
stopped or never-started container commits the same way as a running one;
a running one is paused (freezer) while its upper dir is read, as docker does.
What the runtime alone put there is left out: the empty /proc, /sys and /dev
mountpoints and the empty /etc/hosts, /etc/hostname and /etc/resolv.conf
placeholders runc creates to bind-mount ours over (docker keeps those in a
separate "init" layer, so they never reach its commits either).
"""
from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from typing import Any

from hithe.archive.create import write_layer_tar
from hithe.containers import render as container_render
from hithe.containers.record import DEAD, PAUSED, REMOVING, RUNNING, Container
from hithe.content.store import Descriptor
from hithe.errors import Conflict, InvalidParameter, NotFound
from hithe.images.changes import apply_changes
from hithe.images.importer import LAYER_TAR, host_arch
from hithe.images.record import Image
from hithe.images.reference import parse_reference
from hithe.images.store import ImageStore
from hithe.snapshots.layers import Layer
from hithe.util.timefmt import rfc3339_now

RUNTIME_MOUNTPOINTS = frozenset({"proc", "sys", "dev"})
RUNTIME_PLACEHOLDERS = frozenset({"etc/hosts", "etc/hostname", "etc/resolv.conf"})


@dataclass
class CommitOptions:
    container: str
    repo: str = ""
    tag: str = ""
    comment: str = ""
    author: str = ""
    pause: bool = True
    changes: list[str] = field(default_factory=list)
    config: dict[str, Any] | None = None   # container config from the request body (overrides)

    @property
    def target(self) -> str:
        return (f"{self.repo}:{self.tag}" if self.tag else self.repo) if self.repo else ""


# --- the config ---------------------------------------------------------------
def merge_config(user: dict[str, Any], container: dict[str, Any]) -> dict[str, Any]:
    """docker's commit merge(): what the user's config leaves unset comes from the container's."""
    out = dict(user)
    if not out.get("User"):
        out["User"] = container.get("User", "")
    ports = dict(out.get("ExposedPorts") or {})
    for p in container.get("ExposedPorts") or {}:
        ports.setdefault(p, {})
    if ports:
        out["ExposedPorts"] = ports
    env = list(out.get("Env") or [])
    keys = {e.split("=", 1)[0] for e in env}
    env += [e for e in container.get("Env") or [] if e.split("=", 1)[0] not in keys]
    out["Env"] = env or None
    labels = dict(container.get("Labels") or {})
    labels.update(out.get("Labels") or {})
    out["Labels"] = labels
    if not out.get("Entrypoint"):
        if not out.get("Cmd"):
            out["Cmd"] = container.get("Cmd")
        if out.get("Entrypoint") is None:
            out["Entrypoint"] = container.get("Entrypoint")
    if not out.get("WorkingDir"):
        out["WorkingDir"] = container.get("WorkingDir", "")
    vols = dict(out.get("Volumes") or {})
    vols.update(container.get("Volumes") or {})
    out["Volumes"] = vols or None
    if not out.get("StopSignal") and container.get("StopSignal"):
        out["StopSignal"] = container["StopSignal"]
    return out


def child_config(parent: dict[str, Any], *, config: dict[str, Any], container_config: dict[str, Any],
                 container_id: str, diff_id: str | None, author: str, comment: str,
                 created: str) -> dict[str, Any]:
    """docker's NewChildImage: the parent's rootfs and history plus one layer and one entry."""
    history_entry: dict[str, Any] = {"created": created}
    if author:
        history_entry["author"] = author
    created_by = " ".join(container_config.get("Cmd") or [])
    if created_by:
        history_entry["created_by"] = created_by
    if comment:
        history_entry["comment"] = comment
    if diff_id is None:
        history_entry["empty_layer"] = True
    rootfs = dict(parent.get("rootfs") or {"type": "layers"})
    rootfs["diff_ids"] = list(rootfs.get("diff_ids") or []) + ([diff_id] if diff_id else [])
    doc: dict[str, Any] = {
        "architecture": parent.get("architecture") or host_arch(),
        "config": config,
        "container": container_id,
        "container_config": container_config,
        "created": created,
    }
    if author:
        doc["author"] = author
    if parent.get("variant"):
        doc["variant"] = parent["variant"]
    doc["history"] = list(parent.get("history") or []) + [history_entry]
    doc["os"] = parent.get("os") or "linux"
    for key in ("os.version", "os.features"):
        if parent.get(key):
            doc[key] = parent[key]
    doc["rootfs"] = rootfs
    return doc


# --- the layer ----------------------------------------------------------------
def write_container_layer(store: ImageStore, upper: str, parent: str | None) -> tuple[Layer, Descriptor] | None:
    """The upper dir as a layer blob, unpacked on `parent`; None when nothing changed."""
    if not os.path.isdir(upper):
        return None  # never prepared: no changes

    def placeholder(rel: str) -> bool:
        if rel not in RUNTIME_PLACEHOLDERS:
            return False
        try:
            st = os.lstat(os.path.join(upper, rel))
        except FileNotFoundError:
            return True
        return stat.S_ISREG(st.st_mode) and st.st_size == 0

    with store.content.writer(media_type=LAYER_TAR) as w:
        if not write_layer_tar(upper, w, exclude=placeholder, exclude_top=RUNTIME_MOUNTPOINTS):  # type: ignore[arg-type]
            return None  # the writer's exit drops the empty tar
        desc = w.commit()
    with store.content.open(desc.digest) as f:
        layer = store.layers.apply(parent, f)
    return layer, desc


# --- the whole operation ------------------------------------------------------
async def commit_container(containers: Any, images: Any, opts: CommitOptions) -> Image:
    """Commit for the container service `containers` and image service `images`."""
    if opts.target:
        parse_reference(opts.target)  # refuse a bad name before any work
    c: Container = containers.get(opts.container)
    if c.state.status == DEAD:
        raise Conflict(f"You cannot commit container {c.id} which is Dead")
    if c.state.status == REMOVING:
        raise Conflict(f"You cannot commit container {c.id} which is being removed")
    container_cfg = container_render.inspect(c, containers.dir_of(c), containers.log_path(c))["Config"]
    base = opts.config if opts.config else container_cfg
    lines = [l for change in opts.changes for l in change.splitlines()]
    new_cfg = merge_config(apply_changes(base, lines), container_cfg)
    paused_here = opts.pause and c.state.status == RUNNING
    if paused_here:
        await containers.pause(c.id)
    try:
        img = await images.run_blocking(lambda: _commit_sync(images.store, c, containers.dir_of(c),
                                                             new_cfg, container_cfg, opts))
    finally:
        if paused_here and c.state.status == PAUSED:
            await containers.unpause(c.id)
    ref = ""
    if opts.target:
        images.tag(img.id, opts.target)
        ref = parse_reference(opts.target).familiar()
    attrs = {"image": c.spec.image, "name": c.name, **c.spec.labels,
             "comment": opts.comment, "imageID": img.id, "imageRef": ref}
    containers.events.publish("container", "commit", c.id, attrs)
    return img


def _commit_sync(store: ImageStore, c: Container, cdir: str, new_cfg: dict[str, Any],
                 container_cfg: dict[str, Any], opts: CommitOptions) -> Image:
    parent = store.get(c.image_id)
    made = write_container_layer(store, os.path.join(cdir, "upper"), parent.top_layer)
    layer, desc = made if made else (None, None)
    config = child_config(parent.config, config=new_cfg, container_config=container_cfg,
                          container_id=c.id, diff_id=layer.diff_id if layer else None,
                          author=opts.author, comment=opts.comment, created=rfc3339_now())
    img = store.add(config, layer.chain_id if layer else parent.top_layer, parent=parent.id)
    descs = _parent_layer_descs(store, parent)
    if descs is not None:  # without the parent's blobs there is no manifest to write (save works without)
        store.put_manifest(img, descs + ([desc] if desc else []))
    return img


def _parent_layer_descs(store: ImageStore, parent: Image) -> list[Descriptor] | None:
    """The parent's layers as manifest descriptors: its own manifest's, else its diff ID blobs."""
    if parent.manifest:
        try:
            m = json.loads(store.content.read_bytes(parent.manifest))
            return [Descriptor(l["digest"], l["size"], l.get("mediaType", LAYER_TAR)) for l in m["layers"]]
        except (ValueError, KeyError, TypeError, InvalidParameter):
            pass
    try:
        return [store.content.info(d, LAYER_TAR) for d in parent.diff_ids]
    except NotFound:
        return None
