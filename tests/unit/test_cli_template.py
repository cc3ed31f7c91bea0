"""hithe.cli.template renders --format like docker's Go text/template.

Expected strings were produced by docker 28 (``docker context ls/inspect
--format ...``) or by Go's text/template with docker's function map.
"""
from __future__ import annotations

import pytest

from hithe.cli.template import (
    GoMap, GoStruct, TemplateError, compile_template, format_output, go_json, go_print,
    go_sprintf, header_for, parse_format,
)

DATA = {
    "a": 1, "s": "hello", "l": ["x", "y"], "m": {"b": 2, "a": 1}, "n": None, "f": 1.5,
    "big": 1234567.0, "e": [], "t": True, "z": 0, "es": "", "nested": {"k": {"v": "deep"}},
    "lm": [{"n": "a"}, {"n": "b"}], "u": "héllo wörld",
}


def render(text: str, data: object = None) -> str:
    return compile_template(text).render(DATA if data is None else data)


def error(text: str, data: object = None) -> str:
    with pytest.raises(TemplateError) as info:
        render(text, data)
    return str(info.value)


# --- fields and printing ----------------------------------------------------

@pytest.mark.parametrize("text, want", [
    ("{{.a}}", "1"),
    ("{{.s}}", "hello"),
    ("{{.l}}", "[x y]"),
    ("{{.m}}", "map[a:1 b:2]"),
    ("{{.e}}", "[]"),
    ("{{.t}}", "true"),
    ("{{.f}}", "1.5"),
    ("{{.big}}", "1.234567e+06"),
    ("{{.n}}", "<no value>"),
    ("{{.Missing}}", "<no value>"),
    ("{{.Missing.Deeper}}", "<no value>"),
    ("{{.nested.k.v}}", "deep"),
    ("{{.nested.k}}", "map[v:deep]"),
    ("{{$.nested.k.v}}", "deep"),
    ("{{(.nested).k.v}}", "deep"),
    ("{{(index .lm 1).n}}", "b"),
    ("{{.}}", "map[a:1 big:1.234567e+06 e:[] es: f:1.5 l:[x y] lm:[map[n:a] map[n:b]] m:map[a:1 b:2] "
              "n:<nil> nested:map[k:map[v:deep]] s:hello t:true u:héllo wörld z:0]"),
])
def test_field_printing(text: str, want: str) -> None:
    assert render(text) == want


@pytest.mark.parametrize("text, want", [
    ("{{1e20}}", "1e+20"), ("{{1e5}}", "100000"), ("{{123456789.0}}", "1.23456789e+08"),
    ("{{0.0001}}", "0.0001"), ("{{0.00001234}}", "1.234e-05"), ("{{1.0}}", "1"), ("{{-0.0}}", "-0"),
    ("{{1e6}}", "1e+06"), ("{{0x10}}", "16"), ("{{1_000}}", "1000"), ("{{0o17}}", "15"), ("{{017}}", "15"),
    ("{{0b101}}", "5"), ("{{'a'}}", "97"), ("{{.5}}", "0.5"), ("{{-3}}", "-3"), ("{{3.0}}", "3"),
])
def test_number_literals_print_like_go(text: str, want: str) -> None:
    assert render(text) == want


def test_string_literals() -> None:
    assert render('{{"a\\tb\\x41\\u00e9"}}') == "a\tbAé"
    assert render("{{`raw\\n`}}") == "raw\\n"
    assert render("{{true}} {{false | not}}") == "true true"


def test_go_print_values() -> None:
    assert go_print(None) == "<nil>"
    assert go_print([1, None, "a", [True]]) == "[1 <nil> a [true]]"
    assert go_print({"z": 1, "a": {"b": []}}) == "map[a:map[b:[]] z:1]"
    assert go_print(GoStruct(Host="unix:///x", SkipTLSVerify=False)) == "{unix:///x false}"
    assert go_print(2.5e-7) == "2.5e-07"


# --- objects, structs and methods ---------------------------------------------

class Row:
    go_type = "*formatter.containerContext"

    def __init__(self) -> None:
        self.ID = "abc123"
        self.Ports = None

    def Names(self) -> str:
        return "web"

    def Label(self, name: str) -> str:
        return {"com.example": "yes"}.get(name, "")


def test_object_attributes_and_methods() -> None:
    assert render("{{.ID}} {{.Names}} {{.Label \"com.example\"}}|{{.Label \"x\"}}|", Row()) == "abc123 web yes||"
    assert render("{{.Ports}}", Row()) == "<nil>"
    assert error("{{.Nope}}", Row()) == ('template parsing error: template: :1:2: executing "" at <.Nope>: '
                                         "can't evaluate field Nope in type *formatter.containerContext")


