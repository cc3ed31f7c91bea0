"""``exec``: POST /containers/{id}/exec, then hijack POST /exec/{id}/start,
pump like ``run``, resize through /exec/{id}/resize, and exit with the
ExitCode from GET /exec/{id}/json (docker's exec.go)."""
from __future__ import annotations

TYPE_CHECKING = False  # typing costs ~5 ms at start-up; annotations are strings anyway
if TYPE_CHECKING:
    from typing import Any

from hithe.cli.command import BIN, Cli, Command, StatusError
from hithe.cli.flags import BOOL, LIST, Flag, Values
from hithe.cli.opts_parse import read_kv_file, validate_env


def exec_config(o: Values, cmd: list[str], tty_size: tuple[int, int] = (0, 0)) -> dict[str, Any]:
    env: list[str] = []
    for path in o["env-file"]:
        env += read_kv_file(path, lookup_env=True)
    env += o["env"]
    body: dict[str, Any] = {"User": o["user"], "Privileged": o["privileged"], "Tty": o["tty"]}
    if o["tty"] and any(tty_size):
        body["ConsoleSize"] = list(tty_size)
    body.update({
        "AttachStdin": o["interactive"] and not o["detach"],
        "AttachStderr": not o["detach"], "AttachStdout": not o["detach"],
        "Detach": o["detach"], "DetachKeys": o["detach-keys"], "Env": env or None,
        "WorkingDir": o["workdir"], "Cmd": cmd,
    })
    return body


def run_exec(cli: Cli, o: Values, args: list[str]) -> int:
    from hithe.cli.streams import terminal_size

    client = cli.client
    size = terminal_size() if o["tty"] and cli.stdout_is_tty() else (0, 0)
    try:
        body = exec_config(o, args[1:], size)
    except ValueError as exc:
        raise StatusError(1, str(exc)) from None
    client.get_json(f"/containers/{args[0]}/json")  # docker checks the container first
    if not o["detach"] and body["AttachStdin"] and body["Tty"] and not cli.stdin_is_tty():
        raise StatusError(1, "the input device is not a TTY")
    resp = client.post_json(f"/containers/{args[0]}/exec", None, body) or {}
    exec_id = resp.get("Id") or ""
    if not exec_id:
        raise StatusError(1, "exec ID empty")
    start: dict[str, Any] = {"Detach": o["detach"], "Tty": o["tty"]}
    if "ConsoleSize" in body:
        start["ConsoleSize"] = body["ConsoleSize"]
    if o["detach"]:
        client.post(f"/exec/{exec_id}/start", None, start)
        return 0
    from hithe.cli.container_run import stream_session

    hj = client.hijack("POST", f"/exec/{exec_id}/start", json_body=start)
    status = stream_session(cli, hj, exec_id, stdin=body["AttachStdin"], stdout=True, stderr=True,
                            tty=o["tty"], detach_keys=o["detach-keys"],
                            resize_path=f"/exec/{exec_id}/resize")
    if status == "detached":
        return 0
    info = client.get_json(f"/exec/{exec_id}/json") or {}
    code = info.get("ExitCode")
    if info.get("Running"):
        return 0
    return int(code or 0)


EXEC = Command("exec [OPTIONS] CONTAINER COMMAND [ARG...]", "Execute a command in a running container", [
    Flag("detach", "d", BOOL, help="Detached mode: run command in the background"),
    Flag("detach-keys", help="Override the key sequence for detaching a container"),
    Flag("env", "e", LIST, parse=validate_env, help="Set environment variables"),
    Flag("env-file", "", LIST, help="Read in a file of environment variables"),
    Flag("interactive", "i", BOOL, help="Keep STDIN open even if not attached"),
    Flag("privileged", "", BOOL, help="Give extended privileges to the command"),
    Flag("tty", "t", BOOL, help="Allocate a pseudo-TTY"),
    Flag("user", "u", help="Username or UID (format: \"<name|uid>[:<group|gid>]\")"),
    Flag("workdir", "w", help="Working directory inside the container"),
], run_exec, args=("min", 2), interspersed=False, aliases=f"{BIN} container exec, {BIN} exec")
