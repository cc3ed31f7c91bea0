"""hithe.cli.table aligns columns like docker's tabwriter(minwidth 10, padding 3).

Expected strings were checked against Go's text/tabwriter with docker's
settings and against ``docker ps`` / ``docker context ls`` output.
"""
from __future__ import annotations

import pytest

from hithe.cli.table import render_table, tabwrite, text_width

PS_HEADER = ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]


def test_docker_ps_header_alone() -> None:
    assert render_table([PS_HEADER]) == \
        "CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES\n"


def test_docker_ps_with_rows() -> None:
    rows = [
        PS_HEADER,
        ["4c01db0b339c", "ubuntu:24.04", '"bash"', "17 seconds ago", "Up 16 seconds",
         "0.0.0.0:8080->80/tcp", "vigilant_pike"],
        ["d7886598dbe2", "nginx", '"/docker-entrypoint.…"', "2 hours ago", "Exited (0) 2 hours ago", "",
         "web"],
    ]
    assert render_table(rows) == (
        "CONTAINER ID   IMAGE          COMMAND                  CREATED          STATUS"
        "                   PORTS                  NAMES\n"
        '4c01db0b339c   ubuntu:24.04   "bash"                   17 seconds ago   Up 16 seconds'
        "            0.0.0.0:8080->80/tcp   vigilant_pike\n"
        'd7886598dbe2   nginx          "/docker-entrypoint.…"   2 hours ago      Exited (0) 2 hours ago'
        "                          web\n")


def test_docker_images_header() -> None:
    assert render_table([["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"]]) == \
        "REPOSITORY   TAG       IMAGE ID   CREATED   SIZE\n"


def test_empty_last_column_leaves_padding_of_previous_one() -> None:
    # docker context ls: the ERROR column is empty, the row ends in spaces
    assert render_table([
        ["NAME", "DESCRIPTION", "DOCKER ENDPOINT", "ERROR"],
        ["default *", "Current DOCKER_HOST based configuration", "unix:///var/run/docker.sock", ""],
    ]) == (
        "NAME        DESCRIPTION                               DOCKER ENDPOINT               ERROR\n"
        "default *   Current DOCKER_HOST based configuration   unix:///var/run/docker.sock   \n")


@pytest.mark.parametrize("text, want", [
    ("", ""),
    ("\n", "\n"),
    ("x\n", "x\n"),
    ("a\tb\tc\n", "a         b         c\n"),
    ("a\tb", "a         b"),                     # no final newline: none added
    ("a\tb\t\n", "a         b         \n"),       # trailing tab pads the cell before it
    ("a\tb\t", "a         b"),                    # ...but not on an unterminated last line
    ("\t\n\t\n", "          \n          \n"),     # empty cells are padded too
    ("0123456789\tx\n", "0123456789   x\n"),      # width + 3 beats minwidth 10
    ("1234567\tx\n", "1234567   x\n"),             # 7 + 3 == 10
    ("12345678\tx\n", "12345678   x\n"),           # 8 + 3 > 10
    ("a\tb\n\nc\td\n", "a         b\n\nc         d\n"),
    ("aaaa\tbbb\td\naa\tb\tdd\na\t\naa\tcccc\teee\n",
     "aaaa      bbb       d\naa        b         dd\na         \naa        cccc      eee\n"),
    ("a\tb\nccc\n\tdd\tee\n", "a         b\nccc\n          dd        ee\n"),
    ("a\fb\tc\n", "a\nb         c\n"),
    ("a\vb\tc\n", "a         b         c\n"),
])
def test_tabwrite_semantics(text: str, want: str) -> None:
    assert tabwrite(text) == want


def test_column_blocks_are_sized_independently() -> None:
    # the short line in the middle ends the first column block
    text = "a\tlong-cell-here\tz\nx\nb\tc\td\n"
    assert tabwrite(text) == "a         long-cell-here   z\nx\nb         c         d\n"


def test_wide_characters_count_double() -> None:
    assert text_width("abc") == 3
    assert text_width("日本") == 4
    assert text_width("e\u0301") == 1
    assert text_width("héllo") == 5
    assert render_table([["名前", "X"], ["ab", "Y"]]) == "名前      X\nab        Y\n"


def test_single_column_is_not_padded() -> None:
    assert render_table([["CONTAINER ID"], ["abc"]]) == "CONTAINER ID\nabc\n"


@pytest.mark.parametrize("text", ["", "a", "a\tb\n", "\t\t\n\n", "x\vy\fz\tw", "abc\n\tdef\t", "é\t漢字\n"])
def test_split_separators_is_re_split(text):
    import re

    from hithe.cli.table import _split_separators
    assert _split_separators(text) == re.split(r"([\t\v\n\f])", text)
