"""Health checks: the state machine, the probe schedule and the configuration (pure logic)."""
from __future__ import annotations

import pytest

from hithe.containers import health_config as hc
from hithe.containers.health import (HEALTHY, STARTING, UNHEALTHY, ProbeResult, limit_output, new_health,
                                     next_delay, record_result)
from hithe.errors import InvalidParameter
from hithe.images.changes import apply_changes

S = 10**9


def timing(**cfg) -> hc.Timing:
    return hc.Timing.of(cfg)


def result(code: int, at: float = 100.0, out: str = "") -> ProbeResult:
    return ProbeResult(int(at * S), int(at * S) + 1000, code, out)


def test_starting_to_healthy_and_back_to_unhealthy_after_retries():
    h = new_health()
    t = timing(Retries=2)
    assert h == {"Status": STARTING, "FailingStreak": 0, "Log": []}
    assert record_result(h, result(0), t, 0) is True and h["Status"] == HEALTHY
    assert record_result(h, result(1), t, 0) is False          # one failure: still healthy
    assert h["Status"] == HEALTHY and h["FailingStreak"] == 1
    assert record_result(h, result(1), t, 0) is True and h["Status"] == UNHEALTHY
    assert h["FailingStreak"] == 2
    assert record_result(h, result(0), t, 0) is True and h["FailingStreak"] == 0


def test_default_retries_is_three():
    h = new_health()
    t = timing()
    for _ in range(2):
        record_result(h, result(1), t, 0)
    assert h["Status"] == STARTING and h["FailingStreak"] == 2
    record_result(h, result(1), t, 0)
    assert h["Status"] == UNHEALTHY


def test_failures_inside_start_period_do_not_count_while_starting():
    h = new_health()
    t = timing(StartPeriod=10 * S, Retries=1)
    record_result(h, result(1, at=5), t, 0)
    assert h["Status"] == STARTING and h["FailingStreak"] == 0
    record_result(h, result(1, at=11), t, 0)
    assert h["Status"] == UNHEALTHY and h["FailingStreak"] == 1
    # once healthy, the start period no longer protects
    h = new_health()
    record_result(h, result(0, at=1), t, 0)
    record_result(h, result(1, at=2), t, 0)
    assert h["Status"] == UNHEALTHY


def test_log_keeps_last_five():
    h = new_health()
    for i in range(7):
        record_result(h, result(i % 2, at=i + 1, out=str(i)), timing(), 0)
    assert [e["Output"] for e in h["Log"]] == ["2", "3", "4", "5", "6"]
    entry = h["Log"][-1]
    assert set(entry) == {"Start", "End", "ExitCode", "Output"}
    assert entry["Start"].endswith("Z") and entry["ExitCode"] == 0
    again = new_health(h)
    assert again["Status"] == STARTING and again["FailingStreak"] == 0 and len(again["Log"]) == 5


def test_next_delay():
    t = timing(Interval=30 * S, StartPeriod=60 * S, StartInterval=2 * S)
    assert next_delay(t, 0, 10, STARTING) == 2                # starting: the start interval
    assert next_delay(t, 0, 10, HEALTHY) == 30
    assert next_delay(t, 0, 45, STARTING) == pytest.approx(15)   # the end of the start period comes first
    assert next_delay(t, 0, 61, STARTING) == 30
    assert next_delay(timing(Interval=S), 0, 0.2, STARTING) == 1
    assert next_delay(timing(), 0, 1, STARTING) == 30          # Docker's default interval


def test_output_limit():
    assert limit_output(b"ok\n") == "ok\n"
    assert limit_output(b"x" * 5000) == "x" * 4096 + "..."
    assert limit_output(b"\xff") == "\ufffd"


@pytest.mark.parametrize("cfg, cmd", [
    ({"Test": ["CMD", "true"]}, ["true"]),
    ({"Test": ["CMD-SHELL", "exit 1"]}, ["/bin/sh", "-c", "exit 1"]),
    ({"Test": ["NONE"]}, None),
    ({"Test": ["BOGUS", "x"]}, None),
    ({"Test": []}, None),
    ({"Test": ["CMD"]}, None),
    (None, None),
])
def test_probe_command(cfg, cmd):
    assert hc.probe_command(cfg) == cmd


