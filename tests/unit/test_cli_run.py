"""run / create / exec: command -> API request mapping, checked against what the
docker CLI (28.2) sends and prints.  The GOLDEN bodies were captured from the
docker CLI talking to a recording server that advertised API 1.45."""
from __future__ import annotations

import json
import os
import shlex
import socket
from typing import Any

import pytest

from hithe.cli import main as cli_main
from hithe.cli.container_opts import build_config
from hithe.cli.container_run import CREATE, RUN
from hithe.cli.flags import FlagSet
from hithe.client.stream import frame
from tests.cli_fakes import CID, FakeDaemon, Req, hijack_with, reply
from tests.cli_fakes import fake_daemon  # noqa: F401  (the "daemon" fixture)

GOLDEN_0 = "{\"Hostname\":\"myhost\",\"Domainname\":\"\",\"User\":\"1000:1000\",\"AttachStdin\":true,\"AttachStdout\":true,\"AttachStderr\":true,\"ExposedPorts\":{\"53/udp\":{},\"7000/tcp\":{},\"7100/udp\":{},\"7101/udp\":{},\"80/tcp\":{},\"90/tcp\":{},\"91/tcp\":{}},\"Tty\":true,\"OpenStdin\":true,\"StdinOnce\":true,\"Env\":null,\"Cmd\":[\"-c\",\"echo hi\"],\"Healthcheck\":{\"Test\":[\"CMD-SHELL\",\"true\"],\"Interval\":5000000000},\"Image\":\"busybox\",\"Volumes\":{\"/anon\":{}},\"WorkingDir\":\"/tmp\",\"Entrypoint\":[\"/bin/sh\"],\"OnBuild\":null,\"Labels\":{},\"StopSignal\":\"SIGINT\",\"StopTimeout\":5,\"HostConfig\":{\"Binds\":[\"/tmp:/data:ro\",\"myvol:/vol\"],\"ContainerIDFile\":\"/tmp/fake/nocid\",\"LogConfig\":{\"Type\":\"json-file\",\"Config\":{\"max-size\":\"1m\"}},\"NetworkMode\":\"none\",\"PortBindings\":{\"53/udp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"53\"}],\"80/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"8080\"}],\"90/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"9000\"}],\"91/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"9001\"}]},\"RestartPolicy\":{\"Name\":\"no\",\"MaximumRetryCount\":0},\"AutoRemove\":false,\"VolumeDriver\":\"\",\"VolumesFrom\":null,\"ConsoleSize\":[0,0],\"CapAdd\":[\"CAP_NET_ADMIN\"],\"CapDrop\":[\"ALL\"],\"CgroupnsMode\":\"\",\"Dns\":[\"1.1.1.1\"],\"DnsOptions\":[\"ndots:2\"],\"DnsSearch\":[\"example.com\"],\"ExtraHosts\":[\"foo:10.0.0.1\"],\"GroupAdd\":[\"10\"],\"IpcMode\":\"\",\"Cgroup\":\"\",\"Links\":null,\"OomScoreAdj\":0,\"PidMode\":\"\",\"Privileged\":true,\"PublishAllPorts\":true,\"ReadonlyRootfs\":true,\"SecurityOpt\":[\"no-new-privileges\",\"label=disable\"],\"Tmpfs\":{\"/run\":\"rw,size=64m\"},\"UTSMode\":\"\",\"UsernsMode\":\"\",\"ShmSize\":134217728,\"Sysctls\":{\"net.ipv4.ip_forward\":\"1\"},\"Isolation\":\"\",\"CpuShares\":0,\"Memory\":67108864,\"NanoCpus\":1500000000,\"CgroupParent\":\"\",\"BlkioWeight\":0,\"BlkioWeightDevice\":[],\"BlkioDeviceReadBps\":[],\"BlkioDeviceWriteBps\":[],\"BlkioDeviceReadIOps\":[],\"BlkioDeviceWriteIOps\":[],\"CpuPeriod\":0,\"CpuQuota\":0,\"CpuRealtimePeriod\":0,\"CpuRealtimeRuntime\":0,\"CpusetCpus\":\"\",\"CpusetMems\":\"\",\"Devices\":[],\"DeviceCgroupRules\":null,\"DeviceRequests\":null,\"MemoryReservation\":0,\"MemorySwap\":134217728,\"MemorySwappiness\":-1,\"OomKillDisable\":false,\"PidsLimit\":100,\"Ulimits\":[{\"Name\":\"nofile\",\"Hard\":2048,\"Soft\":1024},{\"Name\":\"nproc\",\"Hard\":10,\"Soft\":10}],\"CpuCount\":0,\"CpuPercent\":0,\"IOMaximumIOps\":0,\"IOMaximumBandwidth\":0,\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"/tmp\",\"Target\":\"/m\",\"ReadOnly\":true},{\"Type\":\"volume\",\"Source\":\"v2\",\"Target\":\"/v2\",\"VolumeOptions\":{\"DriverConfig\":{\"Options\":{\"a\":\"b\"}}}},{\"Type\":\"tmpfs\",\"Target\":\"/t\",\"TmpfsOptions\":{\"SizeBytes\":1048576}}],\"MaskedPaths\":null,\"ReadonlyPaths\":null},\"NetworkingConfig\":{\"EndpointsConfig\":{}}}"
GOLDEN_1 = "{\"Hostname\":\"\",\"Domainname\":\"\",\"User\":\"\",\"AttachStdin\":false,\"AttachStdout\":true,\"AttachStderr\":true,\"Tty\":false,\"OpenStdin\":false,\"StdinOnce\":false,\"Env\":[\"A=1\"],\"Cmd\":[\"sh\"],\"Image\":\"busybox\",\"Volumes\":{},\"WorkingDir\":\"\",\"Entrypoint\":null,\"OnBuild\":null,\"Labels\":{\"x\":\"y\"},\"HostConfig\":{\"Binds\":null,\"ContainerIDFile\":\"\",\"LogConfig\":{\"Type\":\"\",\"Config\":{}},\"NetworkMode\":\"default\",\"PortBindings\":{},\"RestartPolicy\":{\"Name\":\"on-failure\",\"MaximumRetryCount\":3},\"AutoRemove\":false,\"VolumeDriver\":\"\",\"VolumesFrom\":null,\"ConsoleSize\":[0,0],\"CapAdd\":null,\"CapDrop\":null,\"CgroupnsMode\":\"\",\"Dns\":[],\"DnsOptions\":[],\"DnsSearch\":[],\"ExtraHosts\":null,\"GroupAdd\":null,\"IpcMode\":\"\",\"Cgroup\":\"\",\"Links\":null,\"OomScoreAdj\":0,\"PidMode\":\"\",\"Privileged\":false,\"PublishAllPorts\":false,\"ReadonlyRootfs\":false,\"SecurityOpt\":null,\"UTSMode\":\"\",\"UsernsMode\":\"\",\"ShmSize\":0,\"Isolation\":\"\",\"CpuShares\":0,\"Memory\":0,\"NanoCpus\":0,\"CgroupParent\":\"\",\"BlkioWeight\":0,\"BlkioWeightDevice\":[],\"BlkioDeviceReadBps\":[],\"BlkioDeviceWriteBps\":[],\"BlkioDeviceReadIOps\":[],\"BlkioDeviceWriteIOps\":[],\"CpuPeriod\":0,\"CpuQuota\":0,\"CpuRealtimePeriod\":0,\"CpuRealtimeRuntime\":0,\"CpusetCpus\":\"\",\"CpusetMems\":\"\",\"Devices\":[],\"DeviceCgroupRules\":null,\"DeviceRequests\":null,\"MemoryReservation\":0,\"MemorySwap\":0,\"MemorySwappiness\":-1,\"OomKillDisable\":false,\"PidsLimit\":0,\"Ulimits\":[],\"CpuCount\":0,\"CpuPercent\":0,\"IOMaximumIOps\":0,\"IOMaximumBandwidth\":0,\"MaskedPaths\":null,\"ReadonlyPaths\":null,\"Init\":true},\"NetworkingConfig\":{\"EndpointsConfig\":{\"default\":{\"IPAMConfig\":null,\"Links\":null,\"Aliases\":null,\"MacAddress\":\"\",\"DriverOpts\":null,\"GwPriority\":0,\"NetworkID\":\"\",\"EndpointID\":\"\",\"Gateway\":\"\",\"IPAddress\":\"\",\"IPPrefixLen\":0,\"IPv6Gateway\":\"\",\"GlobalIPv6Address\":\"\",\"GlobalIPv6PrefixLen\":0,\"DNSNames\":null}}}}"
GOLDEN_2 = "{\"Hostname\":\"\",\"Domainname\":\"\",\"User\":\"\",\"AttachStdin\":false,\"AttachStdout\":true,\"AttachStderr\":true,\"ExposedPorts\":{\"80/udp\":{},\"9000/tcp\":{}},\"Tty\":false,\"OpenStdin\":false,\"StdinOnce\":false,\"Env\":null,\"Cmd\":null,\"Healthcheck\":{\"Test\":[\"NONE\"]},\"Image\":\"busybox\",\"Volumes\":{},\"WorkingDir\":\"\",\"Entrypoint\":null,\"OnBuild\":null,\"Labels\":{},\"StopTimeout\":0,\"HostConfig\":{\"Binds\":null,\"ContainerIDFile\":\"\",\"LogConfig\":{\"Type\":\"\",\"Config\":{}},\"NetworkMode\":\"mynet\",\"PortBindings\":{\"80/udp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"8000-8002\"}],\"9000/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"\"}]},\"RestartPolicy\":{\"Name\":\"no\",\"MaximumRetryCount\":0},\"AutoRemove\":false,\"VolumeDriver\":\"\",\"VolumesFrom\":null,\"ConsoleSize\":[0,0],\"CapAdd\":[\"CAP_SYS_ADMIN\"],\"CapDrop\":[\"CAP_NET_RAW\"],\"CgroupnsMode\":\"\",\"Dns\":[],\"DnsOptions\":[],\"DnsSearch\":[],\"ExtraHosts\":[\"h:1.2.3.4\"],\"GroupAdd\":null,\"IpcMode\":\"\",\"Cgroup\":\"\",\"Links\":null,\"OomScoreAdj\":0,\"PidMode\":\"\",\"Privileged\":false,\"PublishAllPorts\":false,\"ReadonlyRootfs\":true,\"SecurityOpt\":[],\"UTSMode\":\"\",\"UsernsMode\":\"\",\"ShmSize\":0,\"Isolation\":\"\",\"CpuShares\":0,\"Memory\":0,\"NanoCpus\":0,\"CgroupParent\":\"\",\"BlkioWeight\":0,\"BlkioWeightDevice\":[],\"BlkioDeviceReadBps\":[],\"BlkioDeviceWriteBps\":[],\"BlkioDeviceReadIOps\":[],\"BlkioDeviceWriteIOps\":[],\"CpuPeriod\":0,\"CpuQuota\":0,\"CpuRealtimePeriod\":0,\"CpuRealtimeRuntime\":0,\"CpusetCpus\":\"\",\"CpusetMems\":\"\",\"Devices\":[{\"PathOnHost\":\"/dev/fuse\",\"PathInContainer\":\"/dev/fuse\",\"CgroupPermissions\":\"rwm\"}],\"DeviceCgroupRules\":null,\"DeviceRequests\":null,\"MemoryReservation\":0,\"MemorySwap\":0,\"MemorySwappiness\":-1,\"OomKillDisable\":false,\"PidsLimit\":0,\"Ulimits\":[{\"Name\":\"nofile\",\"Hard\":10,\"Soft\":10}],\"CpuCount\":0,\"CpuPercent\":0,\"IOMaximumIOps\":0,\"IOMaximumBandwidth\":0,\"MaskedPaths\":[],\"ReadonlyPaths\":[]},\"NetworkingConfig\":{\"EndpointsConfig\":{\"mynet\":{\"IPAMConfig\":{\"IPv4Address\":\"10.1.2.3\"},\"Links\":null,\"Aliases\":[\"web\"],\"MacAddress\":\"\",\"DriverOpts\":null,\"GwPriority\":0,\"NetworkID\":\"\",\"EndpointID\":\"\",\"Gateway\":\"\",\"IPAddress\":\"\",\"IPPrefixLen\":0,\"IPv6Gateway\":\"\",\"GlobalIPv6Address\":\"\",\"GlobalIPv6PrefixLen\":0,\"DNSNames\":null}}}}"
GOLDEN_3 = "{\"Hostname\":\"\",\"Domainname\":\"\",\"User\":\"\",\"AttachStdin\":false,\"AttachStdout\":true,\"AttachStderr\":true,\"Tty\":true,\"OpenStdin\":false,\"StdinOnce\":false,\"Env\":null,\"Cmd\":[\"echo\"],\"Image\":\"busybox\",\"Volumes\":{},\"WorkingDir\":\"\",\"Entrypoint\":[\"\"],\"OnBuild\":null,\"Labels\":{},\"HostConfig\":{\"Binds\":[\"/tmp/fake/rel:/r:ro\"],\"ContainerIDFile\":\"\",\"LogConfig\":{\"Type\":\"none\",\"Config\":{}},\"NetworkMode\":\"host\",\"PortBindings\":{},\"RestartPolicy\":{\"Name\":\"no\",\"MaximumRetryCount\":0},\"AutoRemove\":true,\"VolumeDriver\":\"\",\"VolumesFrom\":null,\"ConsoleSize\":[0,0],\"CapAdd\":null,\"CapDrop\":null,\"CgroupnsMode\":\"\",\"Dns\":[\"8.8.8.8\"],\"DnsOptions\":[],\"DnsSearch\":[],\"ExtraHosts\":null,\"GroupAdd\":null,\"IpcMode\":\"\",\"Cgroup\":\"\",\"Links\":null,\"OomScoreAdj\":0,\"PidMode\":\"\",\"Privileged\":false,\"PublishAllPorts\":false,\"ReadonlyRootfs\":false,\"SecurityOpt\":null,\"Tmpfs\":{\"/t\":\"\"},\"UTSMode\":\"\",\"UsernsMode\":\"\",\"ShmSize\":0,\"Isolation\":\"\",\"CpuShares\":0,\"Memory\":0,\"NanoCpus\":500000000,\"CgroupParent\":\"\",\"BlkioWeight\":0,\"BlkioWeightDevice\":[],\"BlkioDeviceReadBps\":[],\"BlkioDeviceWriteBps\":[],\"BlkioDeviceReadIOps\":[],\"BlkioDeviceWriteIOps\":[],\"CpuPeriod\":0,\"CpuQuota\":0,\"CpuRealtimePeriod\":0,\"CpuRealtimeRuntime\":0,\"CpusetCpus\":\"\",\"CpusetMems\":\"\",\"Devices\":[],\"DeviceCgroupRules\":null,\"DeviceRequests\":null,\"MemoryReservation\":0,\"MemorySwap\":-1,\"MemorySwappiness\":-1,\"OomKillDisable\":true,\"PidsLimit\":-1,\"Ulimits\":[],\"CpuCount\":0,\"CpuPercent\":0,\"IOMaximumIOps\":0,\"IOMaximumBandwidth\":0,\"Mounts\":[{\"Type\":\"bind\",\"Source\":\"/tmp\",\"Target\":\"/m\",\"BindOptions\":{\"Propagation\":\"rshared\"}},{\"Type\":\"tmpfs\",\"Target\":\"/x\",\"TmpfsOptions\":{\"Mode\":1023}}],\"MaskedPaths\":null,\"ReadonlyPaths\":null},\"NetworkingConfig\":{\"EndpointsConfig\":{}}}"


