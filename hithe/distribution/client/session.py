"""Authenticated requests to one registry: ping, scheme choice, auth, redirects.

``ping`` asks ``GET /v2/`` as every docker client does first: the answer
fixes the scheme (HTTPS, or HTTP for an insecure registry that does not speak
TLS) and carries the auth challenge.  Requests then go out with a Bearer
token for their scope (fetched from the challenge's realm and cached) or
with Basic credentials.  Redirects (blob storage often lives elsewhere) are
followed for GET and HEAD only, never from HTTPS down to HTTP, and the
Authorization header never leaves the registry's own host.  ``url_guard``
sees every URL that is not the registry's own before it is contacted: tests
use it to make sure nothing leaves loopback.
"""
from __future__ import annotations

from typing import AsyncIterable, Callable
from urllib.parse import urljoin, urlsplit

from hithe.distribution.client import http
from hithe.distribution.client.auth import (Challenge, Credentials, TokenCache, parse_challenges,
                                            parse_token_response, token_request)
from hithe.distribution.client.endpoint import Endpoint, InsecurePolicy
from hithe.distribution.client.errors import AuthError, RegistryError, TransportError, error_from_body
from hithe.errors import InvalidParameter

MAX_REDIRECTS = 5
MAX_ERROR_BODY = 64 << 10
UrlGuard = Callable[[str], None]


def loopback_only(url: str) -> None:
    """A url_guard for tests: anything off 127.0.0.0/8 is refused before any packet is sent."""
    from hithe.distribution.client.endpoint import is_loopback
    host = urlsplit(url).netloc
    if not is_loopback(host):
        raise TransportError(f"refusing to contact {host}: not a loopback address")


