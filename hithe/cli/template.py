"""Go text/template, the subset docker's ``--format`` flag uses.

docker renders ``--format`` with Go's text/template plus a few helper
functions (docker/cli templates.go), and the output, including error text,
is part of its interface: scripts grep it.  This module re-implements the
lexer, parser and executor closely enough that templates people actually
write render byte-for-byte like docker, and malformed ones fail with Go's
wording.

Data model (how Python values stand in for Go values):

* ``dict`` is a Go ``map[string]interface{}`` (what docker's ``inspect``
  falls back to): a missing key is ``<no value>``, ``{{.}}`` prints
  ``map[k:v ...]`` sorted by key, ``range`` walks keys in sorted order.
  ``{{json}}`` keeps the dict's insertion order, so data decoded from the
  Engine API (already in Go's field order) re-encodes exactly.
* ``GoStruct`` (a dict subclass) is a Go struct: a missing field is an
  error, ``{{.}}`` prints ``{v1 v2}`` in field order, a ``None`` field is a
  typed nil pointer (prints ``<nil>``).
* Any other object is a struct too: ``.Field`` reads an attribute or calls
  a method (with the template's arguments).
* ``None`` is a nil interface, ``int``/``float``/``str``/``bool``/``list``
  map to the obvious Go kinds.

Public API: ``compile_template``, ``Template.render``, ``Template.header``,
``header_for``, ``parse_format``, ``format_output``, ``TemplateError``,
``GoStruct``, ``go_print``, ``go_json``.
"""
from __future__ import annotations

# typing is only needed by annotations (lazy under the __future__ import);
# skipping the import keeps CLI start-up cheap.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Iterable

__all__ = [
    "GoMap", "GoStruct", "Template", "TemplateError", "compile_template", "format_output",
    "go_json", "go_print", "go_sprintf", "header_for", "parse_format",
]


class TemplateError(Exception):
    """A template failed to parse or execute.

    ``str(err)`` is the whole line docker prints (``template parsing error:
    template: :1: ...``); ``detail`` is Go's own error text and ``phase`` is
    ``"parse"`` or ``"exec"`` (docker exits 64 for parse errors of commands
    that wrap them in a StatusError, 1 otherwise).
    """

    def __init__(self, detail: str, phase: str = "parse") -> None:
        self.detail = detail
        self.phase = phase
        self.message = "template parsing error: " + detail
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class GoStruct(dict):
    """A dict that behaves like a Go struct value in templates."""

    #: Go type name used in error messages ("can't evaluate field X in type T").
    go_type = "struct"


class GoMap(dict):
    """A dict that is always a Go map: ``{{json}}`` sorts its keys.

    Use it for rows of list commands: docker marshals the row of
    ``docker ps --format json`` as a map, so keys come out sorted.
    """


class _Sentinel:
    """Singleton markers for Go values Python has no spelling for."""

    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self.text = text

    def __repr__(self) -> str:
        return self.name

    def __bool__(self) -> bool:
        return False


# Go's invalid reflect.Value: a missing map key, or nil dug out of an interface.
NO_VALUE = _Sentinel("NO_VALUE", "<no value>")
# A typed nil pointer (a struct field that is None): prints "<nil>".
TYPED_NIL = _Sentinel("TYPED_NIL", "<nil>")
# "No final value" marker for pipelines (Go's missingVal).
_NO_FINAL = _Sentinel("NO_FINAL", "")


# --------------------------------------------------------------------------
# Printing values the way Go's fmt %v does

def _shortest_digits(f: float) -> tuple[str, int]:
    """Shortest round-trip digits of abs(f) and Go's decimal point position.

    Python's repr already finds the shortest digits; we only re-express it as
    (digits, dp) meaning 0.DIGITS x 10**dp, which Go's strconv works with.
    """
    r = repr(abs(f))
    mant, _, exp = r.partition("e")
    e = int(exp) if exp else 0
    ip, _, fp = mant.partition(".")
    if fp == "0":
        fp = ""
    digits = (ip + fp).lstrip("0")
    lead = len(ip + fp) - len((ip + fp).lstrip("0"))
    dp = len(ip) + e - lead
    digits = digits.rstrip("0") or "0"
    return digits, dp


def _fmt_e(neg: bool, digits: str, dp: int) -> str:
    exp = dp - 1 if digits != "0" else 0
    mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    sign = "-" if exp < 0 else "+"
    return ("-" if neg else "") + mant + "e" + sign + ("%02d" % abs(exp))


def _fmt_f(neg: bool, digits: str, dp: int) -> str:
    if digits == "0":
        s = "0"
    elif dp <= 0:
        s = "0." + "0" * -dp + digits
    elif dp >= len(digits):
        s = digits + "0" * (dp - len(digits))
    else:
        s = digits[:dp] + "." + digits[dp:]
    return ("-" if neg else "") + s


def go_float(f: float) -> str:
    """Format a float like Go's %v: strconv 'g' with the shortest digits,
    switching to exponent form below 1e-4 or from 1e+06 on ("1e+06")."""
    if f != f:
        return "NaN"
    if f in (float("inf"), float("-inf")):
        return "+Inf" if f > 0 else "-Inf"
    neg = f < 0 or (f == 0 and str(f).startswith("-"))
    digits, dp = _shortest_digits(f)
    if digits == "0":
        return "-0" if neg else "0"
    exp = dp - 1
    if exp < -4 or exp >= 6:
        return _fmt_e(neg, digits, dp)
    return _fmt_f(neg, digits, dp)


def go_json_float(f: float) -> str:
    """Format a float like encoding/json: plain unless < 1e-6 or >= 1e21."""
    a = abs(f)
    digits, dp = _shortest_digits(f)
    neg = f < 0
    if a != 0 and (a < 1e-6 or a >= 1e21):
        s = _fmt_e(neg, digits, dp)
        # encoding/json shortens "e-07" to "e-7" (but keeps "e+21").
        if len(s) >= 4 and s[-4:-1] == "e-0":
            s = s[:-2] + s[-1]
        return s
    return _fmt_f(neg, digits, dp)


def go_print(v: Any) -> str:
    """Render a value like Go's fmt.Sprint (%v)."""
    if isinstance(v, str):
        return v
    if v is None:
        return "<nil>"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return go_float(v)
    if isinstance(v, _Sentinel):
        return v.text
    if isinstance(v, GoStruct):
        return "{" + " ".join(go_print(x) for x in v.values()) + "}"
    if isinstance(v, dict):
        items = sorted(v.items(), key=_map_key)
        return "map[" + " ".join(f"{go_print(k)}:{go_print(x)}" for k, x in items) + "]"
    if isinstance(v, (list, tuple)):
        return "[" + " ".join(go_print(x) for x in v) + "]"
    return str(v)


def _map_key(item: tuple[Any, Any]) -> Any:
    # fmt sorts map keys: numbers numerically, strings bytewise (code point
    # order is the same as UTF-8 byte order).
    k = item[0]
    return (0, k, "") if isinstance(k, (int, float)) else (1, 0, str(k))


