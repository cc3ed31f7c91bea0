"""`ps --filter` / `container prune --filter` semantics."""
from __future__ import annotations

from typing import Any, Callable

from hithe.containers.health import health_status
from hithe.containers.record import Container
from hithe.errors import InvalidParameter
from hithe.util.timefmt import parse_rfc3339

LIST_KEYS = {"id", "name", "label", "status", "exited", "ancestor", "before", "since", "health",
             "volume", "network", "publish", "expose", "is-task", "isolation"}
STATUSES = {"created", "restarting", "running", "removing", "paused", "exited", "dead"}
HEALTH_STATES = {"starting", "healthy", "unhealthy", "none"}


def parse_filters(raw: Any) -> dict[str, list[str]]:
    """Docker's filters JSON: {"key": {"value": true}} (or the old {"key": ["value"]})."""
    if not raw:
        return {}
    if not isinstance(raw, dict):
        raise InvalidParameter("invalid filter format")
    out: dict[str, list[str]] = {}
    for k, v in raw.items():
        if isinstance(v, dict):
            out[k] = [x for x, on in v.items() if on]
        elif isinstance(v, list):
            out[k] = [str(x) for x in v]
        else:
            raise InvalidParameter("invalid filter format")
    return out


def labels_match(labels: dict[str, str], values: list[str]) -> bool:
    """Docker's `label` filter: every `key` is present, every `key=value` equal (containers,
    volumes, networks)."""
    for v in values:
        k, eq, want = v.partition("=")
        if k not in labels or (eq and labels[k] != want):
            return False
    return True


def container_matcher(filters: dict[str, list[str]], lookup: Callable[[str], Container],
                      image_matches: Callable[[str, Container], bool],
                      allowed: set[str] = LIST_KEYS) -> Callable[[Container], bool]:
    for k in filters:
        if k not in allowed:
            raise InvalidParameter(f"invalid filter '{k}'")
    for s in filters.get("status", []):
        if s not in STATUSES:
            raise InvalidParameter(f"invalid filter 'status={s}'")
    for h in filters.get("health", []):
        if h not in HEALTH_STATES:
            raise InvalidParameter(f"Unrecognised filter value for health: {h}")
    before = [parse_rfc3339(lookup(v).created) for v in filters.get("before", [])]
    since = [parse_rfc3339(lookup(v).created) for v in filters.get("since", [])]
    until = filters.get("until", [])

    def match(c: Container) -> bool:
        if "id" in filters and not any(c.id.startswith(v) for v in filters["id"]):
            return False
        if "name" in filters:
            import re
            if not any(re.search(v.lstrip("/"), c.name) for v in filters["name"]):
                return False
        labels = {**(c.image_config.get("Labels") or {}), **c.spec.labels}
        if "label" in filters and not labels_match(labels, filters["label"]):
            return False
        if "label!" in filters and labels_match(labels, filters["label!"]):
            return False
        if "status" in filters and c.state.status not in filters["status"]:
            return False
        if "exited" in filters:
            if c.state.status != "exited" or str(c.state.exit_code) not in filters["exited"]:
                return False
        if "health" in filters and health_status(c) not in filters["health"]:
            return False
        if "ancestor" in filters and not any(image_matches(v, c) for v in filters["ancestor"]):
            return False
        created = parse_rfc3339(c.created)
        if before and not all(created < b for b in before):
            return False
        if since and not all(created > s for s in since):
            return False
        if until:
            from hithe.util.gotime import parse_since
            import time
            if not all(created <= parse_since(u, time.time()) for u in until):
                return False
        return True

    return match
