"""hithe.util.units and hithe.util.gotime reproduce go-units, moby's State.String and GetTimestamp.

Expected values come from go-units' own tests, and from running the Go
originals (time.ParseDuration, time.Parse, GetTimestamp) on the same input.
"""
from __future__ import annotations

import pytest

from hithe.util.units import (bytes_size, container_status, human_duration, human_duration_ns, human_size,
                             parse_decimal_size, parse_size, time_ago)
from hithe.util.gotime import (UnitsError, format_timestamp, format_timestamp_ns, get_timestamp, parse_go_duration,
                               parse_go_duration_ns, parse_since, parse_timestamp, parse_timestamp_ns)

MIN, HOUR, DAY = 60, 3600, 86400
WEEK, MONTH, YEAR = 7 * DAY, 30 * DAY, 365 * DAY


# --- sizes -----------------------------------------------------------------------

@pytest.mark.parametrize("n, want", [
    (0, "0B"), (1, "1B"), (999, "999B"), (1000, "1kB"), (1024, "1.02kB"), (1240, "1.24kB"),
    (4260000, "4.26MB"), (1048576, "1.05MB"), (999499, "999kB"), (999500, "1e+03kB"),
    (2 * 10 ** 6, "2MB"), (3.42e9, "3.42GB"), (72_800_000, "72.8MB"), (1e30, "1e+06YB"),
])
def test_human_size_precision_3(n: float, want: str) -> None:
    assert human_size(n) == want


@pytest.mark.parametrize("n, want", [
    (1000, "1kB"), (1024, "1.024kB"), (1048576, "1.049MB"), (3.42e9, "3.42GB"), (5.372e12, "5.372TB"),
    (2.22e15, "2.22PB"), (1e28, "1e+04YB"),
])
def test_human_size_precision_4_like_go_units_humansize(n: float, want: str) -> None:
    assert human_size(n, 4) == want


@pytest.mark.parametrize("n, want", [
    (0, "0B"), (1024, "1KiB"), (1024 * 1024, "1MiB"), (2 * 1024 ** 2, "2MiB"), (3.42 * 1024 ** 3, "3.42GiB"),
    (5.372 * 1024 ** 4, "5.372TiB"), (2.22 * 1024 ** 5, "2.22PiB"), (4.26 * 1024 ** 2, "4.26MiB"),
    (1023, "1023B"), (1024 ** 8 * 1024 ** 2, "1.049e+06YiB"),
])
def test_bytes_size(n: float, want: str) -> None:
    assert bytes_size(n) == want


@pytest.mark.parametrize("s, want", [
    ("32", 32), ("32b", 32), ("32B", 32), ("32k", 32 * 1024), ("32K", 32 * 1024), ("32kb", 32 * 1024),
    ("32Kib", 32 * 1024), ("32KIB", 32 * 1024), ("32Mb", 32 * 1024 ** 2), ("32Gb", 32 * 1024 ** 3),
    ("32Tb", 32 * 1024 ** 4), ("32Pb", 32 * 1024 ** 5), ("32P", 32 * 1024 ** 5), ("32.3", 32),
    ("32.3 mb", int(32.3 * 1024 ** 2)), ("0.3MB", int(0.3 * 1024 ** 2)), ("10m", 10485760),
    ("1g", 1073741824), ("512k", 524288), ("100", 100), ("1.5GB", 1610612736),
])
def test_parse_size_binary(s: str, want: int) -> None:
    assert parse_size(s) == want


@pytest.mark.parametrize("s", ["", "hello", "-32", " 32 ", "32m b", "32bm", ".3kB", "32\n", "１２"])
def test_parse_size_errors(s: str) -> None:
    with pytest.raises(UnitsError) as info:
        parse_size(s)
    assert str(info.value) == f"invalid size: '{s}'"


def test_parse_size_bad_float() -> None:
    with pytest.raises(UnitsError, match='parsing "1.2.3": invalid syntax'):
        parse_size("1.2.3")


@pytest.mark.parametrize("s, want", [
    ("32", 32), ("32k", 32000), ("32.5kB", 32500), ("32.5 kB", 32500), ("32.5 B", 32), ("0.3 K", 300),
    ("32Mb", 32 * 10 ** 6), ("32Pb", 32 * 10 ** 15),
])
def test_parse_decimal_size(s: str, want: int) -> None:
    assert parse_decimal_size(s) == want


# --- durations ---------------------------------------------------------------------

