"""JSON for the CLI through CPython's C accelerator (``_json``).

``import json`` pulls in ``re`` and compiles its patterns: about 7 ms on this
machine kind, on every ``hithe`` invocation that talks to the daemon (most of
them).  The C scanner and encoder that ``json`` itself uses are importable on
their own, so this module builds the same ``loads``/``dumps``/``raw_decode``
on top of them and falls back to ``json`` where the accelerator is missing
(other interpreters).  Output and errors match ``json`` with compact
separators.
"""
from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

try:
    import _json
except ImportError:  # pragma: no cover - CPython always has it
    _json = None  # type: ignore[assignment]

_WS = " \t\n\r"


class JSONDecodeError(ValueError):
    """Same meaning as json.JSONDecodeError (a ValueError) without importing json."""


def _constant(name: str) -> float:
    return {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}[name]


class _Context:
    # the attributes _json.make_scanner reads from json.JSONDecoder
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = staticmethod(_constant)
    memo: dict = {}


def _default(o: Any) -> Any:
    raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")


if _json is not None:
    _scan = _json.make_scanner(_Context())
    _encode = _json.make_encoder(None, _default, _json.encode_basestring_ascii, None,
                                 ":", ",", False, False, True)

    def raw_decode(text: str, idx: int = 0) -> tuple[Any, int]:
        """Decode one value starting at ``idx`` (after whitespace); (value, end)."""
        n = len(text)
        while idx < n and text[idx] in _WS:
            idx += 1
        try:
            return _scan(text, idx)
        except (StopIteration, ValueError, SystemError):
            # The C scanner builds its error from json.decoder and fails
            # (SystemError) while that module is not loaded: decode again
            # with json for the exact message; errors are the rare path.
            return _slow_decode(text, idx)

    def dumps(obj: Any) -> str:
        return "".join(_encode(obj, 0))
else:  # pragma: no cover
    import json as _pyjson

    def raw_decode(text: str, idx: int = 0) -> tuple[Any, int]:
        n = len(text)
        while idx < n and text[idx] in _WS:
            idx += 1
        return _slow_decode(text, idx)

    def dumps(obj: Any) -> str:
        return _pyjson.dumps(obj, separators=(",", ":"))


def _slow_decode(text: str, idx: int) -> tuple[Any, int]:
    import json

    try:
        return json.JSONDecoder().raw_decode(text, idx)
    except ValueError as exc:
        raise JSONDecodeError(str(exc)) from None


def loads(data: str | bytes | bytearray) -> Any:
    text = data.decode("utf-8-sig") if isinstance(data, (bytes, bytearray)) else data
    obj, end = raw_decode(text)
    n = len(text)
    while end < n and text[end] in _WS:
        end += 1
    if end != n:
        import json

        try:
            json.loads(text)  # json's own "Extra data: line L column C" message
        except ValueError as exc:
            raise JSONDecodeError(str(exc)) from None
        raise JSONDecodeError(f"Extra data: char {end}")
    return obj
