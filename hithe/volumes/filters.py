"""`volume ls --filter` and `volume prune --filter`: Docker's keys and meanings."""
from __future__ import annotations

from typing import Callable

from hithe.containers.filters import labels_match
from hithe.errors import InvalidParameter
from hithe.volumes.record import Volume

LIST_KEYS = {"dangling", "name", "label", "label!", "driver"}
PRUNE_KEYS = {"label", "label!", "all"}


def _check_keys(filters: dict[str, list[str]], allowed: set[str]) -> None:
    for k in filters:
        if k not in allowed:
            raise InvalidParameter(f"invalid filter '{k}'")


def _bool(key: str, values: list[str]) -> bool:
    out = None
    for v in values:
        low = v.lower()
        if low in ("true", "1"):
            b = True
        elif low in ("false", "0"):
            b = False
        else:
            raise InvalidParameter(f"invalid filter '{key}={v}'")
        if out is not None and out != b:
            raise InvalidParameter(f"invalid filter '{key}': conflicting values")
        out = b
    return bool(out)


def list_matcher(filters: dict[str, list[str]], in_use: Callable[[str], bool]) -> Callable[[Volume], bool]:
    _check_keys(filters, LIST_KEYS)
    dangling = _bool("dangling", filters["dangling"]) if filters.get("dangling") else None

    def match(v: Volume) -> bool:
        if "name" in filters and not any(n in v.name for n in filters["name"]):
            return False
        if "driver" in filters and not any(d == v.driver for d in filters["driver"]):
            return False
        labels = v.labels or {}
        if "label" in filters and not labels_match(labels, filters["label"]):
            return False
        if "label!" in filters and any(labels_match(labels, [w]) for w in filters["label!"]):
            return False
        if dangling is not None and in_use(v.name) == dangling:
            return False
        return True
    return match


def prune_keeper(filters: dict[str, list[str]], api_version: tuple[int, int]) -> Callable[[Volume], bool]:
    """True for a volume prune must keep (in-use volumes are kept by the service itself)."""
    _check_keys(filters, PRUNE_KEYS)
    # API >= 1.42 (Docker 23): named volumes only with all=true.
    all_ = api_version < (1, 42) or (bool(filters.get("all")) and _bool("all", filters["all"]))

    def keep(v: Volume) -> bool:
        if not all_ and not v.anonymous:
            return True
        labels = v.labels or {}
        if "label" in filters and not labels_match(labels, filters["label"]):
            return True
        if "label!" in filters and any(labels_match(labels, [w]) for w in filters["label!"]):
            return True
        return False
    return keep
