"""The one table that maps engine errors to HTTP statuses (Docker's choices)."""
from __future__ import annotations

from hithe import errors

STATUS: dict[type[errors.HitheError], int] = {
    errors.NotModified: 304,
    errors.InvalidParameter: 400,
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.SystemError_: 500,
    errors.NotImplementedYet: 501,
    errors.Unavailable: 503,
}


def status_for(exc: BaseException) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]  # type: ignore[index]
    return 500