def go_type(v: Any) -> str:
    """The Go type name docker would report for a value."""
    if v is None:
        return "interface {}"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float64"
    if isinstance(v, str):
        return "string"
    if isinstance(v, GoStruct):
        return v.go_type
    if isinstance(v, dict):
        return "map[string]interface {}"
    if isinstance(v, (list, tuple)):
        if v and all(isinstance(x, str) for x in v):
            return "[]string"
        return "[]interface {}"
    return getattr(v, "go_type", None) or type(v).__name__


# --------------------------------------------------------------------------
# JSON like Go's encoding/json (SetEscapeHTML(false), as docker's json func)

def go_json(v: Any) -> str:
    """Encode compactly like docker's ``json`` template function.

    Unsupported values (NaN, +Inf) make Go's encoder fail; docker ignores
    the error and prints an empty string, so we do too.
    """
    out: list[str] = []
    try:
        _json_into(v, out)
    except ValueError:
        return ""
    return "".join(out)


def _json_str(s: str) -> str:
    import json  # deferred: only templates that use json pay for it
    # Go escapes U+2028/U+2029 even with HTML escaping off.
    return json.dumps(s, ensure_ascii=False).replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _json_into(v: Any, out: list[str]) -> None:
    if v is None or isinstance(v, _Sentinel):
        out.append("null")
    elif v is True:
        out.append("true")
    elif v is False:
        out.append("false")
    elif isinstance(v, int):
        out.append(str(v))
    elif isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")):
            raise ValueError("json: unsupported value")
        out.append(go_json_float(v))
    elif isinstance(v, str):
        out.append(_json_str(v))
    elif isinstance(v, dict):
        _json_object(v.items() if _json_keeps_order(v) else sorted(v.items(), key=_map_key), out)
    elif isinstance(v, (list, tuple)):
        out.append("[")
        for i, x in enumerate(v):
            if i:
                out.append(",")
            _json_into(x, out)
        out.append("]")
    elif hasattr(v, "__json__"):
        _json_into(v.__json__(), out)
    else:
        attrs = {k: x for k, x in vars(v).items() if not k.startswith("_")} if hasattr(v, "__dict__") else str(v)
        _json_into(attrs, out)


def _json_keeps_order(d: dict) -> bool:
    """Whether a dict encodes in insertion order (a Go struct) or sorted (a Go map).

    encoding/json writes struct fields in declaration order and map keys
    sorted.  JSON from the Engine API arrives in struct order, so a dict whose
    keys all look like exported Go field names ("Id", "HostConfig") keeps its
    order; anything else ("com.example.label", "80/tcp") is a map.  GoStruct
    and GoMap pin the choice explicitly.
    """
    if isinstance(d, GoStruct):
        return True
    if isinstance(d, GoMap):
        return False
    return all(isinstance(k, str) and _is_field_name(k) for k in d)


def _is_field_name(k: str) -> bool:
    return k[:1].isascii() and k[:1].isupper() and (k.isascii() and k.replace("_", "a").isalnum())


def _json_object(items: Iterable[tuple[Any, Any]], out: list[str]) -> None:
    out.append("{")
    for i, (k, x) in enumerate(items):
        if i:
            out.append(",")
        out.append(_json_str(str(k)))
        out.append(":")
        _json_into(x, out)
    out.append("}")


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


def _go_quote(s: str) -> str:
    """strconv.Quote: double-quoted, Go escapes, printable Unicode kept."""
    out = ['"']
    for c in s:
        if c == '"' or c == "\\":
            out.append("\\" + c)
        elif c.isprintable() or c == " ":
            out.append(c)
        elif c in "\a\b\f\n\r\t\v":
            out.append({"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
                        "\t": "\\t", "\v": "\\v"}[c])
        elif ord(c) < 0x80:
            out.append("\\x%02x" % ord(c))
        elif ord(c) < 0x10000:
            out.append("\\u%04x" % ord(c))
        else:
            out.append("\\U%08x" % ord(c))
    out.append('"')
    return "".join(out)


# --------------------------------------------------------------------------
# Parse tree

class _Node:
    __slots__ = ("pos",)

    def __init__(self, pos: int) -> None:
        self.pos = pos


class _Text(_Node):
    __slots__ = ("text",)

    def __init__(self, pos: int, text: str) -> None:
        super().__init__(pos)
        self.text = text


class _Field(_Node):
    __slots__ = ("idents",)

    def __init__(self, pos: int, text: str) -> None:
        super().__init__(pos)
        self.idents = text[1:].split(".")

    def __str__(self) -> str:
        return "." + ".".join(self.idents)


class _Var(_Node):
    __slots__ = ("idents",)

    def __init__(self, pos: int, text: str) -> None:
        super().__init__(pos)
        self.idents = text.split(".")

    def __str__(self) -> str:
        return ".".join(self.idents)


class _Ident(_Node):
    __slots__ = ("name",)

    def __init__(self, pos: int, name: str) -> None:
        super().__init__(pos)
        self.name = name

    def __str__(self) -> str:
        return self.name


class _Dot(_Node):
    def __str__(self) -> str:
        return "."


class _Nil(_Node):
    def __str__(self) -> str:
        return "nil"


class _Literal(_Node):
    """Bool, number and string constants; ``text`` is the source spelling."""
    __slots__ = ("text", "value", "is_int")

    def __init__(self, pos: int, text: str, value: Any, is_int: bool = False) -> None:
        super().__init__(pos)
        self.text = text
        self.value = value
        self.is_int = is_int

    def __str__(self) -> str:
        return self.text


class _Chain(_Node):
    __slots__ = ("node", "fields")

    def __init__(self, pos: int, node: _Node) -> None:
        super().__init__(pos)
        self.node = node
        self.fields: list[str] = []

    def __str__(self) -> str:
        base = f"({self.node})" if isinstance(self.node, _Pipe) else str(self.node)
        return base + "".join("." + f for f in self.fields)


class _Command(_Node):
    __slots__ = ("args",)

    def __init__(self, pos: int) -> None:
        super().__init__(pos)
        self.args: list[_Node] = []

    def __str__(self) -> str:
        return " ".join(f"({a})" if isinstance(a, _Pipe) else str(a) for a in self.args)


class _Pipe(_Node):
    __slots__ = ("decl", "is_assign", "cmds")

    def __init__(self, pos: int) -> None:
        super().__init__(pos)
        self.decl: list[_Var] = []
        self.is_assign = False
        self.cmds: list[_Command] = []

    def __str__(self) -> str:
        s = ""
        if self.decl:
            s = ", ".join(str(v) for v in self.decl) + (" = " if self.is_assign else " := ")
        return s + " | ".join(str(c) for c in self.cmds)


class _Action(_Node):
    __slots__ = ("pipe",)

    def __init__(self, pos: int, pipe: _Pipe) -> None:
        super().__init__(pos)
        self.pipe = pipe

    def __str__(self) -> str:
        return "{{" + str(self.pipe) + "}}"


