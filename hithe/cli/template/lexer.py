"""Template text to tokens, and Go string literals."""
from __future__ import annotations

from hithe.cli.template.gofmt import _go_quote


# --------------------------------------------------------------------------
# Lexer (mirrors text/template/parse/lex.go)

# token kinds
T_TEXT, T_LDELIM, T_RDELIM, T_SPACE, T_FIELD, T_VAR, T_IDENT, T_DOT = range(8)
T_STRING, T_RAWSTRING, T_CHAR, T_NUMBER, T_BOOL, T_NIL, T_PIPE = range(8, 15)
T_LPAREN, T_RPAREN, T_ASSIGN, T_DECLARE, T_COMMA, T_KEYWORD, T_EOF, T_ERROR, T_CHARTOK = range(15, 24)

_KEYWORDS = {"block", "break", "continue", "define", "else", "end", "if", "range", "template", "with"}
_SPACE = " \t\r\n"


class _Tok:
    __slots__ = ("kind", "val", "pos", "line")

    def __init__(self, kind: int, val: str, pos: int, line: int) -> None:
        self.kind = kind
        self.val = val
        self.pos = pos
        self.line = line

    def describe(self) -> str:
        """How Go's item.String() names a token in "unexpected X" errors."""
        if self.kind == T_EOF:
            return "EOF"
        if self.kind == T_ERROR:
            return self.val
        if self.kind == T_KEYWORD:
            return "<" + self.val + ">"
        if self.kind == T_DOT and self.val == ".":
            return "<.>"
        return _go_quote(self.val if len(self.val) <= 10 else self.val[:10]) + ("..." if len(self.val) > 10 else "")


def _is_alnum(c: str) -> bool:
    return c == "_" or c.isalnum()


class _Lexer:
    """Turns template text into tokens; a lexical error becomes a T_ERROR token
    (the parser reports it when reached, so earlier parse errors win as in Go)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.toks: list[_Tok] = []
        self.trim_after = False  # the last action ended with " -}}"

    def emit(self, kind: int, val: str, pos: int) -> None:
        self.toks.append(_Tok(kind, val, pos, self.text.count("\n", 0, pos) + 1))

    def error(self, msg: str, pos: int) -> int:
        self.emit(T_ERROR, msg, pos)
        return -1

    def run(self) -> list[_Tok]:
        text, i, n = self.text, 0, len(self.text)
        while True:
            j = text.find("{{", i)
            if j < 0:
                if i < n:
                    self.emit(T_TEXT, text[i:], i)
                self.emit(T_EOF, "", n)
                return self.toks
            k = j + 2
            # "{{- " trims the whitespace before the action ("{{-3}}" does not).
            trim_left = text.startswith("-", k) and k + 1 < n and text[k + 1] in _SPACE
            seg = text[i:j].rstrip(_SPACE) if trim_left else text[i:j]
            if seg:
                self.emit(T_TEXT, seg, i)
            if trim_left:
                k += 2
            if text.startswith("/*", k):
                i = self.comment(j, k)
            else:
                self.emit(T_LDELIM, "{{", j)
                i = self.action(k)
            if i < 0:
                return self.toks
            if self.trim_after:
                while i < n and text[i] in _SPACE:  # " -}}" trims what follows
                    i += 1

    def comment(self, start: int, k: int) -> int:
        text = self.text
        end = text.find("*/", k + 2)
        if end < 0:
            return self.error("unclosed comment", start)
        e = end + 2
        self.trim_after = self.at_trim_close(e)
        if self.trim_after:
            return e + 4
        if text.startswith("}}", e):
            return e + 2
        return self.error("comment ends before closing delimiter", start)

    def at_trim_close(self, p: int) -> bool:
        return p < len(self.text) and self.text[p] in _SPACE and self.text.startswith("-}}", p + 1)

    def action(self, p: int) -> int:
        """Lex the inside of an action starting at p; returns the index after '}}'."""
        text, n = self.text, len(self.text)
        depth = 0
        while True:
            trim = self.at_trim_close(p)
            if trim or text.startswith("}}", p):
                if depth:
                    return self.error("unclosed left paren", p)
                self.emit(T_RDELIM, "}}", p + 2 if trim else p)
                self.trim_after = trim
                return p + 4 if trim else p + 2
            if p >= n:
                return self.error("unclosed action", p)
            c = text[p]
            if c in _SPACE:
                q = p + 1
                while q < n and text[q] in _SPACE and not self.at_trim_close(q):
                    q += 1
                self.emit(T_SPACE, text[p:q], p)
                p = q
            elif c == "=":
                self.emit(T_ASSIGN, "=", p)
                p += 1
            elif c == ":":
                if not text.startswith(":=", p):
                    return self.error("expected :=", p)
                self.emit(T_DECLARE, ":=", p)
                p += 2
            elif c == "|":
                self.emit(T_PIPE, "|", p)
                p += 1
            elif c == '"':
                p = self.quote(p)
            elif c == "`":
                q = text.find("`", p + 1)
                if q < 0:
                    return self.error("unterminated raw quoted string", p)
                self.emit(T_RAWSTRING, text[p:q + 1], p)
                p = q + 1
            elif c == "'":
                p = self.char(p)
            elif c == "$":
                p = self.field_or_var(p, T_VAR)
            elif c == ".":
                if p + 1 < n and text[p + 1].isdigit():
                    p = self.number(p)
                else:
                    p = self.field_or_var(p, T_FIELD)
            elif c in "+-" or c.isdigit():
                p = self.number(p)
            elif _is_alnum(c):
                p = self.identifier(p)
            elif c == "(":
                depth += 1
                self.emit(T_LPAREN, "(", p)
                p += 1
            elif c == ")":
                depth -= 1
                if depth < 0:
                    return self.error("unexpected right paren", p)
                self.emit(T_RPAREN, ")", p)
                p += 1
            elif c == ",":
                self.emit(T_COMMA, ",", p)
                p += 1
            elif " " < c < "\x7f":
                # other printable ASCII is a "char" item the parser rejects
                self.emit(T_CHARTOK, c, p)
                p += 1
            else:
                return self.error(f"unrecognized character in action: {_go_rune(c)}", p)
            if p < 0:
                return -1

    def at_terminator(self, p: int) -> bool:
        text = self.text
        if p >= len(text):
            return True
        c = text[p]
        if c in _SPACE or c in ".,|:)(":
            return True
        return text.startswith("}}", p)

    def field_or_var(self, p: int, kind: int) -> int:
        text, n = self.text, len(self.text)
        q = p + 1
        if self.at_terminator(q):
            if kind == T_VAR:
                self.emit(T_VAR, "$", p)
            else:
                self.emit(T_DOT, ".", p)
            return q
        while q < n and _is_alnum(text[q]):
            q += 1
        if not self.at_terminator(q):
            self.error(f"bad character {_go_rune(text[q])}", q)
            return -1
        self.emit(kind, text[p:q], p)
        return q

    def identifier(self, p: int) -> int:
        text, n = self.text, len(self.text)
        q = p
        while q < n and _is_alnum(text[q]):
            q += 1
        if not self.at_terminator(q):
            self.error(f"bad character {_go_rune(text[q])}", q)
            return -1
        word = text[p:q]
        if word in _KEYWORDS:
            self.emit(T_KEYWORD, word, p)
        elif word in ("true", "false"):
            self.emit(T_BOOL, word, p)
        elif word == "nil":
            self.emit(T_NIL, word, p)
        else:
            self.emit(T_IDENT, word, p)
        return q

    def number(self, p: int) -> int:
        text, n = self.text, len(self.text)
        q = p
        if q < n and text[q] in "+-":
            q += 1
        digits = "0123456789_"
        if text.startswith(("0x", "0X"), q):
            q += 2
            digits = "0123456789abcdefABCDEF_"
        elif text.startswith(("0o", "0O"), q):
            q += 2
            digits = "01234567_"
        elif text.startswith(("0b", "0B"), q):
            q += 2
            digits = "01_"
        while q < n and text[q] in digits:
            q += 1
        if q < n and text[q] == ".":
            q += 1
            while q < n and text[q] in digits:
                q += 1
        if len(digits) == 11 and q < n and text[q] in "eE" or len(digits) == 23 and q < n and text[q] in "pP":
            q += 1
            if q < n and text[q] in "+-":
                q += 1
            while q < n and text[q] in "0123456789_":
                q += 1
        if q < n and text[q] == "i":
            q += 1
        if q < n and _is_alnum(text[q]):
            q += 1
            self.error(f"bad number syntax: {_go_quote(text[p:q])}", p)
            return -1
        self.emit(T_NUMBER, text[p:q], p)
        return q

    def quote(self, p: int) -> int:
        text, n = self.text, len(self.text)
        q = p + 1
        while True:
            if q >= n or text[q] == "\n":
                self.error("unterminated quoted string", p)
                return -1
            if text[q] == "\\":
                q += 2
                continue
            if text[q] == '"':
                break
            q += 1
        self.emit(T_STRING, text[p:q + 1], p)
        return q + 1

    def char(self, p: int) -> int:
        text, n = self.text, len(self.text)
        q = p + 1
        while True:
            if q >= n or text[q] == "\n":
                self.error("unterminated character constant", p)
                return -1
            if text[q] == "\\":
                q += 2
                continue
            if text[q] == "'":
                break
            q += 1
        self.emit(T_CHAR, text[p:q + 1], p)
        return q + 1


def _go_rune(c: str) -> str:
    """Go's %#U: U+007D '}'."""
    return f"U+{ord(c):04X} '{c}'" if c.isprintable() else f"U+{ord(c):04X}"