G0_ARGS = ("--name n1 -it -p 8080:80 -p 127.0.0.1:53:53/udp -p 9000-9001:90-91 -v /tmp:/data:ro "
           "-v myvol:/vol -v /anon --mount type=bind,src=/tmp,dst=/m,readonly "
           "--mount type=volume,source=v2,target=/v2,volume-opt=a=b --mount type=tmpfs,dst=/t,tmpfs-size=1m "
           "--tmpfs /run:rw,size=64m --ulimit nofile=1024:2048 --ulimit nproc=10 -m 64m --memory-swap 128m "
           "--cpus 1.5 --pids-limit 100 --dns 1.1.1.1 --dns-search example.com --dns-option ndots:2 "
           "--add-host foo:10.0.0.1 --cap-add NET_ADMIN --cap-drop ALL --security-opt no-new-privileges "
           "--security-opt label=disable --network none --log-driver json-file --log-opt max-size=1m "
           "--entrypoint /bin/sh -w /tmp -u 1000:1000 -h myhost --stop-signal SIGINT --stop-timeout 5 "
           "--read-only --privileged -P --expose 7000 --expose 7100-7101/udp "
           "--sysctl net.ipv4.ip_forward=1 --shm-size 128m --group-add 10 --cidfile /tmp/fake/nocid "
           "--platform linux/amd64 --health-cmd true --health-interval 5s busybox -c 'echo hi'")
