"""`docker update` validation and merging (hithe/containers/resources.py), Docker's wording."""
from __future__ import annotations

import pytest

from hithe.containers.resources import (HostCaps, UpdateRequest, merge, oci_extras, parse_cpuset,
                                        parse_update, runc_resources, verify)
from hithe.containers.spec import CreateSpec, RestartPolicy
from hithe.errors import Conflict, InvalidParameter

MB = 1024 * 1024
HOST = HostCaps(ncpu=2, cpus="0-1", mems="0", blkio_weight=True, cpu_realtime=False)


def spec(**kw) -> CreateSpec:
    return CreateSpec(image="busybox", **kw)


@pytest.mark.parametrize("body, message", [
    ({"Memory": 4 * MB}, "Minimum memory limit allowed is 6MB"),
    ({"Memory": 64 * MB, "MemorySwap": 32 * MB},
     "Minimum memoryswap limit should be larger than memory limit, see usage"),
    ({"MemoryReservation": MB}, "Minimum memory reservation allowed is 6MB"),
    ({"Memory": 64 * MB, "MemoryReservation": 128 * MB},
     "Minimum memory limit can not be less than memory reservation limit, see usage"),
    ({"NanoCpus": 10**9, "CpuPeriod": 100000}, "Conflicting options: Nano CPUs and CPU Period cannot both be set"),
    ({"NanoCpus": 10**9, "CpuQuota": 50000}, "Conflicting options: Nano CPUs and CPU Quota cannot both be set"),
    ({"NanoCpus": 3 * 10**9}, "range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available"),
    ({"NanoCpus": -1}, "range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available"),
    ({"CpuPeriod": 999}, "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"),
    ({"CpuPeriod": 2_000_000}, "CPU cfs period can not be less than 1ms"),
    ({"CpuQuota": 500}, "CPU cfs quota can not be less than 1ms (i.e. 1000)"),
    ({"CpusetCpus": "abc"}, "Invalid value abc for cpuset cpus: invalid format: abc"),
    ({"CpusetCpus": "0-7"}, "Requested CPUs are not available - requested 0-7, available: 0-1"),
    ({"CpusetMems": "3"}, "Requested memory nodes are not available - requested 3, available: 0"),
    ({"BlkioWeight": 5}, "Range of blkio weight is from 10 to 1000"),
    ({"CpuShares": -2}, "invalid CPU shares"),
    ({"MemorySwap": -7}, "invalid memory swap limit"),
])
def test_verify_refuses_like_docker(body, message):
    with pytest.raises(InvalidParameter) as e:
        verify(parse_update(body), HOST)
    assert message in e.value.message


@pytest.mark.parametrize("body, message", [
    ({"Memory": "64m"}, "json: cannot unmarshal string into Go struct field UpdateConfig.Memory of type int64"),
    ({"CpuShares": 1.5}, "cannot unmarshal number into Go struct field UpdateConfig.CpuShares"),
    ({"BlkioWeight": 70000}, "cannot unmarshal number 70000 into Go struct field UpdateConfig.BlkioWeight of type uint16"),
    ({"Memory": 1 << 64}, "cannot unmarshal number"),
    ({"CpusetCpus": 3}, "UpdateConfig.CpusetCpus of type string"),
    ({"RestartPolicy": "always"}, "UpdateConfig.RestartPolicy"),
    ({"RestartPolicy": {"Name": "sometimes"}}, "invalid restart policy: unknown policy 'sometimes'"),
    ({"RestartPolicy": {"Name": "always", "MaximumRetryCount": 3}},
     "maximum retry count can only be used with 'on-failure'"),
    ([1, 2], "cannot unmarshal"),
])
def test_parse_refuses_bad_json(body, message):
    with pytest.raises(InvalidParameter) as e:
        parse_update(body)
    assert message in e.value.message


