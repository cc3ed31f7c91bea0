"""Docker's JSON progress messages (pkg/jsonmessage), one per line of the stream."""
from __future__ import annotations

import json
import time
from typing import Any

from hithe.cli.progress import progress_string


def encode(msg: dict[str, Any]) -> bytes:
    return json.dumps(msg, separators=(",", ":")).encode() + b"\r\n"


def status(text: str, ident: str | None = None) -> bytes:
    msg: dict[str, Any] = {"status": text}
    if ident:
        msg["id"] = ident
    return encode(msg)


def layer(text: str, ident: str) -> bytes:
    return encode({"status": text, "progressDetail": {}, "id": ident})


def progress(text: str, ident: str, current: int, total: int) -> bytes:
    detail = {"current": current, "total": total}
    return encode({"status": text, "progressDetail": detail, "progress": progress_string(detail, 200),
                   "id": ident})


def error(message: str) -> bytes:
    return encode({"errorDetail": {"message": message}, "error": message})


def aux(obj: dict[str, Any]) -> bytes:
    return encode({"progressDetail": {}, "aux": obj})


def short_id(digest: str) -> str:
    return digest.split(":", 1)[-1][:12]


class Throttle:
    """At most one progress message per interval per layer (docker: 100 ms), and the last one."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self.last = 0.0

    def ready(self, final: bool = False) -> bool:
        now = time.monotonic()
        if final or now - self.last >= self.interval:
            self.last = now
            return True
        return False
