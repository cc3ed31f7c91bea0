"""How Go values are spelled in Python: struct and map dicts, sentinels, TemplateError."""
from __future__ import annotations


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
