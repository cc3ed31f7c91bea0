"""``POST /auth``: check credentials against a registry, as ``docker login`` does.

Ping ``/v2/``; with a Basic challenge, ask again with the credentials; with a
Bearer challenge, ask the token server for a token with no scope.  A registry
without auth accepts anyone.
"""
from __future__ import annotations

from hithe.distribution.client import http
from hithe.distribution.client.auth import Credentials, TokenCache
from hithe.distribution.client.endpoint import InsecurePolicy, domain_of_server
from hithe.distribution.client.errors import AuthError
from hithe.distribution.client.session import Session, UrlGuard


async def login(server: str, creds: Credentials, tokens: TokenCache, policy: InsecurePolicy,
                *, url_guard: UrlGuard | None = None) -> str:
    """Returns the identity token to keep ('' when the registry gives none); AuthError on refusal."""
    domain = domain_of_server(server or "docker.io")
    s = Session(policy.endpoint(domain), creds, tokens, policy, url_guard=url_guard)
    if await s.ping() == 200 or s.challenge is None:
        return ""
    if s.challenge.scheme == "basic":
        url = s.endpoint.url(s.scheme, "/v2/")
        resp = await http.request("GET", url, headers={"Authorization": creds.basic()},
                                  verify_tls=not s.endpoint.insecure)
        resp.close()
        if resp.status != 200:
            raise AuthError(f"login attempt to {url} failed with status: {resp.status} {resp.reason}",
                            401, ["UNAUTHORIZED"])
        return ""
    token = await s.fetch_token([])
    return token.refresh_token
