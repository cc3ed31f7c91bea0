"""`network ls --filter` and `network prune --filter`: Docker's keys and meanings."""
from __future__ import annotations

from typing import Any, Callable

from hithe.containers.filters import labels_match
from hithe.errors import InvalidParameter
from hithe.network.model import Network
from hithe.util.timefmt import parse_rfc3339

LIST_KEYS = {"dangling", "driver", "id", "label", "name", "scope", "type"}
PRUNE_KEYS = {"label", "label!", "until"}


def list_matcher(filters: dict[str, list[str]], svc: Any) -> Callable[[Network], bool]:
    for k in filters:
        if k not in LIST_KEYS:
            raise InvalidParameter(f"invalid filter '{k}'")
    for t in filters.get("type", []):
        if t not in ("custom", "builtin"):
            raise InvalidParameter(f"invalid filter: 'type'='{t}'")
    dangling = None
    for v in filters.get("dangling", []):
        if v.lower() not in ("true", "false", "1", "0"):
            raise InvalidParameter(f"invalid filter 'dangling={v}'")
        dangling = v.lower() in ("true", "1")

    def match(n: Network) -> bool:
        if "name" in filters and not any(x in n.name for x in filters["name"]):
            return False
        if "id" in filters and not any(n.id.startswith(x) for x in filters["id"]):
            return False
        if "driver" in filters and n.driver not in filters["driver"]:
            return False
        if "scope" in filters and "local" not in filters["scope"]:
            return False
        if "type" in filters:
            kind = "builtin" if n.predefined else "custom"
            if kind not in filters["type"]:
                return False
        if "label" in filters and not labels_match(n.labels, filters["label"]):
            return False
        if dangling is not None:
            unused = not n.predefined and not svc.containers_of(n)
            if unused != dangling:
                return False
        return True
    return match


def prune_keeper(filters: dict[str, list[str]]) -> Callable[[Network], bool]:
    """True for a network prune must keep."""
    for k in filters:
        if k not in PRUNE_KEYS:
            raise InvalidParameter(f"invalid filter '{k}'")
    until = None
    if filters.get("until"):
        import time
        from hithe.util.gotime import parse_since
        until = parse_since(filters["until"][0], time.time())

    def keep(n: Network) -> bool:
        if "label" in filters and not labels_match(n.labels, filters["label"]):
            return True
        if "label!" in filters and any(labels_match(n.labels, [w]) for w in filters["label!"]):
            return True
        if until is not None and parse_rfc3339(n.created) >= until:
            return True
        return False
    return keep
