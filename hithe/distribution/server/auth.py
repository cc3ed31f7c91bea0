"""Basic authentication against an htpasswd file, bcrypt entries only (as Docker's registry).

Lines are ``user:$2y$...`` (``htpasswd -B``); blank lines and ``#`` comments
are skipped, entries in other formats (MD5, SHA1, crypt) are refused with a
warning, as docker/distribution refuses them.  The file is read again when it
changes, so users can be added without a restart.

bcrypt is slow on purpose (tens of ms), and clients send credentials with
every request: a successful check is remembered as an HMAC of user and
password under a key that lives only in this process (never the password
itself), and checks run in a worker thread so they do not stall the loop.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
from dataclasses import dataclass, field

log = logging.getLogger("hithe.registry")

_BCRYPT_PREFIXES = ("$2y$", "$2a$", "$2b$")
_CACHE_MAX = 1024
# A valid hash to check against when the user is unknown, so that the answer
# takes as long as for a known user with a wrong password.
_DUMMY = b"$2b$05$CiMUSflRUe/4K9hdyLSjAuoLGfknaGOMX/QcNbLxiFukyHQuP23xy"


def parse_htpasswd(text: str) -> dict[str, bytes]:
    """user -> bcrypt hash; entries in other formats are dropped with a warning."""
    users: dict[str, bytes] = {}
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, hashed = line.partition(":")
        if not sep or not user:
            log.warning("htpasswd line %d: not user:hash, ignored", n)
            continue
        if not hashed.startswith(_BCRYPT_PREFIXES):
            log.warning("htpasswd line %d: user %r has a non-bcrypt hash (use htpasswd -B), ignored", n, user)
            continue
        users[user] = hashed.encode()
    return users


def parse_basic(header: str | None) -> tuple[str, str] | None:
    """(user, password) from ``Authorization: Basic ...``; None when absent or malformed."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    user, sep, password = decoded.partition(":")
    if not sep:
        return None
    return user, password


def check_bcrypt(password: str, hashed: bytes) -> bool:
    import bcrypt
    try:
        return bcrypt.checkpw(password.encode("utf-8"), hashed)
    except ValueError:  # a damaged hash in the file
        return False


@dataclass
class Htpasswd:
    path: str
    realm: str = "hithe-registry"
    _users: dict[str, bytes] = field(default_factory=dict)
    _stamp: tuple[int, int, int] | None = None
    _key: bytes = field(default_factory=lambda: os.urandom(32))
    _ok: set[bytes] = field(default_factory=set)

    def load(self) -> None:
        """Read the file if it changed since the last read; raises OSError at start-up if unreadable."""
        st = os.stat(self.path)
        stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
        if stamp == self._stamp:
            return
        with open(self.path, encoding="utf-8", errors="replace") as f:
            self._users = parse_htpasswd(f.read())
        self._stamp = stamp
        self._ok.clear()

    def refresh(self) -> None:
        try:
            self.load()
        except OSError as e:
            # Editors replace the file by rename: keep the users we have
            # rather than locking everyone out for a moment.
            log.error("cannot read htpasswd file %s: %s", self.path, e)

    def _token(self, user: str, password: str) -> bytes:
        return hmac.new(self._key, f"{user}\0{password}".encode("utf-8", "surrogatepass"),
                        hashlib.sha256).digest()

    def cached(self, user: str, password: str) -> bool:
        return self._token(user, password) in self._ok

    def verify(self, user: str, password: str) -> bool:
        """The slow check (bcrypt): call it from a worker thread."""
        hashed = self._users.get(user)
        ok = check_bcrypt(password, hashed if hashed is not None else _DUMMY) and hashed is not None
        if ok:
            if len(self._ok) >= _CACHE_MAX:
                self._ok.clear()
            self._ok.add(self._token(user, password))
        return ok

    @property
    def challenge(self) -> str:
        return f'Basic realm="{self.realm}"'