class _List(_Node):
    __slots__ = ("nodes",)

    def __init__(self, pos: int) -> None:
        super().__init__(pos)
        self.nodes: list[_Node] = []


class _Branch(_Node):
    """if / with / range."""
    __slots__ = ("kind", "pipe", "body", "else_body")

    def __init__(self, kind: str, pos: int, pipe: _Pipe, body: _List, else_body: _List | None) -> None:
        super().__init__(pos)
        self.kind = kind
        self.pipe = pipe
        self.body = body
        self.else_body = else_body


class _Marker(_Node):
    """{{end}}, {{else}}, {{break}}, {{continue}}."""
    __slots__ = ("word",)

    def __init__(self, pos: int, word: str) -> None:
        super().__init__(pos)
        self.word = word

    def __str__(self) -> str:
        return "{{" + self.word + "}}"


class _TemplateCall(_Node):
    __slots__ = ("name", "pipe")

    def __init__(self, pos: int, name: str, pipe: _Pipe | None) -> None:
        super().__init__(pos)
        self.name = name
        self.pipe = pipe

    def __str__(self) -> str:
        return "{{template " + _go_quote(self.name) + (" " + str(self.pipe) if self.pipe else "") + "}}"


# --------------------------------------------------------------------------
# Parser (mirrors text/template/parse/parse.go)

class _Parser:
    def __init__(self, text: str, name: str, funcs: dict[str, Any]) -> None:
        self.name = name
        self.funcs = funcs
        self.toks = _Lexer(text).run()
        self.i = 0
        self.vars = ["$"]
        self.range_depth = 0
        self.defines: dict[str, _List] = {}
        self.last_line = 1

    # token stream helpers -------------------------------------------------
    def next(self) -> _Tok:
        tok = self.toks[self.i]
        if tok.kind == T_ERROR:
            self.fail(tok.val, tok.line)
        if tok.kind != T_EOF:
            self.i += 1
        self.last_line = tok.line
        return tok

    def backup(self, count: int = 1) -> None:
        self.i -= count

    def peek(self) -> _Tok:
        tok = self.next()
        if tok.kind != T_EOF:
            self.backup()
        return tok

    def next_non_space(self) -> _Tok:
        tok = self.next()
        while tok.kind == T_SPACE:
            tok = self.next()
        return tok

    def peek_non_space(self) -> _Tok:
        tok = self.next_non_space()
        if tok.kind != T_EOF:
            self.backup()
        return tok

    def fail(self, msg: str, line: int | None = None) -> None:
        raise TemplateError(f"template: {self.name}:{line or self.last_line}: {msg}")

    def unexpected(self, tok: _Tok, context: str) -> None:
        if tok.kind == T_ERROR:
            self.fail(tok.val, tok.line)
        self.fail(f"unexpected {tok.describe()} in {context}")

    def expect(self, kind: int, context: str) -> _Tok:
        tok = self.next_non_space()
        if tok.kind != kind:
            self.unexpected(tok, context)
        return tok

    # grammar ---------------------------------------------------------------
    def parse(self) -> _List:
        root = _List(0)
        while self.peek().kind != T_EOF:
            if self.peek().kind == T_LDELIM:
                start = self.i
                self.next()
                if self.next_non_space().val == "define" and self.toks[self.i - 1].kind == T_KEYWORD:
                    self.parse_define()
                    continue
                self.i = start
            node = self.text_or_action()
            if isinstance(node, _Marker) and node.word in ("end", "else"):
                self.fail(f"unexpected {node}")
            root.nodes.append(node)
        return root

    def parse_define(self) -> None:
        name_tok = self.next_non_space()
        if name_tok.kind not in (T_STRING, T_RAWSTRING):
            self.unexpected(name_tok, "define clause")
        self.expect(T_RDELIM, "define clause")
        body, end = self.item_list()
        if end.word != "end":
            self.fail(f"unexpected {end} in define clause")
        self.defines[_unquote(name_tok.val)] = body

    def item_list(self) -> tuple[_List, _Marker]:
        lst = _List(self.peek_non_space().pos)
        while self.peek_non_space().kind != T_EOF:
            node = self.text_or_action()
            if isinstance(node, _Marker) and node.word in ("end", "else"):
                return lst, node
            lst.nodes.append(node)
        self.fail("unexpected EOF")
        raise AssertionError

    def text_or_action(self) -> _Node:
        tok = self.next_non_space()
        if tok.kind == T_TEXT:
            return _Text(tok.pos, tok.val)
        if tok.kind == T_LDELIM:
            return self.action()
        self.unexpected(tok, "input")
        raise AssertionError

    def action(self) -> _Node:
        tok = self.next_non_space()
        if tok.kind == T_KEYWORD:
            word = tok.val
            if word == "if":
                return self.control("if", tok)
            if word == "range":
                return self.control("range", tok)
            if word == "with":
                return self.control("with", tok)
            if word == "end":
                return _Marker(self.expect(T_RDELIM, "end").pos, "end")
            if word == "else":
                return self.else_control()
            if word in ("break", "continue"):
                return self.loop_control(word, tok)
            if word == "template":
                return self.template_control(tok)
            if word == "block":
                self.fail("{{block}} is not supported")
            if word == "define":
                self.fail("unexpected <define> in command")
        self.backup()
        tok = self.peek()
        return _Action(tok.pos, self.pipeline("command", T_RDELIM))

    def loop_control(self, word: str, tok: _Tok) -> _Node:
        nxt = self.next_non_space()
        if nxt.kind != T_RDELIM:
            self.unexpected(nxt, "{{" + word + "}}")
        if not self.range_depth:
            self.fail("{{" + word + "}} outside {{range}}")
        return _Marker(tok.pos, word)

    def template_control(self, tok: _Tok) -> _Node:
        name_tok = self.next_non_space()
        if name_tok.kind not in (T_STRING, T_RAWSTRING):
            self.unexpected(name_tok, "template clause")
        pipe = None
        if self.next_non_space().kind != T_RDELIM:
            self.backup()
            pipe = self.pipeline("template clause", T_RDELIM)
        return _TemplateCall(name_tok.pos, _unquote(name_tok.val), pipe)

    def else_control(self) -> _Node:
        peek = self.peek_non_space()
        if peek.kind == T_KEYWORD and peek.val in ("if", "with"):
            # "{{else if ...}}" is rewritten to "{{else}}{{if ...}}...".
            return _Marker(peek.pos, "else")
        return _Marker(self.expect(T_RDELIM, "else").pos, "else")

    def control(self, kind: str, tok: _Tok) -> _Node:
        mark = len(self.vars)
        pipe = self.pipeline(kind, T_RDELIM)
        if kind == "range":
            self.range_depth += 1
        body, nxt = self.item_list()
        if kind == "range":
            self.range_depth -= 1
        else_body = None
        if nxt.word == "else":
            peek = self.peek()
            if kind != "range" and peek.kind == T_KEYWORD and peek.val == kind:
                # "else if" chains inside if, "else with" inside with.
                self.next()
                else_body = _List(nxt.pos)
                else_body.nodes.append(self.control(kind, peek))
            elif peek.kind == T_KEYWORD and peek.val in ("if", "with"):
                self.fail(f"unexpected <{peek.val}> in else")
            else:
                else_body, end = self.item_list()
                if end.word != "end":
                    self.fail(f"expected end; found {end}")
        del self.vars[mark:]
        return _Branch(kind, tok.pos, pipe, body, else_body)

    def pipeline(self, context: str, end: int) -> _Pipe:
        pipe = _Pipe(self.peek_non_space().pos)
        self.declarations(pipe, context)
        while True:
            tok = self.next_non_space()
            if tok.kind == end:
                self.check_pipeline(pipe, context)
                return pipe
            if tok.kind in (T_BOOL, T_CHAR, T_DOT, T_FIELD, T_IDENT, T_NUMBER, T_NIL,
                            T_RAWSTRING, T_STRING, T_VAR, T_LPAREN):
                self.backup()
                pipe.cmds.append(self.command())
            else:
                self.unexpected(tok, context)

    def declarations(self, pipe: _Pipe, context: str) -> None:
        while True:
            v = self.peek_non_space()
            if v.kind != T_VAR:
                return
            start = self.i
            self.next_non_space()
            nxt = self.peek_non_space()
            if nxt.kind in (T_ASSIGN, T_DECLARE):
                pipe.is_assign = nxt.kind == T_ASSIGN
                self.next_non_space()
                pipe.decl.append(_Var(v.pos, v.val))
                self.vars.append(v.val)
                return
            if nxt.kind == T_COMMA:
                self.next_non_space()
                pipe.decl.append(_Var(v.pos, v.val))
                self.vars.append(v.val)
                if context == "range" and len(pipe.decl) < 2:
                    if self.peek_non_space().kind in (T_VAR, T_RDELIM, T_RPAREN):
                        continue
                    self.fail("range can only initialize variables")
                self.fail(f"too many declarations in {context}")
            self.i = start
            return

    def check_pipeline(self, pipe: _Pipe, context: str) -> None:
        if not pipe.cmds:
            self.fail(f"missing value for {context}")
        for i, cmd in enumerate(pipe.cmds[1:]):
            if isinstance(cmd.args[0], (_Literal, _Dot, _Nil)):
                self.fail(f"non executable command in pipeline stage {i + 2}")

    def command(self) -> _Command:
        cmd = _Command(self.peek_non_space().pos)
        while True:
            self.peek_non_space()
            operand = self.operand()
            if operand is not None:
                cmd.args.append(operand)
            tok = self.next()
            if tok.kind == T_SPACE:
                continue
            if tok.kind in (T_RDELIM, T_RPAREN):
                self.backup()
            elif tok.kind != T_PIPE:
                self.unexpected(tok, "operand")
            break
        if not cmd.args:
            self.fail("empty command")
        return cmd

    def operand(self) -> _Node | None:
        node = self.term()
        if node is None:
            return None
        if self.peek().kind == T_FIELD:
            chain = _Chain(self.peek().pos, node)
            while self.peek().kind == T_FIELD:
                chain.fields.append(self.next().val[1:])
            if isinstance(node, _Field):
                return _Field(chain.pos, str(chain))
            if isinstance(node, _Var):
                return _Var(chain.pos, str(chain))
            if isinstance(node, (_Literal, _Nil, _Dot)):
                self.fail(f"unexpected . after term {_go_quote(str(node))}")
            return chain
        return node

    def term(self) -> _Node | None:
        tok = self.next_non_space()
        k = tok.kind
        if k == T_IDENT:
            if tok.val not in self.funcs:
                self.fail(f"function {_go_quote(tok.val)} not defined")
            return _Ident(tok.pos, tok.val)
        if k == T_DOT:
            return _Dot(tok.pos)
        if k == T_NIL:
            return _Nil(tok.pos)
        if k == T_VAR:
            name = tok.val.split(".")[0]
            if name not in self.vars:
                self.fail(f"undefined variable {_go_quote(name)}")
            return _Var(tok.pos, tok.val)
        if k == T_FIELD:
            return _Field(tok.pos, tok.val)
        if k == T_BOOL:
            return _Literal(tok.pos, tok.val, tok.val == "true")
        if k in (T_CHAR, T_NUMBER):
            return self.number(tok)
        if k == T_LPAREN:
            return self.pipeline("parenthesized pipeline", T_RPAREN)
        if k in (T_STRING, T_RAWSTRING):
            try:
                return _Literal(tok.pos, tok.val, _unquote(tok.val))
            except ValueError:
                self.fail("invalid syntax")
        self.backup()
        return None

    def number(self, tok: _Tok) -> _Literal:
        text = tok.val
        if tok.kind == T_CHAR:
            if text == "''":
                self.fail("invalid syntax")
            try:
                return _Literal(tok.pos, text, ord(_unquote(text)), True)
            except ValueError:
                self.fail(f"malformed character constant: {text}")
        value = _parse_number(text)
        if value is None:
            self.fail(f"illegal number syntax: {_go_quote(text)}")
        if isinstance(value, float) and value == int(value) and not any(c in text for c in ".eEpP"):
            value = int(value)
        return _Literal(tok.pos, text, value, isinstance(value, int) or float(value).is_integer())


