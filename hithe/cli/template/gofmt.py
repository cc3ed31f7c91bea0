"""Printing Python values the way Go does: fmt's %v and Sprintf, encoding/json, strconv.Quote."""
from __future__ import annotations

from hithe.cli.template.values import GoMap, GoStruct, _Sentinel

# typing is only needed by annotations (lazy under the __future__ import);
# skipping the import keeps CLI start-up cheap.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterable


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
# Go string quoting (strconv.Quote)

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
