"""/_ping, /version, /info, /events."""
from __future__ import annotations

import json
import os
import platform
import time
from typing import AsyncIterator

from hithe import __version__
from hithe.api.message import Request, Response, json_response
from hithe.api.router import API_VERSION, MIN_API_VERSION, Router
from hithe.containers.filters import parse_filters
from hithe.daemon.engine import Engine
from hithe.daemon.usage import disk_usage
from hithe.images.importer import host_arch


def register(r: Router, eng: Engine) -> None:
    async def ping(req: Request) -> Response:
        return Response(body=b"OK", content_type="text/plain; charset=utf-8",
                        headers=[("Cache-Control", "no-cache, no-store, must-revalidate"), ("Pragma", "no-cache"),
                                 ("Builder-Version", "1")])

    async def version(req: Request) -> Response:
        uname = os.uname()
        return json_response({
            "Platform": {"Name": "hithe Engine"},
            "Components": [{"Name": "Engine", "Version": __version__, "Details": {
                "ApiVersion": API_VERSION, "MinAPIVersion": MIN_API_VERSION, "Os": "linux",
                "Arch": host_arch(), "KernelVersion": uname.release, "GitCommit": "",
                "GoVersion": "python" + platform.python_version(), "Experimental": "false"}}],
            "Version": __version__, "ApiVersion": API_VERSION, "MinAPIVersion": MIN_API_VERSION,
            "GitCommit": "", "GoVersion": "python" + platform.python_version(), "Os": "linux",
            "Arch": host_arch(), "KernelVersion": uname.release, "BuildTime": "",
        })

    async def info(req: Request) -> Response:
        running, paused, stopped = eng.containers.running_count()
        uname = os.uname()
        cfg = eng.config
        mem = 0
        try:
            with open("/proc/meminfo") as f:
                mem = int(f.readline().split()[1]) * 1024
        except OSError:
            pass
        return json_response({
            "ID": eng.config.instance, "Containers": running + paused + stopped, "ContainersRunning": running,
            "ContainersPaused": paused, "ContainersStopped": stopped, "Images": len(eng.images.list()),
            "Driver": "overlay2", "DriverStatus": [["Backing Filesystem", "extfs"]],
            "Plugins": {"Volume": ["local"], "Network": ["bridge", "host", "none"], "Authorization": None,
                        "Log": ["json-file", "k8s-file", "none"]},
            "MemoryLimit": True, "SwapLimit": True, "CpuCfsPeriod": True, "CpuCfsQuota": True,
            "CPUShares": True, "CPUSet": True, "PidsLimit": True, "IPv4Forwarding": True,
            "Debug": cfg.log_level == "debug", "NFd": len(os.listdir("/proc/self/fd")),
            "NGoroutines": 0, "SystemTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "LoggingDriver": "json-file", "CgroupDriver": "cgroupfs", "CgroupVersion": _cgroup_version(),
            "NEventsListener": 0, "KernelVersion": uname.release, "OperatingSystem": _os_name(),
            "OSVersion": "", "OSType": "linux", "Architecture": platform.machine(),
            "IndexServerAddress": "https://index.docker.io/v1/",
            "RegistryConfig": {"InsecureRegistryCIDRs": ["127.0.0.0/8"], "IndexConfigs": {},
                               "Mirrors": cfg.registry_mirrors},
            "NCPU": os.cpu_count() or 1, "MemTotal": mem, "DockerRootDir": cfg.data_root,
            "Name": uname.nodename, "Labels": [], "ExperimentalBuild": False, "ServerVersion": __version__,
            "Runtimes": {"runc": {"path": "runc"}}, "DefaultRuntime": "runc", "LiveRestoreEnabled": True,
            "Isolation": "", "InitBinary": "docker-init", "SecurityOptions": ["name=seccomp,profile=builtin"],
            "Warnings": None,
        })

    async def events(req: Request) -> Response:
        filters = parse_filters(req.json_arg("filters"))
        since = req.time_arg("since")
        until = req.time_arg("until")

        async def stream() -> AsyncIterator[bytes]:
            yield b""
            async for ev in eng.events.stream(since_ns=since, until_ns=until, filters=filters):
                yield json.dumps(ev.to_json()).encode() + b"\n"
        return Response(stream=stream())

    async def df(req: Request) -> Response:
        return json_response(await disk_usage(eng))

    r.add("GET", "/system/df", df)
    r.add("GET", "/_ping", ping)
    r.add("GET", "/version", version)
    r.add("GET", "/info", info)
    r.add("GET", "/events", events)


def _cgroup_version() -> str:
    return "2" if os.path.exists("/sys/fs/cgroup/cgroup.controllers") else "1"


def _os_name() -> str:
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return "Linux"
