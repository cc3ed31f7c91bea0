"""Commands that change containers and images (rmi, tag, import, stop, rm, wait,
kill, container prune, pause), and the CLI's way in: daemon errors, entry points.
Checked against what the docker CLI (28.2) sends and prints."""
from __future__ import annotations

import os

from hithe.cli import main as cli_main
from tests.cli_fakes import FakeDaemon, reply
from tests.cli_fakes import fake_daemon  # noqa: F401  (the "daemon" fixture)


def test_rmi_output_and_errors(daemon: FakeDaemon, capfd) -> None:
    daemon.on("DELETE", "images/busybox", reply(200, [{"Untagged": "busybox:latest"},
                                                      {"Deleted": "sha256:" + "a" * 64}]))
    daemon.on("DELETE", "images/nope", reply(404, {"message": "No such image: nope:latest"}))
    assert cli_main.main(["rmi", "-f", "busybox", "nope"]) == 1
    out, err = capfd.readouterr()
    assert out == f"Untagged: busybox:latest\nDeleted: sha256:{'a' * 64}\n"
    assert err == "Error response from daemon: No such image: nope:latest\n"
    assert daemon.requests[0].query == {"force": ["1"]}


def test_tag_and_import_requests(daemon: FakeDaemon, capfd, tmp_path) -> None:
    daemon.on("POST", "images/busybox/tag", reply(201))
    assert cli_main.main(["tag", "busybox", "b"]) == 0
    assert daemon.requests[0].query == {"repo": ["docker.io/library/b"], "tag": ["latest"]}
    tar = tmp_path / "rootfs.tar"
    tar.write_bytes(b"x" * 200000)
    daemon.on("POST", "images/create", reply(200, raw=b'{"status":"sha256:' + b"f" * 64 + b'"}\r\n'))
    assert cli_main.main(["import", "-c", 'CMD ["sh"]', "-c", "ENV A=1", "-m", "msg", str(tar), "foo:bar"]) == 0
    assert capfd.readouterr().out == "sha256:" + "f" * 64 + "\n"
    imp = daemon.requests[1]
    assert imp.query == {"changes": ['CMD ["sh"]', "ENV A=1"], "fromSrc": ["-"], "message": ["msg"],
                         "repo": ["foo:bar"]}
    assert imp.headers["transfer-encoding"] == "chunked" and len(imp.body) == 200000


def test_list_commands_collect_errors(daemon: FakeDaemon, capfd) -> None:
    daemon.on("POST", "containers/a/stop", reply(204))
    daemon.on("POST", "containers/b/stop", reply(404, {"message": "No such container: b"}))
    assert cli_main.main(["stop", "-t", "3", "a", "b"]) == 1
    assert capfd.readouterr() == ("a\n", "Error response from daemon: No such container: b\n")
    assert daemon.requests[0].query == {"t": ["3"]}
    daemon.on("DELETE", "containers/b", reply(404, {"message": "No such container: b"}))
    assert cli_main.main(["rm", "-f", "b"]) == 0  # -f: not found is reported, not an error
    assert capfd.readouterr().err == "Error response from daemon: No such container: b\n"


def test_wait_and_kill(daemon: FakeDaemon, capfd) -> None:
    daemon.on("POST", "containers/a/wait", reply(200, {"StatusCode": 137}))
    daemon.on("POST", "containers/a/kill", reply(204))
    assert cli_main.main(["wait", "a"]) == 0
    assert cli_main.main(["kill", "-s", "HUP", "a"]) == 0
    assert capfd.readouterr().out == "137\na\n"
    assert daemon.requests[1].query == {"signal": ["HUP"]}


def test_container_prune_prompt(daemon: FakeDaemon, capfd, monkeypatch) -> None:
    import io
    import sys
    monkeypatch.setattr(sys, "stdin", io.StringIO("n\n"))
    assert cli_main.main(["container", "prune"]) == 0
    assert capfd.readouterr().out == ("WARNING! This will remove all stopped containers.\n"
                                      "Are you sure you want to continue? [y/N] ")
    assert daemon.requests == []
    daemon.on("POST", "containers/prune", reply(200, {"ContainersDeleted": ["x1", "x2"], "SpaceReclaimed": 2048}))
    assert cli_main.main(["container", "prune", "-f"]) == 0
    assert capfd.readouterr().out == "Deleted Containers:\nx1\nx2\n\nTotal reclaimed space: 2.048kB\n"


def test_not_implemented_prints_daemon_message(daemon: FakeDaemon, capfd) -> None:
    daemon.on("POST", "containers/a/pause", reply(501, {"message": "pause is not implemented yet"}))
    assert cli_main.main(["pause", "a"]) == 1
    assert capfd.readouterr().err == "Error response from daemon: pause is not implemented yet\n"


# -- reaching the daemon, entry points ---------------------------------------------------

def test_unreachable_daemon_exit_1(tmp_path, monkeypatch, capfd) -> None:
    path = tmp_path / "none.sock"
    monkeypatch.setenv("HITHE_NO_AUTOSTART", "1")
    assert cli_main.main(["-H", f"unix://{path}", "ps"]) == 1
    assert capfd.readouterr().err == (f"Cannot connect to the hithe daemon at unix://{path}. "
                                      "Is the hithe daemon running?\n")


def test_python_m_entry_points() -> None:
    import subprocess
    import sys
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, HITHE_NO_AUTOSTART="1", HITHE_HOST="unix:///nonexistent/x.sock")
    for mod in ("hithe", "hithe.cli.main"):
        p = subprocess.run([sys.executable, "-m", mod, "ps"], capture_output=True, text=True, env=env, cwd=root)
        assert p.returncode == 1
        assert "Cannot connect to the hithe daemon at unix:///nonexistent/x.sock" in p.stderr