G1_ARGS = "-e A=1 --restart on-failure:3 -l x=y --init busybox sh"
G2_ARGS = ("--network mynet --network-alias web --ip 10.1.2.3 -p 127.0.0.1:8000-8002:80/udp -p 9000 "
           "--cap-add sys_admin --cap-drop net_raw --security-opt systempaths=unconfined "
           "--ulimit nofile=10 --stop-timeout 0 --no-healthcheck --label-file /dev/null "
           "--env-file /dev/null --add-host h=1.2.3.4 --device /dev/fuse --read-only busybox")
G3_ARGS = ("--rm -t --network host --entrypoint= -v ./rel:/r:ro --tmpfs /t "
           "--mount type=bind,src=/tmp,dst=/m,bind-propagation=rshared "
           "--mount type=tmpfs,dst=/x,tmpfs-mode=1777 -a stdout -a STDERR --log-driver none "
           "--dns 8.8.8.8 --pids-limit -1 --memory-swap -1 --oom-kill-disable --cpus 0.5 busybox echo")


def body_for(cmd: Any, argline: str) -> dict[str, Any]:
    vals, args = FlagSet(cmd.flags, interspersed=False).parse(shlex.split(argline))
    return build_config(vals, args[0], args[1:])


def assert_same_as_docker(mine: dict[str, Any], golden: str) -> None:
    want = json.loads(golden)
    assert mine == want
    # Go writes struct fields in declaration order: same key order, byte-equal JSON
    assert json.dumps(mine) == json.dumps(want)


