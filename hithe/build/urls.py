"""ADD <url>: the file fetched over HTTP(S), its mtime from Last-Modified, mode 0600.

With HITHE_REGISTRY_LOOPBACK_ONLY set (the test suites), only 127.0.0.0/8 is fetched from.
"""
from __future__ import annotations

import ipaddress
import os
import posixpath
import socket
import urllib.parse
import urllib.request
from email.utils import parsedate_to_datetime

from hithe.build.sources import Source
from hithe.errors import InvalidParameter

MAX_SIZE = 1 << 30


def _check_host(host: str) -> None:
    if not os.environ.get("HITHE_REGISTRY_LOOPBACK_ONLY"):
        return
    try:
        addrs = {ai[4][0] for ai in socket.getaddrinfo(host, None)} if host != "localhost" else {"127.0.0.1"}
    except OSError:
        addrs = set()
    if not addrs or not all(ipaddress.ip_address(a).is_loopback for a in addrs):
        raise InvalidParameter(f"ADD: {host} is not a loopback address (HITHE_REGISTRY_LOOPBACK_ONLY)")


def fetch_url(url: str) -> Source:
    u = urllib.parse.urlsplit(url)
    try:
        ipaddress.ip_address(u.hostname or "")
        _check_host(u.hostname or "")
    except ValueError:
        if os.environ.get("HITHE_REGISTRY_LOOPBACK_ONLY") and u.hostname != "localhost":
            raise InvalidParameter(f"ADD: {u.hostname} is not a loopback address "
                                   "(HITHE_REGISTRY_LOOPBACK_ONLY)") from None
    try:
        with urllib.request.urlopen(url, timeout=60) as resp:  # noqa: S310 - the Dockerfile asked for it
            data = resp.read(MAX_SIZE + 1)
            modified = resp.headers.get("Last-Modified")
    except urllib.error.HTTPError as e:
        raise InvalidParameter(f"failed to GET {url} with status {e.code} {e.reason}") from None
    except OSError as e:
        raise InvalidParameter(f"failed to GET {url}: {e}") from None
    if len(data) > MAX_SIZE:
        raise InvalidParameter(f"ADD {url}: file too large")
    mtime = 0
    if modified:
        try:
            mtime = int(parsedate_to_datetime(modified).timestamp())
        except (TypeError, ValueError):
            mtime = 0
    name = posixpath.basename(u.path.rstrip("/")) or "__unnamed__"
    return Source(display=url, content=data, name=name, mode=0o600, mtime=mtime)
