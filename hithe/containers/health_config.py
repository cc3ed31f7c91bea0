"""Health check configuration: Docker's `Healthcheck` object (create body, image config).

Kept in Docker's wire shape ({"Test": [...], "Interval": ns, "Timeout": ns,
"StartPeriod": ns, "StartInterval": ns, "Retries": n}) because that is what
`inspect` shows and what image configs carry.  Here: validation (Docker's
validateHealthCheck), the user/image merge, the probe command, Docker's
defaults, and the `HEALTHCHECK` instruction for `import`/`commit --change`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hithe.errors import InvalidParameter

MIN_DURATION_NS = 1_000_000            # Docker's container.MinimumDuration (1ms)
DEFAULT_INTERVAL_NS = 30 * 10**9
DEFAULT_TIMEOUT_NS = 30 * 10**9
DEFAULT_START_PERIOD_NS = 0
DEFAULT_START_INTERVAL_NS = 5 * 10**9
DEFAULT_RETRIES = 3

_DURATIONS = ("Interval", "Timeout", "StartPeriod", "StartInterval")


def parse_healthcheck(raw: Any) -> dict[str, Any] | None:
    """Validate a create body's `Healthcheck`; None when absent."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise InvalidParameter("json: cannot unmarshal into Go struct field Config.Healthcheck "
                               "of type container.HealthConfig")
    out: dict[str, Any] = {}
    test = raw.get("Test")
    if test is not None:
        if not isinstance(test, list) or not all(isinstance(x, str) for x in test):
            raise InvalidParameter("json: cannot unmarshal into Go struct field HealthConfig.Healthcheck.Test "
                                   "of type []string")
        out["Test"] = list(test)
    for key in _DURATIONS + ("Retries",):
        v = raw.get(key)
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, int) or not -(1 << 63) <= v < (1 << 63):
            kind = "time.Duration" if key != "Retries" else "int"
            raise InvalidParameter(f"json: cannot unmarshal {v!r} into Go struct field "
                                   f"HealthConfig.Healthcheck.{key} of type {kind}")
        if v:
            out[key] = v
    for key in _DURATIONS:
        if out.get(key, 0) and out[key] < MIN_DURATION_NS:
            raise InvalidParameter(f"{key} in Healthcheck cannot be less than 1ms")
    if out.get("Retries", 0) < 0:
        raise InvalidParameter("Retries in Healthcheck cannot be negative")
    return out


def merge(user: dict[str, Any] | None, image: dict[str, Any] | None) -> dict[str, Any] | None:
    """Docker's rule: the user's fields win, unset ones come from the image's HEALTHCHECK."""
    if user is None:
        return dict(image) if image else None
    out = dict(user)
    if image:
        if not out.get("Test"):
            if image.get("Test"):
                out["Test"] = list(image["Test"])
        for key in _DURATIONS + ("Retries",):
            if not out.get(key) and image.get(key):
                out[key] = image[key]
    return out


def probe_command(cfg: dict[str, Any] | None) -> list[str] | None:
    """The argv a probe runs; None for no probe (none configured, NONE, or an unknown type)."""
    if not cfg:
        return None
    test = cfg.get("Test") or []
    if not test:
        return None
    kind = test[0]
    if kind == "CMD" and len(test) > 1:
        return list(test[1:])
    if kind == "CMD-SHELL" and len(test) > 1:
        return ["/bin/sh", "-c", " ".join(test[1:])]
    return None


@dataclass(frozen=True)
class Timing:
    """A health config's times in seconds and its retries, Docker's defaults filled in."""
    interval: float
    timeout: float
    start_period: float
    start_interval: float
    retries: int
    timeout_ns: int

    @classmethod
    def of(cls, cfg: dict[str, Any]) -> "Timing":
        def ns(key: str, default: int) -> int:
            return int(cfg.get(key) or default)
        timeout_ns = ns("Timeout", DEFAULT_TIMEOUT_NS)
        retries = int(cfg.get("Retries") or 0)
        return cls(interval=ns("Interval", DEFAULT_INTERVAL_NS) / 1e9, timeout=timeout_ns / 1e9,
                   start_period=ns("StartPeriod", DEFAULT_START_PERIOD_NS) / 1e9,
                   start_interval=ns("StartInterval", DEFAULT_START_INTERVAL_NS) / 1e9,
                   retries=retries if retries > 0 else DEFAULT_RETRIES, timeout_ns=timeout_ns)


