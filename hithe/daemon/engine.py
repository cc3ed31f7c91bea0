"""The composition root: every service of one daemon instance, wired together."""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

from hithe.containers.execs import ExecService
from hithe.containers.health import HealthMonitor
from hithe.containers.service import ContainerService, ServicePaths
from hithe.content import ContentStore
from hithe.daemon.config import DaemonConfig
from hithe.events.bus import EventBus
from hithe.images.service import ImageService
from hithe.images.store import ImageStore
from hithe.metadata.db import Database
from hithe.network.service import NetworkService
from hithe.runtime.conmon import Monitor, RuntimePaths
from hithe.snapshots.layers import LayerStore
from hithe.snapshots.overlay import OverlaySnapshotter
from hithe.volumes.service import VolumeService


@dataclass
class Engine:
    config: DaemonConfig
    db: Database
    content: ContentStore
    layers: LayerStore
    images: ImageStore
    events: EventBus
    containers: ContainerService
    execs: ExecService
    image_service: ImageService
    volumes: VolumeService
    networks: NetworkService
    started_at: float = 0.0
    health: HealthMonitor | None = None

    @classmethod
    def open(cls, cfg: DaemonConfig) -> "Engine":
        for d in (cfg.data_root, cfg.exec_root):
            os.makedirs(d, mode=0o711, exist_ok=True)
        # Spooled uploads of a daemon that crashed mid-request are garbage now.
        shutil.rmtree(os.path.join(cfg.data_root, "tmp"), ignore_errors=True)
        db = Database(os.path.join(cfg.data_root, "hithe.db"))
        content = ContentStore(os.path.join(cfg.data_root, "content"))
        content.clean_ingest()
        layers = LayerStore(os.path.join(cfg.data_root, "overlay"), db)
        layers.clean_temp()
        images = ImageStore(db, content, layers)
        events = EventBus()
        monitor = Monitor(RuntimePaths(runc_root=os.path.join(cfg.exec_root, "runc"),
                                       exits_dir=os.path.join(cfg.exec_root, "exits"),
                                       socket_dir=os.path.join(cfg.exec_root, "s")))
        snap = OverlaySnapshotter(layers, os.path.join(cfg.data_root, "overlay", "empty"))
        try:
            from hithe.runtime.seccomp import seccomp_for
        except ImportError:  # the profile converter is optional at start-up
            seccomp_for = None  # type: ignore[assignment]
        volumes = VolumeService(db, os.path.join(cfg.data_root, "volumes"), events)
        containers = ContainerService(
            db, images, snap, monitor, events,
            ServicePaths(containers_dir=os.path.join(cfg.data_root, "containers"),
                         cgroup_parent=cfg.cgroup_parent, init_path=cfg.init_path,
                         default_log_opts=dict(cfg.log_opts)),
            seccomp=seccomp_for, volumes=volumes)
        volumes.refs_of = containers.volume_refs
        networks = NetworkService(db, events, cfg)
        networks.container_get, networks.container_dir = containers.get, containers.dir_of
        containers.network = networks
        os.makedirs(os.path.join(cfg.data_root, "containers"), exist_ok=True)
        execs = ExecService(containers, os.path.join(cfg.exec_root, "exec"))
        health = HealthMonitor(containers, execs, events)
        image_service = ImageService(images, events, os.path.join(cfg.data_root, "tmp"),
                                     containers.users_of_image, containers._thread,
                                     insecure_registries=cfg.insecure_registries)
        return cls(config=cfg, db=db, content=content, layers=layers, images=images, events=events,
                   containers=containers, execs=execs, image_service=image_service, volumes=volumes,
                   networks=networks, health=health)