def _parse_number(text: str) -> int | float | None:
    s = text.replace("_", "")
    if s.endswith("i"):
        return None  # complex constants: docker templates never need them
    try:
        low = s.lower().lstrip("+-")
        sign = -1 if s.startswith("-") else 1
        if low.startswith("0x"):
            if "." in low or "p" in low:
                return sign * float.fromhex(low)
            return sign * int(low, 16)
        if low.startswith(("0o", "0b")):
            return sign * int(low, 0)
        if any(c in low for c in ".e"):
            return sign * float(low)
        if len(low) > 1 and low.startswith("0"):
            return sign * int(low, 8)
        return sign * int(low)
    except ValueError:
        return None


# --------------------------------------------------------------------------
# Built-in and docker functions

class _FuncError(Exception):
    """A template function returned an error ("error calling NAME: ...")."""


# Parameter type tags understood by _State.eval_arg / _State.coerce.
_ANY, _STR, _INT, _STRLIST, _VALUE = "interface {}", "string", "int", "[]string", "reflect.Value"


class _Func:
    __slots__ = ("fn", "params", "variadic", "lazy")

    def __init__(self, fn: Callable[..., Any], params: tuple[str, ...], variadic: str | None = None,
                 lazy: bool = False) -> None:
        self.fn = fn
        self.params = params
        self.variadic = variadic
        self.lazy = lazy


def _truth(v: Any) -> bool:
    if v is None or isinstance(v, _Sentinel):
        return False
    if isinstance(v, GoStruct):
        return True  # Go structs are always true
    if isinstance(v, (bool, int, float, str, list, tuple, dict)):
        return bool(v)
    return True