def test_method_arity_and_failures_read_like_go() -> None:
    assert error("{{.Label}}", Row()).endswith("at <.Label>: wrong number of args for Label: want 1 got 0")
    assert error("{{.Names 1}}", Row()).endswith("at <.Names>: wrong number of args for Names: want 0 got 1")
    assert render('{{"com.example" | .Label}}', Row()) == "yes"

    class Broken:
        def Size(self) -> str:
            raise RuntimeError("kaput")

    assert error("{{.Size}}", Broken()).endswith('at <.Size>: error calling Size: kaput')


def test_go_struct_missing_field_is_an_error() -> None:
    data = GoStruct(Name="default")
    data.go_type = "context.contextWithTLSListing"
    assert render("{{.Name}}", data) == "default"
    assert error("{{.Nope}}", data) == ('template parsing error: template: :1:2: executing "" at <.Nope>: '
                                        "can't evaluate field Nope in type context.contextWithTLSListing")


def test_struct_nil_field_prints_nil() -> None:
    assert render("{{.Health}}", GoStruct(Health=None)) == "<nil>"


# --- functions ------------------------------------------------------------------

@pytest.mark.parametrize("text, want", [
    ('{{json "<a&b>"}}', '"<a&b>"'),  # docker turns Go's HTML escaping off
    ("{{json .l}} {{json .e}} {{json .t}} {{json 1.5e-7}}", '["x","y"] [] true 1.5e-7'),
    ("{{json .big}} {{json .f}} {{json 1e21}} {{json 1e20}}", "1234567 1.5 1e+21 100000000000000000000"),
    ("{{json .Missing}} {{json .n}} {{json .u}}", 'null null "héllo wörld"'),
    ("{{json .m}}", '{"a":1,"b":2}'),
    ('{{"a\u2028b" | json}}', '"a\\u2028b"'),
    ("{{.s | json}}", '"hello"'),
    ('{{split "a,b,c" ","}} {{split "abc" ""}} {{join (split "a,b,c" ",") "-"}}', "[a b c] [a b c] a-b-c"),
    ('{{join .l ", "}}', "x, y"),
    ("{{upper .s | lower | title}}", "Hello"),
    ("{{title \"hello world-foo o'neil under_score\"}}", "Hello World-Foo O'Neil Under_score"),
    ("{{title \"mIxed CASE\"}}", "MIxed CASE"),
    ("{{pad .s 2 3}}| {{pad .es 2 3}}|", "  hello   | |"),
    ("{{truncate .s 3}}|{{truncate .s 30}}|{{truncate .s 5}}|{{truncate .s 1.0}}", "hel|hello|hello|h"),
    ("{{index .l 1}} {{index .m \"a\"}} {{index .nested \"k\" \"v\"}} {{index .m \"zz\"}}", "y 1 deep <no value>"),
    ("{{index .s 1}}", "101"),
    ("{{len .s}} {{len .m}} {{len .l}} {{len .u}}", "5 2 2 13"),
    ("{{slice .l 1}} {{slice .s 0 1}}", "[y] h"),
    ('{{println 1 "a"}}|', "1 a\n|"),
    ('{{print 1 2 "a" "b" 3}}', "1 2ab3"),
    ('{{printf "%q %v %d" .s .t 5}}', '"hello" true 5'),
    ('{{printf "%5.2f|%-4d|%x" .f .a .s}}', " 1.50|1   |68656c6c6f"),
    ('{{.a | printf "%d-%s" "x"}}', "%!d(string=x)-%!s(int=1)"),
    ('{{html "<a>"}} {{js "a\\"b"}} {{urlquery "a b&"}}', '&lt;a&gt; a\\"b a+b%26'),
    ("{{and 1 0 2}} {{or 0 \"\" .s}} {{not .e}} {{and .s .a}} {{or .z .es}}", "0 hello true 1 "),
    ('{{eq .a 1 2 3}} {{eq .s "hello"}} {{ne .a 2}} {{lt .a 2}} {{le .a 1}} {{gt .f 1.0}} {{ge .s "a"}}',
     "true true true true true true true"),
    ('{{eq .Missing "x"}} {{eq .n nil}}', "false true"),
    ("{{eq .a 1.0}}", "true"),  # like docker inspect's map fallback, where numbers are floats
])
def test_functions(text: str, want: str) -> None:
    assert render(text) == want


