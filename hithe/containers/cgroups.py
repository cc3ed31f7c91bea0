"""cgroupfs (v1 hybrid here) parent directory per daemon instance."""
from __future__ import annotations

import os

CGROUP_ROOT = "/sys/fs/cgroup"


def remove_parent(parent: str) -> None:
    """runc removes only each container's leaf; the parent is ours to remove."""
    try:
        controllers = os.listdir(CGROUP_ROOT)
    except OSError:
        return
    for ctrl in controllers:
        path = os.path.join(CGROUP_ROOT, ctrl, parent.strip("/"))
        if os.path.isdir(path) and not os.path.islink(os.path.join(CGROUP_ROOT, ctrl)):
            try:
                os.rmdir(path)
            except OSError:
                pass


def container_pids(parent: str, cid: str) -> list[int]:
    for ctrl in ("pids", "memory", "cpu,cpuacct", "freezer", "unified", ""):
        path = os.path.join(CGROUP_ROOT, ctrl, parent.strip("/"), cid, "cgroup.procs")
        try:
            with open(path) as f:
                return [int(x) for x in f.read().split()]
        except OSError:
            continue
    return []


def oom_killed(parent: str, cid: str) -> bool:
    path = os.path.join(CGROUP_ROOT, "memory", parent.strip("/"), cid, "memory.oom_control")
    try:
        with open(path) as f:
            for line in f:
                k, _, v = line.partition(" ")
                if k == "oom_kill" and int(v) > 0:
                    return True
    except (OSError, ValueError):
        pass
    return False
