"""``run``, ``create``, ``start`` and ``attach``: the docker CLI's run.go/create.go/
start.go/attach.go flows over the Engine API.

``run``: create (pulling the image on a 404 like docker), hijack the attach
stream *before* start, register the wait (``next-exit``, or ``removed`` with
--rm) before start too, start, resize, pump, and exit with the container's
status code.  Errors follow docker's wording and exit codes (125 daemon or
usage, 126 not executable, 127 not found).
"""
from __future__ import annotations

import os
TYPE_CHECKING = False  # typing costs ~5 ms at start-up; annotations are strings anyway
if TYPE_CHECKING:
    from typing import Any

from hithe.cli.command import BIN, Cli, Command, StatusError
from hithe.cli.container_opts import CONTAINER_FLAGS, CREATE_ONLY, build_config
from hithe.cli.flags import BOOL, Flag, Values
from hithe.client.errors import APIError, ClientError

PULL_CHOICES = ("always", "missing", "never")


def report_error(cmd: str, message: str, with_help: bool = True) -> str:
    """docker's reportError text: "hithe: MSG" plus the help hint."""
    text = f"{BIN}: {message}"
    if with_help:
        text += f"\n\nRun '{BIN} {cmd} --help' for more information"
    return text


def start_error_status(message: str) -> int:
    """runStartContainerErr: 127 not found, 126 not executable, 125 otherwise."""
    msg = message.removeprefix("Error response from daemon: ")
    if ("executable file not found" in msg or "no such file or directory" in msg
            or "system cannot find the file specified" in msg):
        return 127
    if "permission denied" in msg or "is a directory" in msg:
        return 126
    return 125


def _cmd_name(cli: Cli) -> str:
    return cli.path.removeprefix(BIN + " ")


# -- create ---------------------------------------------------------------------

def create_container(cli: Cli, o: Values, body: dict[str, Any]) -> str:
    """POST /containers/create with docker's pull-on-missing behaviour; returns the ID."""
    client = cli.client
    cidfile = o["cidfile"]
    if cidfile and os.path.exists(cidfile):
        raise ClientError(f"container ID file found, make sure the other container isn't "
                          f"running or delete {cidfile}")
    image = body["Image"]
    pull = o["pull"]
    params = {"name": o["name"] or None, "platform": o["platform"] or None}
    # The reference is parsed only when a pull needs it (importing the parser
    # costs ~7 ms); otherwise the daemon judges it, with docker's wording.
    ref = _named_ref(image) if pull == "always" else None
    if ref is not None:
        _pull(cli, o, ref)
    try:
        resp = client.post_json("/containers/create", params, body)
    except APIError as exc:
        if exc.status == 400 and exc.message.startswith("invalid reference format"):
            raise ClientError(exc.message) from None  # docker's CLI words it without the prefix
        if not (exc.status == 404 and pull == "missing" and exc.message.startswith("No such image")):
            raise  # another missing thing (a network) is not a reason to pull
        ref = _named_ref(image)
        if ref is None:
            raise
        cli.err(f"Unable to find image '{ref.familiar()}' locally")
        _pull(cli, o, ref)
        resp = client.post_json("/containers/create", params, body)
    for warning in resp.get("Warnings") or []:
        cli.err(f"WARNING: {warning}")
    cid = resp["Id"]
    if cidfile:
        try:
            with open(cidfile, "w") as fh:
                fh.write(cid)
        except OSError as exc:
            raise ClientError(f"failed to write the container ID to the file: {exc}") from None
    return cid


def _named_ref(image: str) -> Any:
    """The normalised reference to pull, or None for an image ID (never pulled)."""
    from hithe.errors import InvalidParameter
    from hithe.images.reference import is_full_id, looks_like_id_prefix, parse_reference

    if image.startswith("sha256:") or is_full_id(image):
        return None
    try:
        return parse_reference(image)
    except InvalidParameter:
        if looks_like_id_prefix(image):
            return None
        raise ClientError(f"invalid reference format: {image}") from None


def _pull(cli: Cli, o: Values, ref: Any) -> None:
    import sys

    from hithe.cli.registry_cmds import pull_image

    pull_image(cli, ref, platform=o["platform"], out=None if o["quiet"] else sys.stderr)


def _config_or_error(o: Values, args: list[str], cmd: str) -> dict[str, Any]:
    from hithe.cli.streams import terminal_size

    if o["pull"] not in PULL_CHOICES:
        raise StatusError(125, report_error(
            cmd, f"invalid pull option: '{o['pull']}': must be one of \"always\", \"missing\" or \"never\""))
    size = terminal_size() if o["tty"] else (0, 0)
    try:
        return build_config(o, args[0], args[1:], tty_size=size)
    except ValueError as exc:
        raise StatusError(125, report_error(cmd, str(exc))) from None


def run_create(cli: Cli, o: Values, args: list[str]) -> int:
    body = _config_or_error(o, args, _cmd_name(cli))
    try:
        cid = create_container(cli, o, body)
    except ClientError as exc:
        raise StatusError(125, report_error(_cmd_name(cli), str(exc))) from None
    cli.out(cid)
    return 0


