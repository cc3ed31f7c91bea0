"""Go's filepath.Match, plus the `**` of .dockerignore, as compiled regular expressions.

Used for COPY/ADD wildcards (plain filepath.Match: `*` and `?` never cross a
`/`) and for .dockerignore patterns (where `**` spans directories).
"""
from __future__ import annotations

import re
from functools import lru_cache

from hithe.errors import InvalidParameter


class BadPattern(InvalidParameter):
    def __init__(self, pattern: str) -> None:
        super().__init__(f"syntax error in pattern: {pattern}")


@lru_cache(maxsize=512)
def compile_pattern(pattern: str, *, double_star: bool = False) -> "re.Pattern[str]":
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "*":
            if double_star and pattern.startswith("**", i):
                i += 2
                if i < n and pattern[i] == "/":
                    out.append("(?:.*/)?")   # "**/" : zero or more whole directories
                    i += 1
                else:
                    out.append(".*")
                continue
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "[":
            j = i + 1
            cls = ["["]
            if j < n and pattern[j] == "^":
                cls.append("^")
                j += 1
            first = True
            while True:
                if j >= n:
                    raise BadPattern(pattern)
                c = pattern[j]
                if c == "]" and not first:
                    break
                if c == "\\":
                    j += 1
                    if j >= n:
                        raise BadPattern(pattern)
                    c = pattern[j]
                if c == "/" or (c == "]" and first):
                    raise BadPattern(pattern)
                cls.append(re.escape(c) if c not in "-" else "-")
                first = False
                j += 1
            cls.append("]")
            out.append("".join(cls))
            i = j
        elif ch == "\\":
            i += 1
            if i >= n:
                raise BadPattern(pattern)
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("".join(out) + r"\Z", re.DOTALL)


def go_match(pattern: str, name: str) -> bool:
    """filepath.Match(pattern, name)."""
    return compile_pattern(pattern).match(name) is not None


def has_magic(pattern: str) -> bool:
    return any(c in pattern for c in "*?[\\")
