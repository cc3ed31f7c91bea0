"""Reading profiles (a file, or inline JSON) and the caches behind them."""
from __future__ import annotations

import errno as _errno
import json
import os
import threading
from collections import OrderedDict
from typing import Any

from hithe.errors import InvalidParameter
from hithe.runtime.seccomp.rules import _check, _Compiled, _ProfileError


# ---------------------------------------------------------------------------------------
# Loading


def parse_profile(text: str | bytes) -> dict:
    """Parse and validate a profile given as JSON text (what docker CLI sends inline)."""
    key = text if isinstance(text, str) else bytes(text)
    with _lock:
        hit = _inline_cache.get(key)
        if hit is not None:
            _inline_cache.move_to_end(key)
            return hit
    try:
        profile = json.loads(text)
    except ValueError as exc:
        raise InvalidParameter(f"Decoding seccomp profile failed: {exc}") from None
    _remember(profile, _check(profile))
    with _lock:
        _inline_cache[key] = profile
        while len(_inline_cache) > _INLINE_MAX:
            _inline_cache.popitem(last=False)
    return profile


def _open_error(path: str, exc: OSError) -> InvalidParameter:
    # Go's *PathError text, as docker prints it: "open /x.json: no such file or directory"
    reason = os.strerror(exc.errno).lower() if exc.errno else str(exc)
    op = "read" if exc.errno == _errno.EISDIR else "open"
    return InvalidParameter(f"opening seccomp profile ({path}) failed: {op} {path}: {reason}")


def load_profile(path: str) -> dict:
    """Read, parse and validate a profile file; cached by path and (mtime, size, inode).

    Raises InvalidParameter with Docker's wording: ``opening seccomp profile (PATH)
    failed: open PATH: no such file or directory``, ``Decoding seccomp profile failed: ...``.
    """
    try:
        st = os.stat(path)
    except OSError as exc:
        raise _open_error(path, exc) from None
    stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
    with _lock:
        hit = _file_cache.get(path)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise _open_error(path, exc) from None
    try:
        profile = json.loads(data)
    except ValueError as exc:
        raise InvalidParameter(f"Decoding seccomp profile failed: {exc}") from None
    try:
        compiled = _Compiled(profile)
    except _ProfileError as exc:
        raise InvalidParameter(f"loading seccomp profile ({path}) failed: {exc}") from None
    _remember(profile, compiled)
    with _lock:
        _file_cache[path] = (stamp, profile)
    return profile


# ---------------------------------------------------------------------------------------
# Caches. Compiled profiles and results are keyed by id(profile); each entry holds a strong
# reference to the profile so that the id cannot be reused while the entry lives.

_lock = threading.Lock()
_file_cache: dict[str, tuple[tuple[int, int, int], dict]] = {}
_INLINE_MAX = 32
_inline_cache: OrderedDict[str | bytes, dict] = OrderedDict()
_COMPILED_MAX = 64
_compiled: OrderedDict[int, tuple[Any, _Compiled]] = OrderedDict()
_RESULTS_MAX = 512
_results: OrderedDict[tuple, tuple[Any, dict[str, Any] | None]] = OrderedDict()


def _remember(profile: Any, compiled: _Compiled) -> None:
    with _lock:
        _compiled[id(profile)] = (profile, compiled)
        _compiled.move_to_end(id(profile))
        while len(_compiled) > _COMPILED_MAX:
            _compiled.popitem(last=False)


def _compiled_for(profile: Any) -> _Compiled:
    with _lock:
        hit = _compiled.get(id(profile))
    if hit is not None and hit[0] is profile:
        return hit[1]
    compiled = _check(profile)
    _remember(profile, compiled)
    return compiled


def _clear() -> None:
    """Empty every cache (the package's clear_caches)."""
    with _lock:
        _file_cache.clear()
        _inline_cache.clear()
        _compiled.clear()
        _results.clear()
