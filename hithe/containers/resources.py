"""`docker update`: parsing, validating and merging Docker's UpdateConfig (pure logic).

Docker checks an update in two steps, and so do we, with its wording:
`verify` looks at the request alone (HTTP 400, daemon_unix.go's resource checks),
`merge` applies it to the container's current values (HTTP 409 "Cannot update
container ID: ..." for conflicts with what is already set).  A zero or empty
field means "leave as is"; only PidsLimit and RestartPolicy are explicit.

Four UpdateConfig fields have no CreateSpec field of their own (MemoryReservation,
CpusetCpus, CpusetMems, BlkioWeight): they live in `spec.extra_host_config`, which
`inspect` already shows, and `oci_extras` adds them to the OCI spec at start.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from hithe.containers.spec import CreateSpec, RestartPolicy, parse_restart
from hithe.errors import Conflict, InvalidParameter
from hithe.runtime.oci_spec import cpu_resources, oci_extras  # noqa: F401 - oci_extras: part of this module's API

MIN_MEMORY = 6 * 1024 * 1024           # Docker's linuxMinMemory
CGROUP_ROOT = "/sys/fs/cgroup"

_INT_FIELDS = ("Memory", "MemorySwap", "MemoryReservation", "KernelMemory", "CpuShares",
               "CpuQuota", "CpuPeriod", "NanoCpus", "CpuRealtimePeriod", "CpuRealtimeRuntime")


@dataclass
class UpdateRequest:
    memory: int = 0
    memory_swap: int = 0
    memory_reservation: int = 0
    kernel_memory: int = 0
    cpu_shares: int = 0
    cpu_quota: int = 0
    cpu_period: int = 0
    nano_cpus: int = 0
    cpu_rt_period: int = 0
    cpu_rt_runtime: int = 0
    cpuset_cpus: str = ""
    cpuset_mems: str = ""
    blkio_weight: int = 0
    pids_limit: int | None = None          # None: unchanged; 0: unlimited
    restart: RestartPolicy | None = None   # None: unchanged


@dataclass
class HostCaps:
    """What this host's cgroups can do (Docker's sysinfo, the parts update needs)."""
    ncpu: int
    cpus: str                   # cpuset.cpus of the root cpuset
    mems: str
    blkio_weight: bool
    cpu_realtime: bool

    @classmethod
    def probe(cls) -> "HostCaps":
        def read(path: str) -> str:
            try:
                with open(os.path.join(CGROUP_ROOT, path)) as f:
                    return f.read().strip()
            except OSError:
                return ""
        n = os.cpu_count() or 1
        blkio = any(os.path.exists(os.path.join(CGROUP_ROOT, "blkio", f))
                    for f in ("blkio.weight", "blkio.bfq.weight"))
        rt = os.path.exists(os.path.join(CGROUP_ROOT, "cpu", "cpu.rt_runtime_us"))
        return cls(ncpu=n, cpus=read("cpuset/cpuset.cpus") or f"0-{n - 1}",
                   mems=read("cpuset/cpuset.mems") or "0", blkio_weight=blkio, cpu_realtime=rt)


# --- parsing ------------------------------------------------------------------
def _int(body: dict[str, Any], key: str, go_type: str = "int64") -> int:
    v = body.get(key)
    if v is None:
        return 0
    if isinstance(v, bool) or not isinstance(v, int):
        kind = "number" if isinstance(v, float) else ("bool" if isinstance(v, bool) else type(v).__name__)
        kind = {"str": "string", "list": "array", "dict": "object"}.get(kind, kind)
        raise InvalidParameter(f"json: cannot unmarshal {kind} into Go struct field "
                               f"UpdateConfig.{key} of type {go_type}")
    if not -(1 << 63) <= v < (1 << 63):
        raise InvalidParameter(f"json: cannot unmarshal number {v} into Go struct field "
                               f"UpdateConfig.{key} of type {go_type}")
    return v


def _str(body: dict[str, Any], key: str) -> str:
    v = body.get(key)
    if v is None:
        return ""
    if not isinstance(v, str):
        raise InvalidParameter(f"json: cannot unmarshal {type(v).__name__} into Go struct field "
                               f"UpdateConfig.{key} of type string")
    return v


def parse_update(body: Any, api_version: str = "1.45") -> UpdateRequest:
    """Docker's UpdateConfig JSON (Resources fields + RestartPolicy) into an UpdateRequest."""
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise InvalidParameter("json: cannot unmarshal into Go value of type container.UpdateConfig")
    ints = {k: _int(body, k) for k in _INT_FIELDS}
    weight = body.get("BlkioWeight")
    if weight is not None and (isinstance(weight, bool) or not isinstance(weight, int) or not 0 <= weight < 65536):
        raise InvalidParameter(f"json: cannot unmarshal number {weight} into Go struct field "
                               "UpdateConfig.BlkioWeight of type uint16")
    upd = UpdateRequest(
        memory=ints["Memory"], memory_swap=ints["MemorySwap"], memory_reservation=ints["MemoryReservation"],
        kernel_memory=ints["KernelMemory"], cpu_shares=ints["CpuShares"], cpu_quota=ints["CpuQuota"],
        cpu_period=ints["CpuPeriod"], nano_cpus=ints["NanoCpus"], cpu_rt_period=ints["CpuRealtimePeriod"],
        cpu_rt_runtime=ints["CpuRealtimeRuntime"], cpuset_cpus=_str(body, "CpusetCpus"),
        cpuset_mems=_str(body, "CpusetMems"), blkio_weight=int(weight or 0))
    version = tuple(int(x) for x in api_version.split(".")[:2])
    if version >= (1, 42):
        upd.kernel_memory = 0          # removed from the API in 1.42: ignored, as Docker does
    if body.get("PidsLimit") is not None and version >= (1, 40):
        pids = _int(body, "PidsLimit")
        upd.pids_limit = pids if pids > 0 else 0   # 0 and any negative value mean unlimited
    rp = body.get("RestartPolicy")
    if rp is not None:
        if not isinstance(rp, dict):
            raise InvalidParameter("json: cannot unmarshal into Go struct field UpdateConfig.RestartPolicy "
                                   "of type container.RestartPolicy")
        if rp.get("Name"):             # an empty name leaves the policy alone
            if not isinstance(rp["Name"], str):
                raise InvalidParameter("json: cannot unmarshal into Go struct field RestartPolicy.Name "
                                       "of type container.RestartPolicyMode")
            upd.restart = parse_restart(rp)
    return upd