def test_parse_defaults_and_pids():
    upd = parse_update({"Memory": 0, "CpusetCpus": "", "RestartPolicy": {"Name": ""}})
    assert upd == UpdateRequest()
    assert parse_update({"PidsLimit": 50}).pids_limit == 50
    assert parse_update({"PidsLimit": -1}).pids_limit == 0   # unlimited
    assert parse_update({"PidsLimit": 0}).pids_limit == 0
    assert parse_update({"PidsLimit": 50}, "1.39").pids_limit is None   # ignored before 1.40
    assert parse_update({"KernelMemory": 50 * MB}).kernel_memory == 0  # dropped from 1.42 on
    assert parse_update({"KernelMemory": 50 * MB}, "1.41").kernel_memory == 50 * MB
    assert parse_update({"RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 2}}).restart == \
        RestartPolicy("on-failure", 2)


def test_verify_discards_unsupported_with_warnings():
    host = HostCaps(ncpu=2, cpus="0-1", mems="0", blkio_weight=False, cpu_realtime=False)
    upd = parse_update({"BlkioWeight": 300, "CpuRealtimePeriod": 1000})
    warnings = verify(upd, host)
    assert upd.blkio_weight == 0 and upd.cpu_rt_period == 0
    assert any("Block I/O weight" in w for w in warnings)
    assert any("real-time" in w for w in warnings)


def test_merge_applies_only_given_fields():
    s = spec(memory=64 * MB, memory_swap=128 * MB, cpu_shares=512, pids_limit=10)
    merge(s, parse_update({"Memory": 100 * MB, "MemorySwap": 200 * MB, "CpusetCpus": "0",
                           "MemoryReservation": 32 * MB, "PidsLimit": 20, "BlkioWeight": 300,
                           "RestartPolicy": {"Name": "always"}}), running=True)
    assert (s.memory, s.memory_swap, s.cpu_shares, s.pids_limit) == (100 * MB, 200 * MB, 512, 20)
    assert s.extra_host_config == {"CpusetCpus": "0", "MemoryReservation": 32 * MB, "BlkioWeight": 300}
    assert s.restart == RestartPolicy("always", 0)
    merge(s, parse_update({"PidsLimit": -1}), running=True)
    assert s.pids_limit == 0


@pytest.mark.parametrize("current, body, message", [
    ({"cpu_period": 50000}, {"NanoCpus": 10**9},
     "Conflicting options: Nano CPUs cannot be updated as CPU Period has already been set"),
    ({"cpu_quota": 50000}, {"NanoCpus": 10**9},
     "Conflicting options: Nano CPUs cannot be updated as CPU Quota has already been set"),
    ({"nano_cpus": 10**9}, {"CpuPeriod": 50000},
     "Conflicting options: CPU Period cannot be updated as NanoCPUs has already been set"),
    ({"nano_cpus": 10**9}, {"CpuQuota": 50000},
     "Conflicting options: CPU Quota cannot be updated as NanoCPUs has already been set"),
    # Docker: a new memory limit above the current memory+swap limit needs a new swap limit too,
    # and with no limit at all (swap 0) any memory update without --memory-swap is refused
    ({}, {"Memory": 64 * MB},
     "Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time"),
    ({"memory": 64 * MB, "memory_swap": 128 * MB}, {"Memory": 256 * MB},
     "Memory limit should be smaller than already set memoryswap limit"),
    ({"memory": 64 * MB, "memory_swap": -1}, {"Memory": 256 * MB},
     "Memory limit should be smaller than already set memoryswap limit"),
    ({"auto_remove": True}, {"RestartPolicy": {"Name": "always"}},
     "Restart policy cannot be updated because AutoRemove is enabled for the container"),
])
def test_merge_conflicts(current, body, message):
    s = spec(**current)
    before = repr(s)
    with pytest.raises(Conflict) as e:
        merge(s, parse_update(body), running=True)
    assert message in e.value.message
    assert repr(s) == before   # nothing half-applied


def test_merge_memory_within_implicit_swap():
    # `-m 64m` alone: Docker's swap limit is twice that, so 100m fits without --memory-swap
    s = spec(memory=64 * MB)
    merge(s, parse_update({"Memory": 100 * MB}), running=True)
    assert s.memory == 100 * MB
    s = spec(auto_remove=True)
    merge(s, parse_update({"RestartPolicy": {"Name": "no"}}), running=True)   # "no" is fine with --rm


def test_kernel_memory_refused():
    with pytest.raises(Conflict, match="Can not update kernel memory to a running container"):
        merge(spec(), parse_update({"KernelMemory": 50 * MB}, "1.41"), running=True)


def test_runtime_documents():
    s = spec(memory=64 * MB, memory_swap=128 * MB, nano_cpus=500_000_000, cpu_shares=256,
             extra_host_config={"CpusetCpus": "0", "MemoryReservation": 32 * MB})
    r = runc_resources(s)
    assert r["memory"] == {"limit": 64 * MB, "swap": 128 * MB, "reservation": 32 * MB}
    assert r["cpu"] == {"period": 100000, "quota": 50000, "shares": 256, "cpus": "0"}
    assert r["pids"] == {"limit": -1}   # no limit: say so, to undo an earlier one
    res: dict = {}
    oci_extras(spec(extra_host_config={"CpusetMems": "0", "CpusetCpus": 5}), res)
    assert res == {"cpu": {"mems": "0"}}   # a malformed stored value is ignored


@pytest.mark.parametrize("value, cpus", [("", set()), ("0", {0}), ("0-2,5", {0, 1, 2, 5}), ("1,1", {1})])
def test_parse_cpuset(value, cpus):
    assert parse_cpuset(value) == cpus


@pytest.mark.parametrize("value", ["a", "1-", "-1", "3-1", "1,,2", "0-99999999"])
def test_parse_cpuset_refuses(value):
    with pytest.raises(ValueError):
        parse_cpuset(value)
