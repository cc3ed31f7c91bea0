"""Template objects, and docker's ``--format`` handling (table/json prefixes, headers)."""
from __future__ import annotations

from hithe.cli.template.execute import _State
from hithe.cli.template.funcs import _BUILTINS, _HEADER_FUNCS
from hithe.cli.template.parser import _Parser
from hithe.cli.template.values import TemplateError

# typing is only needed by annotations (lazy under the __future__ import);
# skipping the import keeps CLI start-up cheap.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterable


# --------------------------------------------------------------------------
# Public API

class Template:
    """A parsed template; render it with data, or render its table header."""

    def __init__(self, text: str, name: str = "") -> None:
        self.text = text
        self.name = name
        parser = _Parser(text, name, _BUILTINS)
        self.root = parser.parse()
        self.defines = parser.defines

    def render(self, obj: Any) -> str:
        """Execute with ``obj`` as dot; raises TemplateError like docker."""
        out: list[str] = []
        _State(self, _BUILTINS, out, obj).walk(obj, self.root)
        return "".join(out)

    def header(self, headers: dict[str, str]) -> str:
        """Render the table header row the way docker does.

        docker executes the same template against a ``map[string]string``
        of column titles with string functions replaced by identities, and
        ignores execution errors (keeping whatever was written).  A field
        with no title renders as ``<no value>``, exactly like docker.
        """
        out: list[str] = []
        try:
            _State(self, _HEADER_FUNCS, out, dict(headers)).walk(headers, self.root)
        except TemplateError:
            pass
        return "".join(out)


def compile_template(text: str, name: str = "") -> Template:
    """Parse ``text``; raises TemplateError (``template parsing error: ...``)."""
    return Template(text, name)


def header_for(template_text: str, headers: dict[str, str]) -> str:
    """Header row for a ``table`` template: each ``{{.Field}}`` becomes
    ``headers[Field]`` (``<no value>`` when absent, as docker prints)."""
    return compile_template(template_text).header(headers)


_ESCAPES = (("\\t", "\t"), ("\\n", "\n"))


def parse_format(fmt: str, default_table: str = "", raw_format: str = "") -> tuple[bool, str]:
    """Apply docker's ``--format`` pre-processing (formatter.Context.preFormat).

    Returns ``(is_table, template_text)``.  ``table`` anywhere as a prefix
    (even ``tablefoo``) selects table mode and is cut off; ``json`` becomes
    ``{{json .}}``; surrounding spaces are trimmed and literal ``\\t``/``\\n``
    become tab/newline.  Commands whose default output is a table pass it
    as ``default_table`` (used for ``""`` and ``"table"``), and ``raw_format``
    for commands that understand ``--format raw``.
    """
    if fmt in ("", "table") and default_table:
        fmt = default_table
    elif fmt == "raw" and raw_format:
        fmt = raw_format
    is_table = fmt.startswith("table")
    if is_table:
        text = fmt[len("table"):]
    elif fmt == "json":
        text = "{{json .}}"
    else:
        text = fmt
    text = text.strip(" ")
    for lit, real in _ESCAPES:
        text = text.replace(lit, real)
    return is_table, text


def format_output(fmt: str, items: Iterable[Any], headers: dict[str, str] | None = None,
                  default_table: str = "", raw_format: str = "") -> str:
    """Everything docker's formatter.Context.Write does: parse ``--format``,
    render each item followed by a newline, and in table mode prepend the
    header row and align columns with docker's tabwriter settings."""
    is_table, text = parse_format(fmt, default_table, raw_format)
    tmpl = compile_template(text)
    rows = [tmpl.render(item) + "\n" for item in items]
    if not is_table:
        return "".join(rows)
    from hithe.cli.table import tabwrite  # deferred: only table output needs it
    return tabwrite(tmpl.header(headers or {}) + "\n" + "".join(rows))
