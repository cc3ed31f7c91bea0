"""Detach keys (`ctrl-p,ctrl-q`): parsing and spotting them in a stdin stream.

Shared by the daemon (attach/exec streams) and the CLI; stdlib only.
"""
from __future__ import annotations

DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q"
_SPECIAL = {"@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, "_": 31}


def parse_detach_keys(spec: str) -> bytes:
    """Docker's syntax: comma-separated `ctrl-<x>` or single characters. ValueError if bad."""
    out = bytearray()
    for k in (part.strip() for part in spec.split(",")):
        if len(k) == 1:
            out.append(ord(k))
            continue
        lk = k.lower()
        if lk.startswith("ctrl-") and len(k) == 6:
            c = lk[5]
            if "a" <= c <= "z":
                out.append(ord(c) - ord("a") + 1)
                continue
            if c in _SPECIAL:
                out.append(_SPECIAL[c])
                continue
        raise ValueError(f"Unknown character: '{k}'")
    return bytes(out)


class DetachScanner:
    """Pass bytes through, holding back a possible prefix of the sequence;
    ``feed`` returns (bytes to forward, detached?)."""

    def __init__(self, keys: bytes) -> None:
        self.keys = keys
        self.held = b""

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        out = bytearray()
        for b in data:
            cand = self.held + bytes([b])
            if self.keys.startswith(cand):
                self.held = cand
                if cand == self.keys:
                    self.held = b""
                    return bytes(out), True
                continue
            out += cand
            self.held = b""
        return bytes(out), False
