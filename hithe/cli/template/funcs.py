"""The template function map: Go's builtins and docker's helpers (json, join, pad...)."""
from __future__ import annotations

from hithe.cli.template.gofmt import go_json, go_print, go_sprintf, go_type
from hithe.cli.template.values import NO_VALUE, TYPED_NIL, GoStruct, _Sentinel

# typing is only needed by annotations (lazy under the __future__ import);
# skipping the import keeps CLI start-up cheap.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable


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
