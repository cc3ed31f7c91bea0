"""RFC3339Nano timestamps the way Go prints them (Docker's API uses these)."""
from __future__ import annotations

import time

ZERO_TIME = "0001-01-01T00:00:00Z"


def rfc3339_ns(ns: int) -> str:
    secs, frac = divmod(ns, 1_000_000_000)
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
    if frac:
        return f"{base}.{frac:09d}".rstrip("0") + "Z"
    return base + "Z"


def rfc3339_now() -> str:
    return rfc3339_ns(time.time_ns())


def parse_rfc3339(s: str) -> float:
    """Seconds since the epoch; 0 for Go's zero time or an empty string."""
    if not s or s.startswith("0001-"):
        return 0.0
    import calendar
    main, _, rest = s.partition(".")
    frac = 0.0
    if rest:
        digits = ""
        for ch in rest:
            if ch.isdigit():
                digits += ch
            else:
                break
        frac = float("0." + digits) if digits else 0.0
        tz = rest[len(digits):]
    else:
        tz = main[19:]
        main = main[:19]
    secs = calendar.timegm(time.strptime(main[:19], "%Y-%m-%dT%H:%M:%S"))
    if tz and tz not in ("Z", "z"):
        sign = 1 if tz[0] == "+" else -1
        hh, mm = tz[1:].split(":")
        secs -= sign * (int(hh) * 3600 + int(mm) * 60)
    return secs + frac