def _index(item: Any, *keys: Any) -> Any:
    if item is NO_VALUE or item is None:
        raise _FuncError("index of untyped nil")
    for key in keys:
        if isinstance(item, str) or isinstance(item, (list, tuple)):
            if isinstance(key, bool) or not isinstance(key, int):
                raise _FuncError("cannot index slice/array with type " + go_type(key))
            seq = item.encode() if isinstance(item, str) else item
            if not 0 <= key < len(seq):
                raise _FuncError(f"index out of range: {key}")
            item = seq[key]
        elif isinstance(item, dict) and not isinstance(item, GoStruct):
            if key is None or key is NO_VALUE:
                raise _FuncError("value is nil; should be of type string")
            item = item.get(key, NO_VALUE)
        elif item is NO_VALUE or item is None:
            raise _FuncError("index of nil pointer")
        else:
            raise _FuncError(f"can't index item of type {go_type(item)}")
    return item


def _slice(item: Any, *idx: Any) -> Any:
    if not isinstance(item, (str, list, tuple)):
        raise _FuncError(f"can't slice item of type {go_type(item)}")
    if len(idx) > 3 or (isinstance(item, str) and len(idx) > 2):
        raise _FuncError("too many slice indexes: %d" % len(idx))
    seq = item.encode() if isinstance(item, str) else item
    bounds = [0, len(seq)]
    for i, x in enumerate(idx[:2]):
        if not isinstance(x, int) or x < 0 or x > len(seq):
            raise _FuncError(f"index out of range: {x}")
        bounds[i] = x
    if bounds[0] > bounds[1]:
        raise _FuncError(f"invalid slice index: {bounds[0]} > {bounds[1]}")
    out = seq[bounds[0]:bounds[1]]
    return out.decode(errors="ignore") if isinstance(out, bytes) else out


def _len(v: Any) -> int:
    if v is NO_VALUE or v is None:
        raise _FuncError("reflect: call of reflect.Value.Type on zero Value")
    if isinstance(v, str):
        return len(v.encode())  # Go's len counts bytes
    if isinstance(v, (list, tuple, dict)):
        return len(v)
    raise _FuncError(f"len of type {go_type(v)}")


def _kind(v: Any) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"  # ints and floats compare: docker inspect's map fallback makes both work
    if isinstance(v, str):
        return "string"
    if v is None or v is NO_VALUE or v is TYPED_NIL:
        return "nil"
    return "other"


def _eq(a: Any, *others: Any) -> bool:
    if not others:
        raise _FuncError("missing argument for comparison")
    ka = _kind(a)
    for b in others:
        kb = _kind(b)
        if ka != kb:
            if ka != "nil" and kb != "nil":
                raise _FuncError("incompatible types for comparison")
            continue
        if ka == "other":
            if isinstance(a, (list, dict)) or isinstance(b, (list, dict)):
                raise _FuncError(f"non-comparable type {go_print(a)}: {go_type(a)}")
        if a == b or ka == "nil":
            return True
    return False


def _ne(a: Any, b: Any) -> bool:
    return not _eq(a, b)


def _lt(a: Any, b: Any) -> bool:
    ka, kb = _kind(a), _kind(b)
    if ka not in ("number", "string"):
        raise _FuncError("invalid type for comparison")
    if ka != kb:
        raise _FuncError("incompatible types for comparison")
    return a < b


def _le(a: Any, b: Any) -> bool:
    return _lt(a, b) or _eq(a, b)


def _gt(a: Any, b: Any) -> bool:
    return not _le(a, b)


def _ge(a: Any, b: Any) -> bool:
    return not _lt(a, b)


def _sprint(*args: Any) -> str:
    # fmt.Sprint adds a space between operands when neither is a string.
    out: list[str] = []
    for i, a in enumerate(args):
        if i and not isinstance(a, str) and not isinstance(args[i - 1], str):
            out.append(" ")
        out.append(go_print(a))
    return "".join(out)


def _sprintln(*args: Any) -> str:
    return " ".join(go_print(a) for a in args) + "\n"


def _html(*args: Any) -> str:
    s = _eval_args_str(args)
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&#34;").replace("'", "&#39;").replace("\0", "\uFFFD"))


def _js(*args: Any) -> str:
    s = _eval_args_str(args)
    repl = {"\\": "\\\\", "'": "\\'", '"': '\\"', "<": "\\u003C", ">": "\\u003E", "&": "\\u0026",
            "=": "\\u003D", "\n": "\\u000A", "\r": "\\u000D", "\t": "\\u0009"}
    return "".join(repl.get(c, c if c >= " " else "\\u%04X" % ord(c)) for c in s)


def _urlquery(*args: Any) -> str:
    from urllib.parse import quote_plus  # deferred: rarely used
    return quote_plus(_eval_args_str(args), safe="~")


def _eval_args_str(args: tuple[Any, ...]) -> str:
    if len(args) == 1 and isinstance(args[0], str):
        return args[0]
    return _sprint(*args)


def _title(s: str) -> str:
    # strings.Title: upper-case letters that follow a separator; unlike
    # str.title() it leaves the rest of each word alone.
    out, prev = [], " "
    for c in s:
        out.append(c.upper() if _title_sep(prev) else c)
        prev = c
    return "".join(out)


def _title_sep(c: str) -> bool:
    if ord(c) < 0x80:
        return not (c.isalnum() or c == "_")
    if c.isalpha() or c.isdigit():
        return False
    return c.isspace()


def _split(s: str, sep: str) -> list[str]:
    if sep == "":
        return list(s)  # strings.Split with "" splits into characters
    return s.split(sep)


def _join(items: list[str], sep: str) -> str:
    return sep.join(items)


def _pad(s: str, prefix: int, suffix: int) -> str:
    if s == "":
        return s
    return " " * prefix + s + " " * suffix


def _truncate(s: str, n: int) -> str:
    raw = s.encode()
    if len(raw) < n:
        return s
    # Go slices bytes; a cut rune shows up as U+FFFD on a terminal anyway.
    return raw[:n].decode(errors="replace")


def _printf(fmt: str, *args: Any) -> str:
    return go_sprintf(fmt, *args)


def _method_func(fn: Callable[..., Any]) -> _Func:
    """Describe a data object's method so arity errors read like Go's
    ("wrong number of args for Label: want 1 got 0")."""
    code = getattr(getattr(fn, "__func__", fn), "__code__", None)
    if code is None:
        return _Func(fn, (), _ANY)
    nargs = code.co_argcount - (1 if hasattr(fn, "__self__") else 0)
    variadic = _ANY if code.co_flags & 0x04 else None  # CO_VARARGS
    return _Func(fn, (_ANY,) * max(nargs, 0), variadic)


def _ident(v: Any, *_: Any) -> Any:
    return v


