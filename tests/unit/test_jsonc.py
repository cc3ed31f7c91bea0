"""The CLI's JSON (C accelerator, no `import json`) must read and write what json does."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from hithe.client import jsonc

VALUES = [
    {"Id": "abc", "Names": ["/x"], "State": {"Running": True, "ExitCode": 0, "Pid": None}},
    [1, -2, 3.5, 1e300, -0.0, "é\n\"\\", "😀", [], {}],
    "plain", 0, False, None,
]


@pytest.mark.parametrize("value", VALUES)
def test_round_trip_matches_json(value):
    text = jsonc.dumps(value)
    assert json.loads(text) == value
    assert text == json.dumps(value, separators=(",", ":"))
    assert jsonc.loads(text) == value
    assert jsonc.loads(text.encode()) == value
    assert jsonc.loads(" \n" + json.dumps(value, indent=2) + "\n") == value


def test_raw_decode_walks_a_stream_of_values():
    text = ' {"a":1}\n{"b":[2]} 3'
    out, idx = [], 0
    while idx < len(text.rstrip()):
        value, idx = jsonc.raw_decode(text, idx)
        out.append(value)
    assert out == [{"a": 1}, {"b": [2]}, 3]


@pytest.mark.parametrize("bad", ["", "{", "[1,]", "1 2", "nul", '{"a" 1}', '"abc', "{'a':1}"])
def test_errors_are_json_errors_with_json_wording(bad):
    with pytest.raises(ValueError) as got:
        jsonc.loads(bad)
    with pytest.raises(json.JSONDecodeError) as want:
        json.loads(bad)
    assert str(got.value) == str(want.value)


def test_unserialisable_is_type_error():
    with pytest.raises(TypeError, match="not JSON serializable"):
        jsonc.dumps({"x": object()})


def test_errors_without_json_loaded():
    # the C scanner cannot raise its own error before json.decoder is imported
    code = ("import sys; from hithe.client import jsonc\n"
            "try:\n jsonc.loads('{')\nexcept ValueError as e: print(type(e).__name__, e)\n"
            "print(jsonc.loads('[1]'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == [
        "JSONDecodeError Expecting property name enclosed in double quotes: line 1 column 2 (char 1)", "[1]"]


def test_cli_start_imports_neither_json_nor_socket():
    code = ("import sys; from hithe.client import api; from hithe.cli import streams, container_run, main\n"
            "print(sorted(m for m in ('json', 'socket', 're', 'signal', 'threading', 'enum') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, check=True,
                         cwd=sys.path[0] or None).stdout
    assert out.strip() == "[]"