def test_merge_user_and_image():
    image = {"Test": ["CMD-SHELL", "img"], "Interval": 5 * S, "Retries": 4}
    assert hc.merge(None, image) == image
    assert hc.merge({"Interval": 2 * S}, image) == {"Test": ["CMD-SHELL", "img"], "Interval": 2 * S, "Retries": 4}
    assert hc.merge({"Test": ["NONE"]}, image)["Test"] == ["NONE"]
    assert hc.merge(None, None) is None


@pytest.mark.parametrize("raw, message", [
    ({"Interval": 1000}, "Interval in Healthcheck cannot be less than 1ms"),
    ({"Timeout": 5}, "Timeout in Healthcheck cannot be less than 1ms"),
    ({"StartPeriod": -1}, "StartPeriod in Healthcheck cannot be less than 1ms"),
    ({"StartInterval": 999_999}, "StartInterval in Healthcheck cannot be less than 1ms"),
    ({"Retries": -1}, "Retries in Healthcheck cannot be negative"),
    ({"Interval": "1s"}, "cannot unmarshal"),
    ({"Test": "true"}, "cannot unmarshal"),
    ({"Test": ["CMD", 1]}, "cannot unmarshal"),
    ("x", "cannot unmarshal"),
])
def test_parse_healthcheck_refuses(raw, message):
    with pytest.raises(InvalidParameter) as e:
        hc.parse_healthcheck(raw)
    assert message in e.value.message


def test_parse_healthcheck_keeps_docker_shape():
    raw = {"Test": ["CMD", "true"], "Interval": S, "Timeout": 0, "Retries": 2}
    assert hc.parse_healthcheck(raw) == {"Test": ["CMD", "true"], "Interval": S, "Retries": 2}
    assert hc.parse_healthcheck(None) is None


@pytest.mark.parametrize("ns, text", [(0, "0s"), (S, "1s"), (1500 * 10**6, "1.5s"), (500 * 10**6, "500ms"),
                                      (90 * S, "1m30s"), (3600 * S, "1h0m0s"), (1500, "1.5µs")])
def test_go_duration_string(ns, text):
    assert hc.go_duration_string(ns) == text


def test_healthcheck_change_instruction():
    cfg = apply_changes({}, ["HEALTHCHECK --interval=5s --retries=2 CMD wget -q localhost || exit 1"])
    assert cfg["Healthcheck"] == {"Test": ["CMD-SHELL", "wget -q localhost || exit 1"],
                                  "Interval": 5 * S, "Retries": 2}
    cfg = apply_changes({}, ['HEALTHCHECK CMD ["true"]'])
    assert cfg["Healthcheck"] == {"Test": ["CMD", "true"]}
    assert apply_changes({}, ["HEALTHCHECK NONE"])["Healthcheck"] == {"Test": ["NONE"]}


@pytest.mark.parametrize("line, message", [
    ("HEALTHCHECK", "requires an argument"),
    ("HEALTHCHECK --interval=1s", "requires an argument"),
    ("HEALTHCHECK CMD", "Missing command after HEALTHCHECK CMD"),
    ("HEALTHCHECK RUN true", 'Unknown type "RUN" in HEALTHCHECK (try CMD)'),
    ("HEALTHCHECK --interval=soon CMD true", 'time: invalid duration "soon"'),
    ("HEALTHCHECK --interval=10us CMD true", "cannot be less than 1ms"),
    ("HEALTHCHECK --bogus=1 CMD true", "Unknown flag: bogus"),
    ("HEALTHCHECK --retries=x CMD true", "invalid syntax"),
    ("HEALTHCHECK --interval=1s NONE", "HEALTHCHECK NONE takes no arguments"),
])
def test_healthcheck_change_refused(line, message):
    with pytest.raises(InvalidParameter) as e:
        apply_changes({}, [line])
    assert message in e.value.message
