"""A pflag-compatible flag parser (the Go library behind docker's CLI).

Same syntax and the same error texts as pflag: long flags ``--name=v`` or
``--name v``, bools ``--rm`` / ``--rm=false`` (a bool never takes the next
argument), short groups ``-dit``, short values attached or separate
(``-p8080:80``, ``-p=8080:80``, ``-p 8080:80``), ``--`` ends flags, and
optionally parsing stops at the first positional (``interspersed=False``, as
for run/create/exec so that ``run busybox ls -l`` leaves ``-l`` alone).

Plain classes with ``__slots__`` instead of dataclasses: this module is on
every invocation's start-up path and ``dataclasses`` costs ~7 ms to import.
"""
from __future__ import annotations

TYPE_CHECKING = False  # typing costs ~5 ms at start-up; annotations are strings anyway
if TYPE_CHECKING:
    from typing import Any, Callable, Iterable

BOOL, STRING, LIST, INT, DURATION, VALUE = "bool", "string", "list", "int", "duration", "value"

_TRUE = {"1", "t", "T", "true", "TRUE", "True"}
_FALSE = {"0", "f", "F", "false", "FALSE", "False"}


class FlagError(Exception):
    """A usage error; the CLI prints it with the usage line and exits 125."""


class HelpRequested(Exception):
    """-h/--help was given."""


class Flag:
    """One flag.

    kind: bool, string, list (repeatable, values kept in order), int, duration
    (parsed to seconds), value (a string checked by ``parse``).  ``varname`` is
    the word shown in help after the flag (pflag derives it from the type:
    ``list``, ``string``, ``int``, ``bytes``, ``filter``...).  ``default`` is
    the value when the flag is absent; ``default_text`` what help shows as
    ``(default ...)``.  ``parse`` converts and validates a value, raising
    ValueError with pflag's message after ``invalid argument "v" for "--f" flag: ``.
    """

    __slots__ = ("name", "short", "kind", "default", "help", "varname", "hidden",
                 "default_text", "parse", "deprecated", "dest")

    def __init__(self, name: str, short: str = "", kind: str = STRING, default: Any = None,
                 help: str = "", *, varname: str | None = None, hidden: bool = False,
                 default_text: str | None = None, parse: Callable[[str], Any] | None = None,
                 deprecated: str = "", dest: str | None = None) -> None:
        self.name = name
        self.short = short
        self.kind = kind
        if default is None:
            default = {BOOL: False, LIST: None, INT: 0, DURATION: None}.get(kind, "")
        self.default = default
        self.help = help
        self.varname = varname if varname is not None else {
            BOOL: "", STRING: "string", LIST: "list", INT: "int", DURATION: "duration",
            VALUE: "string"}[kind]
        self.hidden = hidden
        if default_text is None:
            if kind == BOOL:
                default_text = "true" if default else ""
            elif kind == STRING:
                default_text = f'"{default}"' if default else ""
            elif kind == INT:
                default_text = str(default) if default else ""
            else:
                default_text = ""
        self.default_text = default_text
        self.parse = parse
        self.deprecated = deprecated
        # two flags may share a destination (--net/--network, --dns-opt/--dns-option)
        self.dest = dest or name

    @property
    def display(self) -> str:
        """How pflag names the flag in errors: ``-n, --last`` or ``--name``."""
        return f"-{self.short}, --{self.name}" if self.short else f"--{self.name}"


class Values(dict):
    """Parsed flag values by destination name; attribute access maps ``_`` to ``-``."""

    def __init__(self) -> None:
        super().__init__()
        self.changed: set[str] = set()

    def __getattr__(self, attr: str) -> Any:
        try:
            return self[attr.replace("_", "-")]
        except KeyError:
            raise AttributeError(attr) from None


def parse_bool(value: str) -> bool:
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f'strconv.ParseBool: parsing "{value}": invalid syntax')


def parse_int(value: str) -> int:
    """Go's strconv.ParseInt(s, 0, 64): 0x/0o/0b prefixes, leading 0 means octal."""
    text = value.replace("_", "") if "_" in value and value[:2].lower() in ("0x", "0o", "0b") else value
    try:
        body = text.lstrip("+-")
        if len(body) > 1 and body[0] == "0" and body[1].isdigit():
            n = int(text, 8)
        else:
            n = int(text, 0)
    except ValueError:
        raise ValueError(f'strconv.ParseInt: parsing "{value}": invalid syntax') from None
    if not -(1 << 63) <= n < (1 << 63):
        raise ValueError(f'strconv.ParseInt: parsing "{value}": value out of range')
    return n


def parse_duration(value: str) -> float:
    from hithe.util.gotime import parse_go_duration

    try:
        return float(parse_go_duration(value))
    except (ValueError, TypeError):
        raise ValueError(f'time: invalid duration "{value}"') from None


