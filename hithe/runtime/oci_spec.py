"""The OCI runtime spec (config.json) for a container, Docker's defaults included."""
from __future__ import annotations

import os
import resource
import signal
from typing import Any

from hithe.containers.record import Container

DEFAULT_CAPS = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
]

MASKED_PATHS = ["/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
                "/sys/firmware", "/sys/devices/virtual/powercap"]
READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]

# Capabilities the host can grant: --privileged must not ask for more (CAP_SYS_RESOURCE is
# missing from this machine kind's bounding set, and runc fails on a cap it cannot keep).
def host_caps() -> list[str]:
    names = _ALL_CAPS
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapBnd:"):
                    mask = int(line.split()[1], 16)
                    return [n for i, n in enumerate(names) if mask & (1 << i)]
    except OSError:
        pass
    return list(names)


_ALL_CAPS = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
    "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
]
_HOST_CAPS: list[str] | None = None


def _norm_cap(c: str) -> str:
    c = c.upper()
    return c if c.startswith("CAP_") else "CAP_" + c


def effective_caps(privileged: bool, cap_add: list[str], cap_drop: list[str]) -> list[str]:
    global _HOST_CAPS
    if _HOST_CAPS is None:
        _HOST_CAPS = host_caps()
    if privileged:
        return list(_HOST_CAPS)
    caps = list(DEFAULT_CAPS)
    adds = [_norm_cap(c) for c in cap_add]
    drops = [_norm_cap(c) for c in cap_drop]
    if "CAP_ALL" in drops:
        caps = []
    if "CAP_ALL" in adds:
        caps = list(_HOST_CAPS)
    for c in adds:
        if c != "CAP_ALL" and c not in caps and c in _HOST_CAPS:
            caps.append(c)
    return [c for c in caps if c not in drops]


def clamp_rlimit(soft: int, hard: int, which: int) -> tuple[int, int]:
    """Never ask for more than the daemon itself may have (no CAP_SYS_RESOURCE here)."""
    cur_soft, cur_hard = resource.getrlimit(which)
    if cur_hard != resource.RLIM_INFINITY:
        hard = min(hard, cur_hard)
        soft = min(soft, hard)
    return soft, hard


_RLIMITS = {name: getattr(resource, "RLIMIT_" + name.upper()) for name in (
    "nofile", "nproc", "core", "memlock", "stack", "cpu", "fsize", "as", "nice", "rtprio", "msgqueue",
    "sigpending", "locks", "rss", "rttime") if hasattr(resource, "RLIMIT_" + name.upper())}
_RLIMITS.setdefault("locks", 10)  # Linux RLIMIT_LOCKS; Python does not name it


