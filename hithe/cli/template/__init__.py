"""Go text/template, the subset docker's ``--format`` flag uses.

docker renders ``--format`` with Go's text/template plus a few helper
functions (docker/cli templates.go), and the output, including error text,
is part of its interface: scripts grep it.  This package re-implements the
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

Modules, in dependency order: ``values`` (GoStruct, GoMap, sentinels,
TemplateError), ``gofmt`` (Go's %v, Sprintf, encoding/json, strconv.Quote),
``lexer``, ``nodes``, ``parser``, ``funcs`` (the function map), ``execute``
and ``format`` (Template, compile_template and docker's ``--format``).
"""
from hithe.cli.template.format import (
    Template, compile_template, format_output, header_for, parse_format,
)
from hithe.cli.template.gofmt import go_json, go_print, go_sprintf
from hithe.cli.template.values import GoMap, GoStruct, TemplateError

# Public helpers of the former single module that are not in __all__.
from hithe.cli.template.gofmt import go_float, go_json_float, go_type  # noqa: F401
from hithe.cli.template.values import NO_VALUE, TYPED_NIL  # noqa: F401

__all__ = [
    "GoMap", "GoStruct", "Template", "TemplateError", "compile_template", "format_output",
    "go_json", "go_print", "go_sprintf", "header_for", "parse_format",
]