def test_brief_example_body() -> None:
    assert_same_as_docker(body_for(RUN, G1_ARGS), GOLDEN_1)


def test_many_flags_body() -> None:
    assert_same_as_docker(body_for(CREATE, G0_ARGS), GOLDEN_0)


def test_network_caps_and_systempaths_body() -> None:
    assert_same_as_docker(body_for(CREATE, G2_ARGS), GOLDEN_2)


def test_tty_host_network_relative_bind_body(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    golden = GOLDEN_3.replace("/tmp/fake/rel", f"{tmp_path}/rel")
    assert_same_as_docker(body_for(RUN, G3_ARGS), golden)


@pytest.mark.parametrize("argline,message", [
    ("--restart on-failure:x busybox", "invalid restart policy format: maximum retry count must be an integer"),
    ("--rm --restart always busybox", "conflicting options: cannot specify both --restart and --rm"),
    ("-p abc busybox", "invalid containerPort: abc"),
    ("--memory-swappiness 200 busybox", "invalid value: 200. Valid memory swappiness range is 0-100"),
    ("--no-healthcheck --health-cmd x busybox", "--no-healthcheck conflicts with --health-* options"),
    ("--security-opt foo busybox", 'invalid --security-opt: "foo"'),
    ("--network host --network-alias a busybox",
     "network-scoped aliases are only supported for user-defined networks"),
])
def test_invalid_combinations(argline: str, message: str) -> None:
    with pytest.raises(ValueError) as exc:
        body_for(RUN, argline)
    assert str(exc.value) == message


def test_env_passthrough_and_env_file(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FROM_HOST", "yes")
    monkeypatch.delenv("NOT_SET", raising=False)
    env_file = tmp_path / "env"
    env_file.write_text("# comment\n\nFILE_A=1\n  FILE_B= keeps spaces\nFROM_HOST\nNOT_SET\n")
    body = body_for(RUN, f"--env-file {env_file} -e FROM_HOST -e NOT_SET -e X=1 busybox")
    assert body["Env"] == ["FILE_A=1", "FILE_B= keeps spaces", "FROM_HOST=yes",
                           "FROM_HOST=yes", "NOT_SET", "X=1"]


def test_publish_long_syntax_and_ipv6() -> None:
    body = body_for(RUN, "-p published=8080,target=80,protocol=udp -p [::1]:53:53 busybox")
    assert body["HostConfig"]["PortBindings"] == {
        "53/tcp": [{"HostIp": "::1", "HostPort": "53"}], "80/udp": [{"HostIp": "", "HostPort": "8080"}]}


# -- run / exec flows against the fake daemon -------------------------------------------

def test_run_flow_order_streams_and_exit_code(daemon: FakeDaemon, capfd: pytest.CaptureFixture[str]) -> None:
    daemon.on("POST", "containers/create", reply(201, {"Id": CID, "Warnings": ["low memory"]}))
    daemon.on("POST", f"containers/{CID}/attach", hijack_with(frame(1, b"out\n") + frame(2, b"err\n")))
    daemon.on("POST", f"containers/{CID}/wait", reply(200, {"StatusCode": 3, "Error": None}))
    daemon.on("POST", f"containers/{CID}/start", reply(204))
    assert cli_main.main(shlex.split("run " + G1_ARGS)) == 3
    out, err = capfd.readouterr()
    assert out == "out\n" and err == "WARNING: low memory\nerr\n"
    # attach and wait are registered before start, as the docker CLI does
    assert daemon.calls() == ["POST containers/create", f"POST containers/{CID}/attach",
                              f"POST containers/{CID}/wait", f"POST containers/{CID}/start"]
    create, attach, wait = daemon.requests[:3]
    assert_same_as_docker(create.json(), GOLDEN_1)
    assert attach.query == {"stream": ["1"], "stdout": ["1"], "stderr": ["1"]}
    assert attach.headers["upgrade"] == "tcp" and attach.headers["connection"] == "Upgrade"
    assert wait.query == {"condition": ["next-exit"]}


def test_run_interactive_sends_stdin_and_half_closes(daemon: FakeDaemon, capfd) -> None:
    record: dict = {}
    r, w = os.pipe()
    os.write(w, b"hello stdin\n")
    os.close(w)
    saved = os.dup(0)
    os.dup2(r, 0)
    try:
        daemon.on("POST", "containers/create", reply(201, {"Id": CID, "Warnings": []}))
        daemon.on("POST", f"containers/{CID}/attach", hijack_with(frame(1, b"done\n"), record))
        daemon.on("POST", f"containers/{CID}/wait", reply(200, {"StatusCode": 0}))
        daemon.on("POST", f"containers/{CID}/start", reply(204))
        assert cli_main.main(["run", "--rm", "-i", "busybox", "cat"]) == 0
    finally:
        os.dup2(saved, 0)
        os.close(saved)
        os.close(r)
    assert record["stdin"] == b"hello stdin\n"
    assert capfd.readouterr().out == "done\n"
    assert daemon.requests[1].query["stdin"] == ["1"]
    assert daemon.requests[2].query == {"condition": ["removed"]}
    assert daemon.requests[0].json()["StdinOnce"] is True


def test_run_detached_prints_id(daemon: FakeDaemon, capfd) -> None:
    daemon.on("POST", "containers/create", reply(201, {"Id": CID, "Warnings": []}))
    daemon.on("POST", f"containers/{CID}/start", reply(204))
    assert cli_main.main(["run", "-d", "--name", "web", "busybox", "sleep", "9"]) == 0
    assert capfd.readouterr().out == CID + "\n"
    assert daemon.calls() == ["POST containers/create", f"POST containers/{CID}/start"]
    assert daemon.requests[0].query == {"name": ["web"]}
    body = daemon.requests[0].json()
    assert (body["AttachStdout"], body["AttachStderr"], body["Cmd"]) == (False, False, ["sleep", "9"])


def test_run_pulls_missing_image_then_retries(daemon: FakeDaemon, capfd) -> None:
    state = {"pulled": False}

    def create(req: Req, conn: socket.socket) -> bytes:
        if not state["pulled"]:
            return reply(404, {"message": "No such image: busybox:latest"}, "Not Found")
        return reply(201, {"Id": CID, "Warnings": []})

    def pull(req: Req, conn: socket.socket) -> bytes:
        state["pulled"] = True
        return reply(200, raw=b'{"status":"Pulling from library/busybox","id":"latest"}\n'
                              b'{"status":"Status: Downloaded newer image for busybox:latest"}\n')

    daemon.on("POST", "containers/create", create)
    daemon.on("POST", "images/create", pull)
    daemon.on("POST", f"containers/{CID}/start", reply(204))
    assert cli_main.main(["run", "-d", "busybox"]) == 0
    out, err = capfd.readouterr()
    assert err.startswith("Unable to find image 'busybox:latest' locally\n")
    assert "latest: Pulling from library/busybox\n" in err
    assert out == CID + "\n"
    pull_req = daemon.requests[1]
    assert pull_req.query == {"fromImage": ["docker.io/library/busybox"], "tag": ["latest"]}
    assert pull_req.headers["x-registry-auth"] == "e30="


def test_run_pull_failure_exit_125(daemon: FakeDaemon, capfd) -> None:
    daemon.on("POST", "containers/create", reply(404, {"message": "No such image: nosuch:latest"}))
    daemon.on("POST", "images/create", reply(200, raw=(
        b'{"errorDetail":{"message":"pull access denied for nosuch"},"error":"pull access denied for nosuch"}\n')))
    assert cli_main.main(["run", "nosuch"]) == 125
    assert capfd.readouterr().err == (
        "Unable to find image 'nosuch:latest' locally\n"
        "hithe: pull access denied for nosuch\n\nRun 'hithe run --help' for more information\n")


def test_run_pull_never(daemon: FakeDaemon, capfd) -> None:
    daemon.on("POST", "containers/create", reply(404, {"message": "No such image: nosuch:latest"}))
    assert cli_main.main(["run", "--pull=never", "nosuch"]) == 125
    assert capfd.readouterr().err == ("hithe: Error response from daemon: No such image: nosuch:latest\n\n"
                                      "Run 'hithe run --help' for more information\n")
    assert daemon.calls() == ["POST containers/create"]


@pytest.mark.parametrize("message,code", [
    ('exec: "nonexistcmd": executable file not found in $PATH: unknown', 127),
    ("open /x: no such file or directory", 127),
    ('exec: "/etc/passwd": permission denied: unknown', 126),
    ("cgroup setup failed", 125),
])
def test_start_errors_exit_codes(daemon: FakeDaemon, capfd, message: str, code: int) -> None:
    daemon.on("POST", "containers/create", reply(201, {"Id": CID, "Warnings": []}))
    daemon.on("POST", f"containers/{CID}/attach", hijack_with(b""))
    daemon.on("POST", f"containers/{CID}/wait", reply(200, {"StatusCode": 0}))
    daemon.on("POST", f"containers/{CID}/start", reply(500, {"message": message}))
    assert cli_main.main(["run", "busybox"]) == code
    assert capfd.readouterr().err == (f"hithe: Error response from daemon: {message}\n\n"
                                      "Run 'hithe run --help' for more information\n")


def test_run_option_errors(daemon: FakeDaemon, capfd) -> None:
    assert cli_main.main(["run", "--pull=foo", "busybox"]) == 125
    assert capfd.readouterr().err.startswith(
        "hithe: invalid pull option: 'foo': must be one of \"always\", \"missing\" or \"never\"\n")
    assert cli_main.main(["run", "-d", "-a", "stdout", "busybox"]) == 1
    assert capfd.readouterr().err == "conflicting options: cannot specify both --attach and --detach\n"
    assert daemon.requests == []


def test_exec_flow(daemon: FakeDaemon, capfd) -> None:
    daemon.on("GET", "containers/web/json", reply(200, {"Id": CID, "Config": {"Tty": False}}))
    daemon.on("POST", "containers/web/exec", reply(201, {"Id": "e1"}))
    daemon.on("POST", "exec/e1/start", hijack_with(frame(1, b"hi\n")))
    daemon.on("GET", "exec/e1/json", reply(200, {"Running": False, "ExitCode": 5}))
    assert cli_main.main(["exec", "-e", "A=1", "-w", "/tmp", "-u", "1", "web", "sh", "-c", "exit 5"]) == 5
    assert capfd.readouterr().out == "hi\n"
    create, start = daemon.requests[1], daemon.requests[2]
    # the docker CLI's exact body (captured)
    assert json.dumps(create.json(), separators=(",", ":")) == (
        '{"User":"1","Privileged":false,"Tty":false,"AttachStdin":false,"AttachStderr":true,'
        '"AttachStdout":true,"Detach":false,"DetachKeys":"","Env":["A=1"],"WorkingDir":"/tmp",'
        '"Cmd":["sh","-c","exit 5"]}')
    assert start.json() == {"Detach": False, "Tty": False} and start.headers["upgrade"] == "tcp"


def test_exec_detached(daemon: FakeDaemon) -> None:
    daemon.on("GET", "containers/web/json", reply(200, {"Id": CID, "Config": {}}))
    daemon.on("POST", "containers/web/exec", reply(201, {"Id": "e1"}))
    daemon.on("POST", "exec/e1/start", reply(200))
    assert cli_main.main(["exec", "-d", "web", "true"]) == 0
    assert daemon.requests[1].json()["Detach"] is True
    assert daemon.requests[2].json() == {"Detach": True, "Tty": False}
