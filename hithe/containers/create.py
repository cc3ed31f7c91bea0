"""Turning a CreateSpec and an image into a container record."""
from __future__ import annotations

import os
import secrets

from hithe.containers.record import Container, State
from hithe.containers.spec import CreateSpec
from hithe.errors import InvalidParameter
from hithe.images.record import Image
from hithe.util.timefmt import rfc3339_now

DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def merge_env(image_env: list[str], user_env: list[str]) -> list[str]:
    out: dict[str, str] = {}
    for e in image_env + user_env:
        k, sep, _ = e.partition("=")
        if not k:
            raise InvalidParameter(f"invalid environment variable: {e}")
        out[k] = e if sep else e  # "FOO" alone (no "=") is passed as is, like Docker
    env = list(out.values())
    if not any(e.startswith("PATH=") for e in env):
        env.insert(0, DEFAULT_PATH)
    return env


def command_of(spec: CreateSpec, image_cfg: dict) -> list[str]:
    """Docker's rule: a user entrypoint resets the image's Cmd unless a Cmd is given too."""
    entry = spec.entrypoint
    if entry is not None and entry == [""]:
        entry = []
    if entry is None:
        entry = list(image_cfg.get("Entrypoint") or [])
        cmd = spec.cmd if spec.cmd else list(image_cfg.get("Cmd") or [])
    else:
        cmd = spec.cmd or []
    full = list(entry) + list(cmd)
    if not full:
        raise InvalidParameter("No command specified")
    return full


def new_container(spec: CreateSpec, image: Image, name: str) -> Container:
    cfg = image.container_config
    full = command_of(spec, cfg)
    cid = secrets.token_hex(32)
    # With the host's network, Docker gives the container the host's name too.
    hostname = spec.hostname or (os.uname().nodename if spec.network_mode == "host" else cid[:12])
    return Container(
        id=cid, name=name, created=rfc3339_now(), spec=spec, image_id=image.id,
        top_layer=image.top_layer, path=full[0], args=full[1:],
        env=merge_env(list(cfg.get("Env") or []), spec.env),
        working_dir=spec.working_dir or cfg.get("WorkingDir") or "",
        user=spec.user or cfg.get("User") or "",
        hostname=hostname,
        stop_signal=spec.stop_signal or cfg.get("StopSignal") or "SIGTERM",
        image_config=cfg,
        state=State(),
    )