# --- cpusets ------------------------------------------------------------------
def parse_cpuset(value: str) -> set[int]:
    """A cpuset list ("0-3,5"); ValueError("invalid format: ...") like Docker's parser."""
    out: set[int] = set()
    if value == "":
        return out
    for part in value.split(","):
        lo, dash, hi = part.partition("-")
        try:
            if not lo.isdigit() or (dash and not hi.isdigit()):
                raise ValueError
            a, b = int(lo), int(hi) if dash else int(lo)
        except ValueError:
            raise ValueError(f"invalid format: {value}") from None
        if b < a or b - a > 65536:
            raise ValueError(f"invalid range format: {part}")
        out.update(range(a, b + 1))
    return out


def _check_cpuset(value: str, available: str, what: str, word: str) -> None:
    if not value:
        return
    try:
        want = parse_cpuset(value)
    except ValueError as e:
        raise InvalidParameter(f"Invalid value {value} for cpuset {what}: {e}") from None
    try:
        have = parse_cpuset(available)
    except ValueError:
        return
    if not want <= have:
        raise InvalidParameter(f"Requested {word} are not available - requested {value}, available: {available}")


# --- step 1: the request alone (400) ----------------------------------------
def verify(upd: UpdateRequest, host: HostCaps) -> list[str]:
    """Docker's verifyPlatformContainerResources for an update; returns warnings."""
    warnings: list[str] = []
    if upd.memory != 0 and upd.memory < MIN_MEMORY:
        raise InvalidParameter("Minimum memory limit allowed is 6MB")
    if upd.memory > 0 and upd.memory_swap > 0 and upd.memory_swap < upd.memory:
        raise InvalidParameter("Minimum memoryswap limit should be larger than memory limit, see usage")
    if upd.memory_swap < -1:
        raise InvalidParameter(f"invalid memory swap limit {upd.memory_swap}: use -1 for unlimited swap")
    if upd.memory_reservation > 0 and upd.memory_reservation < MIN_MEMORY:
        raise InvalidParameter("Minimum memory reservation allowed is 6MB")
    if upd.memory_reservation < -1:
        raise InvalidParameter(f"invalid memory reservation {upd.memory_reservation}")
    if upd.memory > 0 and upd.memory_reservation > 0 and upd.memory < upd.memory_reservation:
        raise InvalidParameter("Minimum memory limit can not be less than memory reservation limit, see usage")
    if upd.nano_cpus > 0 and upd.cpu_period > 0:
        raise InvalidParameter("Conflicting options: Nano CPUs and CPU Period cannot both be set")
    if upd.nano_cpus > 0 and upd.cpu_quota > 0:
        raise InvalidParameter("Conflicting options: Nano CPUs and CPU Quota cannot both be set")
    if upd.nano_cpus != 0 and not 0 < upd.nano_cpus <= host.ncpu * 1_000_000_000:
        raise InvalidParameter(f"range of CPUs is from 0.01 to {host.ncpu}.00, as there are only "
                               f"{host.ncpu} CPUs available")
    if upd.cpu_shares < 0:
        raise InvalidParameter(f"invalid CPU shares {upd.cpu_shares}: must not be negative")
    if upd.cpu_period != 0 and not 1000 <= upd.cpu_period <= 1_000_000:
        raise InvalidParameter("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)")
    if upd.cpu_quota > 0 and upd.cpu_quota < 1000:
        raise InvalidParameter("CPU cfs quota can not be less than 1ms (i.e. 1000)")
    if upd.cpu_rt_period or upd.cpu_rt_runtime:
        # runc would need the whole cpu.rt_* hierarchy set up above us; hithe does not do that.
        warnings.append("Your kernel does not support cgroup cpu real-time period" if upd.cpu_rt_period
                        else "Your kernel does not support cgroup cpu real-time runtime")
        upd.cpu_rt_period = upd.cpu_rt_runtime = 0
    _check_cpuset(upd.cpuset_cpus, host.cpus, "cpus", "CPUs")
    _check_cpuset(upd.cpuset_mems, host.mems, "mems", "memory nodes")
    if upd.blkio_weight > 0 and not host.blkio_weight:
        warnings.append("Your kernel does not support Block I/O weight or the cgroup is not mounted. "
                        "Weight discarded.")
        upd.blkio_weight = 0
    if upd.blkio_weight > 0 and not 10 <= upd.blkio_weight <= 1000:
        raise InvalidParameter("Range of blkio weight is from 10 to 1000")
    return warnings


