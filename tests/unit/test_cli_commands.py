"""Command -> API request mapping, checked against what the docker CLI (28.2)
sends and prints.  The GOLDEN bodies were captured from the docker CLI talking
to a recording server that advertised API 1.45."""
from __future__ import annotations

import json
import os
import shlex
import socket
import threading
from typing import Any, Callable

import pytest

from hithe.cli import main as cli_main
from hithe.cli.container_opts import build_config
from hithe.cli.container_run import CREATE, RUN
from hithe.cli.flags import FlagSet
from hithe.client.http import BufferedSocket, iter_chunked
from hithe.client.stream import frame

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


# -- a recording fake daemon -------------------------------------------------------------

class Req:
    def __init__(self, method: str, target: str, headers: dict[str, str], body: bytes) -> None:
        from urllib.parse import unquote_plus

        self.method, self.target, self.headers, self.body = method, target, headers, body
        path, _, query = target.partition("?")
        self.path = path.split("/", 2)[2] if path.startswith("/v1.") else path.lstrip("/")
        self.query: dict[str, list[str]] = {}
        for part in filter(None, query.split("&")):
            k, _, v = part.partition("=")
            self.query.setdefault(unquote_plus(k), []).append(unquote_plus(v))

    def json(self) -> Any:
        return json.loads(self.body)


def reply(status: int, obj: Any = None, reason: str = "OK", raw: bytes | None = None) -> bytes:
    body = raw if raw is not None else (b"" if obj is None else json.dumps(obj).encode())
    ctype = "application/json" if raw is None else "application/octet-stream"
    return (f"HTTP/1.1 {status} {reason}\r\nApi-Version: 1.45\r\nContent-Type: {ctype}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


Handler = Callable[["Req", socket.socket], "bytes | None"]


class FakeDaemon:
    """Routes (method, path glob) to handlers; a handler returns the bytes to send,
    or None when it took the connection over (hijack)."""

    def __init__(self, path: str) -> None:
        self.routes: list[tuple[str, str, Handler]] = []
        self.requests: list[Req] = []
        self.srv = socket.socket(socket.AF_UNIX)
        self.srv.bind(path)
        self.srv.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()

    def on(self, method: str, path: str, handler: Handler | bytes) -> None:
        h = handler if callable(handler) else (lambda req, conn, data=handler: data)
        self.routes.insert(0, (method, path, h))

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.srv.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        r = BufferedSocket(conn)
        try:
            while True:
                line = r.readline()
                if not line:
                    return
                method, target, _ = line.decode().split(" ", 2)
                headers: dict[str, str] = {}
                while True:
                    h = r.readline()
                    if h in (b"\r\n", b""):
                        break
                    k, _, v = h.decode().partition(":")
                    headers[k.strip().lower()] = v.strip()
                if headers.get("transfer-encoding") == "chunked":
                    body = b"".join(iter_chunked(r))
                else:
                    body = r.read_exact(int(headers.get("content-length", "0")))
                req = Req(method, target, headers, body)
                if req.path != "_ping":
                    self.requests.append(req)
                out = self._dispatch(req, conn)
                if out is None:
                    return
                conn.sendall(out)
        except OSError:
            pass
        finally:
            conn.close()

    def _dispatch(self, req: Req, conn: socket.socket) -> bytes | None:
        import fnmatch

        if req.path == "_ping":
            return b"HTTP/1.1 200 OK\r\nApi-Version: 1.45\r\nOstype: linux\r\nContent-Length: 0\r\n\r\n"
        for method, pattern, handler in self.routes:
            if method == req.method and fnmatch.fnmatchcase(req.path, pattern):
                return handler(req, conn)
        return reply(404, {"message": f"page not found: {req.method} {req.path}"})

    def calls(self) -> list[str]:
        return [f"{r.method} {r.path}" for r in self.requests]

    def close(self) -> None:
        self.srv.close()


@pytest.fixture
def daemon(tmp_path, monkeypatch: pytest.MonkeyPatch):
    path = str(tmp_path / "hithe.sock")
    d = FakeDaemon(path)
    monkeypatch.setenv("HITHE_HOST", f"unix://{path}")
    monkeypatch.setenv("HITHE_NO_AUTOSTART", "1")
    yield d
    d.close()


CID = "c" * 64


def hijack_with(payload: bytes, record: dict | None = None) -> Handler:
    def handler(req: Req, conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\n"
                     b"Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
        if record is not None:
            data = b""
            while True:  # until the client half-closes
                d = conn.recv(65536)
                if not d:
                    break
                data += d
            record["stdin"] = data
        conn.sendall(payload)
        conn.close()
        return None
    return handler
