"""Running a parse tree against data, with Go's exec error wording."""
from __future__ import annotations

from hithe.cli.template.funcs import (
    _ANY, _INT, _STR, _STRLIST, _VALUE, _Func, _FuncError, _method_func, _truth,
)
from hithe.cli.template.gofmt import _go_quote, _map_key, go_print, go_type
from hithe.cli.template.nodes import (
    _Action, _Branch, _Chain, _Command, _Dot, _Field, _Ident, _List, _Literal, _Marker, _Nil,
    _Node, _Pipe, _TemplateCall, _Text, _Var,
)
from hithe.cli.template.values import _NO_FINAL, NO_VALUE, TYPED_NIL, GoStruct, TemplateError

# typing is only needed by annotations (lazy under the __future__ import);
# skipping the import keeps CLI start-up cheap.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from hithe.cli.template.format import Template


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