# --- step 2: against the container (409) --------------------------------------
def current_swap(spec: CreateSpec) -> int:
    """The memory+swap limit Docker would show: twice the memory when only -m was given."""
    if spec.memory > 0 and spec.memory_swap == 0:
        return 2 * spec.memory
    return spec.memory_swap


def merge(spec: CreateSpec, upd: UpdateRequest, running: bool) -> None:
    """Apply `upd` to `spec` in place (Docker's Container.UpdateContainer).

    Raises Conflict with Docker's message (the caller prefixes "Cannot update container ID: ").
    """
    if upd.nano_cpus > 0 and spec.cpu_period > 0:
        raise Conflict("Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set")
    if upd.nano_cpus > 0 and spec.cpu_quota > 0:
        raise Conflict("Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set")
    if upd.cpu_period > 0 and spec.nano_cpus > 0:
        raise Conflict("Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set")
    if upd.cpu_quota > 0 and spec.nano_cpus > 0:
        raise Conflict("Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set")
    if upd.memory != 0 and upd.memory_swap == 0 and upd.memory > current_swap(spec):
        raise Conflict("Memory limit should be smaller than already set memoryswap limit, "
                       "update the memoryswap at the same time")
    if upd.kernel_memory:
        raise Conflict("Can not update kernel memory to a running container, please stop it first."
                       if running else "kernel memory limits are not supported (deprecated by the kernel)")
    if upd.restart is not None and spec.auto_remove and upd.restart.name != "no":
        raise Conflict("Restart policy cannot be updated because AutoRemove is enabled for the container")
    extra = spec.extra_host_config
    if upd.blkio_weight:
        extra["BlkioWeight"] = upd.blkio_weight
    if upd.cpu_shares:
        spec.cpu_shares = upd.cpu_shares
    if upd.nano_cpus:
        spec.nano_cpus = upd.nano_cpus
    if upd.cpu_period:
        spec.cpu_period = upd.cpu_period
    if upd.cpu_quota:
        spec.cpu_quota = upd.cpu_quota
    if upd.cpuset_cpus:
        extra["CpusetCpus"] = upd.cpuset_cpus
    if upd.cpuset_mems:
        extra["CpusetMems"] = upd.cpuset_mems
    if upd.memory:
        spec.memory = upd.memory
    if upd.memory_swap:
        spec.memory_swap = upd.memory_swap
    if upd.memory_reservation:
        extra["MemoryReservation"] = upd.memory_reservation
    if upd.pids_limit is not None:
        spec.pids_limit = upd.pids_limit
    if upd.restart is not None:
        spec.restart = upd.restart


# --- to the runtime -----------------------------------------------------------
def runc_resources(spec: CreateSpec) -> dict[str, Any]:
    """The whole LinuxResources document for `runc update -r`: every limit the container has.

    runc writes only non-zero values; unlimited pids must be said (-1) to undo a limit."""
    memory: dict[str, Any] = {}
    if spec.memory:
        memory["limit"] = spec.memory
    if spec.memory_swap:
        memory["swap"] = spec.memory_swap
    cpu = cpu_resources(spec)
    out: dict[str, Any] = {"memory": memory, "cpu": cpu,
                           "pids": {"limit": spec.pids_limit if spec.pids_limit and spec.pids_limit > 0 else -1}}
    oci_extras(spec, out)
    return out
