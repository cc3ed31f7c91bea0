""".dockerignore matching (Docker's documented examples), Go filepath.Match, cache keys."""
from __future__ import annotations

import pytest

from hithe.build.cache import cache_key
from hithe.build.dockerignore import Matcher, parse_dockerignore
from hithe.build.match import BadPattern, go_match


def m(text: str) -> Matcher:
    return Matcher(parse_dockerignore(text))


def test_documented_examples():
    ign = m("# comment\n*/temp*\n*/*/temp*\ntemp?\n")
    assert ign.excluded("somedir/temporary.txt") and ign.excluded("somedir/temp")
    assert ign.excluded("somedir/subdir/temporary.txt")
    assert ign.excluded("tempa") and ign.excluded("tempb") and not ign.excluded("temp")
    assert not ign.excluded("temporary.txt")


def test_double_star_and_exceptions():
    ign = m("**/*.go\n")
    assert ign.excluded("a.go") and ign.excluded("x/y/z.go") and not ign.excluded("a.gox")
    ign = m("*.md\n!README*.md\nREADME-secret.md\n")
    assert ign.excluded("CHANGES.md") and not ign.excluded("README.md") and ign.excluded("README-secret.md")
    ign = m("*.md\nREADME-secret.md\n!README*.md\n")
    assert not ign.excluded("README-secret.md")


def test_directories_leading_slash_and_cleaning():
    ign = m("/build\nnode_modules/\n./tmp/../cache\n")
    assert ign.excluded("build/out.o") and ign.excluded("node_modules/x/y.js") and ign.excluded("cache/z")
    assert not ign.excluded("src/build.c")
    assert not m(".\n/\n").excluded("anything")


def test_go_match():
    assert go_match("*.txt", "a.txt") and not go_match("*.txt", "d/a.txt")
    assert go_match("file?.[ch]", "file1.c") and go_match("[^a]x", "bx") and not go_match("[^a]x", "ax")
    assert go_match("a\\*b", "a*b") and not go_match("a\\*b", "axb")
    with pytest.raises(BadPattern):
        go_match("[a", "a")


def test_cache_keys():
    base = cache_key("sha256:p", ["/bin/sh", "-c", "echo"], {"Env": ["A=1"]})
    assert base == cache_key("sha256:p", ["/bin/sh", "-c", "echo"], {"Env": ["A=1"]})
    assert base != cache_key("sha256:q", ["/bin/sh", "-c", "echo"], {"Env": ["A=1"]})
    assert base != cache_key("sha256:p", ["|1", "X=1", "/bin/sh", "-c", "echo"], {"Env": ["A=1"]})
    assert base != cache_key("sha256:p", ["/bin/sh", "-c", "echo"], {"Env": ["A=2"]})
