"""hithe build: the classic builder's client (the context as a tar, the daemon's JSON stream shown)."""
from __future__ import annotations

import os
import sys
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

from hithe.cli.command import BIN, Cli, Command, StatusError
from hithe.cli.flags import BOOL, LIST, Flag, Values
from hithe.client import jsonc
from hithe.client.errors import StreamError


def _kv(items: list[str], from_env: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for it in items:
        k, eq, v = it.partition("=")
        if eq:
            out[k] = v
        elif from_env:
            if k in os.environ:
                out[k] = os.environ[k]
            else:
                out[k] = None
        else:
            out[k] = ""
    return out


def _registry_config() -> str:
    import base64
    from hithe.cli.registry_cmds import load_config
    auths = {}
    for server, entry in (load_config().get("auths") or {}).items():
        if entry.get("auth"):
            user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
            auths[server] = {"username": user, "password": password, "serveraddress": server}
        elif entry.get("identitytoken"):
            auths[server] = {"identitytoken": entry["identitytoken"], "serveraddress": server}
    return base64.urlsafe_b64encode(jsonc.dumps(auths).encode()).decode()


def _body(context: str, dockerfile: str, quiet: bool) -> tuple[Any, str]:
    """(the request body, the dockerfile parameter)."""
    import secrets
    import tempfile
    from hithe.build.context_tar import write_context

    if context == "-":
        if dockerfile and dockerfile != "-":
            pass
        data = sys.stdin.buffer.read()
        return [data], dockerfile or ""
    if not os.path.isdir(context):
        raise StatusError(1, f'unable to prepare context: path "{context}" not found')
    extra: tuple[tuple[str, bytes], ...] = ()
    name = "Dockerfile"
    if dockerfile == "-":
        name = f".dockerfile.{secrets.token_hex(10)}"
        extra = ((name, sys.stdin.buffer.read()),)
    elif dockerfile:
        path = os.path.abspath(dockerfile if os.path.isabs(dockerfile) or os.path.exists(dockerfile)
                               else os.path.join(context, dockerfile))
        if not os.path.exists(path):
            raise StatusError(1, f"unable to prepare context: unable to evaluate symlinks in Dockerfile "
                                 f"path: lstat {path}: no such file or directory")
        rel = os.path.relpath(os.path.realpath(path), os.path.realpath(context))
        if rel.startswith(".."):
            # outside the context: sent along under a random name, as the docker CLI does
            name = f".dockerfile.{secrets.token_hex(10)}"
            with open(path, "rb") as f:
                extra = ((name, f.read()),)
        else:
            name = rel
    elif not os.path.exists(os.path.join(context, "Dockerfile")):
        if not os.path.exists(os.path.join(context, "dockerfile")):
            raise StatusError(1, "unable to prepare context: unable to evaluate symlinks in Dockerfile path: "
                                 f"lstat {os.path.join(os.path.abspath(context), 'Dockerfile')}: no such file or directory")
        name = "dockerfile"
    spool = tempfile.TemporaryFile()
    try:
        write_context(context, spool, keep=(name,), extra=extra)
    except OSError as e:
        raise StatusError(1, str(e)) from None
    if not quiet:
        from hithe.cli.formatters import human_size
        sys.stdout.write(f"Sending build context to Docker daemon  {human_size(spool.tell())}\n")
        sys.stdout.flush()
    spool.seek(0)

    def chunks() -> Any:
        while True:
            b = spool.read(1 << 16)
            if not b:
                spool.close()
                return
            yield b
    return chunks(), name


def run_build(cli: Cli, o: Values, args: list[str]) -> int:
    from hithe.cli import progress

    quiet = bool(o["quiet"])
    for t in o["tag"] or []:
        from hithe.errors import InvalidParameter
        from hithe.images.reference import parse_reference
        try:
            parse_reference(t)
        except InvalidParameter as e:
            raise StatusError(125, f'invalid argument "{t}" for "-t, --tag" flag: {e}') from None
    body, dockerfile = _body(args[0], o["file"] or "", quiet)
    params: dict[str, Any] = {
        "t": list(o["tag"] or []) or None, "dockerfile": dockerfile or None,
        "buildargs": jsonc.dumps(_kv(o["build-arg"] or [], True)) if o["build-arg"] else None,
        "labels": jsonc.dumps(_kv(o["label"] or [], False)) if o["label"] else None,
        "target": o["target"] or None, "nocache": "1" if o["no-cache"] else None,
        "q": "1" if quiet else None, "rm": "1" if o["rm"] else "0",
        "forcerm": "1" if o["force-rm"] else None, "pull": "1" if o["pull"] else None,
    }
    headers = {"Content-Type": "application/x-tar", "X-Registry-Config": _registry_config()}
    resp = cli.client.request("POST", "/build", params, body=body, headers=headers)
    ids: list[str] = []
    out = open(os.devnull, "w") if quiet else sys.stdout
    try:
        progress.display(resp.iter_json(), out, terminal=False,
                         aux=lambda a: ids.append(a.get("ID", "")) if isinstance(a, dict) else None)
    except StreamError as exc:
        raise StatusError(1, exc.message) from None
    finally:
        if quiet:
            out.close()
    if quiet and ids:
        print(ids[-1])
    if o["iidfile"] and ids:
        with open(o["iidfile"], "w") as f:
            f.write(ids[-1])
    return 0


BUILD = Command("build [OPTIONS] PATH | URL | -", "Build an image from a Dockerfile", [
    Flag("build-arg", kind=LIST, help="Set build-time variables"),
    Flag("file", "f", help="Name of the Dockerfile (Default is 'PATH/Dockerfile')"),
    Flag("force-rm", kind=BOOL, help="Always remove intermediate containers"),
    Flag("iidfile", help="Write the image ID to the file"),
    Flag("label", kind=LIST, help="Set metadata for an image"),
    Flag("no-cache", kind=BOOL, help="Do not use cache when building the image"),
    Flag("pull", kind=BOOL, help="Always attempt to pull a newer version of the image"),
    Flag("quiet", "q", BOOL, help="Suppress the build output and print image ID on success"),
    Flag("rm", kind=BOOL, default=True, help="Remove intermediate containers after a successful build"),
    Flag("tag", "t", LIST, help="Name and optionally a tag in the 'name:tag' format"),
    Flag("target", help="Set the target build stage to build."),
], run_build, args=("exact", 1), aliases=f"{BIN} image build, {BIN} build")