@pytest.mark.parametrize("seconds, want", [
    (0.45, "Less than a second"), (-5, "Less than a second"), (0, "Less than a second"),
    (1, "1 second"), (1.9, "1 second"), (45, "45 seconds"), (59, "59 seconds"), (60, "About a minute"),
    (119, "About a minute"), (3 * MIN, "3 minutes"), (35 * MIN + 40, "35 minutes"), (59 * MIN, "59 minutes"),
    (HOUR, "About an hour"), (HOUR + 29 * MIN, "About an hour"), (HOUR + 30 * MIN, "2 hours"),
    (HOUR + 31 * MIN, "2 hours"), (3 * HOUR + 29 * MIN, "3 hours"), (3 * HOUR + 31 * MIN, "4 hours"),
    (24 * HOUR, "24 hours"), (DAY + 12 * HOUR, "36 hours"), (47 * HOUR + 29 * MIN, "47 hours"),
    (47 * HOUR + 30 * MIN, "2 days"), (2 * DAY, "2 days"), (7 * DAY, "7 days"), (13 * DAY + 5 * HOUR, "13 days"),
    (2 * WEEK, "2 weeks"), (2 * WEEK + 4 * DAY, "2 weeks"), (3 * WEEK, "3 weeks"), (MONTH, "4 weeks"),
    (MONTH + 2 * WEEK, "6 weeks"), (2 * MONTH, "2 months"), (3 * MONTH + WEEK, "3 months"),
    (5 * MONTH + 2 * WEEK, "5 months"), (13 * MONTH, "13 months"), (24 * MONTH, "24 months"),
    (24 * MONTH + 2 * WEEK, "2 years"), (3 * YEAR + 2 * MONTH, "3 years"),
])
def test_human_duration(seconds: float, want: str) -> None:
    assert human_duration(seconds) == want


def test_human_duration_float_noise_and_ns() -> None:
    assert human_duration(0.1 + 0.2 + 0.7) == "1 second"  # 0.9999999999999999
    assert human_duration_ns(999_999_999) == "Less than a second"
    assert human_duration_ns(5400 * 10 ** 9) == "2 hours"  # math.Round rounds 1.5 away from zero


def test_time_ago() -> None:
    assert time_ago(1000.0, 1017.5) == "17 seconds ago"
    assert time_ago(1000.0, 1000.0 + 3 * DAY) == "3 days ago"
    assert time_ago(2000.0, 1000.0) == "Less than a second ago"


# --- container STATUS ----------------------------------------------------------------

NOW = parse_timestamp("2024-01-02T03:04:05Z")
ZERO = "0001-01-01T00:00:00Z"


def state(**kw: object) -> dict:
    base = {"Status": "created", "Running": False, "Paused": False, "Restarting": False, "OOMKilled": False,
            "Dead": False, "Pid": 0, "ExitCode": 0, "Error": "", "StartedAt": ZERO, "FinishedAt": ZERO}
    base.update(kw)
    return base


@pytest.mark.parametrize("st, want", [
    (state(), "Created"),
    (state(Status="running", Running=True, StartedAt="2024-01-02T03:04:00.123456789Z"), "Up 4 seconds"),
    (state(Status="running", Running=True, StartedAt="2024-01-02T03:03:05Z"), "Up About a minute"),
    (state(Status="running", Running=True, StartedAt="2024-01-02T03:04:05.5Z"), "Up Less than a second"),
    (state(Status="paused", Running=True, Paused=True, StartedAt="2024-01-02T03:04:00Z"), "Up 5 seconds (Paused)"),
    (state(Status="restarting", Running=True, Restarting=True, ExitCode=1, StartedAt="2024-01-02T03:00:00Z",
           FinishedAt="2024-01-02T03:04:03Z"), "Restarting (1) 2 seconds ago"),
    (state(Status="running", Running=True, StartedAt="2024-01-02T01:04:05Z", Health={"Status": "healthy"}),
     "Up 2 hours (healthy)"),
    (state(Status="running", Running=True, StartedAt="2024-01-02T03:04:00Z", Health={"Status": "starting"}),
     "Up 5 seconds (health: starting)"),
    (state(Status="running", Running=True, StartedAt="2024-01-02T03:04:00Z", Health={"Status": "unhealthy"}),
     "Up 5 seconds (unhealthy)"),
    (state(Status="exited", ExitCode=0, StartedAt="2024-01-02T02:00:00Z", FinishedAt="2024-01-02T03:01:05Z"),
     "Exited (0) 3 minutes ago"),
    (state(Status="exited", ExitCode=137, StartedAt="2023-12-01T00:00:00Z", FinishedAt="2023-12-20T00:00:00Z"),
     "Exited (137) 13 days ago"),
    (state(Status="exited", ExitCode=2, StartedAt="2023-11-01T00:00:00Z", FinishedAt="2023-12-10T00:00:00Z"),
     "Exited (2) 3 weeks ago"),
    (state(Status="exited", StartedAt="2024-01-02T02:00:00Z"), ""),
    (state(Status="removing", StartedAt="2024-01-02T02:00:00Z", FinishedAt="2024-01-02T03:01:05Z"),
     "Removal In Progress"),
    (state(Status="dead", Dead=True, StartedAt="2024-01-02T02:00:00Z"), "Dead"),
    ({"Status": "created"}, "Created"),
])
def test_container_status(st: dict, want: str) -> None:
    assert container_status(st, NOW) == want


