"""Registry authentication: challenges, credentials, Bearer tokens, Basic.

A registry answers ``401`` with ``WWW-Authenticate: Bearer realm="...",
service="...",scope="..."`` (token auth: ask the realm for a token for that
scope, with the user's Basic credentials if any) or ``Basic realm="..."``
(send the credentials on every request).  Tokens are cached per
(realm, service, scope, user) until shortly before they expire.
"""
from __future__ import annotations

import base64
import json
import re
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

from hithe.errors import InvalidParameter

_TOKEN_CHAR = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]"
_SCHEME_RE = re.compile(rf"\s*({_TOKEN_CHAR}+)(?:\s+|$)")
# Unquoted values are taken up to the next comma or space: real registries send
# unquoted URLs, which RFC 7235's token grammar would cut at the ":".
_PARAM_RE = re.compile(rf'\s*({_TOKEN_CHAR}+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]+))\s*(,?)')
DEFAULT_TOKEN_TTL = 60          # seconds, the token spec's default for a missing expires_in
MIN_TOKEN_TTL = 60
MAX_TOKEN_BYTES = 1 << 20


@dataclass(frozen=True)
class Challenge:
    scheme: str                                  # lower-cased: "bearer", "basic"
    params: dict[str, str] = field(default_factory=dict)

    @property
    def realm(self) -> str:
        return self.params.get("realm", "")


def parse_challenges(values: list[str]) -> list[Challenge]:
    """All challenges of the ``WWW-Authenticate`` header values (RFC 7235).

    A header may hold several challenges separated by commas; a parameter
    list runs until the next token that is not followed by ``=``."""
    out: list[Challenge] = []
    for value in values:
        pos = 0
        while pos < len(value):
            while pos < len(value) and value[pos] in " ,\t":
                pos += 1
            m = _SCHEME_RE.match(value, pos)
            if not m:
                break
            scheme = m.group(1).lower()
            pos = m.end()
            params: dict[str, str] = {}
            while pos < len(value):
                p = _PARAM_RE.match(value, pos)
                if not p:
                    break
                raw = p.group(2)
                params[p.group(1).lower()] = re.sub(r"\\(.)", r"\1", raw) if raw is not None else p.group(3)
                pos = p.end()
                if not p.group(4):
                    break
            out.append(Challenge(scheme, params))
    return out


@dataclass(frozen=True)
class Credentials:
    username: str = ""
    password: str = ""
    identity_token: str = ""      # OAuth refresh token from an earlier login
    registry_token: str = ""      # a bearer token the client already holds

    @property
    def empty(self) -> bool:
        return not (self.username or self.password or self.identity_token or self.registry_token)

    def basic(self) -> str:
        return "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode()


def decode_registry_auth(header: str | None) -> tuple[Credentials, str]:
    """``X-Registry-Auth`` (base64url JSON, padding optional) → credentials and serveraddress.

    An empty or ``{}`` header means anonymous; garbage is refused, as dockerd does."""
    if not header or header.strip() in ("", "e30=", "e30"):
        return Credentials(), ""
    text = header.strip()
    padded = text + "=" * (-len(text) % 4)
    try:
        raw = base64.urlsafe_b64decode(padded.replace("+", "-").replace("/", "_"))
        doc = json.loads(raw)
    except (ValueError, TypeError):
        # The docker CLI once sent raw JSON; accept it like dockerd does.
        try:
            doc = json.loads(text)
        except ValueError:
            raise InvalidParameter("invalid X-Registry-Auth header: failed to decode") from None
    if not isinstance(doc, dict):
        raise InvalidParameter("invalid X-Registry-Auth header: not a JSON object")
    user, password = str(doc.get("username") or ""), str(doc.get("password") or "")
    if not user and doc.get("auth"):
        try:
            user, _, password = base64.b64decode(str(doc["auth"])).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            pass
    return (Credentials(user, password, str(doc.get("identitytoken") or ""), str(doc.get("registrytoken") or "")),
            str(doc.get("serveraddress") or ""))


def repo_scope(path: str, actions: tuple[str, ...]) -> str:
    return f"repository:{path}:{','.join(actions)}"


def token_request(ch: Challenge, scopes: list[str], creds: Credentials) -> tuple[str, str, dict[str, str], bytes | None]:
    """The request for a token: (method, url, headers, body).

    With an identity token it is the OAuth2 refresh-token POST; otherwise a GET
    carrying Basic credentials when there are any (anonymous otherwise)."""
    realm = ch.realm
    if not realm.startswith(("http://", "https://")):
        raise InvalidParameter(f"invalid token auth challenge realm: {realm!r}")
    service = ch.params.get("service", "")
    if creds.identity_token:
        form = {"grant_type": "refresh_token", "refresh_token": creds.identity_token,
                "client_id": "hithe", "service": service}
        if scopes:
            form["scope"] = " ".join(scopes)
        return "POST", realm, {"Content-Type": "application/x-www-form-urlencoded"}, urlencode(form).encode()
    q: list[tuple[str, str]] = []
    if service:
        q.append(("service", service))
    q.extend(("scope", s) for s in scopes)
    if creds.username:
        q.append(("account", creds.username))
    url = realm + (("&" if "?" in realm else "?") + urlencode(q) if q else "")
    headers = {"Authorization": creds.basic()} if creds.username or creds.password else {}
    return "GET", url, headers, None


@dataclass
class Token:
    value: str
    expires: float
    refresh_token: str = ""


def parse_token_response(body: bytes, now: float | None = None) -> Token:
    try:
        doc = json.loads(body)
    except ValueError:
        raise InvalidParameter("token server answered with invalid JSON") from None
    if not isinstance(doc, dict):
        raise InvalidParameter("token server answered with invalid JSON")
    value = doc.get("token") or doc.get("access_token")
    if not isinstance(value, str) or not value:
        raise InvalidParameter("authorization server did not include a token in the response")
    ttl = doc.get("expires_in")
    ttl = ttl if isinstance(ttl, int) and ttl > 0 else DEFAULT_TOKEN_TTL
    ttl = max(ttl, MIN_TOKEN_TTL)
    return Token(value, (now if now is not None else time.monotonic()) + ttl,
                 str(doc.get("refresh_token") or ""))


class TokenCache:
    """Tokens per (realm, service, scopes, user); shared by every pull and push of a daemon."""

    def __init__(self) -> None:
        self._tokens: dict[tuple[str, str, str, str], Token] = {}

    @staticmethod
    def key(ch: Challenge, scopes: list[str], creds: Credentials) -> tuple[str, str, str, str]:
        who = creds.username or ("id:" + creds.identity_token[:16] if creds.identity_token else "")
        return (ch.realm, ch.params.get("service", ""), " ".join(sorted(scopes)), who)

    def get(self, key: tuple[str, str, str, str], now: float | None = None) -> str | None:
        tok = self._tokens.get(key)
        # 10 s of slack: a token must not expire between our check and the registry's.
        if tok is None or tok.expires - 10 <= (now if now is not None else time.monotonic()):
            self._tokens.pop(key, None)
            return None
        return tok.value

    def put(self, key: tuple[str, str, str, str], tok: Token) -> None:
        if len(self._tokens) > 1000:  # a long-running daemon: drop the lot rather than grow
            self._tokens.clear()
        self._tokens[key] = tok
