"""Docker's word processing: variable expansion, quotes and escapes, NAME=VALUE splitting.

`expand` is Docker's ProcessWord: `$VAR`, `${VAR}`, `${VAR:-word}`,
`${VAR-word}`, `${VAR:+word}`, `${VAR+word}`, `${VAR:?msg}`; single quotes
keep everything literal, double quotes still expand, the escape character
makes the next character literal (inside double quotes only before `"`,
`$` and itself).  Quotes are removed from the result.
"""
from __future__ import annotations

from typing import Mapping

from hithe.errors import InvalidParameter


class _Lexer:
    def __init__(self, text: str, env: Mapping[str, str], escape: str) -> None:
        self.s, self.i, self.env, self.esc = text, 0, env, escape

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def take(self) -> str:
        ch = self.peek()
        self.i += 1
        return ch

    def word(self, stop: str = "") -> str:
        out: list[str] = []
        while self.i < len(self.s):
            ch = self.peek()
            if stop and ch in stop:
                break
            self.i += 1
            if ch == self.esc:
                nxt = self.take()
                out.append(nxt if nxt else ch)
            elif ch == "'":
                out.append(self._single())
            elif ch == '"':
                out.append(self._double())
            elif ch == "$":
                out.append(self._dollar())
            else:
                out.append(ch)
        return "".join(out)

    def _single(self) -> str:
        end = self.s.find("'", self.i)
        if end < 0:
            raise InvalidParameter("unexpected end of statement while looking for matching single-quote")
        val = self.s[self.i:end]
        self.i = end + 1
        return val

    def _double(self) -> str:
        out: list[str] = []
        while True:
            if self.i >= len(self.s):
                raise InvalidParameter("unexpected end of statement while looking for matching double-quote")
            ch = self.take()
            if ch == '"':
                return "".join(out)
            if ch == self.esc and self.peek() in ('"', "$", self.esc):
                out.append(self.take())
            elif ch == "$":
                out.append(self._dollar())
            else:
                out.append(ch)

    def _name(self) -> str:
        start = self.i
        while self.i < len(self.s) and (self.s[self.i].isalnum() or self.s[self.i] == "_"):
            self.i += 1
        return self.s[start:self.i]

    def _dollar(self) -> str:
        if self.peek() != "{":
            name = self._name()
            if not name:
                return "$"
            return self.env.get(name, "")
        self.i += 1
        name = self._name()
        if not name:
            raise InvalidParameter(f"bad substitution in {self.s!r}: missing variable name")
        ch = self.take()
        if ch == "}":
            return self.env.get(name, "")
        colon = ch == ":"
        if colon:
            ch = self.take()
        if ch not in ("-", "+", "?"):
            raise InvalidParameter(f"unsupported modifier ({ch}) in substitution")
        word = self._nested()
        is_set = name in self.env
        val = self.env.get(name, "")
        present = bool(val) if colon else is_set
        if ch == "-":
            return val if present else word
        if ch == "+":
            return word if present else ""
        if not present:
            raise InvalidParameter(f"{name}: {word or 'is not allowed to be unset'}")
        return val

    def _nested(self) -> str:
        """The word of a modifier: up to the matching '}', itself expanded."""
        out: list[str] = []
        while True:
            if self.i >= len(self.s):
                raise InvalidParameter(f"missing '}}' in substitution: {self.s}")
            ch = self.take()
            if ch == "}":
                return "".join(out)
            if ch == self.esc:
                out.append(self.take())
            elif ch == "$":
                out.append(self._dollar())
            elif ch == "'":
                out.append(self._single())
            elif ch == '"':
                out.append(self._double())
            else:
                out.append(ch)


def expand(text: str, env: Mapping[str, str], escape: str = "\\") -> str:
    """Docker's ProcessWord: one word, quotes removed, variables expanded."""
    return _Lexer(text, env, escape).word()


def expand_words(text: str, env: Mapping[str, str], escape: str = "\\") -> list[str]:
    """Docker's ProcessWords: split on unquoted blanks, each word expanded (EXPOSE, VOLUME, ...)."""
    out = []
    for raw in split_words(text, escape):
        out.append(expand(raw, env, escape))
    return [w for w in out if w != ""] if text.strip() else []


def split_words(text: str, escape: str = "\\") -> list[str]:
    """Split on blanks outside quotes, keeping quotes and escapes in the words (Docker's parseWords)."""
    words: list[str] = []
    cur: list[str] = []
    quote = ""
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == escape and i + 1 < len(text) and quote != "'":
            cur.append(ch + text[i + 1])
            i += 2
            continue
        if quote:
            if ch == quote:
                quote = ""
            cur.append(ch)
        elif ch in "'\"":
            quote = ch
            cur.append(ch)
        elif ch.isspace():
            if cur:
                words.append("".join(cur))
                cur = []
        else:
            cur.append(ch)
        i += 1
    if cur:
        words.append("".join(cur))
    return words


def name_values(cmd: str, text: str, env: Mapping[str, str], escape: str = "\\",
                *, expand_vars: bool = True) -> list[tuple[str, str]]:
    """ENV and LABEL arguments: `k=v k2="v 2"`, or the old `KEY value with spaces` form."""
    words = split_words(text, escape)
    if not words:
        raise InvalidParameter(f"{cmd.upper()} requires at least one argument")
    e = (lambda w: expand(w, env, escape)) if expand_vars else (lambda w: w)
    if "=" not in words[0]:
        key = words[0]
        value = text.strip()[len(key):].strip()
        if not value:
            if cmd == "env":
                raise InvalidParameter("ENV must have two arguments")
            raise InvalidParameter(f"{cmd.upper()} requires at least one argument")
        return [(e(key), e(value))]
    out = []
    for w in words:
        if "=" not in w:
            raise InvalidParameter(f"Syntax error - can't find = in \"{w}\". Must be of the form: name=value")
        k, _, v = w.partition("=")
        if not k:
            raise InvalidParameter(f"{cmd.upper()} names can not be blank")
        out.append((e(k), e(v)))
    return out
