"""Tokens to a parse tree, with Go's parse error wording."""
from __future__ import annotations

from hithe.cli.template.gofmt import _go_quote
from hithe.cli.template.lexer import (
    T_ASSIGN, T_BOOL, T_CHAR, T_COMMA, T_DECLARE, T_DOT, T_EOF, T_ERROR, T_FIELD, T_IDENT,
    T_KEYWORD, T_LDELIM, T_LPAREN, T_NIL, T_NUMBER, T_PIPE, T_RAWSTRING, T_RDELIM, T_RPAREN,
    T_SPACE, T_STRING, T_TEXT, T_VAR, _Lexer, _Tok, _unquote,
)
from hithe.cli.template.nodes import (
    _Action, _Branch, _Chain, _Command, _Dot, _Field, _Ident, _List, _Literal, _Marker, _Nil,
    _Node, _Pipe, _TemplateCall, _Text, _Var,
)
from hithe.cli.template.values import TemplateError

# typing is only needed by annotations (lazy under the __future__ import);
# skipping the import keeps CLI start-up cheap.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


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