# --------------------------------------------------------------------------
# Go string literal handling

_SIMPLE_ESC = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
               "\\": "\\", "'": "'", '"': '"'}


def _unquote(lit: str) -> str:
    """strconv.Unquote for "..." and '...' literals; raises ValueError."""
    if lit[0] == "`":
        return lit[1:-1].replace("\r", "")
    body, quote = lit[1:-1], lit[0]
    out: list[str] = []
    i, n = 0, len(body)
    while i < n:
        c = body[i]
        if c == quote:
            raise ValueError("invalid syntax")
        if c != "\\":
            out.append(c)
            i += 1
            continue
        if i + 1 >= n:
            raise ValueError("invalid syntax")
        e = body[i + 1]
        if e in _SIMPLE_ESC:
            if (e == "'" and quote == '"') or (e == '"' and quote == "'"):
                raise ValueError("invalid syntax")
            out.append(_SIMPLE_ESC[e])
            i += 2
        elif e in "xuU01234567":
            size = {"x": 2, "u": 4, "U": 8}.get(e, 3)
            start = i + 2 if e in "xuU" else i + 1
            chunk = body[start:start + size]
            if len(chunk) != size:
                raise ValueError("invalid syntax")
            code = int(chunk, 8 if e not in "xuU" else 16)
            if e in "uU" and (code > 0x10FFFF or 0xD800 <= code < 0xE000):
                raise ValueError("invalid syntax")
            if e not in "uU" and code > 255:
                raise ValueError("invalid syntax")
            # \x and octal escapes are bytes; for ASCII they are the same char.
            out.append(chr(code))
            i = start + size
        else:
            raise ValueError("invalid syntax")
    s = "".join(out)
    if quote == "'" and len(s) != 1:
        raise ValueError("invalid syntax")
    return s