class FlagSet:
    def __init__(self, flags: Iterable[Flag], *, interspersed: bool = True,
                 help_short: bool = True) -> None:
        self.flags = list(flags)
        self.interspersed = interspersed
        self.by_name = {f.name: f for f in self.flags}
        self.by_short = {f.short: f for f in self.flags if f.short}
        # cobra adds -h/--help unless the command uses -h itself (run: --hostname)
        self.help_short = help_short and "h" not in self.by_short

    def defaults(self) -> Values:
        vals = Values()
        for f in self.flags:
            if f.dest in vals and f.dest != f.name:
                continue
            vals[f.dest] = list(f.default) if f.kind == LIST and f.default else (
                [] if f.kind == LIST else f.default)
        return vals

    def _set(self, vals: Values, flag: Flag, value: str) -> None:
        try:
            if flag.kind == BOOL:
                v: Any = parse_bool(value)
            elif flag.kind == INT:
                v = parse_int(value)
            elif flag.kind == DURATION:
                v = parse_duration(value)
            else:
                v = value
            if flag.parse is not None:
                v = flag.parse(v)
        except ValueError as exc:
            raise FlagError(f'invalid argument "{value}" for "{flag.display}" flag: {exc}') from None
        if flag.kind == LIST:
            if flag.dest not in vals.changed:
                vals[flag.dest] = []
            vals[flag.dest].append(v)
        else:
            vals[flag.dest] = v
        vals.changed.add(flag.dest)
        if flag.dest != flag.name:
            vals.changed.add(flag.name)
        if flag.deprecated:
            import sys
            sys.stderr.write(f"Flag --{flag.name} has been deprecated, {flag.deprecated}\n")

    def parse(self, argv: list[str]) -> tuple[Values, list[str]]:
        vals = self.defaults()
        args: list[str] = []
        rest = list(argv)
        while rest:
            arg = rest.pop(0)
            if len(arg) < 2 or arg[0] != "-":
                args.append(arg)
                if not self.interspersed:
                    args.extend(rest)
                    break
                continue
            if arg == "--":
                args.extend(rest)
                break
            if arg.startswith("--"):
                rest = self._parse_long(vals, arg, rest)
            else:
                rest = self._parse_short(vals, arg, rest)
        return vals, args

    def _parse_long(self, vals: Values, arg: str, rest: list[str]) -> list[str]:
        body = arg[2:]
        if not body or body[0] in "-=":
            raise FlagError(f"bad flag syntax: {arg}")
        name, eq, value = body.partition("=")
        if name == "help":
            # cobra gives every command a --help flag
            if not eq or value in _TRUE:
                raise HelpRequested()
            if name not in self.by_name:
                return rest
        flag = self.by_name.get(name)
        if flag is None:
            raise FlagError(f"unknown flag: --{name}")
        if eq:
            self._set(vals, flag, value)
        elif flag.kind == BOOL:
            self._set(vals, flag, "true")
        elif rest:
            self._set(vals, flag, rest.pop(0))
        else:
            raise FlagError(f"flag needs an argument: {arg}")
        return rest

    def _parse_short(self, vals: Values, arg: str, rest: list[str]) -> list[str]:
        shorts = arg[1:]
        while shorts:
            c = shorts[0]
            flag = self.by_short.get(c)
            if flag is None:
                if c == "h" and self.help_short:
                    raise HelpRequested()
                raise FlagError(f"unknown shorthand flag: '{c}' in -{shorts}")
            if len(shorts) > 2 and shorts[1] == "=":
                value, shorts = shorts[2:], ""
            elif flag.kind == BOOL:
                value, shorts = "true", shorts[1:]
            elif len(shorts) > 1:
                value, shorts = shorts[1:], ""
            elif rest:
                value, shorts = rest.pop(0), ""
            else:
                raise FlagError(f"flag needs an argument: '{c}' in -{c}")
            self._set(vals, flag, value)
        return rest


# -- help rendering (pflag's FlagUsagesWrapped) -------------------------------

def _wrap_n(i: int, slop: int, s: str) -> tuple[str, str]:
    if i + slop > len(s):
        return s, ""
    head = s[:i]
    w = max(head.rfind(" "), head.rfind("\t"), head.rfind("\n"))
    if w <= 0:
        return s, ""
    nl = head.rfind("\n")
    if 0 < nl < w:
        return s[:nl], s[nl + 1:]
    return s[:w], s[w + 1:]


def _wrap(i: int, w: int, s: str) -> str:
    if w == 0:
        return s.replace("\n", "\n" + " " * i)
    width = w - i
    r = ""
    if width < 24:
        i = 16
        width = w - i
        r += "\n" + " " * i
    if width < 24:
        return s.replace("\n", r)
    slop = 5
    width -= slop
    line, s = _wrap_n(width, slop, s)
    r += line.replace("\n", "\n" + " " * i)
    while s:
        line, s = _wrap_n(width, slop, s)
        r += "\n" + " " * i + line.replace("\n", "\n" + " " * i)
    return r


def flag_usages(flags: Iterable[Flag], cols: int = 80) -> str:
    lines = []
    maxlen = 0
    for f in sorted(flags, key=lambda f: f.name):
        if f.hidden:
            continue
        line = f"  -{f.short}, --{f.name}" if f.short else f"      --{f.name}"
        if f.varname:
            line += " " + f.varname
        line += "\x00"
        maxlen = max(maxlen, len(line))
        line += f.help
        if f.default_text:
            line += f" (default {f.default_text})"
        lines.append(line)
    out = []
    for line in lines:
        sidx = line.index("\x00")
        spacing = " " * (maxlen - sidx)
        out.append(f"{line[:sidx]} {spacing} {_wrap(maxlen + 2, cols, line[sidx + 1:])}")
    return "\n".join(out) + ("\n" if out else "")
