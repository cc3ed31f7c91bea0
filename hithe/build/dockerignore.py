""".dockerignore: Docker's pattern rules, applied by the client before the context is sent.

Each line is a pattern (Go filepath.Match plus `**`), cleaned like Go's
filepath.Clean with a leading `/` dropped; `#` lines are comments; `!`
makes an exception.  The last pattern that matches a path decides, and a
pattern that matches a directory also matches everything below it.
"""
from __future__ import annotations

import posixpath
from dataclasses import dataclass

from hithe.build.match import compile_pattern


@dataclass
class Pattern:
    text: str
    exclusion: bool   # a "!" exception: matching paths are sent after all


def parse_dockerignore(text: str) -> list[Pattern]:
    out: list[Pattern] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        excl = line.startswith("!")
        if excl:
            line = line[1:].strip()
        if not line:
            continue
        line = posixpath.normpath(line)
        line = line.lstrip("/") or "."
        if line == ".":
            continue   # "." or "/" would exclude the whole context: docker ignores it
        out.append(Pattern(line, excl))
    return out


class Matcher:
    def __init__(self, patterns: list[Pattern]) -> None:
        self.patterns = patterns
        self.has_exclusions = any(p.exclusion for p in patterns)

    def _hit(self, p: Pattern, path: str) -> bool:
        rx = compile_pattern(p.text, double_star=True)
        if rx.match(path):
            return True
        # a pattern matching a parent directory matches what is inside it
        parent = posixpath.dirname(path)
        while parent:
            if rx.match(parent):
                return True
            parent = posixpath.dirname(parent)
        return False

    def excluded(self, path: str) -> bool:
        """True when `path` (relative, "/"-separated) is left out of the context."""
        path = posixpath.normpath(path).lstrip("/")
        out = False
        for p in self.patterns:
            if p.exclusion == (not out):
                continue    # cannot change the verdict
            if self._hit(p, path):
                out = not p.exclusion
        return out

    def may_include_below(self, dirpath: str) -> bool:
        """Could an exception bring back something under the excluded `dirpath`? (walk into it)"""
        if not self.has_exclusions:
            return False
        prefix = dirpath.rstrip("/") + "/"
        for p in self.patterns:
            if p.exclusion and (p.text.startswith(prefix) or "*" in p.text or p.text.startswith("*")):
                return True
        return False