class Session:
    def __init__(self, endpoint: Endpoint, creds: Credentials, tokens: TokenCache,
                 policy: InsecurePolicy, *, url_guard: UrlGuard | None = None) -> None:
        self.endpoint = endpoint
        self.creds = creds
        self.tokens = tokens
        self.policy = policy
        self.url_guard = url_guard
        self.scheme = ""
        self.challenge: Challenge | None = None

    @property
    def base(self) -> str:
        return self.endpoint.url(self.scheme or "https", "")

    # --- ping ----------------------------------------------------------------
    async def ping(self) -> int:
        """``GET /v2/``; returns its status (200, or 401 with a challenge recorded)."""
        if self.url_guard is not None:
            self.url_guard(self.endpoint.url("https", "/v2/"))
        last: TransportError | None = None
        for scheme in self.endpoint.schemes:
            url = self.endpoint.url(scheme, "/v2/")
            try:
                resp = await http.request("GET", url, verify_tls=not self.endpoint.insecure)
            except TransportError as e:
                last = e
                continue
            self.scheme = scheme
            body = await resp.read(MAX_ERROR_BODY)
            if resp.status == 401:
                chs = parse_challenges(resp.header_all("www-authenticate"))
                self.challenge = next((c for c in chs if c.scheme == "bearer"), None) or \
                    next((c for c in chs if c.scheme == "basic"), None)
                return 401
            if resp.status != 200:
                raise error_from_body(resp.status, resp.reason, body)
            return 200
        assert last is not None
        raise last

    # --- auth ----------------------------------------------------------------
    async def _auth_header(self, scopes: list[str], fresh: bool = False) -> str | None:
        ch = self.challenge
        if ch is None:
            return None
        if ch.scheme == "basic":
            return self.creds.basic() if self.creds.username or self.creds.password else None
        if ch.scheme != "bearer":
            return None
        if self.creds.registry_token:
            return "Bearer " + self.creds.registry_token
        key = self.tokens.key(ch, scopes, self.creds)
        tok = None if fresh else self.tokens.get(key)
        if tok is None:
            token = await self.fetch_token(scopes)
            self.tokens.put(key, token)
            tok = token.value
        return "Bearer " + tok

    async def fetch_token(self, scopes: list[str]):  # -> auth.Token
        assert self.challenge is not None
        method, url, headers, body = token_request(self.challenge, scopes, self.creds)
        if self.url_guard is not None:
            self.url_guard(url)
        host = urlsplit(url).netloc
        resp = await http.request(method, url, headers=headers, body=body,
                                  verify_tls=not self.policy.is_insecure(host))
        data = await resp.read(1 << 20)
        if resp.status in (401, 403):
            detail = _token_error(resp.status, resp.reason, data)
            raise AuthError(f'Get "{self.base}/v2/": {detail}', 401, ["UNAUTHORIZED"])
        if resp.status != 200:
            raise RegistryError(f'Get "{url.split("?", 1)[0]}": token server answered {resp.status} '
                                f"{resp.reason}", resp.status)
        try:
            return parse_token_response(data)
        except InvalidParameter as e:
            raise RegistryError(str(e), 502) from None

    # --- requests --------------------------------------------------------------
    async def request(self, method: str, path: str, *, scopes: list[str],
                      headers: dict[str, str] | None = None,
                      body: bytes | AsyncIterable[bytes] | None = None, length: int | None = None,
                      ok: tuple[int, ...] = (200,)) -> http.Response:
        """``path`` is a registry path (``/v2/...``) or an absolute URL the registry gave
        (an upload Location).  Returns the response when its status is in ``ok``;
        raises the registry's error otherwise."""
        if not self.scheme:
            await self.ping()
        url = urljoin(self.base + "/", path)
        retried = False
        redirects = 0
        while True:
            hdrs = dict(headers or {})
            same_host = urlsplit(url).netloc == self.endpoint.host
            if not same_host and self.url_guard is not None:
                self.url_guard(url)
            if same_host:
                auth = await self._auth_header(scopes, fresh=retried)
                if auth:
                    hdrs["Authorization"] = auth
            host = urlsplit(url).netloc
            resp = await http.request(method, url, headers=hdrs, body=body, length=length,
                                      verify_tls=not self.policy.is_insecure(host))
            if resp.status in ok:
                return resp
            if resp.status in (301, 302, 303, 307, 308) and method in ("GET", "HEAD") \
                    and resp.header("location"):
                resp.close()
                redirects += 1
                if redirects > MAX_REDIRECTS:
                    raise TransportError(f'{method.title()} "{url}": stopped after {MAX_REDIRECTS} redirects')
                target = urljoin(url, resp.header("location") or "")
                if url.startswith("https:") and not target.startswith("https:"):
                    raise TransportError(f'{method.title()} "{url}": refusing redirect from https to {target[:200]}')
                url = target
                continue
            data = b"" if method == "HEAD" else await resp.read(MAX_ERROR_BODY)
            resp.close()
            if resp.status == 401 and same_host and not retried and not isinstance(body, AsyncIterable):
                # The token may have expired or the registry wants a new challenge.
                chs = parse_challenges(resp.header_all("www-authenticate"))
                if chs:
                    self.challenge = next((c for c in chs if c.scheme == "bearer"), chs[0])
                retried = True
                if self.challenge is not None:
                    continue
            if method == "HEAD" and resp.status == 404:
                raise RegistryError("not found", 404, ["NOT_FOUND"])
            raise error_from_body(resp.status, resp.reason, data)


def _token_error(status: int, reason: str, body: bytes) -> str:
    """A token server's refusal: Docker Hub's ``{"details": ...}`` or a registry error body."""
    import json
    try:
        doc = json.loads(body)
        if isinstance(doc, dict) and isinstance(doc.get("details"), str) and doc["details"]:
            return "unauthorized: " + doc["details"][:500]
    except ValueError:
        pass
    if body.strip():
        err = error_from_body(status, reason, body)
        if "received unexpected" not in str(err):
            return str(err)
    return "unauthorized: incorrect username or password"
