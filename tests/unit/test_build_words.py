"""Variable expansion and NAME=VALUE parsing, per Docker's rules."""
from __future__ import annotations

import pytest

from hithe.build.shellwords import expand, expand_words, name_values
from hithe.errors import InvalidParameter

ENV = {"A": "a", "EMPTY": "", "P": "/usr/bin"}


@pytest.mark.parametrize("text,want", [
    ("$A", "a"), ("${A}", "a"), ("x${A}y", "xay"), ("$NOPE", ""),
    ("${NOPE:-def}", "def"), ("${EMPTY:-def}", "def"), ("${EMPTY-def}", ""), ("${A:-def}", "a"),
    ("${A:+alt}", "alt"), ("${NOPE:+alt}", ""), ("${EMPTY+alt}", "alt"),
    ("'$A'", "$A"), ('"$A b"', "a b"), ("\\$A", "$A"), ('"\\$A"', "$A"), ("$", "$"),
    ("${NOPE:-$P/x}", "/usr/bin/x"), ("a\\ b", "a b"),
])
def test_expand(text, want):
    assert expand(text, ENV) == want


def test_escape_token_backtick():
    assert expand("`$A", ENV, "`") == "$A"
    assert expand("c:\\dir", ENV, "`") == "c:\\dir"


def test_errors():
    with pytest.raises(InvalidParameter):
        expand("${NOPE:?must be set}", ENV)
    with pytest.raises(InvalidParameter):
        expand("'open", ENV)


def test_name_values():
    assert name_values("env", 'A=1 B="two words" C=$A', ENV) == [("A", "1"), ("B", "two words"), ("C", "a")]
    assert name_values("env", "KEY value with spaces", ENV) == [("KEY", "value with spaces")]
    with pytest.raises(InvalidParameter, match="can't find = in"):
        name_values("label", "a=1 b", ENV)


def test_expand_words():
    assert expand_words("80 ${P}  '9 0'", ENV) == ["80", "/usr/bin", "9 0"]