# --- timestamps ------------------------------------------------------------------------

@pytest.mark.parametrize("s, ns", [
    ("2024-01-02T03:04:05.123456789Z", 1704164645123456789),
    ("2024-01-02T03:04:05Z", 1704164645000000000),
    ("2024-01-02T03:04:05.1Z", 1704164645100000000),
    ("2024-01-02T03:04:05+02:00", 1704157445000000000),
    ("2024-01-02T03:04:05.5-07:00", 1704189845500000000),
    ("2024-01-02T03:04:05.1234567891Z", 1704164645123456789),
    ("1969-12-31T23:59:59.999999999Z", -1),
    ("0001-01-01T00:00:00Z", -62135596800 * 10 ** 9),
    ("2024-02-29T00:00:00Z", 1709164800000000000),
])
def test_parse_timestamp_ns(s: str, ns: int) -> None:
    assert parse_timestamp_ns(s) == ns


@pytest.mark.parametrize("s, want", [
    ("2023-02-29T00:00:00Z", 'parsing time "2023-02-29T00:00:00Z": day out of range'),
    ("2024-13-01T00:00:00Z", 'parsing time "2024-13-01T00:00:00Z": month out of range'),
    ("2024-01-02 03:04:05Z",
     'parsing time "2024-01-02 03:04:05Z" as "2006-01-02T15:04:05Z07:00": cannot parse " 03:04:05Z" as "T"'),
    ("x", 'parsing time "x" as "2006-01-02T15:04:05Z07:00": cannot parse "x" as "2006"'),
    ("2024-01-02T03:04:05",
     'parsing time "2024-01-02T03:04:05" as "2006-01-02T15:04:05Z07:00": cannot parse "" as "Z07:00"'),
])
def test_parse_timestamp_errors(s: str, want: str) -> None:
    with pytest.raises(UnitsError) as info:
        parse_timestamp_ns(s)
    assert str(info.value) == want


def test_parse_timestamp_float() -> None:
    assert parse_timestamp("2024-01-02T03:04:05.25Z") == 1704164645.25
    assert parse_timestamp("1970-01-01T00:00:00Z") == 0.0


@pytest.mark.parametrize("ns, want", [
    (1704164645123456789, "2024-01-02T03:04:05.123456789Z"),
    (1704164645100000000, "2024-01-02T03:04:05.1Z"),
    (1704164645000000000, "2024-01-02T03:04:05Z"),
    (1704164645000001000, "2024-01-02T03:04:05.000001Z"),
    (0, "1970-01-01T00:00:00Z"),
    (-1, "1969-12-31T23:59:59.999999999Z"),
    (-62135596800 * 10 ** 9, "0001-01-01T00:00:00Z"),
    (253402300799 * 10 ** 9, "9999-12-31T23:59:59Z"),
])
def test_format_timestamp_ns(ns: int, want: str) -> None:
    assert format_timestamp_ns(ns) == want


def test_format_timestamp_float() -> None:
    assert format_timestamp(1704164645.25) == "2024-01-02T03:04:05.25Z"
    assert format_timestamp(1704164645.123456) == "2024-01-02T03:04:05.123456Z"
    assert format_timestamp(1704164645) == "2024-01-02T03:04:05Z"
    assert format_timestamp(parse_timestamp("2024-01-02T03:04:05.5Z")) == "2024-01-02T03:04:05.5Z"


# --- Go durations ------------------------------------------------------------------------

@pytest.mark.parametrize("s, ns", [
    ("10m", 600 * 10 ** 9), ("1h30m", 5400 * 10 ** 9), ("42s", 42 * 10 ** 9), ("1.5h", 5400 * 10 ** 9),
    ("0", 0), ("-10s", -10 * 10 ** 9), ("+5m", 300 * 10 ** 9), ("300ms", 300 * 10 ** 6), ("2us", 2000),
    ("2µs", 2000), ("2μs", 2000), ("1ns", 1), (".5s", 5 * 10 ** 8), ("5.s", 5 * 10 ** 9),
    ("1.0000000001s", 1000000000), ("3h2m1.5s", 10921500000000), ("1h-5m", None),
])
def test_parse_go_duration(s: str, ns: int | None) -> None:
    if ns is None:
        with pytest.raises(UnitsError):
            parse_go_duration_ns(s)
    else:
        assert parse_go_duration_ns(s) == ns