def go_duration_string(ns: int) -> str:
    """Go's time.Duration.String(): 1s, 1.5s, 500ms, 1m30s, 1h0m0s."""
    if ns == 0:
        return "0s"
    sign, ns = ("-", -ns) if ns < 0 else ("", ns)
    if ns < 10**9:
        for unit, size in (("ms", 10**6), ("µs", 10**3), ("ns", 1)):
            if ns >= size:
                return sign + _frac(ns, size) + unit
    h, rem = divmod(ns, 3600 * 10**9)
    m, rem = divmod(rem, 60 * 10**9)
    out = sign
    if h:
        out += f"{h}h"
    if h or m:
        out += f"{m}m"
    return out + _frac(rem, 10**9) + "s"


def _frac(value: int, unit: int) -> str:
    whole, part = divmod(value, unit)
    if not part:
        return str(whole)
    digits = len(str(unit)) - 1
    return f"{whole}." + f"{part:0{digits}d}".rstrip("0")


# --- HEALTHCHECK for import/commit --change ----------------------------------
def parse_instruction(rest: str) -> dict[str, Any]:
    """`HEALTHCHECK [--interval=D] [--timeout=D] [--start-period=D] [--start-interval=D]
    [--retries=N] CMD ...` or `HEALTHCHECK NONE` (Dockerfile syntax)."""
    import json
    from hithe.util.gotime import UnitsError, parse_go_duration_ns

    words = rest.strip().split(None, 1)
    flags: dict[str, str] = {}
    while words and words[0].startswith("--"):
        name, eq, value = words[0][2:].partition("=")
        if not eq:
            raise InvalidParameter(f"flag '--{name}' of HEALTHCHECK requires a value")
        if name not in ("interval", "timeout", "start-period", "start-interval", "retries"):
            raise InvalidParameter(f"Unknown flag: {name}")
        flags[name] = value
        words = words[1].split(None, 1) if len(words) > 1 else []
    if not words:
        raise InvalidParameter("HEALTHCHECK requires an argument")
    kind = words[0].upper()
    args = words[1] if len(words) > 1 else ""
    if kind == "NONE":
        if args.strip() or flags:
            raise InvalidParameter("HEALTHCHECK NONE takes no arguments")
        return {"Test": ["NONE"]}
    if kind != "CMD":
        raise InvalidParameter(f'Unknown type "{kind}" in HEALTHCHECK (try CMD)')
    if not args.strip():
        raise InvalidParameter("Missing command after HEALTHCHECK CMD")
    test: list[str] = ["CMD-SHELL", args.strip()]
    if args.lstrip().startswith("["):
        try:
            argv = json.loads(args)
            if isinstance(argv, list) and argv and all(isinstance(x, str) for x in argv):
                test = ["CMD"] + argv
        except ValueError:
            pass
    cfg: dict[str, Any] = {"Test": test}
    for flag, key in (("interval", "Interval"), ("timeout", "Timeout"),
                      ("start-period", "StartPeriod"), ("start-interval", "StartInterval")):
        if flag in flags:
            try:
                ns = parse_go_duration_ns(flags[flag])
            except UnitsError as e:
                raise InvalidParameter(str(e)) from None
            if ns != 0 and ns < MIN_DURATION_NS:
                raise InvalidParameter(f"{key} \"{flags[flag]}\" cannot be less than 1ms")
            if ns:
                cfg[key] = ns
    if "retries" in flags:
        try:
            retries = int(flags["retries"])
        except ValueError:
            raise InvalidParameter(f'strconv.ParseInt: parsing "{flags["retries"]}": invalid syntax') from None
        if retries < 0:
            raise InvalidParameter("--retries cannot be negative")
        if retries:
            cfg["Retries"] = retries
    return cfg
