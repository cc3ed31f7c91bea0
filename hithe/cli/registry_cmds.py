"""``pull``, ``push``, ``login``, ``logout``.

Credentials live in ``~/.hithe/config.json`` in docker's format
(``{"auths": {"registry": {"auth": base64("user:pass")}}}``) and travel to the
daemon in the ``X-Registry-Auth`` header (base64url JSON; ``e30=`` = ``{}``
when there are none, as docker sends).  ``logout`` is client-side only, like
docker's.
"""
from __future__ import annotations

import base64
import json
import os
import sys
TYPE_CHECKING = False  # typing costs ~5 ms at start-up; annotations are strings anyway
if TYPE_CHECKING:
    from typing import Any

from hithe.cli.command import BIN, Cli, Command, StatusError
from hithe.cli.flags import BOOL, Flag, Values
from hithe.client.errors import APIError, StreamError

INDEX_SERVER = "https://index.docker.io/v1/"


def config_path() -> str:
    base = os.environ.get("HITHE_CONFIG") or os.path.join(os.path.expanduser("~"), ".hithe")
    return os.path.join(base, "config.json")


def load_config() -> dict[str, Any]:
    try:
        with open(config_path()) as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return {}


def save_config(cfg: dict[str, Any]) -> None:
    path = config_path()
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(cfg, fh, indent="\t")
    os.replace(tmp, path)


def server_key(domain: str) -> str:
    """docker keys Docker Hub credentials by the legacy index URL."""
    return INDEX_SERVER if domain in ("docker.io", "index.docker.io", "") else domain


def encoded_auth(domain: str) -> str:
    entry = (load_config().get("auths") or {}).get(server_key(domain)) or {}
    auth: dict[str, str] = {}
    if entry.get("auth"):
        user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
        auth = {"username": user, "password": password, "serveraddress": server_key(domain)}
    elif entry.get("identitytoken"):
        auth = {"identitytoken": entry["identitytoken"], "serveraddress": server_key(domain)}
    return base64.urlsafe_b64encode(json.dumps(auth, separators=(",", ":")).encode()).decode()


def pull_image(cli: Cli, ref: Any, *, platform: str = "", out: Any = sys.stdout) -> None:
    """POST /images/create?fromImage=NAME&tag=TAG and show the progress on ``out``
    (None: quiet).  Raises StreamError / APIError."""
    from hithe.cli import progress

    tag = ref.digest or ref.tag or "latest"
    params = {"fromImage": ref.name, "tag": tag, "platform": platform or None}
    resp = cli.client.request("POST", "/images/create", params,
                              headers={"X-Registry-Auth": encoded_auth(ref.domain)})
    if out is None:
        for msg in cli.client.stream_json(resp):
            pass
        return
    progress.display(resp.iter_json(), out)


def _parse_ref(text: str) -> Any:
    from hithe.errors import InvalidParameter
    from hithe.images.reference import parse_reference

    try:
        return parse_reference(text, default_tag=False)
    except InvalidParameter as exc:
        raise StatusError(1, str(exc)) from None


def run_pull(cli: Cli, o: Values, args: list[str]) -> int:
    ref = _parse_ref(args[0])
    if o["all-tags"]:
        if ref.tag or ref.digest:
            raise StatusError(1, "tag can't be used with --all-tags/-a")
    elif ref.tag is None and ref.digest is None:
        ref = ref.with_tag("latest")
        if not o["quiet"]:
            cli.out("Using default tag: latest")
    try:
        pull_image(cli, ref, platform=o["platform"], out=None if o["quiet"] else sys.stdout)
    except StreamError as exc:
        raise StatusError(1, exc.message) from None
    cli.out(str(ref))
    return 0


