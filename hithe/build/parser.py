"""The Dockerfile parser: directives, continuations, comments, heredocs, flags, JSON forms.

It turns the text into a list of Nodes, one per instruction, each knowing the
line it started on (errors name it, in Docker's words).  Variable expansion
is not done here: which instructions expand, and with which variables, is
the executor's business (shellwords.py does the expanding).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from hithe.errors import InvalidParameter

INSTRUCTIONS = frozenset({
    "add", "arg", "cmd", "copy", "entrypoint", "env", "expose", "from", "healthcheck", "label",
    "maintainer", "onbuild", "run", "shell", "stopsignal", "user", "volume", "workdir"})
# Instructions whose arguments may be a JSON array (exec form).
JSON_FORMS = frozenset({"cmd", "entrypoint", "run", "shell", "copy", "add", "volume"})
HEREDOC_FORMS = frozenset({"run", "copy", "add"})
_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
_KNOWN_DIRECTIVES = frozenset({"escape", "syntax", "check"})
_HEREDOC = re.compile(r"<<(-?)(['\"]?)([a-zA-Z_][a-zA-Z0-9_]*)\2")


class ParseError(InvalidParameter):
    """A Dockerfile that cannot be parsed; the message carries Docker's wording and the line."""


@dataclass
class Heredoc:
    name: str
    content: str
    expand: bool        # an unquoted delimiter: variables in the body are expanded
    strip_tabs: bool    # <<-


@dataclass
class Node:
    cmd: str                    # lower case: "run", "copy", ...
    original: str               # the instruction as written, continuations joined
    rest: str                   # what follows the instruction word and its flags
    flags: list[str]            # ["--from=build", "--chown=1:1"]
    json_args: list[str] | None  # the exec form, when the arguments are a JSON array of strings
    line: int                   # 1-based line the instruction starts on
    end_line: int
    heredocs: list[Heredoc] = field(default_factory=list)

    def flag(self, name: str) -> str | None:
        for f in self.flags:
            key, _, val = f[2:].partition("=")
            if key == name:
                return val
        return None


@dataclass
class Dockerfile:
    nodes: list[Node]
    escape: str = "\\"
    syntax: str = ""
    warnings: list[str] = field(default_factory=list)


def _err(line: int, msg: str) -> ParseError:
    return ParseError(f"dockerfile parse error on line {line}: {msg}")


def parse(text: str) -> Dockerfile:
    lines = text.replace("\r\n", "\n").split("\n")
    if lines and lines[0].startswith("\ufeff"):
        lines[0] = lines[0][1:]
    df = Dockerfile(nodes=[])
    i = _directives(lines, df)
    esc = df.escape
    n = len(lines)
    while i < n:
        raw = lines[i]
        start = i + 1
        i += 1
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        buf = raw.lstrip()
        empty_continuation = False
        while True:
            body = buf.rstrip()
            if not body.endswith(esc):
                buf = body
                break
            buf = body[:-1]
            # the instruction continues: skip comment lines, note empty ones (Docker warns)
            while i < n:
                nxt = lines[i]
                if not nxt.strip():
                    empty_continuation = True
                    i += 1
                    continue
                if nxt.lstrip().startswith("#"):
                    i += 1
                    continue
                break
            if i >= n:
                break
            buf += lines[i]
            i += 1
        if empty_continuation:
            df.warnings.append(f"[WARNING]: Empty continuation line found in:\n    {buf}\n"
                               "[WARNING]: Empty continuation lines will become errors in a future release.\n")
        node = _node(buf, start, i, lines=lines)
        if node.cmd in HEREDOC_FORMS and node.json_args is None:
            i = _read_heredocs(node, lines, i)
        df.nodes.append(node)
    return df


def _directives(lines: list[str], df: Dockerfile) -> int:
    """Parser directives: only at the very top, each once, ended by anything else."""
    seen: set[str] = set()
    i = 0
    for i, line in enumerate(lines):
        m = _DIRECTIVE.match(line.strip())
        if not m or m.group(1).lower() not in _KNOWN_DIRECTIVES:
            return i
        key, val = m.group(1).lower(), m.group(2)
        if key in seen:
            raise _err(i + 1, f"only one {key} parser directive can be used")
        seen.add(key)
        if key == "escape":
            if val not in ("\\", "`"):
                raise _err(i + 1, f"invalid escape token '{val}' does not match ` or \\")
            df.escape = val
        elif key == "syntax":
            df.syntax = val
    return len(lines)


def _node(text: str, line: int, end: int, *, lines: list[str]) -> Node:
    word, _, rest = text.strip().partition(" ")
    if "\t" in word:
        word, _, more = word.partition("\t")
        rest = more + " " + rest
    cmd = word.lower()
    if cmd not in INSTRUCTIONS:
        raise _err(line, f"unknown instruction: {word.upper()}")
    rest = rest.strip()
    flags: list[str] = []
    if cmd not in ("maintainer",):
        while rest.startswith("--"):
            tok, _, after = rest.partition(" ")
            if tok == "--":
                break
            flags.append(tok)
            rest = after.lstrip()
    json_args = None
    if cmd in JSON_FORMS and rest.startswith("["):
        try:
            val = json.loads(rest)
        except ValueError:
            val = None
        if isinstance(val, list) and all(isinstance(x, str) for x in val):
            json_args = val
    if not rest and cmd not in ("run", "cmd", "entrypoint") and json_args is None:
        raise _err(line, f"{cmd.upper()} requires at least one argument")
    return Node(cmd=cmd, original=text.strip(), rest=rest, flags=flags, json_args=json_args,
                line=line, end_line=end)


def _read_heredocs(node: Node, lines: list[str], i: int) -> int:
    """Bodies of `<<EOF` markers follow the instruction, one after the other."""
    for m in _HEREDOC.finditer(node.rest):
        strip, quote, name = m.group(1) == "-", m.group(2), m.group(3)
        body: list[str] = []
        while True:
            if i >= len(lines):
                raise _err(node.line, f"unterminated heredoc {name}")
            ln = lines[i]
            i += 1
            check = ln.lstrip("\t") if strip else ln
            if check == name:
                break
            body.append(check)
        node.heredocs.append(Heredoc(name=name, content="\n".join(body) + "\n" if body else "",
                                     expand=not quote, strip_tabs=strip))
    node.end_line = i
    return i
