"""The pflag-compatible parser, docker's usage errors and help layout."""
from __future__ import annotations

import pytest

from hithe.cli import main as cli_main
from hithe.cli.command import Command, check_args
from hithe.cli.flags import (BOOL, DURATION, INT, LIST, Flag, FlagError, FlagSet, HelpRequested,
                             flag_usages, parse_int)


def fs(interspersed: bool = True) -> FlagSet:
    return FlagSet([
        Flag("detach", "d", BOOL), Flag("interactive", "i", BOOL), Flag("tty", "t", BOOL),
        Flag("rm", "", BOOL), Flag("name"), Flag("env", "e", LIST), Flag("publish", "p", LIST),
        Flag("last", "n", INT, default=-1), Flag("net", "", LIST, hidden=True, dest="network"),
        Flag("network", "", LIST), Flag("sig-proxy", "", BOOL, default=True),
    ], interspersed=interspersed)


def test_long_forms() -> None:
    vals, args = fs().parse(["--name=x", "--env", "A=1", "--env=B=2", "--rm", "img"])
    assert vals["name"] == "x" and vals["env"] == ["A=1", "B=2"] and vals["rm"] is True
    assert args == ["img"]
    assert {"name", "env", "rm"} <= vals.changed


def test_bool_explicit_values_and_no_consumption() -> None:
    vals, args = fs().parse(["--rm=false", "--sig-proxy=false", "--detach", "false"])
    assert vals["rm"] is False and vals["sig-proxy"] is False and vals["detach"] is True
    assert args == ["false"]  # a bool never takes the next argument


def test_short_groups_and_values() -> None:
    vals, args = fs().parse(["-dit", "-p8080:80", "-p", "9000:90", "-p=1:2", "-eFOO=1", "x"])
    assert vals["detach"] and vals["interactive"] and vals["tty"]
    assert vals["publish"] == ["8080:80", "9000:90", "1:2"]
    assert vals["env"] == ["FOO=1"]
    assert args == ["x"]


def test_short_group_ending_with_value_flag() -> None:
    vals, _ = fs().parse(["-de", "A=B"])
    assert vals["detach"] and vals["env"] == ["A=B"]
    vals, _ = fs().parse(["-deA=B"])
    assert vals["env"] == ["A=B"]


def test_value_taken_even_if_it_looks_like_a_flag() -> None:
    vals, _ = fs().parse(["--name", "--rm"])
    assert vals["name"] == "--rm" and vals["rm"] is False


def test_double_dash_ends_flags() -> None:
    vals, args = fs().parse(["--rm", "--", "-d", "--name"])
    assert args == ["-d", "--name"] and not vals["detach"]


def test_single_dash_is_positional() -> None:
    _vals, args = fs().parse(["-", "-d"])
    assert args == ["-"]


def test_interspersed_false_stops_at_first_positional() -> None:
    vals, args = fs(interspersed=False).parse(["-d", "busybox", "ls", "-l", "--rm"])
    assert vals["detach"] and not vals["rm"]
    assert args == ["busybox", "ls", "-l", "--rm"]


def test_interspersed_true_allows_flags_after_args() -> None:
    vals, args = fs().parse(["a", "--rm", "b", "-n", "3"])
    assert args == ["a", "b"] and vals["rm"] and vals["last"] == 3


def test_shared_destination() -> None:
    vals, _ = fs().parse(["--net", "host", "--network", "x"])
    assert vals["network"] == ["host", "x"]
    assert "net" in vals.changed and "network" in vals.changed


@pytest.mark.parametrize("argv,message", [
    (["--foo"], "unknown flag: --foo"),
    (["--foo=1"], "unknown flag: --foo"),
    (["-z"], "unknown shorthand flag: 'z' in -z"),
    (["-dz"], "unknown shorthand flag: 'z' in -z"),
    (["-dzx"], "unknown shorthand flag: 'z' in -zx"),
    (["--name"], "flag needs an argument: --name"),
    (["-e"], "flag needs an argument: 'e' in -e"),
    (["-n", "x"], 'invalid argument "x" for "-n, --last" flag: strconv.ParseInt: parsing "x": invalid syntax'),
    (["--rm=maybe"], 'invalid argument "maybe" for "--rm" flag: strconv.ParseBool: parsing "maybe": invalid syntax'),
    (["---x"], "bad flag syntax: ---x"),
])
def test_errors_are_pflags(argv: list[str], message: str) -> None:
    with pytest.raises(FlagError) as exc:
        fs().parse(argv)
    assert str(exc.value) == message


def test_help_flags() -> None:
    with pytest.raises(HelpRequested):
        fs().parse(["--help"])
    with pytest.raises(HelpRequested):
        fs().parse(["-h"])
    # a command that uses -h itself (run: --hostname) only has --help
    own = FlagSet([Flag("hostname", "h")])
    vals, _ = own.parse(["-h", "box"])
    assert vals["hostname"] == "box"