@pytest.mark.parametrize("fmt, args, want", [
    ("%v|%g|%.2f|%e", (1e20, 1e20, 3.14159, 1234.5), "1e+20|1e+20|3.14|1.234500e+03"),
    ("%6.1f|%-6s|%06d|%+d", (2.25, "ab", -42, 5), "   2.2|ab    |-00042|+5"),
    ("%x|%X|%o|%c|%U|%5q", (255, 255, 8, 65, 65, "a"), 'ff|FF|10|A|U+0041|  "a"'),
    ("%s %d %v", (None, True, None), "%!s(<nil>) %!d(bool=true) <nil>"),
    ("%q %t %T", (65, 1, 1), "'A' %!t(int=1) int"),
    ("%d", (), "%!d(MISSING)"),
    ("%d", (1, 2), "1%!(EXTRA int=2)"),
    ("%", (), "%!(NOVERB)"),
    ("%z", (1,), "%!z(int=1)"),
    ("%s %d %f", (1.5, 1.5, 1), "%!s(float64=1.5) %!d(float64=1.5) %!f(int=1)"),
    ("%5.1s|%.3v|%#x|% d", ("abc", 3.14159, 255, 5), "    a|3.14|0xff| 5"),
])
def test_printf(fmt: str, args: tuple, want: str) -> None:
    assert go_sprintf(fmt, *args) == want


def test_go_json_struct_and_map_order() -> None:
    # Field-like keys keep their (API/struct) order, other keys sort like a Go map.
    assert go_json({"Id": "x", "Created": 1, "Labels": {"z": "1", "a.b": "2"}}) == \
        '{"Id":"x","Created":1,"Labels":{"a.b":"2","z":"1"}}'
    assert go_json(GoMap(Names="x", Image="y")) == '{"Image":"y","Names":"x"}'
    assert go_json(GoStruct(b=1, a=2)) == '{"b":1,"a":2}'
    assert go_json(float("nan")) == ""
    assert go_json("\n\t\x01") == '"\\n\\t\\u0001"'


# --- control structures -------------------------------------------------------------

@pytest.mark.parametrize("text, want", [
    ("{{if .Missing}}y{{else}}n{{end}}", "n"),
    ("{{if 1}}a{{else if 0}}b{{else}}c{{end}}", "a"),
    ("{{if 0}}a{{else if 1}}b{{else}}c{{end}}", "b"),
    ("{{if 0}}a{{else if 0}}b{{else}}c{{end}}", "c"),
    ("{{if and .a .s}}yes{{end}}", "yes"),
    ("{{if .e}}a{{end}}{{if .es}}b{{end}}{{if .z}}c{{end}}{{if .n}}d{{end}}{{if .m}}e{{end}}", "e"),
    ("{{with .n}}y{{else}}n{{end}}", "n"),
    ("{{with .nested.k}}{{.v}}{{end}}", "deep"),
    ("{{with $x := .nested}}{{$x.k.v}}{{end}}", "deep"),
    ("{{with .e}}x{{else with .s}}{{.}}{{end}}", "hello"),
    ("{{range $i, $e := .l}}{{$i}}{{$e}}{{end}}", "0x1y"),
    ("{{range $e := .m}}{{$e}}{{end}}", "12"),
    ("{{range $k, $v := .m}}{{$k}}={{$v}};{{end}}", "a=1;b=2;"),
    ("{{range .n}}x{{end}}{{range .Missing}}x{{end}}", ""),
    ("{{range .e}}x{{else}}empty{{end}}", "empty"),
    ("{{range .lm}}{{.n}},{{end}}", "a,b,"),
    ("{{range .lm}}{{$.a}}{{end}}", "11"),
    ("{{range $i, $e := .l}}{{if $i}},{{end}}{{$e}}{{end}}", "x,y"),
    ("{{range .l}}{{break}}{{end}}", ""),
    ("{{range .l}}{{.}}{{continue}}x{{end}}", "xy"),
    ("{{range 3}}x{{end}}", "xxx"),
    ("{{$x := 1}}{{$x}}{{$x = 2}}{{$x}}", "12"),
    ("{{define \"x\"}}X{{.}}{{end}}{{template \"x\" .a}}", "X1"),
])
def test_control(text: str, want: str) -> None:
    assert render(text) == want


@pytest.mark.parametrize("text, want", [
    ("a  {{- .a -}}  b", "a1b"),
    ("{{ .a -}}\n b", "1b"),
    ("{{- /* c */ -}}  x", "x"),
    ("{{/* c */}}x", "x"),
    ("x {{- 3}}", "x3"),
    ("{{ .s }} {{\t.s\t}}", "hello hello"),
    ("{{ .a }}\n{{ .s }}", "1\nhello"),
])
def test_whitespace_and_comments(text: str, want: str) -> None:
    assert render(text) == want


