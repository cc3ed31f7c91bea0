"""``inspect``, ``container inspect``, ``image inspect``.

Without --format: a JSON array of the objects as the daemon sent them,
indented four spaces like Go's json.MarshalIndent (key order kept, ``<>&``
escaped the way Go does).  With --format: the template once per object.
Objects that are not found are reported after the output, exit 1.
"""
from __future__ import annotations

import sys
TYPE_CHECKING = False  # typing costs ~5 ms at start-up; annotations are strings anyway
if TYPE_CHECKING:
    from typing import Any, Callable

from hithe.cli.command import Cli, Command, StatusError
from hithe.cli.flags import BOOL, Flag, Values
from hithe.client.errors import APIError

FORMAT_HELP = ("Format output using a custom template:\n"
               "'json':             Print in JSON format\n"
               "'TEMPLATE':         Print output using the given Go template.\n"
               "Refer to https://docs.docker.com/go/formatting/ for more information about "
               "formatting output with templates")


def go_indent_json(value: Any) -> str:
    import json

    text = json.dumps(value, indent=4, ensure_ascii=False)
    # encoding/json escapes these for HTML safety, also when indenting
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def write_inspect(cli: Cli, names: list[str], fmt: str,
                  fetch: Callable[[str], Any]) -> int:
    """docker's inspect.Inspect: fetch each object, print, then report the errors."""
    from hithe.cli.template import TemplateError, compile_template, parse_format

    tmpl = None
    if fmt:
        _table, text = parse_format(fmt)
        try:
            tmpl = compile_template(text)
        except TemplateError as exc:
            raise StatusError(64, str(exc)) from None
    objects: list[Any] = []
    errors: list[str] = []
    out: list[str] = []
    for name in names:
        try:
            obj = fetch(name)
        except LookupError as exc:
            errors.append(str(exc))
            continue
        if tmpl is None:
            objects.append(obj)
            continue
        try:
            out.append(tmpl.render(obj) + "\n")
        except TemplateError as exc:
            errors.append(str(exc))
    if tmpl is None:
        sys.stdout.write(go_indent_json(objects) + "\n")
    else:
        sys.stdout.write("".join(out))
    if errors:
        raise StatusError(1, "\n".join(errors))
    return 0


def _getter(cli: Cli, path: str, params: dict[str, Any] | None = None,
            generic: bool = False) -> Callable[[str], Any]:
    def fetch(name: str) -> Any:
        try:
            return cli.client.get_json(path.format(name=name), params)
        except APIError as exc:
            if exc.status == 404:
                raise LookupError(f"Error: No such object: {name}" if generic else str(exc)) from None
            raise
    return fetch


def run_container_inspect(cli: Cli, o: Values, args: list[str]) -> int:
    params = {"size": "1"} if o["size"] else None
    return write_inspect(cli, args, o["format"], _getter(cli, "/containers/{name}/json", params))


def run_image_inspect(cli: Cli, o: Values, args: list[str]) -> int:
    return write_inspect(cli, args, o["format"], _getter(cli, "/images/{name}/json"))


_TYPES = {
    "container": "/containers/{name}/json",
    "image": "/images/{name}/json",
    "network": "/networks/{name}",
    "volume": "/volumes/{name}",
}


_ALL_TYPES = ("config", "container", "image", "network", "node", "plugin", "secret", "service",
              "task", "volume")


def run_inspect(cli: Cli, o: Values, args: list[str]) -> int:
    kind = o["type"]
    if kind and kind not in _ALL_TYPES:
        raise StatusError(1, f'unknown type: "{kind}": must be one of '
                             + ", ".join(f'"{t}"' for t in _ALL_TYPES))
    if kind and kind not in _TYPES:
        # swarm objects and plugins: hithe has none of them
        raise StatusError(1, "\n".join(f"Error: No such object: {n}" for n in args))
    kinds = [kind] if kind else list(_TYPES)

    def fetch(name: str) -> Any:
        for k in kinds:
            params = {"size": "1"} if (k == "container" and o["size"]) else None
            try:
                return cli.client.get_json(_TYPES[k].format(name=name), params)
            except APIError as exc:
                if kind and exc.status == 404:
                    raise LookupError(str(exc)) from None
                # 404: try the next kind; 501 or 400: the daemon has no such kind yet
                if exc.status in (404, 400, 405, 501):
                    continue
                raise
        raise LookupError(f"Error: No such object: {name}")

    return write_inspect(cli, args, o["format"], fetch)


def _format_flag() -> Flag:
    return Flag("format", "f", help=FORMAT_HELP)


CONTAINER_INSPECT = Command("inspect [OPTIONS] CONTAINER [CONTAINER...]",
                            "Display detailed information on one or more containers", [
    _format_flag(), Flag("size", "s", BOOL, help="Display total file sizes"),
], run_container_inspect, args=("min", 1))
IMAGE_INSPECT = Command("inspect [OPTIONS] IMAGE [IMAGE...]",
                        "Display detailed information on one or more images", [
    _format_flag(), Flag("platform", help="Inspect a specific platform of the multi-platform image."),
], run_image_inspect, args=("min", 1))
INSPECT = Command("inspect [OPTIONS] NAME|ID [NAME|ID...]",
                  "Return low-level information on hithe objects", [
    _format_flag(),
    Flag("size", "s", BOOL, help="Display total file sizes if the type is container"),
    Flag("type", help="Only inspect objects of the given type"),
], run_inspect, args=("min", 1))
