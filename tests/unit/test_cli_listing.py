"""ps / images / inspect / events / logs / version: command -> API request mapping
and output, checked against what the docker CLI (28.2) sends and prints."""
from __future__ import annotations

import json
import os

import pytest

from hithe.cli import main as cli_main
from hithe.client.stream import frame
from tests.cli_fakes import CID, FakeDaemon, reply
from tests.cli_fakes import fake_daemon  # noqa: F401  (the "daemon" fixture)


def test_logs_demux_and_params(daemon: FakeDaemon, capfd) -> None:
    daemon.on("GET", "containers/web/json", reply(200, {"Id": CID, "Config": {"Tty": False}}))
    daemon.on("GET", f"containers/{CID}/logs", reply(200, raw=frame(1, b"a\n") + frame(2, b"b\n")))
    assert cli_main.main(["logs", "-n", "5", "-t", "--since", "2024-01-01T00:00:00Z", "web"]) == 0
    assert capfd.readouterr() == ("a\n", "b\n")
    assert daemon.requests[1].query == {"since": ["1704067200.000000000"], "stderr": ["1"], "stdout": ["1"],
                                        "tail": ["5"], "timestamps": ["1"]}


PS_JSON = [
    {"Id": "eb5a23ec82906a73d05e2b9e7a394874977a25657d1aff1f42835e7c8f73d866", "Names": ["/web"],
     "Image": "busybox", "ImageID": "sha256:730ad1c6aa3a", "Command": "sh -c 'echo out; echo err >&2; exit 3'",
     "Created": 1000, "Ports": [{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
                                {"PrivatePort": 443, "Type": "tcp"}, {"PrivatePort": 444, "Type": "tcp"}],
     "Labels": {"b": "2", "a": "1"}, "State": "running", "Status": "Up 5 minutes",
     "NetworkSettings": {"Networks": {"bridge": {}}}, "Mounts": []},
]


def test_ps_table_and_params(daemon: FakeDaemon, capfd, monkeypatch) -> None:
    import time
    monkeypatch.setattr(time, "time", lambda: 1000 + 600)
    daemon.on("GET", "containers/json", reply(200, PS_JSON))
    assert cli_main.main(["ps", "-a", "--filter", "status=running", "-f", "label=a"]) == 0
    assert capfd.readouterr().out == (
        "CONTAINER ID   IMAGE     COMMAND                  CREATED          STATUS         "
        "PORTS                               NAMES\n"
        "eb5a23ec8290   busybox   \"sh -c 'echo out; ec…\"   10 minutes ago   Up 5 minutes   "
        "443-444/tcp, 0.0.0.0:8080->80/tcp   web\n")
    q = daemon.requests[0].query
    assert q["all"] == ["1"]
    assert json.loads(q["filters"][0]) == {"status": {"running": True}, "label": {"a": True}}


def test_ps_quiet_format_and_json(daemon: FakeDaemon, capfd) -> None:
    daemon.on("GET", "containers/json", reply(200, PS_JSON))
    assert cli_main.main(["ps", "-q"]) == 0
    assert capfd.readouterr().out == "eb5a23ec8290\n"
    assert cli_main.main(["ps", "--format", "{{.Names}} {{.Label \"a\"}} {{.Labels}} {{.State}}"]) == 0
    assert capfd.readouterr().out == "web 1 a=1,b=2 running\n"
    assert cli_main.main(["ps", "--format", "{{json .}}"]) == 0
    data = json.loads(capfd.readouterr().out)
    assert sorted(data) == ["Command", "CreatedAt", "ID", "Image", "Labels", "LocalVolumes", "Mounts",
                            "Names", "Networks", "Platform", "Ports", "RunningFor", "Size", "State", "Status"]
    assert daemon.requests[-1].query.get("size") == ["1"]  # {{json .}} reads .Size
    assert cli_main.main(["ps", "-n", "2", "--no-trunc", "-q"]) == 0
    assert capfd.readouterr().out == PS_JSON[0]["Id"] + "\n"
    assert daemon.requests[-1].query == {"all": ["1"], "limit": ["2"]}


IMAGES_JSON = [
    {"Id": "sha256:" + "a" * 64, "RepoTags": ["busybox:latest", "busybox:1"],
     "RepoDigests": ["busybox@sha256:" + "d" * 64], "Created": 1000, "Size": 1984000, "Containers": -1},
    {"Id": "sha256:" + "b" * 64, "RepoTags": [], "RepoDigests": [], "Created": 1000, "Size": 10},
]


def test_images_rows(daemon: FakeDaemon, capfd, monkeypatch) -> None:
    import time
    monkeypatch.setattr(time, "time", lambda: 1000 + 3 * 86400)
    daemon.on("GET", "images/json", reply(200, IMAGES_JSON))
    assert cli_main.main(["images"]) == 0
    assert capfd.readouterr().out == (
        "REPOSITORY   TAG       IMAGE ID       CREATED      SIZE\n"
        "busybox      latest    aaaaaaaaaaaa   3 days ago   1.98MB\n"
        "busybox      1         aaaaaaaaaaaa   3 days ago   1.98MB\n"
        "<none>       <none>    bbbbbbbbbbbb   3 days ago   10B\n")
    assert cli_main.main(["images", "--digests", "--format", "{{.Repository}}:{{.Tag}}@{{.Digest}}",
                          "busybox"]) == 0
    assert capfd.readouterr().out == (f"busybox:latest@sha256:{'d' * 64}\nbusybox:1@sha256:{'d' * 64}\n"
                                      "<none>:<none>@<none>\n")
    assert json.loads(daemon.requests[-1].query["filters"][0]) == {"reference": {"busybox": True}}


@pytest.fixture
def utc():
    import time
    saved = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if saved is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = saved
    time.tzset()


def test_events_format(daemon: FakeDaemon, capfd, utc) -> None:
    msgs = [{"status": "start", "id": CID, "from": "busybox", "Type": "container", "Action": "start",
             "Actor": {"ID": CID, "Attributes": {"name": "foo", "image": "busybox"}},
             "scope": "local", "time": 1714558830, "timeNano": 1714558830123456789}]
    daemon.on("GET", "events", reply(200, raw="\n".join(json.dumps(m) for m in msgs).encode() + b"\n"))
    assert cli_main.main(["events", "--since", "1714558000", "--until", "1714559000"]) == 0
    assert capfd.readouterr().out == (
        f"2024-05-01T10:20:30.123456789Z container start {CID} (image=busybox, name=foo)\n")
    assert daemon.requests[0].query == {"since": ["1714558000"], "until": ["1714559000"]}
    assert cli_main.main(["events", "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}} {{.Status}}"]) == 0
    assert capfd.readouterr().out == "container start foo start\n"


def test_inspect_json_and_not_found(daemon: FakeDaemon, capfd) -> None:
    daemon.on("GET", "containers/*/json", reply(404, {"message": "No such container"}))
    daemon.on("GET", "containers/web/json", reply(200, {"Id": CID, "Name": "/web", "Cmd": "<&>"}))
    daemon.on("GET", "images/*/json", reply(404, {"message": "No such image"}))
    daemon.on("GET", "networks/*", reply(404, {"message": "no such network"}))
    daemon.on("GET", "volumes/*", reply(404, {"message": "no such volume"}))
    assert cli_main.main(["inspect", "web", "ghost"]) == 1
    out, err = capfd.readouterr()
    assert out == ('[\n    {\n        "Id": "' + CID + '",\n        "Name": "/web",\n'
                   '        "Cmd": "\\u003c\\u0026\\u003e"\n    }\n]\n')
    assert err == "Error: No such object: ghost\n"
    assert cli_main.main(["container", "inspect", "-f", "{{.Name}}", "web"]) == 0
    assert capfd.readouterr().out == "/web\n"


def test_version_output(daemon: FakeDaemon, capfd) -> None:
    daemon.on("GET", "version", reply(200, {
        "Platform": {"Name": "hithe"}, "Version": "0.1.0", "ApiVersion": "1.45", "MinAPIVersion": "1.24",
        "Components": [{"Name": "Engine", "Version": "0.1.0", "Details": {
            "ApiVersion": "1.45", "MinAPIVersion": "1.24", "GoVersion": "python3.11", "GitCommit": "abc",
            "BuildTime": "2024-05-01T10:20:30.000000000+00:00", "Os": "linux", "Arch": "amd64",
            "Experimental": "false"}}]}))
    assert cli_main.main(["version"]) == 0
    out = capfd.readouterr().out
    assert out.startswith("Client:\n Version:           ")
    assert "\nServer: hithe\n Engine:\n  Version:          0.1.0\n" in out
    assert "  API version:      1.45 (minimum version 1.24)\n" in out
    assert "  Built:            Wed May  1 10:20:30 2024\n" in out
    assert cli_main.main(["version", "--format", "{{.Server.Version}}"]) == 0
    assert capfd.readouterr().out == "0.1.0\n"