# --- errors: the wording docker prints ------------------------------------------

@pytest.mark.parametrize("text, want", [
    ("{{foo}}", 'template: :1: function "foo" not defined'),
    ("{{.Name", "template: :1: unclosed action"),
    ("{{end}}", "template: :1: unexpected {{end}}"),
    ("{{else}}", "template: :1: unexpected {{else}}"),
    ("{{if}}{{end}}", "template: :1: missing value for if"),
    ("{{range}}{{end}}", "template: :1: missing value for range"),
    ("{{.a}", "template: :1: bad character U+007D '}'"),
    ("{{.a}}{{if .a}}", "template: :1: unexpected EOF"),
    ("{{if .a}}{{else}}{{else}}{{end}}", "template: :1: expected end; found {{else}}"),
    ("{{ | .a}}", 'template: :1: unexpected "|" in command'),
    ("{{(.a}}", "template: :1: unclosed left paren"),
    ("{{.a)}}", "template: :1: unexpected right paren"),
    ("{{$x}}", 'template: :1: undefined variable "$x"'),
    ("{{1 | 2}}", "template: :1: non executable command in pipeline stage 2"),
    ('{{"unterminated}}', "template: :1: unterminated quoted string"),
    ("{{3x}}", 'template: :1: bad number syntax: "3x"'),
    ("{{.a.}}", "template: :1: unexpected <.> in operand"),
    ("{{/* c }}", "template: :1: unclosed comment"),
    ("{{/* c */ }}", "template: :1: comment ends before closing delimiter"),
    ("{{break}}", "template: :1: {{break}} outside {{range}}"),
    ("{{@}}", 'template: :1: unexpected "@" in command'),
    ("{{''}}", "template: :1: invalid syntax"),
    ("x\n{{foo}}", 'template: :2: function "foo" not defined'),
])
def test_parse_errors(text: str, want: str) -> None:
    with pytest.raises(TemplateError) as info:
        compile_template(text)
    assert info.value.detail == want
    assert info.value.phase == "parse"
    assert str(info.value) == "template parsing error: " + want


def test_named_template_errors_carry_the_name() -> None:
    with pytest.raises(TemplateError) as info:
        compile_template("{{foo}}", name="version")
    assert str(info.value) == 'template parsing error: template: version:1: function "foo" not defined'


@pytest.mark.parametrize("text, want", [
    ("{{len .Missing}}", "template: :1:2: executing \"\" at <len .Missing>: error calling len: "
                         "reflect: call of reflect.Value.Type on zero Value"),
    ("{{.n.y}}", 'template: :1:4: executing "" at <.n.y>: nil pointer evaluating interface {}.y'),
    ("{{.s.y}}", "template: :1:4: executing \"\" at <.s.y>: can't evaluate field y in type interface {}"),
    ("{{index .l 5}}", 'template: :1:2: executing "" at <index .l 5>: error calling index: index out of range: 5'),
    ("{{index .Missing 1}}", 'template: :1:2: executing "" at <index .Missing 1>: error calling index: '
                             "index of untyped nil"),
    ("{{.s 1}}", 'template: :1:2: executing "" at <.s>: s is not a method but has arguments'),
    ("{{upper 1}}", 'template: :1:8: executing "" at <1>: expected string; found 1'),
    ("{{upper}}", 'template: :1:2: executing "" at <upper>: wrong number of args for upper: want 1 got 0'),
    ('{{truncate .s "x"}}', 'template: :1:14: executing "" at <"x">: expected integer; found "x"'),
    ("{{and}}", 'template: :1:2: executing "" at <and>: wrong number of args for and: want at least 1 got 0'),
    ("{{upper .zz}}", 'template: :1:8: executing "" at <.zz>: invalid value; expected string'),
    ('{{lt 1 "b"}}', 'template: :1:2: executing "" at <lt 1 "b">: error calling lt: incompatible types for comparison'),
    ("{{range .s}}{{end}}", "template: :1:8: executing \"\" at <.s>: range can't iterate over hello"),
    ("{{nil}}", 'template: :1:2: executing "" at <nil>: nil is not a command'),
    ('{{template "x"}}', 'template: :1:11: executing "" at <{{template "x"}}>: template "x" not defined'),
    ("{{ .a}}\n{{ .s.x }}", "template: :2:5: executing \"\" at <.s.x>: can't evaluate field x in type interface {}"),
])
def test_exec_errors(text: str, want: str) -> None:
    with pytest.raises(TemplateError) as info:
        render(text)
    assert info.value.detail == want
    assert info.value.phase == "exec"