# -- run ------------------------------------------------------------------------

def run_run(cli: Cli, o: Values, args: list[str]) -> int:
    cmd = _cmd_name(cli)
    body = _config_or_error(o, args, cmd)
    detach = o["detach"]
    if not detach:
        if body["AttachStdin"] and body["Tty"] and not cli.stdin_is_tty():
            raise StatusError(1, "the input device is not a TTY")
    else:
        if o["attach"]:
            raise StatusError(1, "conflicting options: cannot specify both --attach and --detach")
        body.update(AttachStdin=False, AttachStdout=False, AttachStderr=False, StdinOnce=False)
    client = cli.client
    try:
        cid = create_container(cli, o, body)
    except ClientError as exc:
        raise StatusError(start_error_status(str(exc)), report_error(cmd, str(exc))) from None

    restore_signals = None
    if o["sig-proxy"] and not detach:
        from hithe.cli.streams import forward_signals
        restore_signals = forward_signals(
            lambda sig: client.post(f"/containers/{cid}/kill", {"signal": sig}))
    try:
        return _attach_start_wait(cli, o, body, cid, cmd, detach)
    finally:
        if restore_signals is not None:
            restore_signals()


def _attach_start_wait(cli: Cli, o: Values, body: dict[str, Any], cid: str, cmd: str,
                       detach: bool) -> int:
    client = cli.client
    stdin, stdout, stderr = body["AttachStdin"], body["AttachStdout"], body["AttachStderr"]
    tty = body["Tty"]
    hj = None
    if stdin or stdout or stderr:
        params = {"stream": "1", "stdin": "1" if stdin else None, "stdout": "1" if stdout else None,
                  "stderr": "1" if stderr else None, "detachKeys": o["detach-keys"] or None}
        hj = client.hijack("POST", f"/containers/{cid}/attach", params)
    wait_resp = None
    if not detach:
        condition = "removed" if o["rm"] else "next-exit"
        wait_resp = client.request("POST", f"/containers/{cid}/wait", {"condition": condition})
    try:
        client.post(f"/containers/{cid}/start")
    except APIError as exc:
        if hj is not None:
            hj.close()
        if o["rm"] and wait_resp is not None:
            # docker waits for the daemon to remove the container; bound it so a
            # daemon that keeps the failed container cannot hang the CLI
            try:
                if wait_resp.sock is not None:
                    wait_resp.sock.settimeout(10)
                wait_resp.read()
            except (ClientError, OSError):
                pass
        raise StatusError(start_error_status(str(exc)), report_error(cmd, str(exc))) from None
    if detach or not (stdout or stderr):
        cli.out(cid)
        if hj is None:
            return 0
    status = stream_session(cli, hj, cid, stdin=stdin, stdout=stdout, stderr=stderr, tty=tty,
                            detach_keys=o["detach-keys"], resize_path=f"/containers/{cid}/resize")
    if status == "detached" or wait_resp is None:
        return 0
    return wait_status(wait_resp)


def stream_session(cli: Cli, hj: Any, cid: str, *, stdin: bool, stdout: bool, stderr: bool,
                   tty: bool, detach_keys: str, resize_path: str) -> str:
    """Raw terminal + resize + pump; "detached" or "done"."""
    from hithe.cli.streams import RawTerminal, ResizeMonitor, pump

    client = cli.client
    raw = RawTerminal() if (stdin and tty and cli.stdin_is_tty()) else None
    monitor = None
    if tty and cli.stdout_is_tty():
        monitor = ResizeMonitor(lambda h, w: client.post(resize_path, {"h": h, "w": w}))
        monitor.initial()
        monitor.start()
    err_fd = 1 if tty else 2  # a TTY merges stderr into stdout
    try:
        if raw is not None:
            raw.__enter__()
        try:
            detached = pump(hj, stdin=stdin, tty=tty, out_fd=1 if stdout else None,
                            err_fd=err_fd if stderr else None, detach_keys=detach_keys, raw=raw)
        finally:
            if raw is not None:
                raw.restore()
    finally:
        hj.close()
        if monitor is not None:
            monitor.stop()
    return "detached" if detached else "done"


def wait_status(resp: Any) -> int:
    try:
        result = resp.json() or {}
    except (ClientError, OSError, ValueError) as exc:
        import sys
        sys.stderr.write(f"error waiting for container: {exc}\n")
        return 125
    err = result.get("Error")
    if err and err.get("Message"):
        import sys
        sys.stderr.write(f"Error waiting for container: {err['Message']}\n")
        return 125
    return int(result.get("StatusCode", 0))


# -- start / attach ---------------------------------------------------------------