def run_push(cli: Cli, o: Values, args: list[str]) -> int:
    from hithe.cli import progress

    ref = _parse_ref(args[0])
    if ref.tag is None and ref.digest is None and not o["all-tags"]:
        ref = ref.with_tag("latest")
        if not o["quiet"]:
            cli.out("Using default tag: latest")
    params = {"tag": ref.tag or None}
    resp = cli.client.request("POST", f"/images/{ref.familiar_name}/push", params,
                              headers={"X-Registry-Auth": encoded_auth(ref.domain)})
    try:
        if o["quiet"]:
            for _ in cli.client.stream_json(resp):
                pass
            cli.out(str(ref))
        else:
            progress.display(resp.iter_json(), sys.stdout)
    except StreamError as exc:
        raise StatusError(1, exc.message) from None
    return 0


def run_login(cli: Cli, o: Values, args: list[str]) -> int:
    server = args[0] if args else INDEX_SERVER
    user, password = o["username"], o["password"]
    if o["password-stdin"]:
        if password:
            raise StatusError(1, "--password and --password-stdin are mutually exclusive")
        if not user:
            raise StatusError(1, "Must provide --username with --password-stdin")
        password = sys.stdin.read().rstrip("\r\n")
    elif password:
        cli.err("WARNING! Using --password via the CLI is insecure. Use --password-stdin.")
    if not user:
        sys.stdout.write("Username: ")
        sys.stdout.flush()
        user = sys.stdin.readline().strip()
        if not user:
            raise StatusError(1, "Error: Non-null Username Required")
    if not password:
        import getpass
        password = getpass.getpass("Password: ")
        if not password:
            raise StatusError(1, "Error: Password Required")
    body = {"username": user, "password": password, "serveraddress": server}
    try:
        resp = cli.client.post_json("/auth", None, body) or {}
    except APIError as exc:
        raise StatusError(1, str(exc)) from None
    cfg = load_config()
    entry: dict[str, str] = {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}
    if resp.get("IdentityToken"):
        entry = {"auth": "", "identitytoken": resp["IdentityToken"]}
    cfg.setdefault("auths", {})[server_key(server) if server != INDEX_SERVER else server] = entry
    save_config(cfg)
    cli.out(resp.get("Status") or "Login Succeeded")
    return 0


def run_logout(cli: Cli, o: Values, args: list[str]) -> int:
    server = server_key(args[0]) if args else INDEX_SERVER
    cfg = load_config()
    auths = cfg.get("auths") or {}
    if server not in auths:
        cli.out(f"Not logged in to {server}")
        return 0
    cli.out(f"Removing login credentials for {server}")
    del auths[server]
    save_config(cfg)
    return 0


PULL = Command("pull [OPTIONS] NAME[:TAG|@DIGEST]", "Download an image from a registry", [
    Flag("all-tags", "a", BOOL, help="Download all tagged images in the repository"),
    Flag("disable-content-trust", "", BOOL, default=True, help="Skip image verification"),
    Flag("platform", help="Set platform if server is multi-platform capable"),
    Flag("quiet", "q", BOOL, help="Suppress verbose output"),
], run_pull, args=("exact", 1), aliases=f"{BIN} image pull, {BIN} pull")
PUSH = Command("push [OPTIONS] NAME[:TAG]", "Upload an image to a registry", [
    Flag("all-tags", "a", BOOL, help="Push all tags of an image to the repository"),
    Flag("disable-content-trust", "", BOOL, default=True, help="Skip image signing"),
    Flag("quiet", "q", BOOL, help="Suppress verbose output"),
], run_push, args=("exact", 1), aliases=f"{BIN} image push, {BIN} push")
LOGIN = Command("login [OPTIONS] [SERVER]", "Authenticate to a registry", [
    Flag("password", "p", help="Password or Personal Access Token (PAT)"),
    Flag("password-stdin", "", BOOL, help="Take the Password or Personal Access Token (PAT) from stdin"),
    Flag("username", "u", help="Username"),
], run_login, args=("max", 1),
    long="Authenticate to a registry.\nDefaults to Docker Hub if no server is specified.")
LOGOUT = Command("logout [SERVER]", "Log out from a registry", [], run_logout, args=("max", 1))
