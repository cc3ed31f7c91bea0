"""Image commands: ls (images), rm (rmi), tag, history, prune."""
from __future__ import annotations

import sys
import time
TYPE_CHECKING = False  # typing costs ~5 ms at start-up; annotations are strings anyway
if TYPE_CHECKING:
    from typing import Any

from hithe.cli.command import BIN, Cli, Command, StatusError
from hithe.cli.container_list import filter_flag, format_flag, render
from hithe.cli.flags import BOOL, LIST, Flag, Values
from hithe.cli.opts_parse import filters_json, parse_filter
from hithe.client.errors import APIError


def split_name_tag(text: str) -> tuple[str, str]:
    """repo[:tag] for query parameters (the colon of a registry port is not a tag)."""
    repo, colon, tag = text.rpartition(":")
    if not colon or "/" in tag:
        return text, ""
    return repo, tag


def run_images(cli: Cli, o: Values, args: list[str]) -> int:
    from hithe.cli.formatters import IMAGE_HEADERS, IMAGE_TABLE, IMAGE_TABLE_DIGESTS, image_rows

    pairs = list(o["filter"])
    if args:
        pairs.append(("reference", args[0]))
    params = {"all": "1" if o["all"] else None, "filters": filters_json(pairs)}
    images = cli.client.get_json("/images/json", params) or []
    rows = image_rows(images, digests=o["digests"], trunc=not o["no-trunc"])
    fmt = o["format"]
    default = IMAGE_TABLE_DIGESTS if o["digests"] else IMAGE_TABLE
    if o["quiet"]:
        fmt = "{{.ID}}"
    elif fmt in ("", "table"):
        fmt = default
    sys.stdout.write(render(fmt, rows, IMAGE_HEADERS, default))
    return 0


def run_rmi(cli: Cli, o: Values, args: list[str]) -> int:
    params = {"force": "1" if o["force"] else None, "noprune": "1" if o["no-prune"] else None}
    errors = []
    for name in args:
        try:
            items = cli.client.delete(f"/images/{name}", params).json() or []
        except APIError as exc:
            errors.append(str(exc))
            continue
        for item in items:
            if item.get("Untagged"):
                cli.out(f"Untagged: {item['Untagged']}")
            if item.get("Deleted"):
                cli.out(f"Deleted: {item['Deleted']}")
    if errors:
        raise StatusError(1, "\n".join(errors))
    return 0


def run_tag(cli: Cli, o: Values, args: list[str]) -> int:
    from hithe.errors import InvalidParameter
    from hithe.images.reference import parse_any_reference, parse_reference

    source, target = args
    try:
        parse_any_reference(source)
    except InvalidParameter as exc:
        raise StatusError(1, f'Error parsing reference: "{source}" is not a valid repository/tag: {exc}')
    try:
        ref = parse_reference(target, default_tag=False)
    except InvalidParameter as exc:
        raise StatusError(1, f'Error parsing reference: "{target}" is not a valid repository/tag: {exc}')
    if ref.digest:
        raise StatusError(1, "refusing to create a tag with a digest reference")
    cli.client.post(f"/images/{source}/tag", {"repo": ref.name, "tag": ref.tag or "latest"})
    return 0


HISTORY_TABLE = "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}"
HISTORY_HEADERS = {"ID": "IMAGE", "CreatedSince": "CREATED", "CreatedAt": "CREATED AT",
                   "CreatedBy": "CREATED BY", "Size": "SIZE", "Comment": "COMMENT"}


class HistoryContext:
    def __init__(self, h: dict[str, Any], trunc: bool, human: bool) -> None:
        self.h, self.trunc, self.human = h, trunc, human

    def ID(self) -> str:
        from hithe.cli.formatters import truncate_id

        ident = self.h.get("Id", "")
        return truncate_id(ident) if self.trunc and ident.startswith("sha256:") else ident

    def CreatedSince(self) -> str:
        from hithe.cli.formatters import ago

        created = self.h.get("Created") or 0
        return ago(created) if self.human else self.CreatedAt()

    def CreatedAt(self) -> str:
        from hithe.util.gotime import format_timestamp

        created = self.h.get("Created") or 0
        if self.human:
            return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(created)) + _tz_suffix(created)
        return format_timestamp(created)

    def CreatedBy(self) -> str:
        from hithe.cli.formatters import ellipsis

        created_by = (self.h.get("CreatedBy") or "").replace("\t", " ")
        return ellipsis(created_by, 45) if self.trunc else created_by

    def Size(self) -> str:
        from hithe.cli.formatters import human_size

        size = self.h.get("Size") or 0
        return human_size(size, 3) if self.human else str(size)

    def Comment(self) -> str:
        return self.h.get("Comment") or ""

    def Tags(self) -> str:
        return ", ".join(self.h.get("Tags") or [])

    def __json__(self) -> Any:
        from hithe.cli.template import GoMap

        return GoMap({k: getattr(self, k)() for k in (
            "Comment", "CreatedAt", "CreatedBy", "CreatedSince", "ID", "Size")})


