"""The parse tree: nodes print back as Go's parse.Node.String() for error messages."""
from __future__ import annotations

from hithe.cli.template.gofmt import _go_quote

# typing is only needed by annotations (lazy under the __future__ import);
# skipping the import keeps CLI start-up cheap.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


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
