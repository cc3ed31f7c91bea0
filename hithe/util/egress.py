"""Where the daemon may connect: anywhere, or, with HITHE_REGISTRY_LOOPBACK_ONLY set (the test
suites set it for every daemon they start), only to loopback. One switch for every outbound
path (registry client, ADD <url> in builds, the embedded DNS's upstreams), checked before any
name is resolved so that nothing, not even a DNS query, leaves the machine."""
from __future__ import annotations

import ipaddress
import os

ENV = "HITHE_REGISTRY_LOOPBACK_ONLY"


def loopback_only() -> bool:
    return bool(os.environ.get(ENV))


def is_loopback_literal(host: str | None) -> bool:
    """`localhost` or a loopback IP literal; a name is not looked up (so: False)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False