def test_parse_int_like_go() -> None:
    assert parse_int("10") == 10 and parse_int("-1") == -1
    assert parse_int("0x10") == 16 and parse_int("010") == 8


def test_duration_flag() -> None:
    vals, _ = FlagSet([Flag("interval", "", DURATION, default=0.0)]).parse(["--interval", "1m30s"])
    assert vals["interval"] == 90.0
    with pytest.raises(FlagError) as exc:
        FlagSet([Flag("interval", "", DURATION, default=0.0)]).parse(["--interval", "soon"])
    assert 'invalid argument "soon" for "--interval" flag: time: invalid duration "soon"' == str(exc.value)


def test_custom_parse_error() -> None:
    from hithe.cli.opts_parse import mem_bytes

    with pytest.raises(FlagError) as exc:
        FlagSet([Flag("memory", "m", parse=mem_bytes)]).parse(["-m", "1x"])
    assert str(exc.value) == 'invalid argument "1x" for "-m, --memory" flag: invalid suffix: \'x\''


PS_OPTIONS = """\
  -a, --all             Show all containers (default shows just running)
  -f, --filter filter   Filter output based on conditions provided
      --format string   Format output using a custom template:
                        'table':            Print output in table format
                        with column headers (default)
                        'table TEMPLATE':   Print output in table format
                        using the given Go template
                        'json':             Print in JSON format
                        'TEMPLATE':         Print output using the given
                        Go template.
                        Refer to https://docs.docker.com/go/formatting/
                        for more information about formatting output with
                        templates
  -n, --last int        Show n last created containers (includes all
                        states) (default -1)
  -l, --latest          Show the latest created container (includes all
                        states)
      --no-trunc        Don't truncate output
  -q, --quiet           Only display container IDs
  -s, --size            Display total file sizes
"""


def test_flag_usages_match_docker_layout() -> None:
    from hithe.cli.container_list import LS

    assert flag_usages(LS.flags, 79) == PS_OPTIONS


def test_help_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main.main(["rm", "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Usage:  hithe rm [OPTIONS] CONTAINER [CONTAINER...]\n\nRemove one or more containers\n")
    assert "Aliases:\n  hithe container rm, hithe container remove, hithe rm\n" in out
    assert "  -f, --force     Force the removal of a running container (uses SIGKILL)\n" in out


def _cmd(args: tuple | None, use: str = "rm [OPTIONS] CONTAINER [CONTAINER...]") -> Command:
    return Command(use, "x", [], lambda *a: 0, args=args)


def test_arg_count_messages() -> None:
    assert check_args("hithe rm", _cmd(("min", 1)), []) == (
        "hithe: 'hithe rm' requires at least 1 argument\n\n"
        "Usage:  hithe rm [OPTIONS] CONTAINER [CONTAINER...]\n\n"
        "See 'hithe rm --help' for more information")
    assert check_args("hithe ps", _cmd(("none",), "ps [OPTIONS]"), ["x"]) == (
        "hithe: 'hithe ps' accepts no arguments\n\nUsage:  hithe ps [OPTIONS]\n\n"
        "Run 'hithe ps --help' for more information")
    assert "requires 2 arguments" in check_args("hithe rename", _cmd(("exact", 2), "rename A B"), ["a"])
    assert "requires at least 1 and at most 2 arguments" in check_args(
        "hithe port", _cmd(("range", 1, 2), "port C [P]"), [])
    assert check_args("hithe rm", _cmd(("min", 1)), ["a"]) is None


def test_main_flag_error_exit_125(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main.main(["run", "--foo"]) == 125
    err = capsys.readouterr().err
    assert err == ("unknown flag: --foo\n\nUsage:  hithe run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\n"
                   "Run 'hithe run --help' for more information\n")


def test_main_arg_error_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main.main(["container", "rm"]) == 1
    assert capsys.readouterr().err.startswith("hithe: 'hithe container rm' requires at least 1 argument\n")
    assert cli_main.main(["run"]) == 1
    assert "'hithe run' requires at least 1 argument" in capsys.readouterr().err


def test_main_unknown_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main.main(["foo"]) == 1
    assert capsys.readouterr().err == "hithe: unknown command: hithe foo\n\nRun 'hithe --help' for more information\n"
    assert cli_main.main(["container", "foo"]) == 1
    assert "unknown command: hithe container foo" in capsys.readouterr().err


def test_run_flags_after_image_go_to_the_container() -> None:
    from hithe.cli.container_run import RUN

    vals, args = FlagSet(RUN.flags, interspersed=False).parse(["--rm", "busybox", "ls", "-l"])
    assert vals["rm"] and args == ["busybox", "ls", "-l"]


def test_root_help_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main.main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Usage:  hithe [OPTIONS] COMMAND\n")
    assert "  container   Manage containers\n" in out
    assert cli_main.main(["-v"]) == 0
    assert capsys.readouterr().out.startswith("hithe version ")
    assert cli_main.main(["container"]) == 0
    assert "  ls          List containers\n" in capsys.readouterr().out
