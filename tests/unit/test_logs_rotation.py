"""json-file log options and keeping max-file generations of conmon's log."""
from __future__ import annotations

import os
import threading
import time

import pytest

from hithe.errors import InvalidParameter
from hithe.logs.reader import read_logs
from hithe.logs.rotation import (
    DEFAULT_MAX_FILE, DEFAULT_MAX_SIZE, LogConfig, LogKeeper, log_paths, parse_log_opts,
    rotated_paths,
)

T0 = 1714558830_123456789


def rec(i: int, text: bytes) -> bytes:
    t = time.gmtime(T0 // 10**9)
    return b"%04d-%02d-%02dT%02d:%02d:%02d.%09d+00:00 stdout F %s\n" % (
        t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, i, text)


def conmon_rotate(path: str, content: bytes = b"") -> None:
    """What conmon's reopen_k8s_file does: new PATH.tmp renamed over PATH."""
    with open(path + ".tmp", "wb") as f:
        f.write(content)
    os.rename(path + ".tmp", path)


def gen(n: int) -> bytes:
    return rec(n, b"generation %d" % n)


# --- options ------------------------------------------------------------------------

def test_defaults_rotate():
    # hithe rotates by default, with docker's `local` driver defaults
    assert parse_log_opts({}) == LogConfig(max_size=20_000_000, max_file=5, compress=False)
    assert (DEFAULT_MAX_SIZE, DEFAULT_MAX_FILE) == (20_000_000, 5)
    assert parse_log_opts({}, default_max_size=None).max_size is None


@pytest.mark.parametrize("value,size", [
    ("10m", 10_000_000), ("1g", 1_000_000_000), ("500k", 500_000), ("1.5m", 1_500_000),
    ("10MB", 10_000_000), ("10mb", 10_000_000), ("10 m", 10_000_000), ("2KiB", 2_000),
    ("123", 123), ("1b", 1), ("1.1k", 1100),
])
def test_max_size_units_are_decimal_like_go_units(value, size):
    assert parse_log_opts({"max-size": value}).max_size == size


@pytest.mark.parametrize("opts,message", [
    ({"foo": "bar"}, "unknown log opt 'foo' for json-file log driver"),
    ({"max-size": "abc"}, "invalid size: 'abc'"),
    ({"max-size": "-1"}, "invalid size: '-1'"),
    ({"max-size": "10x"}, "invalid size: '10x'"),
    ({"max-size": "0"}, "max-size must be a positive number"),
    ({"max-size": "1.2.3m"}, 'strconv.ParseFloat: parsing "1.2.3": invalid syntax'),
    ({"max-file": "0"}, "max-file cannot be less than 1"),
    ({"max-file": "-2"}, "max-file cannot be less than 1"),
    ({"max-file": "two"}, 'strconv.Atoi: parsing "two": invalid syntax'),
    ({"max-file": "99999999999999999999"},
     'strconv.Atoi: parsing "99999999999999999999": value out of range'),
    ({"compress": "yes"}, 'strconv.ParseBool: parsing "yes": invalid syntax'),
    ({"compress": "true", "max-file": "1"},
     "compress cannot be true when max-file is less than 2 or max-size is not set"),
])
def test_validation_messages_match_docker(opts, message):
    with pytest.raises(InvalidParameter) as exc:
        parse_log_opts(opts)
    assert str(exc.value) == message


def test_accepted_options():
    cfg = parse_log_opts({"max-size": "1m", "max-file": "3", "compress": "true",
                          "labels": "a", "env": "B", "env-regex": "^C", "tag": "x",
                          "labels-regex": "^d"})
    assert cfg == LogConfig(max_size=1_000_000, max_file=3, compress=True)
    assert parse_log_opts({"compress": "False"}).compress is False
    assert parse_log_opts({"max-file": "+7"}).max_file == 7
    with pytest.raises(InvalidParameter):
        parse_log_opts({"compress": "1"}, default_max_size=None)


# --- generations -------------------------------------------------------------------

def test_keeper_shifts_generations(tmp_path):
    path = str(tmp_path / "ctr.log")
    with open(path, "wb") as f:
        f.write(gen(0))
    keeper = LogKeeper(path, max_file=3)
    keeper.track()
    assert os.path.samefile(path, path + ".keep")
    assert keeper.check() is False
    for n in (1, 2, 3):
        conmon_rotate(path, gen(n))
        # before check(): the old generation is still readable through .keep
        assert rotated_paths(path)[-1] == path + ".keep"
        assert keeper.check() is True
        assert os.path.samefile(path, path + ".keep")
        assert keeper.check() is False
    # max_file=3: PATH, PATH.1, PATH.2 -- generation 0 dropped
    assert rotated_paths(path) == [path + ".2", path + ".1"]
    assert open(path + ".2", "rb").read() == gen(1)
    assert open(path + ".1", "rb").read() == gen(2)
    assert not os.path.exists(path + ".3")
    assert [d for _, d in read_logs(log_paths(path))] == [
        b"generation 1\n", b"generation 2\n", b"generation 3\n"]


def test_unabsorbed_rotation_is_read_in_order(tmp_path):
    path = str(tmp_path / "ctr.log")
    with open(path, "wb") as f:
        f.write(gen(0))
    keeper = LogKeeper(path, max_file=5)
    keeper.track()
    conmon_rotate(path, gen(1))
    keeper.check()
    conmon_rotate(path, gen(2))  # not checked yet
    assert log_paths(path) == [path + ".1", path + ".keep", path]
    assert [d for _, d in read_logs(log_paths(path))] == [
        b"generation 0\n", b"generation 1\n", b"generation 2\n"]


def test_max_file_one_keeps_nothing(tmp_path):
    path = str(tmp_path / "ctr.log")
    with open(path, "wb") as f:
        f.write(gen(0))
    keeper = LogKeeper(path, max_file=1)
    keeper.track()
    assert not os.path.exists(path + ".keep")
    conmon_rotate(path, gen(1))
    assert keeper.check() is False
    assert rotated_paths(path) == []
    assert log_paths(path) == [path]


def test_track_prunes_and_check_relinks(tmp_path):
    path = str(tmp_path / "ctr.log")
    for name in ("ctr.log", "ctr.log.1", "ctr.log.2", "ctr.log.7", "ctr.log.tmp", "other.log.1"):
        (tmp_path / name).write_bytes(b"")
    keeper = LogKeeper(path, max_file=2)
    keeper.track()
    assert rotated_paths(path) == [path + ".1"]
    assert os.path.exists(tmp_path / "ctr.log.tmp") and os.path.exists(tmp_path / "other.log.1")
    os.unlink(path + ".keep")
    assert keeper.check() is False  # re-links, nothing to absorb
    assert os.path.samefile(path, path + ".keep")
    os.unlink(path)
    assert keeper.check() is False
    keeper.remove()
    assert sorted(os.listdir(tmp_path)) == ["ctr.log.tmp", "other.log.1"]


def test_concurrent_checks_absorb_once(tmp_path):
    path = str(tmp_path / "ctr.log")
    with open(path, "wb") as f:
        f.write(gen(0))
    LogKeeper(path, 4).track()
    conmon_rotate(path, gen(1))
    results: list[bool] = []
    threads = [threading.Thread(target=lambda: results.append(LogKeeper(path, 4).check()))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 1
    assert rotated_paths(path) == [path + ".1"]