def _tz_suffix(ts: float) -> str:
    z = time.strftime("%z", time.localtime(ts))
    return "Z" if z in ("+0000", "-0000") else f"{z[:3]}:{z[3:]}"


def run_history(cli: Cli, o: Values, args: list[str]) -> int:
    items = cli.client.get_json(f"/images/{args[0]}/history") or []
    rows = [HistoryContext(h, not o["no-trunc"], o["human"]) for h in items]
    default = HISTORY_TABLE if o["human"] else HISTORY_TABLE.replace(".CreatedSince", ".CreatedAt")
    fmt = "{{.ID}}" if o["quiet"] else (o["format"] or default)
    sys.stdout.write(render(fmt, rows, HISTORY_HEADERS, default))
    return 0


def run_image_prune(cli: Cli, o: Values, args: list[str]) -> int:
    from hithe.cli.container_ops import confirm, print_prune

    warning = ("WARNING! This will remove all images without at least one container associated to them."
               if o["all"] else "WARNING! This will remove all dangling images.")
    if not o["force"] and not confirm(cli, warning):
        return 0
    pairs = [p for p in o["filter"] if p[0] != "dangling"] + [("dangling", "false" if o["all"] else "true")]
    report = cli.client.post_json("/images/prune", {"filters": filters_json(pairs)}) or {}
    lines = []
    for item in report.get("ImagesDeleted") or []:
        if item.get("Untagged"):
            lines.append(f"untagged: {item['Untagged']}")
        else:
            lines.append(f"deleted: {item.get('Deleted', '')}")
    print_prune(cli, "Deleted Images", lines, report.get("SpaceReclaimed"))
    return 0


LS = Command("images [OPTIONS] [REPOSITORY[:TAG]]", "List images", [
    Flag("all", "a", BOOL, help="Show all images (default hides intermediate images)"),
    Flag("digests", "", BOOL, help="Show digests"),
    filter_flag(),
    format_flag(),
    Flag("no-trunc", "", BOOL, help="Don't truncate output"),
    Flag("quiet", "q", BOOL, help="Only show image IDs"),
], run_images, args=("max", 1),
    aliases=f"{BIN} image ls, {BIN} image list, {BIN} images")
RM = Command("rmi [OPTIONS] IMAGE [IMAGE...]", "Remove one or more images", [
    Flag("force", "f", BOOL, help="Force removal of the image"),
    Flag("no-prune", "", BOOL, help="Do not delete untagged parents"),
    Flag("platform", "", LIST, varname="strings",
         help="Remove only the given platform variant. Formatted as \"os[/arch[/variant]]\""),
], run_rmi, args=("min", 1), aliases=f"{BIN} image rm, {BIN} image remove, {BIN} rmi")
TAG = Command("tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
              "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE", [], run_tag,
              args=("exact", 2), aliases=f"{BIN} image tag, {BIN} tag")
HISTORY = Command("history [OPTIONS] IMAGE", "Show the history of an image", [
    format_flag(),
    Flag("human", "H", BOOL, default=True, help="Print sizes and dates in human readable format"),
    Flag("no-trunc", "", BOOL, help="Don't truncate output"),
    Flag("quiet", "q", BOOL, help="Only show image IDs"),
], run_history, args=("exact", 1), aliases=f"{BIN} image history, {BIN} history")
PRUNE = Command("prune [OPTIONS]", "Remove unused images", [
    Flag("all", "a", BOOL, help="Remove all unused images, not just dangling ones"),
    Flag("filter", "", LIST, varname="filter", parse=parse_filter,
         help="Provide filter values (e.g. \"until=<timestamp>\")"),
    Flag("force", "f", BOOL, help="Do not prompt for confirmation"),
], run_image_prune, args=("none",))