def rlimits(ulimits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # Docker (through containerd) gives containers a high open-files limit by default.
    wanted = {"nofile": (1048576, 1048576)}
    for u in ulimits:
        wanted[str(u.get("Name", "")).lower()] = (int(u.get("Soft", 0)), int(u.get("Hard", 0)))
    out = []
    for name, (soft, hard) in wanted.items():
        which = _RLIMITS.get(name)
        if which is None:
            continue
        soft, hard = clamp_rlimit(soft, hard, which)
        out.append({"type": "RLIMIT_" + name.upper(), "soft": soft, "hard": hard})
    return out


def _mount(dest: str, typ: str, src: str, opts: list[str]) -> dict[str, Any]:
    return {"destination": dest, "type": typ, "source": src, "options": opts}


def build_spec(c: Container, *, rootfs: str, uid: int, gid: int, additional_gids: list[int],
               cgroups_path: str, files_dir: str, init_path: str | None,
               seccomp: dict[str, Any] | None, netns: str | None,
               user_mounts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    s = c.spec
    caps = effective_caps(s.privileged, s.cap_add, s.cap_drop)
    args = [c.path] + c.args if c.path else list(c.args)
    if s.init and init_path:
        args = ["/sbin/docker-init", "--"] + args
    mounts = [
        _mount("/proc", "proc", "proc", ["nosuid", "noexec", "nodev"]),
        _mount("/dev", "tmpfs", "tmpfs", ["nosuid", "strictatime", "mode=755", "size=65536k"]),
        _mount("/dev/pts", "devpts", "devpts",
               ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]),
        _mount("/sys", "sysfs", "sysfs", ["nosuid", "noexec", "nodev", "ro" if not s.privileged else "rw"]),
        _mount("/sys/fs/cgroup", "cgroup", "cgroup",
               ["ro" if not s.privileged else "rw", "nosuid", "noexec", "nodev", "relatime"]),
        _mount("/dev/mqueue", "mqueue", "mqueue", ["nosuid", "noexec", "nodev"]),
        _mount("/dev/shm", "tmpfs", "shm", ["nosuid", "noexec", "nodev", "mode=1777", f"size={s.shm_size}"]),
    ]
    for name in ("resolv.conf", "hostname", "hosts"):
        mounts.append(_mount("/etc/" + name, "bind", os.path.join(files_dir, name), ["rbind", "rprivate"]))
    if s.init and init_path:
        mounts.append(_mount("/sbin/docker-init", "bind", init_path, ["bind", "ro", "nosuid", "nodev"]))
    users = list(user_mounts or [])
    for dest, opts in s.tmpfs.items():
        o = ["nosuid", "nodev", "noexec"] + [x for x in opts.split(",") if x]
        users.append(_mount(os.path.normpath(dest), "tmpfs", "tmpfs", o))
    if users:
        # The user's mounts replace ours at the same path (Docker: -v ./hosts:/etc/hosts) and
        # come last, parents before children (Docker sorts by depth), so none hides another.
        taken = {m["destination"] for m in users}
        users.sort(key=lambda m: len([p for p in m["destination"].split("/") if p]))
        mounts = [m for m in mounts if m["destination"] not in taken] + users
    namespaces = [{"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}]
    if s.network_mode != "host":
        namespaces.append({"type": "network", "path": netns} if netns else {"type": "network"})
    env = list(c.env)
    if not any(e.startswith("HOSTNAME=") for e in env):
        env.insert(0, f"HOSTNAME={c.hostname}")
    if s.tty and not any(e.startswith("TERM=") for e in env):
        env.append("TERM=xterm")
    resources: dict[str, Any] = {"devices": [{"allow": False, "access": "rwm"}] + _default_devices()}
    if s.memory:
        resources["memory"] = {"limit": s.memory}
        if s.memory_swap:
            resources["memory"]["swap"] = s.memory_swap
    cpu = cpu_resources(s)
    if cpu:
        resources["cpu"] = cpu
    if s.pids_limit:
        resources["pids"] = {"limit": s.pids_limit}
    oci_extras(s, resources)
    if s.privileged:
        resources["devices"] = [{"allow": True, "access": "rwm"}]
    linux: dict[str, Any] = {
        "namespaces": namespaces,
        "cgroupsPath": cgroups_path,
        "resources": resources,
        "sysctl": dict(s.sysctls),
    }
    if not s.privileged:
        linux["maskedPaths"] = MASKED_PATHS
        linux["readonlyPaths"] = READONLY_PATHS
    if seccomp is not None:
        linux["seccomp"] = seccomp
    if any(o in ("shared", "rshared") for m in user_mounts or [] for o in m["options"]):
        linux["rootfsPropagation"] = "shared"  # as Docker: shared bind mounts need a shared root
    process: dict[str, Any] = {
        "terminal": s.tty,
        "user": {"uid": uid, "gid": gid, **({"additionalGids": additional_gids} if additional_gids else {})},
        "args": args,
        "env": env,
        "cwd": c.working_dir or "/",
        "capabilities": {k: caps for k in ("bounding", "effective", "permitted")},
        "rlimits": rlimits(s.ulimits),
        "noNewPrivileges": "no-new-privileges" in s.security_opt or "no-new-privileges:true" in s.security_opt,
        "oomScoreAdj": s.oom_score_adj,
    }
    return {
        "ociVersion": "1.0.2",
        "process": process,
        "root": {"path": rootfs, "readonly": s.readonly_rootfs},
        "hostname": c.hostname,
        "mounts": mounts,
        "linux": linux,
    }


CFS_PERIOD = 100_000  # µs: the period --cpus (NanoCpus) is expressed in, as Docker sets it


def cpu_resources(s: Any) -> dict[str, Any]:
    """The OCI `linux.resources.cpu` of a create spec (at create, and for `runc update`)."""
    cpu: dict[str, Any] = {}
    if s.nano_cpus:
        cpu = {"quota": s.nano_cpus * CFS_PERIOD // 1_000_000_000, "period": CFS_PERIOD}
    if s.cpu_quota:
        cpu["quota"] = s.cpu_quota
    if s.cpu_period:
        cpu["period"] = s.cpu_period
    if s.cpu_shares:
        cpu["shares"] = s.cpu_shares
    return cpu


def _extra_int(spec: Any, key: str) -> int:
    v = spec.extra_host_config.get(key)
    return v if isinstance(v, int) and not isinstance(v, bool) else 0


def _extra_str(spec: Any, key: str) -> str:
    v = spec.extra_host_config.get(key)
    return v if isinstance(v, str) else ""


def oci_extras(spec: Any, resources: dict[str, Any]) -> None:
    """The limits kept in HostConfig as Docker's fields (`update` sets them): memory
    reservation, cpusets, blkio weight (only where the host's blkio cgroup has a weight)."""
    reservation = _extra_int(spec, "MemoryReservation")
    if reservation:
        resources.setdefault("memory", {})["reservation"] = reservation
    cpus, mems = _extra_str(spec, "CpusetCpus"), _extra_str(spec, "CpusetMems")
    if cpus:
        resources.setdefault("cpu", {})["cpus"] = cpus
    if mems:
        resources.setdefault("cpu", {})["mems"] = mems
    weight = _extra_int(spec, "BlkioWeight")
    if weight:
        from hithe.containers.resources import HostCaps  # only then: it reads the cgroup tree
        if HostCaps.probe().blkio_weight:
            resources["blockIO"] = {"weight": weight}


def _default_devices() -> list[dict[str, Any]]:
    # Docker's default device cgroup allow-list.
    rules = [("c", 1, 3), ("c", 1, 5), ("c", 1, 7), ("c", 1, 8), ("c", 1, 9), ("c", 5, 0), ("c", 5, 1),
             ("c", 5, 2), ("c", 136, -1), ("c", 10, 200)]
    out = [{"allow": True, "type": t, "major": ma, **({"minor": mi} if mi >= 0 else {}), "access": "rwm"}
           for t, ma, mi in rules]
    out.append({"allow": False, "type": "c", "major": 10, "minor": 229, "access": "rwm"})
    return out


def signal_number(name: str | int | None, default: int = signal.SIGTERM) -> int:
    if name is None or name == "":
        return default
    if isinstance(name, int):
        return name
    s = str(name).upper()
    if s.isdigit():
        return int(s)
    if not s.startswith("SIG"):
        s = "SIG" + s
    try:
        return int(signal.Signals[s])
    except KeyError:
        from hithe.errors import InvalidParameter
        raise InvalidParameter(f"Invalid signal: {name}") from None
