"""Sizes, durations and timestamps exactly as the docker CLI prints and parses them.

docker leans on github.com/docker/go-units (HumanSize, BytesSize,
RAMInBytes, HumanDuration), on moby's container State.String() for the
STATUS column and on moby's api/types/time GetTimestamp for ``--since`` and
``--until``.  Users and scripts compare these strings, so each function here
reproduces the Go original's rounding and thresholds, not just its spirit.
Go's time parsing and formatting live in ``hithe.util.gotime`` (the daemon
uses them too).
"""
from __future__ import annotations

import re

from hithe.util.gotime import _HOUR, _MINUTE, _SECOND, _ZERO_NS, UnitsError, _to_ns, parse_timestamp_ns

__all__ = [
    "UnitsError", "bytes_size", "container_status", "human_duration", "human_duration_ns", "human_size",
    "parse_decimal_size", "parse_size", "time_ago",
]


# --------------------------------------------------------------------------
# Sizes (go-units size.go)

_DECIMAL_ABBRS = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")
_BINARY_ABBRS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB")
_DECIMAL_MAP = {"k": 1000, "m": 1000 ** 2, "g": 1000 ** 3, "t": 1000 ** 4, "p": 1000 ** 5}
_BINARY_MAP = {"k": 1024, "m": 1024 ** 2, "g": 1024 ** 3, "t": 1024 ** 4, "p": 1024 ** 5}
# Go's RE2 \d is ASCII-only and $ is end-of-text, hence [0-9] and \Z.
_SIZE_RE = re.compile(r"([0-9]+(?:\.[0-9]+)*) ?([kmgtp])?i?b?\Z", re.IGNORECASE)


def _size_and_unit(size: float, base: float, abbrs: tuple[str, ...]) -> tuple[float, str]:
    i = 0
    while size >= base and i < len(abbrs) - 1:
        size /= base
        i += 1
    return size, abbrs[i]


def human_size(n: float, precision: int = 3) -> str:
    """go-units HumanSizeWithPrecision: decimal units, ``%.{precision}g``.

    docker's SIZE columns (``ps -s``, ``images``) use precision 3, e.g.
    ``4.26MB``; go-units' own HumanSize (``system df``) is precision 4.
    """
    size, unit = _size_and_unit(float(n), 1000.0, _DECIMAL_ABBRS)
    return "%.*g%s" % (precision, size, unit)


def bytes_size(n: float) -> str:
    """go-units BytesSize: binary units, four significant digits (``4.26MiB``)."""
    size, unit = _size_and_unit(float(n), 1024.0, _BINARY_ABBRS)
    return "%.4g%s" % (size, unit)


def _parse_size(s: str, units: dict[str, int]) -> int:
    m = _SIZE_RE.match(s)
    if m is None:
        raise UnitsError(f"invalid size: '{s}'")
    try:
        size = float(m.group(1))
    except ValueError:
        # "1.2.3" passes the regexp but not strconv.ParseFloat
        raise UnitsError(f'strconv.ParseFloat: parsing "{m.group(1)}": invalid syntax') from None
    prefix = (m.group(2) or "").lower()
    if prefix:
        size *= units[prefix]
    return int(size)


def parse_size(s: str) -> int:
    """go-units RAMInBytes: ``10m``, ``1g``, ``512k``, ``1.5GB`` with binary multipliers."""
    return _parse_size(s, _BINARY_MAP)


def parse_decimal_size(s: str) -> int:
    """go-units FromHumanSize: like parse_size with decimal (SI) multipliers."""
    return _parse_size(s, _DECIMAL_MAP)


# --------------------------------------------------------------------------
# Durations (go-units duration.go)

def _trunc_div(a: int, b: int) -> int:
    """Go's integer division truncates toward zero."""
    q = abs(a) // b
    return q if a >= 0 else -q


def _go_round(x: float) -> int:
    """math.Round: halves away from zero (Python's round() goes to even)."""
    return int(x + 0.5) if x >= 0 else -int(-x + 0.5)


def human_duration_ns(ns: int) -> str:
    """go-units HumanDuration on a time.Duration in nanoseconds."""
    seconds = _trunc_div(ns, _SECOND)
    if seconds < 1:
        return "Less than a second"
    if seconds == 1:
        return "1 second"
    if seconds < 60:
        return f"{seconds} seconds"
    minutes = _trunc_div(ns, _MINUTE)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    # d.Hours() is computed as whole hours plus the fraction, like Go does.
    hours_f = ns // _HOUR + (ns % _HOUR) / _HOUR
    hours = _go_round(hours_f)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(hours_f) // 24 // 365} years"


def human_duration(seconds: float) -> str:
    """go-units HumanDuration: ``Less than a second``, ``About a minute``, ``3 weeks``..."""
    return human_duration_ns(_to_ns(seconds))


def time_ago(ts: float, now: float) -> str:
    """The CREATED column: ``5 minutes ago``."""
    return human_duration(now - ts) + " ago"


# --------------------------------------------------------------------------
# Container STATUS (moby container/state.go State.String)

_ZERO_TIMES = ("", "0001-01-01T00:00:00Z")


def _since(ts: str | None, now: float) -> str:
    return human_duration_ns(_to_ns(now) - parse_timestamp_ns(ts or _ZERO_TIMES[1]))


def _is_zero(ts: str | None) -> bool:
    return ts is None or ts in _ZERO_TIMES or parse_timestamp_ns(ts) == _ZERO_NS


def container_status(state: dict, now: float) -> str:
    """``docker ps`` STATUS text from a container's inspect ``State`` dict.

    Follows State.String(): running states first (paused, restarting,
    health), then removal/dead, then Created (never started), "" when
    started but never finished, otherwise ``Exited (code) X ago``.
    """
    status = state.get("Status", "")
    code = state.get("ExitCode", 0)
    if state.get("Running"):
        if state.get("Paused"):
            return f"Up {_since(state.get('StartedAt'), now)} (Paused)"
        if state.get("Restarting"):
            return f"Restarting ({code}) {_since(state.get('FinishedAt'), now)} ago"
        health = state.get("Health")
        up = f"Up {_since(state.get('StartedAt'), now)}"
        if isinstance(health, dict) and health.get("Status") is not None:
            hs = health["Status"]
            return f"{up} ({'health: starting' if hs == 'starting' else hs})"
        return up
    if status == "removing":
        return "Removal In Progress"
    if state.get("Dead") or status == "dead":
        return "Dead"
    if _is_zero(state.get("StartedAt")):
        return "Created"
    if _is_zero(state.get("FinishedAt")):
        return ""
    return f"Exited ({code}) {_since(state.get('FinishedAt'), now)} ago"
