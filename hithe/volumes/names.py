"""Volume names: Docker's grammar, and the random names of anonymous volumes."""
from __future__ import annotations

import re
import secrets

from hithe.errors import InvalidParameter

RESTRICTED_NAME_CHARS = "[a-zA-Z0-9][a-zA-Z0-9_.-]"
# Docker's RestrictedNamePattern: at least two characters, the first one alphanumeric.
_NAME_RE = re.compile("^" + RESTRICTED_NAME_CHARS + "+$")


def validate_name(name: str) -> str:
    """The name, or Docker's error (a name is one path component below volumes/, never '..')."""
    if len(name) == 1:
        raise InvalidParameter(f"create {name}: volume name is too short, names should be at least "
                               "two alphanumeric characters")
    # fullmatch: '$' would accept a trailing newline.
    if not _NAME_RE.fullmatch(name):
        raise InvalidParameter(f'create {name}: "{name}" includes invalid characters for a local volume '
                               f'name, only "{RESTRICTED_NAME_CHARS}" are allowed. If you intended to pass '
                               "a host directory, use absolute path")
    return name


def is_valid_name(name: str) -> bool:
    return len(name) > 1 and _NAME_RE.fullmatch(name) is not None


def anonymous_name() -> str:
    """64 hex digits, like Docker's anonymous volumes."""
    return secrets.token_hex(32)
