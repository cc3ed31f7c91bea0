"""One error hierarchy for the whole engine.

Services raise these; the API layer maps each class to an HTTP status in one
table (hithe/api/errors.py) and renders Docker's ``{"message": ...}`` body.
The CLI maps them back from statuses when it talks to the daemon.
"""
from __future__ import annotations


class HitheError(Exception):
    """Base of every error the engine reports to a user."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidParameter(HitheError):
    """Malformed input: bad JSON, bad reference, bad flag value (HTTP 400)."""


class Unauthorized(HitheError):
    """Credentials missing or wrong (HTTP 401)."""


class Forbidden(HitheError):
    """Operation not allowed on this object (HTTP 403)."""


class NotFound(HitheError):
    """No such container, image, exec instance, ... (HTTP 404)."""


class Conflict(HitheError):
    """Name in use, container running, image in use (HTTP 409)."""


class NotModified(HitheError):
    """Container already started/stopped (HTTP 304)."""


class SystemError_(HitheError):
    """Anything the runtime or the host refused (HTTP 500)."""


class NotImplementedYet(HitheError):
    """A documented API the engine does not serve (HTTP 501)."""


class Unavailable(HitheError):
    """Daemon shutting down or dependency missing (HTTP 503)."""
