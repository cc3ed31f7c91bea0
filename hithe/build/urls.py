"""ADD <url>: the file fetched over HTTP(S), its mtime from Last-Modified, mode 0600.

With HITHE_REGISTRY_LOOPBACK_ONLY set (the test suites), only 127.0.0.0/8 is fetched from.
"""
from __future__ import annotations

import posixpath
import urllib.parse
import urllib.request
from email.utils import parsedate_to_datetime

from hithe.build.sources import Source
from hithe.errors import InvalidParameter
from hithe.util import egress

MAX_SIZE = 1 << 30


def fetch_url(url: str) -> Source:
    u = urllib.parse.urlsplit(url)
    if egress.loopback_only() and not egress.is_loopback_literal(u.hostname):
        raise InvalidParameter(f"ADD: {u.hostname} is not a loopback address (HITHE_REGISTRY_LOOPBACK_ONLY)")
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
