"""Registry client errors, in the engine's one hierarchy, with Docker's wording.

The registry speaks in ``{"errors": [{"code": ..., "message": ...}]}`` bodies
(distribution's errcode); docker prints them as ``code-lowercased: message``
(``manifest unknown: manifest unknown``).  The pull and push front ends wrap
them in the sentences users and scripts match on.
"""
from __future__ import annotations

import json

from hithe.errors import HitheError, InvalidParameter, NotFound, SystemError_, Unauthorized


class TransportError(SystemError_):
    """No usable answer: refused connection, TLS failure, cut-off body, timeout."""


class RegistryError(HitheError):
    """The registry answered with an error status.

    ``status`` is the HTTP status; ``codes`` the errcode codes of the body
    (``MANIFEST_UNKNOWN``, ``UNAUTHORIZED``, ``DENIED`` ...)."""

    def __init__(self, message: str, status: int, codes: list[str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.codes = codes or []

    @property
    def is_auth(self) -> bool:
        return self.status in (401, 403) or bool({"UNAUTHORIZED", "DENIED"} & set(self.codes))

    @property
    def is_unknown(self) -> bool:
        return self.status == 404 or bool({"MANIFEST_UNKNOWN", "NAME_UNKNOWN", "BLOB_UNKNOWN"}
                                          & set(self.codes))


class AuthError(RegistryError, Unauthorized):
    """Credentials refused (by the registry or its token server)."""


class VerificationError(InvalidParameter):
    """Content did not match its descriptor: digest, size, media type or a limit."""


def error_from_body(status: int, reason: str, body: bytes) -> RegistryError:
    """The registry's error body as docker renders it (``errcode.Errors.Error()``)."""
    codes: list[str] = []
    parts: list[str] = []
    try:
        doc = json.loads(body or b"{}")
        for e in (doc.get("errors") or [])[:10] if isinstance(doc, dict) else []:
            if not isinstance(e, dict):
                continue
            code = str(e.get("code") or "UNKNOWN")
            codes.append(code)
            msg = str(e.get("message") or code.lower().replace("_", " "))
            parts.append(f"{code.lower().replace('_', ' ')}: {msg}")
    except (ValueError, AttributeError):
        pass
    if not parts:
        if status == 401:
            codes, parts = ["UNAUTHORIZED"], ["unauthorized: authentication required"]
        elif status == 404:
            parts = ["not found"]
        else:
            parts = [f"received unexpected HTTP status: {status} {reason}".rstrip()]
    message = parts[0] if len(parts) == 1 else "errors:\n" + "\n".join(parts) + "\n"
    cls = AuthError if status == 401 or "UNAUTHORIZED" in codes else RegistryError
    return cls(message[:4096], status, codes)


def pull_access_denied(familiar_name: str, err: HitheError) -> NotFound:
    return NotFound(f"pull access denied for {familiar_name}, repository does not exist or may "
                    f"require 'docker login': {err}")


def manifest_not_found(ref_str: str, err: HitheError) -> NotFound:
    return NotFound(f"manifest for {ref_str} not found: {err}")
