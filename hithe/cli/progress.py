"""Display of the daemon's JSON message streams (pull, push, load, import, build).

Docker's pkg/jsonmessage: on a terminal each ``id`` keeps its own line,
rewritten in place with a progress bar; elsewhere progress messages are
skipped and statuses are printed one per line.  An ``error`` message ends the
stream with that error.
"""
from __future__ import annotations

import os
import sys
TYPE_CHECKING = False  # typing costs ~5 ms at start-up; annotations are strings anyway
if TYPE_CHECKING:
    from typing import Any, Callable, Iterable

from hithe.client.errors import StreamError


def _human_size(n: float) -> str:
    """go-units HumanSize: decimal units, 4 significant digits."""
    units = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"]
    i = 0
    while n >= 1000 and i < len(units) - 1:
        n /= 1000.0
        i += 1
    return f"{n:.4g}{units[i]}"


def progress_string(p: dict[str, Any], width: int) -> str:
    current = int(p.get("current") or 0)
    total = int(p.get("total") or 0)
    units = p.get("units") or ""
    if current <= 0 and total <= 0:
        return ""
    if total <= 0:
        return f"{_human_size(current):>8}" if not units else f"{current} {units}"
    pct = min(int(current / total * 100) // 2, 50)
    bar = ""
    if width > 110:
        bar = "[" + "=" * pct + ">" + " " * max(50 - pct, 0) + "] "
    if p.get("hidecounts"):
        numbers = ""
    elif not units:
        numbers = f"{_human_size(current):>8}/{_human_size(total)}"
        if current > total:
            numbers = f"{_human_size(current):>8}"
    else:
        numbers = f"{current}/{total} {units}"
    return bar + numbers


def _line(msg: dict[str, Any], terminal: bool, width: int) -> str | None:
    progress = msg.get("progressDetail") or None
    text = ""
    if msg.get("id"):
        text += f"{msg['id']}: "
    if msg.get("from"):
        text += f"(from {msg['from']}) "
    pstr = progress_string(progress, width) if progress else ""
    if progress and not terminal and pstr:
        return None  # no progress bars in logs
    if terminal and progress:
        return text + f"{msg.get('status', '')} {pstr}"
    if msg.get("progress") and not terminal and not pstr:
        return text + f"{msg.get('status', '')} {msg['progress']}"
    if msg.get("stream"):
        return text + msg["stream"]
    return text + f"{msg.get('status', '')}\n"


def display(messages: Iterable[dict[str, Any]], out: Any = None, *,
            terminal: bool | None = None, aux: Callable[[Any], None] | None = None) -> None:
    """Print a message stream; raise StreamError on an error message."""
    out = out or sys.stdout
    if terminal is None:
        try:
            terminal = os.isatty(out.fileno())
        except (AttributeError, OSError, ValueError):
            terminal = False
    try:
        width = os.get_terminal_size(out.fileno()).columns if terminal else 200
    except (OSError, AttributeError, ValueError):
        width = 200
    lines: dict[str, int] = {}  # id -> line index on screen (terminal mode)
    count = 0
    for msg in messages:
        if not isinstance(msg, dict):
            continue
        if msg.get("errorDetail") or msg.get("error"):
            detail = msg.get("errorDetail") or {}
            raise StreamError(detail.get("message") or msg.get("error") or "unknown error")
        if "aux" in msg:
            if aux is not None:
                aux(msg["aux"])
            continue
        text = _line(msg, terminal, width)
        if text is None:
            continue
        ident = msg.get("id")
        if terminal and ident and (msg.get("progressDetail") is not None or ident in lines):
            if ident not in lines:
                lines[ident] = count
                count += 1
                out.write(text.rstrip("\n") + "\n")
            else:
                up = count - lines[ident]
                # move up, clear the line, write, move back down
                out.write(f"\x1b[{up}A\r\x1b[2K{text.rstrip(chr(10))}\r\x1b[{up}B")
        else:
            if terminal and ident:
                lines[ident] = count
            out.write(text if text.endswith("\n") or not terminal else text + "\n")
            if not text.endswith("\n") and not terminal:
                out.write("")
            count += text.count("\n") or 1
        out.flush()