# --- --format handling and table headers ----------------------------------------------

@pytest.mark.parametrize("fmt, want", [
    ("table {{.ID}}\\t{{.Image}}", (True, "{{.ID}}\t{{.Image}}")),
    ("tablex {{.Name}}", (True, "x {{.Name}}")),
    (" table {{.Name}}", (False, "table {{.Name}}")),
    ("TABLE {{.Name}}", (False, "TABLE {{.Name}}")),
    ("json", (False, "{{json .}}")),
    ("{{.Name}}\\n", (False, "{{.Name}}\n")),
    ("{{.Name}}\\\\t|", (False, "{{.Name}}\\\t|")),
    ("raw", (False, "raw")),
    ("table", (True, "")),
    ("", (False, "")),
])
def test_parse_format(fmt: str, want: tuple[bool, str]) -> None:
    assert parse_format(fmt) == want


def test_parse_format_defaults() -> None:
    default = "table {{.ID}}\\t{{.Names}}"
    assert parse_format("", default) == (True, "{{.ID}}\t{{.Names}}")
    assert parse_format("table", default) == (True, "{{.ID}}\t{{.Names}}")
    assert parse_format("raw", default, raw_format="id: {{.ID}}\n") == (False, "id: {{.ID}}\n")


PS_HEADERS = {"ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND", "RunningFor": "CREATED",
              "Status": "STATUS", "Ports": "PORTS", "Names": "NAMES"}
PS_TABLE = ("table {{.ID}}\\t{{.Image}}\\t{{.Command}}\\t{{.RunningFor}}\\t{{.Status}}\\t{{.Ports}}"
            "\\t{{.Names}}")


def test_header_for() -> None:
    text = parse_format(PS_TABLE)[1]
    assert header_for(text, PS_HEADERS) == "CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tPORTS\tNAMES"
    # docker leaves names intact through string functions, but pad still pads
    assert header_for('{{.ID | json}} {{upper .Image}} {{truncate .Names 2}} {{pad .Status 1 1}}',
                      PS_HEADERS) == "CONTAINER ID IMAGE NAMES  STATUS "
    # a field without a title prints <no value>, as in docker
    assert header_for("{{.Name}}\t{{.Current}}", {"Name": "NAME"}) == "NAME\t<no value>"
    # execution errors are ignored; what was written so far stays
    assert header_for("{{.ID}} {{.ID.X}} {{.ID}}", PS_HEADERS) == "CONTAINER ID "


def test_format_output_ps_table() -> None:
    rows = [{"ID": "4c01db0b339c", "Image": "ubuntu:24.04", "Command": '"bash"', "RunningFor": "17 seconds ago",
             "Status": "Up 16 seconds", "Ports": "", "Names": "vigilant_pike"}]
    assert format_output("", rows, PS_HEADERS, default_table=PS_TABLE) == (
        "CONTAINER ID   IMAGE          COMMAND   CREATED          STATUS          PORTS     NAMES\n"
        '4c01db0b339c   ubuntu:24.04   "bash"    17 seconds ago   Up 16 seconds             vigilant_pike\n')
    assert format_output("", [], PS_HEADERS, default_table=PS_TABLE) == (
        "CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES\n")


def test_format_output_context_ls_like_docker() -> None:
    headers = {"Name": "NAME", "Description": "DESCRIPTION", "DockerEndpoint": "DOCKER ENDPOINT",
               "Error": "ERROR"}
    row = {"Name": "default *", "Description": "Current DOCKER_HOST based configuration",
           "DockerEndpoint": "unix:///var/run/docker.sock", "Error": "", "Current": True}
    table = "table {{.Name}}\\t{{.Description}}\\t{{.DockerEndpoint}}\\t{{.Error}}"
    assert format_output("", [row], headers, default_table=table) == (
        "NAME        DESCRIPTION                               DOCKER ENDPOINT               ERROR\n"
        "default *   Current DOCKER_HOST based configuration   unix:///var/run/docker.sock   \n")
    assert format_output("table {{.Name}}\\t{{.Current}}", [row], headers) == "NAME        <no value>\ndefault *   true\n"
    assert format_output("tablex {{.Name}}", [row], headers) == "x NAME\nx default *\n"
    assert format_output("{{.Name}}", [row, row], headers) == "default *\ndefault *\n"
    assert format_output("json", [GoMap(row)], headers) == (
        '{"Current":true,"Description":"Current DOCKER_HOST based configuration",'
        '"DockerEndpoint":"unix:///var/run/docker.sock","Error":"","Name":"default *"}\n')