_BUILTINS: dict[str, _Func] = {
    "and": _Func(lambda *a: a, (_VALUE,), _VALUE, lazy=True),
    "or": _Func(lambda *a: a, (_VALUE,), _VALUE, lazy=True),
    "not": _Func(lambda v: not _truth(v), (_VALUE,)),
    "index": _Func(_index, (_VALUE,), _VALUE),
    "slice": _Func(_slice, (_VALUE,), _VALUE),
    "len": _Func(_len, (_VALUE,)),
    "print": _Func(_sprint, (), _ANY),
    "println": _Func(_sprintln, (), _ANY),
    "printf": _Func(_printf, (_STR,), _ANY),
    "html": _Func(_html, (), _ANY),
    "js": _Func(_js, (), _ANY),
    "urlquery": _Func(_urlquery, (), _ANY),
    "eq": _Func(_eq, (_VALUE,), _VALUE),
    "ne": _Func(_ne, (_VALUE, _VALUE)),
    "lt": _Func(_lt, (_VALUE, _VALUE)),
    "le": _Func(_le, (_VALUE, _VALUE)),
    "gt": _Func(_gt, (_VALUE, _VALUE)),
    "ge": _Func(_ge, (_VALUE, _VALUE)),
    # docker/cli templates.basicFunctions
    "json": _Func(go_json, (_ANY,)),
    "split": _Func(_split, (_STR, _STR)),
    "join": _Func(_join, (_STRLIST, _STR)),
    "title": _Func(_title, (_STR,)),
    "lower": _Func(str.lower, (_STR,)),
    "upper": _Func(str.upper, (_STR,)),
    "pad": _Func(_pad, (_STR, _INT, _INT)),
    "truncate": _Func(_truncate, (_STR, _INT)),
}

# docker/cli templates.HeaderFunctions: leave column names intact ("pad" is
# deliberately not overridden so headers stay aligned with padded cells).
_HEADER_FUNCS: dict[str, _Func] = dict(_BUILTINS)
_HEADER_FUNCS.update({
    "json": _Func(_ident, (_STR,)),
    "split": _Func(_ident, (_STR, _STR)),
    "join": _Func(_ident, (_STR, _STR)),
    "title": _Func(_ident, (_STR,)),
    "lower": _Func(_ident, (_STR,)),
    "upper": _Func(_ident, (_STR,)),
    "truncate": _Func(_ident, (_STR, _INT)),
})


# --------------------------------------------------------------------------
# printf (fmt.Sprintf subset: flags - + # 0 space, width, precision, verbs
# v s d q t f F e E g G x X o b c U %)

