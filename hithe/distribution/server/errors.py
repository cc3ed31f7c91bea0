"""Registry errors: the distribution spec's codes, statuses and messages in one table.

The registry speaks a different wire format from the engine API
(``{"errors": [{"code", "message", "detail"}]}`` instead of ``{"message"}``),
and its statuses come from the spec rather than from Docker's engine table,
so every error carries its code; the class still belongs to the engine's one
hierarchy so that shared code (and logs) treat it as a user-facing error.
"""
from __future__ import annotations

import json
from typing import Any

from hithe.errors import HitheError

# code -> (HTTP status, the spec's message), as docker/distribution words them.
CODES: dict[str, tuple[int, str]] = {
    "BLOB_UNKNOWN": (404, "blob unknown to registry"),
    "BLOB_UPLOAD_INVALID": (400, "blob upload invalid"),
    "BLOB_UPLOAD_UNKNOWN": (404, "blob upload unknown to registry"),
    "DIGEST_INVALID": (400, "provided digest did not match uploaded content"),
    "MANIFEST_BLOB_UNKNOWN": (404, "blob unknown to registry"),
    "MANIFEST_INVALID": (400, "manifest invalid"),
    "MANIFEST_UNKNOWN": (404, "manifest unknown"),
    "NAME_INVALID": (400, "invalid repository name"),
    "NAME_UNKNOWN": (404, "repository name not known to registry"),
    "SIZE_INVALID": (400, "provided length did not match content length"),
    "TAG_INVALID": (400, "manifest tag did not match URI"),
    "RANGE_INVALID": (416, "invalid content range"),
    "PAGINATION_NUMBER_INVALID": (400, "invalid number of results requested"),
    "UNAUTHORIZED": (401, "authentication required"),
    "DENIED": (403, "requested access to the resource is denied"),
    "UNSUPPORTED": (405, "The operation is unsupported."),
    "TOOMANYREQUESTS": (429, "too many requests"),
    "UNKNOWN": (500, "unknown error"),
}


class RegistryError(HitheError):
    """One spec error: ``code`` picks status and default message; ``detail`` is free-form JSON."""

    def __init__(self, code: str, message: str | None = None, detail: Any = None,
                 status: int | None = None) -> None:
        default_status, default_message = CODES[code]
        super().__init__(message or default_message)
        self.code = code
        self.detail = detail
        self.status = status or default_status

    def body(self) -> bytes:
        return error_body([self])


def error_body(errors: list[RegistryError]) -> bytes:
    return json.dumps({"errors": [{"code": e.code, "message": e.message, "detail": e.detail}
                                  for e in errors]}).encode()