def run_start(cli: Cli, o: Values, args: list[str]) -> int:
    client = cli.client
    if o["attach"] or o["interactive"]:
        if len(args) > 1:
            raise StatusError(1, "you cannot start and attach multiple containers at once")
        info = client.get_json(f"/containers/{args[0]}/json")
        cid, tty = info["Id"], bool(info["Config"].get("Tty"))
        stdin = bool(o["interactive"] and info["Config"].get("OpenStdin"))
        params = {"stream": "1", "stdin": "1" if stdin else None, "stdout": "1", "stderr": "1",
                  "detachKeys": o["detach-keys"] or None}
        restore = None
        if not tty:
            from hithe.cli.streams import forward_signals
            restore = forward_signals(
                lambda sig: client.post(f"/containers/{cid}/kill", {"signal": sig}))
        try:
            hj = client.hijack("POST", f"/containers/{cid}/attach", params)
            auto_remove = bool((info.get("HostConfig") or {}).get("AutoRemove"))
            wait_resp = client.request("POST", f"/containers/{cid}/wait",
                                       {"condition": "removed" if auto_remove else "next-exit"})
            try:
                client.post(f"/containers/{cid}/start")
            except APIError:
                hj.close()
                raise
            status = stream_session(cli, hj, cid, stdin=stdin, stdout=True, stderr=True, tty=tty,
                                    detach_keys=o["detach-keys"],
                                    resize_path=f"/containers/{cid}/resize")
            if status == "detached":
                return 0
            return wait_status(wait_resp)
        finally:
            if restore is not None:
                restore()
    failed = []
    for name in args:
        try:
            client.post(f"/containers/{name}/start")
        except APIError as exc:
            cli.err(str(exc))
            failed.append(name)
            continue
        cli.out(name)
    if failed:
        raise StatusError(1, f"Error: failed to start containers: {', '.join(failed)}")
    return 0


def run_attach(cli: Cli, o: Values, args: list[str]) -> int:
    client = cli.client
    info = client.get_json(f"/containers/{args[0]}/json")
    state = info.get("State") or {}
    if not state.get("Running"):
        raise StatusError(1, "You cannot attach to a stopped container, start it first")
    if state.get("Paused"):
        raise StatusError(1, "You cannot attach to a paused container, unpause it first")
    if state.get("Restarting"):
        raise StatusError(1, "You cannot attach to a restarting container, wait until it is running")
    cid, tty = info["Id"], bool(info["Config"].get("Tty"))
    stdin = not o["no-stdin"] and bool(info["Config"].get("OpenStdin"))
    if stdin and tty and not cli.stdin_is_tty():
        raise StatusError(1, "the input device is not a TTY")
    restore = None
    if o["sig-proxy"] and not tty:
        from hithe.cli.streams import forward_signals
        restore = forward_signals(lambda sig: client.post(f"/containers/{cid}/kill", {"signal": sig}))
    try:
        wait_resp = client.request("POST", f"/containers/{cid}/wait")
        params = {"stream": "1", "stdin": "1" if stdin else None, "stdout": "1", "stderr": "1",
                  "detachKeys": o["detach-keys"] or None}
        hj = client.hijack("POST", f"/containers/{cid}/attach", params)
        status = stream_session(cli, hj, cid, stdin=stdin, stdout=True, stderr=True, tty=tty,
                                detach_keys=o["detach-keys"], resize_path=f"/containers/{cid}/resize")
    finally:
        if restore is not None:
            restore()
    if status == "detached":
        return 0
    return wait_status(wait_resp)


RUN_ONLY = [
    Flag("detach", "d", BOOL, help="Run container in background and print container ID"),
    Flag("detach-keys", help="Override the key sequence for detaching a container"),
    Flag("sig-proxy", "", BOOL, default=True, help="Proxy received signals to the process"),
]

RUN = Command("run [OPTIONS] IMAGE [COMMAND] [ARG...]", "Create and run a new container from an image",
              RUN_ONLY + CREATE_ONLY + CONTAINER_FLAGS, run_run, args=("min", 1), interspersed=False,
              aliases=f"{BIN} container run, {BIN} run")
CREATE = Command("create [OPTIONS] IMAGE [COMMAND] [ARG...]", "Create a new container",
                 CREATE_ONLY + CONTAINER_FLAGS, run_create, args=("min", 1), interspersed=False,
                 aliases=f"{BIN} container create, {BIN} create")
START = Command("start [OPTIONS] CONTAINER [CONTAINER...]", "Start one or more stopped containers", [
    Flag("attach", "a", BOOL, help="Attach STDOUT/STDERR and forward signals"),
    Flag("detach-keys", help="Override the key sequence for detaching a container"),
    Flag("interactive", "i", BOOL, help="Attach container's STDIN"),
], run_start, args=("min", 1), aliases=f"{BIN} container start, {BIN} start")
ATTACH = Command("attach [OPTIONS] CONTAINER",
                 "Attach local standard input, output, and error streams to a running container", [
    Flag("detach-keys", help="Override the key sequence for detaching a container"),
    Flag("no-stdin", "", BOOL, help="Do not attach STDIN"),
    Flag("sig-proxy", "", BOOL, default=True, help="Proxy all received signals to the process"),
], run_attach, args=("exact", 1), aliases=f"{BIN} container attach, {BIN} attach")
