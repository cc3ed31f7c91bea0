"""``ps`` / ``container ls``: GET /containers/json rendered like docker."""
from __future__ import annotations

import sys

from hithe.cli.command import BIN, Cli, Command, StatusError
from hithe.cli.flags import BOOL, INT, LIST, Flag, Values
from hithe.cli.opts_parse import filters_json, parse_filter

FORMAT_HELP = ("Format output using a custom template:\n"
               "'table':            Print output in table format with column headers (default)\n"
               "'table TEMPLATE':   Print output in table format using the given Go template\n"
               "'json':             Print in JSON format\n"
               "'TEMPLATE':         Print output using the given Go template.\n"
               "Refer to https://docs.docker.com/go/formatting/ for more information about "
               "formatting output with templates")


def filter_flag(help: str = "Filter output based on conditions provided") -> Flag:
    return Flag("filter", "f", LIST, varname="filter", parse=parse_filter, help=help)


def format_flag() -> Flag:
    return Flag("format", help=FORMAT_HELP)


def render(fmt: str, items: list, headers: dict[str, str], default_table: str) -> str:
    """Render through the template module; template errors exit like docker's."""
    from hithe.cli.template import TemplateError, format_output, parse_format

    is_table, text = parse_format(fmt, default_table)
    if not is_table and text.strip() == "{{json .}}" and all(hasattr(i, "__json__") for i in items):
        # docker's contexts implement MarshalJSON (HTML-escaped, keys sorted)
        return "".join(marshal_json(i.__json__()) + "\n" for i in items)
    try:
        return format_output(fmt, items, headers, default_table=default_table)
    except TemplateError as exc:
        raise StatusError(64 if exc.phase == "parse" else 1, str(exc)) from None


def marshal_json(value: object) -> str:
    """Go's json.Marshal for a map: sorted keys, compact, ``<>&`` escaped."""
    import json

    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def run_ps(cli: Cli, o: Values, args: list[str]) -> int:
    from hithe.cli.formatters import CONTAINER_HEADERS, CONTAINER_TABLE, ContainerContext

    fmt = o["format"]
    limit = o["last"]
    if o["latest"] and limit == -1:
        limit = 1
    # docker asks for sizes (costly) only when the template reads .Size, which
    # {{json .}} does through MarshalJSON; the bare "json" format does not
    size = o["size"] or (bool(fmt) and (".Size" in fmt or "json ." in fmt))
    params = {
        "all": "1" if (o["all"] or limit > 0) else None,
        "limit": str(limit) if limit > 0 else None,
        "size": "1" if size else None,
        "filters": filters_json(o["filter"]),
    }
    containers = cli.client.get_json("/containers/json", params) or []
    trunc = not o["no-trunc"]
    rows = [ContainerContext(c, trunc) for c in containers]
    if o["quiet"]:
        fmt = "{{.ID}}"
    elif fmt in ("", "table"):
        fmt = CONTAINER_TABLE + ("\t{{.Size}}" if o["size"] else "")
    sys.stdout.write(render(fmt, rows, CONTAINER_HEADERS, CONTAINER_TABLE))
    return 0


LS = Command("ps [OPTIONS]", "List containers", [
    Flag("all", "a", BOOL, help="Show all containers (default shows just running)"),
    filter_flag(),
    format_flag(),
    Flag("last", "n", INT, default=-1, default_text="-1",
         help="Show n last created containers (includes all states)"),
    Flag("latest", "l", BOOL, help="Show the latest created container (includes all states)"),
    Flag("no-trunc", "", BOOL, help="Don't truncate output"),
    Flag("quiet", "q", BOOL, help="Only display container IDs"),
    Flag("size", "s", BOOL, help="Display total file sizes"),
], run_ps, args=("none",),
    aliases=f"{BIN} container ls, {BIN} container list, {BIN} container ps, {BIN} ps")
