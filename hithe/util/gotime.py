"""Go's time formats as docker uses them: time.Parse for RFC 3339 layouts, RFC3339Nano output,
time.ParseDuration, and moby's GetTimestamp for ``--since``/``--until``.

Shared by the CLI and the daemon, without importing datetime (CLI start-up).
Timestamps are float seconds since the epoch in the simple API; the ``_ns``
variants take and return integer nanoseconds, which is what Docker's
RFC3339Nano strings really carry (a float cannot hold nanoseconds at today's
epoch values).
"""
from __future__ import annotations

import re
import time

_SECOND = 10 ** 9
_MINUTE = 60 * _SECOND
_HOUR = 60 * _MINUTE


def _to_ns(seconds: float) -> int:
    # Round to the nanosecond so float noise (0.9999999999) does not drop a unit.
    return int(round(seconds * 1e9)) if isinstance(seconds, float) else int(seconds) * _SECOND


class UnitsError(ValueError):
    """A value could not be parsed; ``str()`` is the Go error text docker shows."""

# --------------------------------------------------------------------------
# Calendar arithmetic (proleptic Gregorian, no datetime import at start-up)

def _days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 (Howard Hinnant's algorithm)."""
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _civil_from_days(z: int) -> tuple[int, int, int]:
    z += 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    return yoe + era * 400 + (m <= 2), m, d


def _days_in(month: int, year: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


_ZERO_NS = _days_from_civil(1, 1, 1) * 86400 * _SECOND


# --------------------------------------------------------------------------
# A small Go time.Parse for the layouts docker's timestamps use

RFC3339 = "2006-01-02T15:04:05Z07:00"
RFC3339_NANO = "2006-01-02T15:04:05.999999999Z07:00"
_STD_CHUNKS = ("2006", "01", "02", "15", "04", "05", ".999999999", "Z07:00")


def _next_chunk(layout: str) -> tuple[str, str, str]:
    """Split layout into (literal prefix, std element, rest) like nextStdChunk."""
    for i in range(len(layout)):
        for std in _STD_CHUNKS:
            if layout.startswith(std, i):
                return layout[:i], std, layout[i + len(std):]
    return layout, "", ""


def _parse_error(layout: str, value: str, elem: str, rest: str, message: str = "") -> UnitsError:
    if message:
        return UnitsError(f'parsing time "{value}"{message}')
    return UnitsError(f'parsing time "{value}" as "{layout}": cannot parse "{rest}" as "{elem}"')


def _getnum(value: str, fixed: bool) -> tuple[int, str] | None:
    if not value[:1].isdigit() or not value[:1].isascii():
        return None
    if not (value[1:2].isdigit() and value[1:2].isascii()):
        return None if fixed else (int(value[0]), value[1:])
    return int(value[:2]), value[2:]


def _frac_digits(value: str) -> int:
    n = 1
    while n < len(value) and "0" <= value[n] <= "9":
        n += 1
    return n


def go_time_parse_ns(layout: str, value: str, offset: int = 0) -> int:
    """Go's time.Parse / ParseInLocation (fixed zone ``offset`` seconds) for
    layouts built from 2006 01 02 15 04 05 .999999999 Z07:00; returns Unix ns.
    Errors carry Go's message (``cannot parse "x" as "02"``, ``month out of range``)."""
    orig_layout, orig_value = layout, value
    year, month, day, hour, minute, sec, nsec = 1, 1, 1, 0, 0, 0, 0
    zone: int | None = None
    while True:
        prefix, std, layout = _next_chunk(layout)
        for ch in prefix:
            if value[:1] != ch:
                raise _parse_error(orig_layout, orig_value, prefix, value)
            value = value[1:]
        if not std:
            if value:
                raise _parse_error(orig_layout, orig_value, "", value, f': extra text: "{value}"')
            break
        hold, range_err, got = value, "", None
        if std == "2006":
            if len(value) >= 4 and value[:4].isdigit() and value[:4].isascii():
                got, value = int(value[:4]), value[4:]
                year = got
        elif std in ("01", "02", "04", "05", "15"):
            res = _getnum(value, std != "15")
            if res is not None:
                got, value = res
                if std == "01":
                    month, range_err = got, "" if 1 <= got <= 12 else "month"
                elif std == "02":
                    day = got
                elif std == "15":
                    hour, range_err = got, "" if got < 24 else "hour"
                elif std == "04":
                    minute, range_err = got, "" if got < 60 else "minute"
                else:
                    sec, range_err = got, "" if got < 60 else "second"
                    # Go accepts fractional seconds even when the layout has none.
                    if len(value) >= 2 and value[0] in ".," and value[1].isdigit() and \
                            _next_chunk(layout)[1] != ".999999999":
                        n = _frac_digits(value)
                        nsec, value = int((value[1:n] + "000000000")[:9]), value[n:]
        elif std == ".999999999":
            got = 0
            if len(value) >= 2 and value[0] in ".," and "0" <= value[1] <= "9":
                n = _frac_digits(value)
                nsec, value = int((value[1:n] + "000000000")[:9]), value[n:]
        elif std == "Z07:00":
            if value[:1] == "Z":
                got, zone, value = 0, 0, value[1:]
            elif len(value) >= 6 and value[3] == ":" and value[0] in "+-":
                hh, mm = _getnum(value[1:3], True), _getnum(value[4:6], True)
                if hh is not None and mm is not None:
                    got = (hh[0] * 3600 + mm[0] * 60) * (-1 if value[0] == "-" else 1)
                    zone, value = got, value[6:]
                    if hh[0] > 24:
                        range_err = "time zone offset hour"
                    elif mm[0] > 60:
                        range_err = "time zone offset minute"
        if range_err:
            raise _parse_error(orig_layout, orig_value, std, value, f": {range_err} out of range")
        if got is None:
            raise _parse_error(orig_layout, orig_value, std, hold)
    if day < 1 or day > _days_in(month, year):
        raise _parse_error(orig_layout, orig_value, "", value, ": day out of range")
    secs = _days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + sec
    secs -= offset if zone is None else zone
    return secs * _SECOND + nsec


_RFC3339_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[T]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:[.,]([0-9]+))?(Z|[+-][0-9]{2}:[0-9]{2})\Z")


def parse_timestamp_ns(s: str) -> int:
    """Parse RFC3339 / RFC3339Nano (any number of fraction digits, ``Z`` or
    ``±hh:mm``) into Unix nanoseconds; raises UnitsError with Go's text."""
    m = _RFC3339_RE.match(s)
    if m is None:
        return go_time_parse_ns(RFC3339, s)
    y, mo, d, h, mi, sec = (int(g) for g in m.groups()[:6])
    if not (1 <= mo <= 12 and h < 24 and mi < 60 and sec < 60 and 1 <= d <= _days_in(mo, y)):
        return go_time_parse_ns(RFC3339, s)  # for Go's exact range error
    frac, zone = m.group(7) or "", m.group(8)
    nsec = int((frac + "000000000")[:9])
    off = 0 if zone == "Z" else (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60) * (1 if zone[0] == "+" else -1)
    secs = _days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off
    return secs * _SECOND + nsec


def parse_timestamp(s: str) -> float:
    """RFC3339(Nano) string to float seconds since the epoch."""
    ns = parse_timestamp_ns(s)
    return ns // _SECOND + (ns % _SECOND) / 1e9


def format_timestamp_ns(ns: int) -> str:
    """Go's RFC3339Nano in UTC: fraction trimmed of trailing zeros, dropped if zero."""
    secs, nsec = divmod(ns, _SECOND)
    days, rem = divmod(secs, 86400)
    y, m, d = _civil_from_days(days)
    hh, rem = divmod(rem, 3600)
    mm, ss = divmod(rem, 60)
    frac = ("." + ("%09d" % nsec).rstrip("0")) if nsec else ""
    return "%04d-%02d-%02dT%02d:%02d:%02d%sZ" % (y, m, d, hh, mm, ss, frac)


def format_timestamp(t: float) -> str:
    """RFC3339Nano for float seconds.  A float holds only about microsecond
    precision at current epochs, so the fraction is rounded to microseconds
    (use format_timestamp_ns for exact nanoseconds)."""
    if isinstance(t, int):
        return format_timestamp_ns(t * _SECOND)
    us = int(round(t * 1e6)) if abs(t) < 1e11 else int(t) * 10 ** 6
    return format_timestamp_ns(us * 1000)


# --------------------------------------------------------------------------
# Go durations (time.ParseDuration)

_DURATION_UNITS = {"ns": 1, "us": 1000, "\u00b5s": 1000, "\u03bcs": 1000, "ms": 10 ** 6,
                   "s": _SECOND, "m": _MINUTE, "h": _HOUR}
_MAX_INT64 = (1 << 63) - 1


def parse_go_duration_ns(s: str) -> int:
    """time.ParseDuration: ``1h30m``, ``1.5h``, ``-10s``, ``300ms`` to nanoseconds."""
    orig, neg = s, False
    if s[:1] in ("-", "+"):
        neg, s = s[0] == "-", s[1:]
    if s == "0":
        return 0
    if not s:
        raise UnitsError(f'time: invalid duration "{orig}"')
    total = 0
    while s:
        if not (s[0] == "." or "0" <= s[0] <= "9"):
            raise UnitsError(f'time: invalid duration "{orig}"')
        i = 0
        while i < len(s) and "0" <= s[i] <= "9":
            i += 1
        whole, pre, s = int(s[:i] or "0"), i > 0, s[i:]
        frac, scale, post = 0, 1, False
        if s[:1] == ".":
            j = 1
            while j < len(s) and "0" <= s[j] <= "9":
                j += 1
            digits, s, post = s[1:j], s[j:], j > 1
            # Go stops accumulating fraction digits once they would overflow.
            for ch in digits:
                if frac > (_MAX_INT64 - 9) // 10:
                    break
                frac, scale = frac * 10 + int(ch), scale * 10
        if not pre and not post:
            raise UnitsError(f'time: invalid duration "{orig}"')
        k = 0
        while k < len(s) and not (s[k] == "." or "0" <= s[k] <= "9"):
            k += 1
        if k == 0:
            raise UnitsError(f'time: missing unit in duration "{orig}"')
        unit_name, s = s[:k], s[k:]
        unit = _DURATION_UNITS.get(unit_name)
        if unit is None:
            raise UnitsError(f'time: unknown unit "{unit_name}" in duration "{orig}"')
        value = whole * unit
        if frac:
            value += int(frac * (unit / scale))
        total += value
        if whole > _MAX_INT64 // unit or total > _MAX_INT64 + (1 if neg else 0):
            raise UnitsError(f'time: invalid duration "{orig}"')
    return -total if neg else total


def parse_go_duration(s: str) -> float:
    """time.ParseDuration in float seconds."""
    return parse_go_duration_ns(s) / 1e9


# --------------------------------------------------------------------------
# --since / --until (moby api/types/time GetTimestamp)

def _local_offset(now: float) -> int:
    # ParseInLocation(time.FixedZone(reference.Zone())): the offset in force *now*.
    return time.localtime(now).tm_gmtoff


def _unix_timestamp_ok(value: str) -> bool:
    """parseTimestamp: "SECONDS[.NANOS]" where both parts are Go ParseInt-able."""
    secs, dot, nanos = value.partition(".")
    return bool(re.fullmatch(r"[+-]?[0-9]+", secs)) and (not dot or bool(re.fullmatch(r"[+-]?[0-9]+", nanos)))


def _since_layout(value: str) -> tuple[str, bool]:
    in_location = not (any(c in value for c in "zZ+") or value.count("-") == 3)
    if "." in value:
        return ("2006-01-02T15:04:05.999999999" if in_location else RFC3339_NANO), in_location
    if "T" in value:
        colons = value.count(":")
        if not in_location and not any(c in value for c in "zZ") and colons > 0:
            colons -= 1  # the zone offset's colon
        if in_location:
            return ("2006-01-02T15", "2006-01-02T15:04", "2006-01-02T15:04:05")[min(colons, 2)], True
        return ("2006-01-02T15Z07:00", "2006-01-02T15:04Z07:00", RFC3339)[min(colons, 2)], False
    return ("2006-01-02" if in_location else "2006-01-02Z07:00"), in_location


def get_timestamp(value: str, now: float) -> str:
    """GetTimestamp: the exact string the docker CLI sends as ``since``/``until``.

    A Go duration counts back from ``now`` (whole seconds); RFC3339-ish dates
    (date only, without seconds, without zone = local time) become
    ``SECONDS.NANOS``; a Unix timestamp passes through unchanged.
    """
    if value != "0":
        try:
            d = parse_go_duration_ns(value)
        except UnitsError:
            pass
        else:
            return str((_to_ns(now) - d) // _SECOND)
    layout, in_location = _since_layout(value)
    try:
        ns = go_time_parse_ns(layout, value, _local_offset(now) if in_location else 0)
    except UnitsError:
        if "-" in value:
            raise  # looked like a date: report Go's parse error
        if not _unix_timestamp_ok(value):
            raise UnitsError(f'failed to parse value as time or duration: "{value}"') from None
        return value
    return "%d.%09d" % divmod(ns, _SECOND)


def parse_since(value: str, now: float) -> float:
    """``--since``/``--until`` value as float seconds since the epoch."""
    ts = get_timestamp(value, now)
    secs, _, nanos = ts.partition(".")
    result = float(int(secs))
    if nanos:
        # like time.Unix(sec, nsec): the fraction always adds, even to a negative second
        result += int((nanos + "000000000")[:9].lstrip("+") or "0") / 1e9
    return result
