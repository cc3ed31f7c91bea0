"""The Dockerfile parser: directives, continuations, comments, JSON/shell forms, flags, heredocs, errors."""
from __future__ import annotations

import pytest

from hithe.build.parser import ParseError, parse


def test_forms_flags_and_lines():
    df = parse("FROM busybox AS b\n# comment\n\nRUN [\"echo\", \"hi\"]\nCMD echo hi\n"
               "COPY --from=b --chown=1:1 --chmod=644 --link a /b\nRUN [not json\n")
    run, cmd, copy, bad = df.nodes[1:]
    assert run.json_args == ["echo", "hi"] and run.line == 4
    assert cmd.json_args is None and cmd.rest == "echo hi"
    assert copy.flags == ["--from=b", "--chown=1:1", "--chmod=644", "--link"]
    assert copy.flag("from") == "b" and copy.rest == "a /b"
    assert bad.json_args is None and bad.rest == "[not json"


def test_continuations_comments_and_empty_lines():
    df = parse("RUN echo a \\\n# inside\n\n  && echo b\nENV X=1\n")
    assert df.nodes[0].rest == "echo a   && echo b"
    assert df.nodes[0].line == 1 and df.nodes[1].line == 5
    assert any("Empty continuation line" in w for w in df.warnings)


def test_escape_and_syntax_directives():
    df = parse("# syntax=docker/dockerfile:1\n# escape=`\nFROM x\nRUN dir c:\\ `\n  && echo\n")
    assert df.escape == "`" and df.syntax == "docker/dockerfile:1"
    assert df.nodes[1].rest == "dir c:\\   && echo"
    # a directive after an instruction is a plain comment
    assert parse("FROM x\n# escape=`\nRUN a \\\n b\n").nodes[1].rest == "a  b"
    with pytest.raises(ParseError, match="invalid escape token"):
        parse("# escape=x\nFROM a\n")


def test_heredocs():
    df = parse("RUN <<EOF\necho $A\nEOF\nCOPY <<-'ONE' <<TWO /dst/\n\tone\n\tONE\ntwo\nTWO\nCMD x\n")
    run, copy, cmd = df.nodes
    assert run.heredocs[0].content == "echo $A\n" and run.heredocs[0].expand
    assert [h.name for h in copy.heredocs] == ["ONE", "TWO"]
    assert copy.heredocs[0].content == "one\n" and not copy.heredocs[0].expand
    assert cmd.line == 9
    with pytest.raises(ParseError, match="unterminated heredoc"):
        parse("RUN <<EOF\necho\n")


def test_errors_name_the_line():
    with pytest.raises(ParseError) as e:
        parse("FROM busybox\n\nFOO bar\n")
    assert str(e.value) == "dockerfile parse error on line 3: unknown instruction: FOO"
    with pytest.raises(ParseError, match="line 2: ENV requires at least one argument"):
        parse("FROM a\nENV\n")