def go_sprintf(fmt: str, *args: Any) -> str:
    out: list[str] = []
    i, n, argi = 0, len(fmt), 0
    while i < n:
        j = fmt.find("%", i)
        if j < 0:
            out.append(fmt[i:])
            break
        out.append(fmt[i:j])
        i = j + 1
        flags = ""
        while i < n and fmt[i] in "-+# 0":
            flags += fmt[i]
            i += 1
        width, i, argi = _fmt_num(fmt, i, args, argi)
        prec = None
        if i < n and fmt[i] == ".":
            prec, i, argi = _fmt_num(fmt, i + 1, args, argi)
            prec = prec or 0
        if i >= n:
            out.append("%!(NOVERB)")
            break
        verb = fmt[i]
        i += 1
        if verb == "%":
            out.append("%")
            continue
        if argi >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        out.append(_fmt_one(verb, flags, width, prec, args[argi]))
        argi += 1
    if argi < len(args):
        extra = ", ".join(f"{go_type(a) if a is not None else '<nil>'}={go_print(a)}" if a is not None else "<nil>"
                          for a in args[argi:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)


def _fmt_num(fmt: str, i: int, args: tuple[Any, ...], argi: int) -> tuple[int | None, int, int]:
    if i < len(fmt) and fmt[i] == "*":
        val = args[argi] if argi < len(args) and isinstance(args[argi], int) else None
        return val, i + 1, argi + 1
    j = i
    while j < len(fmt) and fmt[j].isdigit():
        j += 1
    return (int(fmt[i:j]) if j > i else None), j, argi


def _bad_verb(verb: str, v: Any) -> str:
    if v is None:
        return f"%!{verb}(<nil>)"
    return f"%!{verb}({go_type(v)}={go_print(v)})"


def _fmt_one(verb: str, flags: str, width: int | None, prec: int | None, v: Any) -> str:
    if isinstance(v, _Sentinel):
        v = None
    s = _fmt_value(verb, flags, prec, v)
    if width is not None and len(s) < width:
        if "-" in flags:
            s = s + " " * (width - len(s))
        elif "0" in flags and verb in "dfFeEgGxXob" and not isinstance(v, str):
            sign = s[0] if s[:1] in "+-" else ""
            s = sign + "0" * (width - len(s)) + s[len(sign):]
        else:
            s = " " * (width - len(s)) + s
    return s


def _fmt_value(verb: str, flags: str, prec: int | None, v: Any) -> str:
    if verb in "vs":
        if verb == "s" and not isinstance(v, (str, list, tuple, dict)) and v is not None:
            return _bad_verb(verb, v)
        if verb == "v" and isinstance(v, float) and prec is not None:
            return _fmt_float("g", prec, v, flags)
        s = go_print(v) if v is not None or verb == "v" else _bad_verb(verb, v)
        return s[:prec] if prec is not None and isinstance(v, str) else s
    if verb == "q":
        if isinstance(v, str):
            return _go_quote(v)
        if isinstance(v, (list, tuple)):
            return "[" + " ".join(_fmt_value("q", flags, prec, x) for x in v) + "]"
        if isinstance(v, int) and not isinstance(v, bool):
            return "'" + _go_quote(chr(v))[1:-1].replace("'", "\\'").replace('\\"', '"') + "'"
        return _bad_verb(verb, v)
    if verb == "T":
        return go_type(v) if v is not None else "<nil>"
    if verb == "t":
        return go_print(v) if isinstance(v, bool) else _bad_verb(verb, v)
    if isinstance(v, bool) or v is None:
        return _bad_verb(verb, v)
    if verb in "dxXobcU" and isinstance(v, int):
        return _fmt_int(verb, flags, v)
    if verb in "xX" and isinstance(v, str):
        h = v.encode().hex()
        return h.upper() if verb == "X" else h
    if verb in "eEfFgG" and isinstance(v, (int, float)) and not isinstance(v, int):
        return _fmt_float(verb, prec, v, flags)
    return _bad_verb(verb, v)


def _fmt_int(verb: str, flags: str, v: int) -> str:
    if verb == "c":
        return chr(v)
    if verb == "U":
        return "U+%04X" % v
    base = {"d": "d", "x": "x", "X": "X", "o": "o", "b": "b"}[verb]
    s = format(abs(v), base)
    if "#" in flags and verb in "xX":
        s = ("0x" if verb == "x" else "0X") + s
    sign = "-" if v < 0 else ("+" if "+" in flags else (" " if " " in flags else ""))
    return sign + s


def _fmt_float(verb: str, prec: int | None, v: float, flags: str) -> str:
    if prec is None and verb in "gG":
        s = go_float(v)
    else:
        s = ("%" + ("." + str(6 if prec is None else prec)) + verb) % v
    if "+" in flags and not s.startswith("-"):
        s = "+" + s
    return s


# --------------------------------------------------------------------------
# Execution (mirrors text/template/exec.go)

class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class _State:
    def __init__(self, tmpl: "Template", funcs: dict[str, _Func], out: list[str], root: Any) -> None:
        self.tmpl = tmpl
        self.funcs = funcs
        self.out = out
        self.vars: list[list[Any]] = [["$", root]]
        self.node: _Node | None = None
        self.depth = 0

    # errors ------------------------------------------------------------------
    def at(self, node: _Node) -> None:
        self.node = node

    def fail(self, msg: str) -> None:
        name = self.tmpl.name
        if self.node is None:
            raise TemplateError(f"template: {name}: {msg}", "exec")
        text = self.tmpl.text
        pos = self.node.pos
        before = text[:pos]
        nl = before.rfind("\n")
        line = before.count("\n") + 1
        col = len(before[nl + 1:].encode()) if nl >= 0 else len(before.encode())
        ctx = str(self.node)
        raise TemplateError(f"template: {name}:{line}:{col}: executing {_go_quote(name)} at <{ctx}>: {msg}", "exec")

    # variables ---------------------------------------------------------------
    def var_value(self, name: str) -> Any:
        for k, v in reversed(self.vars):
            if k == name:
                return v
        self.fail(f"undefined variable: {name}")

    def set_var(self, name: str, value: Any) -> None:
        for pair in reversed(self.vars):
            if pair[0] == name:
                pair[1] = value
                return
        self.fail(f"undefined variable: {name}")

    # walking -----------------------------------------------------------------
    def walk(self, dot: Any, node: _Node) -> None:
        self.at(node)
        if isinstance(node, _Text):
            self.out.append(node.text)
        elif isinstance(node, _Action):
            val = self.eval_pipeline(dot, node.pipe)
            if not node.pipe.decl:
                self.out.append(self.printable(val))
        elif isinstance(node, _List):
            for n in node.nodes:
                self.walk(dot, n)
        elif isinstance(node, _Branch):
            if node.kind == "range":
                self.walk_range(dot, node)
            else:
                self.walk_if_with(dot, node)
        elif isinstance(node, _Marker):
            raise _Break() if node.word == "break" else _Continue()
        elif isinstance(node, _TemplateCall):
            self.walk_template(dot, node)

    def printable(self, val: Any) -> str:
        if isinstance(val, str):
            return val
        return go_print(val)

    def walk_if_with(self, dot: Any, node: _Branch) -> None:
        mark = len(self.vars)
        try:
            val = self.eval_pipeline(dot, node.pipe)
            if _truth(val):
                self.walk(val if node.kind == "with" else dot, node.body)
            elif node.else_body is not None:
                self.walk(dot, node.else_body)
        finally:
            del self.vars[mark:]

    def walk_range(self, dot: Any, node: _Branch) -> None:
        self.at(node)
        mark = len(self.vars)
        try:
            val = self.eval_pipeline(dot, node.pipe)
            items = self.range_items(val)
            if not items:
                if node.else_body is not None:
                    self.walk(dot, node.else_body)
                return
            for key, elem in items:
                if node.pipe.decl:
                    if len(node.pipe.decl) > 1:
                        self.set_var(node.pipe.decl[0].idents[0], key)
                        self.set_var(node.pipe.decl[1].idents[0], elem)
                    else:
                        self.set_var(node.pipe.decl[0].idents[0], elem)
                inner = len(self.vars)
                try:
                    self.walk(elem, node.body)
                except _Continue:
                    pass
                except _Break:
                    break
                finally:
                    del self.vars[inner:]
        finally:
            del self.vars[mark:]

    def range_items(self, val: Any) -> list[tuple[Any, Any]]:
        if val is None or val is NO_VALUE or val is TYPED_NIL:
            return []
        if isinstance(val, (list, tuple)):
            return list(enumerate(val))
        if isinstance(val, dict) and not isinstance(val, GoStruct):
            return sorted(val.items(), key=_map_key)
        if isinstance(val, int) and not isinstance(val, bool):
            return [(i, i) for i in range(val)]  # Go >= 1.22 ranges over integers
        self.fail(f"range can't iterate over {go_print(val)}")
        raise AssertionError

    def walk_template(self, dot: Any, node: _TemplateCall) -> None:
        body = self.tmpl.defines.get(node.name)
        if body is None:
            self.fail(f"template {_go_quote(node.name)} not defined")
        self.depth += 1
        if self.depth > 1000:
            self.fail("exceeded maximum template depth (100000)")
        new_dot = self.eval_pipeline(dot, node.pipe) if node.pipe else None
        saved = self.vars
        self.vars = [["$", new_dot]]
        try:
            self.walk(new_dot, body)
        finally:
            self.vars = saved
            self.depth -= 1

    # evaluation --------------------------------------------------------------
    def eval_pipeline(self, dot: Any, pipe: _Pipe) -> Any:
        self.at(pipe)
        value: Any = _NO_FINAL
        for cmd in pipe.cmds:
            value = self.eval_command(dot, cmd, value)
        if value is None:
            value = NO_VALUE  # Go digs nil out of interface{} into an invalid value
        for var in pipe.decl:
            if pipe.is_assign:
                self.set_var(var.idents[0], value)
            else:
                self.vars.append([var.idents[0], value])
        return value

    def not_a_function(self, args: list[_Node], final: Any) -> None:
        if len(args) > 1 or final is not _NO_FINAL:
            self.fail(f"can't give argument to non-function {args[0]}")

    def eval_command(self, dot: Any, cmd: _Command, final: Any) -> Any:
        first = cmd.args[0]
        if isinstance(first, _Field):
            return self.eval_field_node(dot, first, cmd.args, final)
        if isinstance(first, _Chain):
            return self.eval_chain(dot, first, cmd.args, final)
        if isinstance(first, _Ident):
            return self.eval_function(dot, first, cmd, cmd.args, final)
        if isinstance(first, _Pipe):
            self.not_a_function(cmd.args, final)
            return self.eval_pipeline(dot, first)
        if isinstance(first, _Var):
            return self.eval_variable(dot, first, cmd.args, final)
        self.at(first)
        self.not_a_function(cmd.args, final)
        if isinstance(first, _Dot):
            return dot
        if isinstance(first, _Nil):
            self.fail("nil is not a command")
        return first.value  # literal

    def eval_field_node(self, dot: Any, field: _Field, args: list[_Node], final: Any) -> Any:
        self.at(field)
        return self.eval_field_chain(dot, dot, field, field.idents, args, final)

    def eval_chain(self, dot: Any, chain: _Chain, args: list[_Node], final: Any) -> Any:
        self.at(chain)
        if isinstance(chain.node, _Nil):
            self.fail(f"indirection through explicit nil in {chain}")
        base = self.eval_arg(dot, _ANY, chain.node)
        return self.eval_field_chain(dot, base, chain, chain.fields, args, final)

    def eval_variable(self, dot: Any, var: _Var, args: list[_Node], final: Any) -> Any:
        self.at(var)
        value = self.var_value(var.idents[0])
        if len(var.idents) == 1:
            self.not_a_function(args, final)
            return value
        return self.eval_field_chain(dot, value, var, var.idents[1:], args, final)

    def eval_field_chain(self, dot: Any, recv: Any, node: _Node, idents: list[str],
                         args: list[_Node], final: Any, iface: bool = False) -> Any:
        for i, name in enumerate(idents):
            last = i == len(idents) - 1
            from_iface = iface
            iface = isinstance(recv, (dict, list, tuple)) and not isinstance(recv, GoStruct)
            recv = self.eval_field(dot, name, node, args if last else [], final if last else _NO_FINAL,
                                   recv, from_iface)
        return recv

    def eval_field(self, dot: Any, name: str, node: _Node, args: list[_Node], final: Any,
                   recv: Any, from_iface: bool) -> Any:
        if recv is NO_VALUE:
            return NO_VALUE
        has_args = len(args) > 1 or final is not _NO_FINAL
        if recv is None or recv is TYPED_NIL:
            self.fail(f"nil pointer evaluating {'interface {}' if recv is None else '*struct'}.{name}")
        if isinstance(recv, GoStruct):
            if name not in recv:
                self.fail(f"can't evaluate field {name} in type {recv.go_type}")
            if has_args:
                self.fail(f"{name} has arguments but cannot be invoked as function")
            val = recv[name]
            return TYPED_NIL if val is None else val
        if isinstance(recv, dict):
            if has_args:
                self.fail(f"{name} is not a method but has arguments")
            return recv.get(name, NO_VALUE)
        if isinstance(recv, (str, int, float, list, tuple)):
            self.fail(f"can't evaluate field {name} in type {'interface {}' if from_iface else go_type(recv)}")
        attr = getattr(recv, name, _NO_FINAL) if not name.startswith("_") else _NO_FINAL
        if attr is _NO_FINAL:
            self.fail(f"can't evaluate field {name} in type {go_type(recv)}")
        if callable(attr):
            return self.eval_call(dot, _method_func(attr), node, name, args, final, method=True)
        if has_args:
            self.fail(f"{name} has arguments but cannot be invoked as function")
        return TYPED_NIL if attr is None else attr

    def eval_function(self, dot: Any, ident: _Ident, cmd: _Node, args: list[_Node], final: Any) -> Any:
        self.at(ident)
        fn = self.funcs.get(ident.name)
        if fn is None:
            self.fail(f"{_go_quote(ident.name)} is not a defined function")
        return self.eval_call(dot, fn, cmd, ident.name, args, final)

    def eval_call(self, dot: Any, fn: _Func, node: _Node, name: str, args: list[_Node], final: Any,
                  method: bool = False) -> Any:
        args = args[1:] if args else []
        num_in = len(args) + (final is not _NO_FINAL)
        fixed = len(fn.params)
        if fn.variadic is not None:
            if num_in < fixed:
                self.fail(f"wrong number of args for {name}: want at least {fixed} got {num_in}")
        elif num_in != fixed:
            self.fail(f"wrong number of args for {name}: want {fixed} got {num_in}")
        if fn.lazy:
            return self.eval_and_or(dot, name, args, final)
        argv = []
        for i, arg in enumerate(args):
            typ = fn.params[i] if i < fixed else fn.variadic
            argv.append(self.eval_arg(dot, typ, arg))
        if final is not _NO_FINAL:
            typ = fn.params[-1] if num_in <= fixed and fixed else (fn.variadic or _ANY)
            argv.append(self.coerce(final, typ))
        if not method:
            argv = [None if a is NO_VALUE and t != _VALUE else a
                    for a, t in zip(argv, list(fn.params) + [fn.variadic] * len(argv))]
        try:
            return fn.fn(*argv)
        except _FuncError as err:
            self.at(node)
            self.fail(f"error calling {name}: {err}")
        except TemplateError:
            raise
        except Exception as err:  # a Python method on a data object failed
            if not method:
                raise
            self.at(node)
            self.fail(f"error calling {name}: {err}")

    def eval_and_or(self, dot: Any, name: str, args: list[_Node], final: Any) -> Any:
        want = name == "or"
        val: Any = None
        for arg in args:
            val = self.eval_arg(dot, _VALUE, arg)
            if _truth(val) == want:
                return val
        if final is not _NO_FINAL:
            val = final
        return val

    def eval_arg(self, dot: Any, typ: str | None, n: _Node) -> Any:
        self.at(n)
        if isinstance(n, _Dot):
            return self.coerce(dot, typ)
        if isinstance(n, _Nil):
            if typ in (_ANY, _VALUE, _STRLIST):
                return None
            self.fail(f"cannot assign nil to {typ}")
        if isinstance(n, _Field):
            return self.coerce(self.eval_field_node(dot, n, [n], _NO_FINAL), typ)
        if isinstance(n, _Var):
            return self.coerce(self.eval_variable(dot, n, [], _NO_FINAL), typ)
        if isinstance(n, _Pipe):
            return self.coerce(self.eval_pipeline(dot, n), typ)
        if isinstance(n, _Ident):
            return self.coerce(self.eval_function(dot, n, n, [], _NO_FINAL), typ)
        if isinstance(n, _Chain):
            return self.coerce(self.eval_chain(dot, n, [], _NO_FINAL), typ)
        assert isinstance(n, _Literal)
        val = n.value
        if typ == _STR:
            if not isinstance(val, str) or n.text[0] not in "\"`":
                self.fail(f"expected string; found {n}")
            return val
        if typ == _INT:
            if isinstance(val, bool) or not n.is_int or isinstance(val, str):
                self.fail(f"expected integer; found {n}")
            return int(val)
        if typ == _STRLIST:
            self.fail(f"can't handle {n} for arg of type []string")
        return val

    def coerce(self, value: Any, typ: str | None) -> Any:
        """Go's validateType: check a computed value against a parameter type."""
        if typ in (_ANY, _VALUE, None):
            return value
        if value is NO_VALUE:
            if typ == _STRLIST:
                return None
            self.fail(f"invalid value; expected {typ}")
        if typ == _STR and isinstance(value, str):
            return value
        if typ == _INT and isinstance(value, int) and not isinstance(value, bool):
            return value
        if typ == _STRLIST and isinstance(value, (list, tuple)):
            if all(isinstance(x, str) for x in value):
                return value
        if typ == _STRLIST and value is None:
            return []
        got = "*struct" if value is TYPED_NIL else go_type(value)
        self.fail(f"wrong type for value; expected {typ}; got {got}")


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