@pytest.mark.parametrize("s, want", [
    ("", 'time: invalid duration ""'),
    ("abc", 'time: invalid duration "abc"'),
    (".s", 'time: invalid duration ".s"'),
    ("10", 'time: missing unit in duration "10"'),
    ("1h1", 'time: missing unit in duration "1h1"'),
    ("1d", 'time: unknown unit "d" in duration "1d"'),
    ("1e3s", 'time: unknown unit "e" in duration "1e3s"'),
    ("9223372037s", 'time: invalid duration "9223372037s"'),
])
def test_parse_go_duration_errors(s: str, want: str) -> None:
    with pytest.raises(UnitsError) as info:
        parse_go_duration_ns(s)
    assert str(info.value) == want


def test_parse_go_duration_seconds() -> None:
    assert parse_go_duration("1m30s") == 90.0
    assert parse_go_duration("250ms") == 0.25


# --- --since / --until ---------------------------------------------------------------------

REF = 1700000000.25


@pytest.mark.parametrize("value, want", [
    ("10m", "1699999400"), ("1h30m", "1699994600"), ("1.5h", "1699994600"), ("-10s", "1700000010"),
    ("0", "0"), ("1700000000", "1700000000"), ("1700000000.123", "1700000000.123"),
    ("2013-01-02T13:23:37Z", "1357133017.000000000"),
    ("2013-01-02T13:23:37.123456789Z", "1357133017.123456789"),
    ("2013-01-02T13:23:37.5+01:00", "1357129417.500000000"),
    ("2013-01-02T13:23:37-07:00", "1357158217.000000000"),
    ("2013-01-02T13:23-07:00", "1357158180.000000000"),
    ("2013-01-02T13-07:00", "1357156800.000000000"),
    ("2013-01-02Z", "1357084800.000000000"),
    ("2013-01-02+02:00", "1357077600.000000000"),
])
def test_get_timestamp(value: str, want: str) -> None:
    assert get_timestamp(value, REF) == want


@pytest.mark.parametrize("value, local", [
    ("2013-01-02", "2013-01-02T00:00:00Z"),
    ("2013-01-02T13:23:37", "2013-01-02T13:23:37Z"),
    ("2013-01-02T13:23", "2013-01-02T13:23:00Z"),
    ("2013-01-02T13", "2013-01-02T13:00:00Z"),
    ("2013-01-02T13:23:37.123", "2013-01-02T13:23:37.123Z"),
])
def test_get_timestamp_local_time(value: str, local: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Zone-less values are read in the local zone in force now (a fixed offset).
    import hithe.util.gotime as gotime
    monkeypatch.setattr(gotime, "_local_offset", lambda now: 3600)
    secs, nanos = divmod(parse_timestamp_ns(local) - 3600 * 10 ** 9, 10 ** 9)
    assert get_timestamp(value, REF) == "%d.%09d" % (secs, nanos)


@pytest.mark.parametrize("value, want", [
    ("garbage", 'failed to parse value as time or duration: "garbage"'),
    ("12x", 'failed to parse value as time or duration: "12x"'),
    ("1.x", 'failed to parse value as time or duration: "1.x"'),
    ("2013-13-02", 'parsing time "2013-13-02": month out of range'),
    ("2013-02-30", 'parsing time "2013-02-30": day out of range'),
    ("2013-01-02T25:00", 'parsing time "2013-01-02T25:00": hour out of range'),
    ("2013-1-02", 'parsing time "2013-1-02" as "2006-01-02": cannot parse "1-02" as "01"'),
    ("2013/01/02", 'failed to parse value as time or duration: "2013/01/02"'),
    ("2013-01-02 13:23:37", 'parsing time "2013-01-02 13:23:37": extra text: " 13:23:37"'),
    ("-10", 'parsing time "-10" as "2006-01-02": cannot parse "-10" as "2006"'),
])
def test_get_timestamp_errors(value: str, want: str) -> None:
    with pytest.raises(UnitsError) as info:
        get_timestamp(value, REF)
    assert str(info.value) == want


def test_parse_since() -> None:
    assert parse_since("10m", REF) == 1699999400.0
    assert parse_since("1700000000.5", REF) == 1700000000.5
    assert parse_since("2013-01-02T13:23:37.25Z", REF) == 1357133017.25
    assert parse_since("0", REF) == 0.0
