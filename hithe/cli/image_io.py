"""Moving images in and out as tar streams: import, save, load.

Bodies are streamed (chunked upload from a file or stdin; a download
written as it arrives), never read whole into memory: images can be large.
"""
from __future__ import annotations

import os
import sys
TYPE_CHECKING = False  # typing costs ~5 ms at start-up; annotations are strings anyway
if TYPE_CHECKING:
    from typing import Any, Iterator

from hithe.cli.command import BIN, Cli, Command, StatusError
from hithe.cli.flags import BOOL, LIST, Flag, Values
from hithe.client.errors import StreamError


def fd_chunks(fd: int, size: int = 1 << 16) -> Iterator[bytes]:
    while True:
        data = os.read(fd, size)
        if not data:
            return
        yield data


def file_chunks(path: str) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        while True:
            data = fh.read(1 << 16)
            if not data:
                return
            yield data


def _show(cli: Cli, resp: Any) -> None:
    from hithe.cli import progress

    try:
        progress.display(resp.iter_json(), sys.stdout)
    except StreamError as exc:
        raise StatusError(1, exc.message) from None


def run_import(cli: Cli, o: Values, args: list[str]) -> int:
    source = args[0]
    repo = args[1] if len(args) > 1 else ""
    if repo:
        from hithe.errors import InvalidParameter
        from hithe.images.reference import parse_reference
        try:
            parse_reference(repo)
        except InvalidParameter as exc:
            raise StatusError(1, str(exc)) from None
    params: dict[str, Any] = {"repo": repo or None, "message": o["message"] or None,
                              "changes": o["change"] or None, "platform": o["platform"] or None}
    headers = {"Content-Type": "text/plain"}
    if source == "-":
        params["fromSrc"] = "-"
        body: Any = fd_chunks(0)
    elif source.startswith(("http://", "https://")):
        params["fromSrc"] = source
        body = None
    else:
        if not os.path.exists(source):
            raise StatusError(1, f"open {source}: no such file or directory")
        params["fromSrc"] = "-"
        body = file_chunks(source)
    resp = cli.client.request("POST", "/images/create", params, body=body, headers=headers)
    _show(cli, resp)
    return 0


def run_save(cli: Cli, o: Values, args: list[str]) -> int:
    from hithe.cli.container_info import _save_stream

    if not o["output"] and os.isatty(1):
        raise StatusError(1, "cowardly refusing to save to a terminal. Use the -o flag or redirect")
    params = {"names": list(args)}
    resp = cli.client.request("GET", "/images/get", params)
    _save_stream(resp, o["output"], "image")
    return 0


def run_load(cli: Cli, o: Values, args: list[str]) -> int:
    if o["input"]:
        if not os.path.exists(o["input"]):
            raise StatusError(1, f"open {o['input']}: no such file or directory")
        body: Any = file_chunks(o["input"])
    else:
        if os.isatty(0):
            raise StatusError(1, "requested load from stdin, but stdin is empty")
        body = fd_chunks(0)
    quiet = o["quiet"] or not os.isatty(1)
    params = {"quiet": "1" if quiet else None}
    resp = cli.client.request("POST", "/images/load", params, body=body,
                              headers={"Content-Type": "application/x-tar"})
    if "json" in (resp.headers.get("content-type") or ""):
        _show(cli, resp)
    else:
        for chunk in resp.iter_raw():
            sys.stdout.buffer.write(chunk)
    return 0


IMPORT = Command("import [OPTIONS] file|URL|- [REPOSITORY[:TAG]]",
                 "Import the contents from a tarball to create a filesystem image", [
    Flag("change", "c", LIST, help="Apply Dockerfile instruction to the created image"),
    Flag("message", "m", help="Set commit message for imported image"),
    Flag("platform", help="Set platform if server is multi-platform capable"),
], run_import, args=("min", 1), aliases=f"{BIN} image import, {BIN} import")
SAVE = Command("save [OPTIONS] IMAGE [IMAGE...]",
               "Save one or more images to a tar archive (streamed to STDOUT by default)", [
    Flag("output", "o", help="Write to a file, instead of STDOUT"),
], run_save, args=("min", 1), aliases=f"{BIN} image save, {BIN} save")
LOAD = Command("load [OPTIONS]", "Load an image from a tar archive or STDIN", [
    Flag("input", "i", help="Read from tar archive file, instead of STDIN"),
    Flag("quiet", "q", BOOL, help="Suppress the load output"),
], run_load, args=("none",), aliases=f"{BIN} image load, {BIN} load")
