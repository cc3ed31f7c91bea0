"""`--change` instructions for import/commit (a Dockerfile subset applied to a config)."""
from __future__ import annotations

import json
import shlex
from typing import Any

from hithe.errors import InvalidParameter

ALLOWED = ("CMD", "ENTRYPOINT", "ENV", "EXPOSE", "HEALTHCHECK", "LABEL", "ONBUILD", "STOPSIGNAL",
           "USER", "VOLUME", "WORKDIR")


def _json_or_shell(rest: str, shell: bool) -> list[str]:
    rest = rest.strip()
    if rest.startswith("["):
        try:
            val = json.loads(rest)
            if isinstance(val, list) and all(isinstance(x, str) for x in val):
                return val
        except ValueError:
            pass
    return ["/bin/sh", "-c", rest] if shell else shlex.split(rest)


def _pairs(rest: str, what: str) -> list[tuple[str, str]]:
    """`K=V K2="v 2"` or legacy `K value with spaces`."""
    words = shlex.split(rest)
    if not words:
        raise InvalidParameter(f"{what} requires at least one argument")
    if "=" not in words[0]:
        key, _, value = rest.strip().partition(" ")
        return [(key, value.strip())]
    out = []
    for w in words:
        if "=" not in w:
            raise InvalidParameter(f'Syntax error - can\'t find = in "{w}". Must be of the form: name=value')
        if w.startswith("="):
            raise InvalidParameter(f"{what} names can not be blank")
        k, _, v = w.partition("=")
        out.append((k, v))
    return out


def apply_changes(config: dict[str, Any], changes: list[str]) -> dict[str, Any]:
    cfg = dict(config)
    for line in changes:
        line = line.strip()
        if not line:
            continue
        word, _, rest = line.partition(" ")
        cmd = word.upper()
        if cmd not in ALLOWED:
            raise InvalidParameter(f"{word} is not a valid change command")
        if cmd == "CMD":
            cfg["Cmd"] = _json_or_shell(rest, True)
        elif cmd == "ENTRYPOINT":
            cfg["Entrypoint"] = _json_or_shell(rest, True)
        elif cmd == "ENV":
            env = list(cfg.get("Env") or [])
            for k, v in _pairs(rest, "ENV"):
                env = [e for e in env if e.split("=", 1)[0] != k] + [f"{k}={v}"]
            cfg["Env"] = env
        elif cmd == "LABEL":
            labels = dict(cfg.get("Labels") or {})
            labels.update(dict(_pairs(rest, "LABEL")))
            cfg["Labels"] = labels
        elif cmd == "EXPOSE":
            ports = dict(cfg.get("ExposedPorts") or {})
            for p in rest.split():
                ports[p if "/" in p else p + "/tcp"] = {}
            cfg["ExposedPorts"] = ports
        elif cmd == "VOLUME":
            vols = dict(cfg.get("Volumes") or {})
            for v in _json_or_shell(rest, False):
                vols[v] = {}
            cfg["Volumes"] = vols
        elif cmd == "WORKDIR":
            cfg["WorkingDir"] = rest.strip()
        elif cmd == "USER":
            cfg["User"] = rest.strip()
        elif cmd == "STOPSIGNAL":
            cfg["StopSignal"] = rest.strip()
        elif cmd == "HEALTHCHECK":
            from hithe.containers.health_config import parse_instruction
            cfg["Healthcheck"] = parse_instruction(rest)
        elif cmd == "ONBUILD":
            cfg["OnBuild"] = list(cfg.get("OnBuild") or []) + [rest.strip()]
    return cfg
