"""Instructions that change only the image config (Docker's `#(nop)` steps).

Each function updates the stage's config from a parsed Node and returns the
comment Docker records in the history (`/bin/sh -c #(nop)  ENV A=b`).
"""
from __future__ import annotations

import json
import posixpath
import re
from typing import Callable

from hithe.build.parser import Node
from hithe.build.shellwords import expand, expand_words, name_values, split_words
from hithe.build.state import Stage
from hithe.errors import InvalidParameter

Env = dict[str, str]


def go_list(items: list[str]) -> str:
    """Go's %q of a []string: ["a" "b"]."""
    return "[" + " ".join(json.dumps(x) for x in items) + "]"


def command_form(node: Node, stage: Stage) -> list[str]:
    """CMD/ENTRYPOINT/RUN arguments: the JSON array as is, else the shell form through SHELL."""
    if node.json_args is not None:
        return list(node.json_args)
    return stage.shell + [node.rest] if node.rest else []


def _env(node: Node, stage: Stage, env: Env, esc: str) -> str:
    pairs = name_values("env", node.rest, env, esc)
    for k, v in pairs:
        stage.set_env(k, v)
    return "ENV " + " ".join(f"{k}={v}" for k, v in pairs)


def _label(node: Node, stage: Stage, env: Env, esc: str) -> str:
    pairs = name_values("label", node.rest, env, esc)
    labels = dict(stage.config.get("Labels") or {})
    for k, v in pairs:
        labels[k] = v
    stage.config["Labels"] = labels
    return "LABEL " + " ".join(f"{k}={v}" for k, v in pairs)


def _maintainer(node: Node, stage: Stage, env: Env, esc: str) -> str:
    stage.author = node.rest
    return "MAINTAINER " + node.rest


_PORT = re.compile(r"^(\d+)(?:-(\d+))?(?:/(tcp|udp|sctp))?$")


def _expose(node: Node, stage: Stage, env: Env, esc: str) -> str:
    ports = dict(stage.config.get("ExposedPorts") or {})
    added = []
    for word in expand_words(node.rest, env, esc):
        m = _PORT.match(word.lower())
        if not m:
            raise InvalidParameter(f"invalid containerPort: {word}")
        lo = int(m.group(1))
        hi = int(m.group(2) or lo)
        if hi < lo or hi > 65535:
            raise InvalidParameter(f"invalid range specified for container port: {word}")
        proto = m.group(3) or "tcp"
        for p in range(lo, hi + 1):
            ports[f"{p}/{proto}"] = {}
            added.append(f"{p}/{proto}")
    stage.config["ExposedPorts"] = ports
    return "EXPOSE " + " ".join(added)


def _cmd(node: Node, stage: Stage, env: Env, esc: str) -> str:
    cmd = command_form(node, stage)
    stage.config["Cmd"] = cmd
    return "CMD " + go_list(cmd)


def _entrypoint(node: Node, stage: Stage, env: Env, esc: str) -> str:
    ep = command_form(node, stage)
    stage.config["Entrypoint"] = ep or None
    # Docker: a new ENTRYPOINT resets a CMD inherited from the base image (not one set in this Dockerfile)
    if not stage.cmd_set:
        stage.config["Cmd"] = None
    return "ENTRYPOINT " + go_list(ep)


def _workdir(node: Node, stage: Stage, env: Env, esc: str) -> str:
    wd = expand(node.rest, env, esc)
    if not wd.startswith("/"):
        wd = posixpath.join(stage.config.get("WorkingDir") or "/", wd)
    wd = posixpath.normpath(wd)
    if wd.startswith("//"):
        wd = wd[1:]
    stage.config["WorkingDir"] = wd
    return "WORKDIR " + wd


def _user(node: Node, stage: Stage, env: Env, esc: str) -> str:
    user = expand(node.rest, env, esc)
    stage.config["User"] = user
    return "USER " + user


def _volume(node: Node, stage: Stage, env: Env, esc: str) -> str:
    vols = node.json_args if node.json_args is not None else expand_words(node.rest, env, esc)
    if node.json_args is not None:
        vols = [expand(v, env, esc) for v in vols]
    cur = dict(stage.config.get("Volumes") or {})
    for v in vols:
        v = v.strip()
        if not v:
            raise InvalidParameter("VOLUME specified can not be an empty string")
        cur[v] = {}
    stage.config["Volumes"] = cur
    return "VOLUME " + "[" + " ".join(vols) + "]"


def _stopsignal(node: Node, stage: Stage, env: Env, esc: str) -> str:
    sig = expand(node.rest, env, esc)
    from hithe.runtime.oci_spec import signal_number
    try:
        signal_number(sig)
    except Exception:  # noqa: BLE001 - any refusal is an invalid signal to the user
        raise InvalidParameter(f"Invalid signal: {sig}") from None
    stage.config["StopSignal"] = sig
    return "STOPSIGNAL " + sig


_DUR = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1, "us": 1000, "µs": 1000, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}


def go_duration(text: str, flag: str) -> int:
    if text in ("0", ""):
        return 0
    pos, total = 0, 0.0
    for m in _DUR.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos != len(text) or pos == 0:
        raise InvalidParameter(f'time: invalid duration "{text}"')
    return int(total)


def _healthcheck(node: Node, stage: Stage, env: Env, esc: str) -> str:
    rest = node.rest
    word, _, after = rest.partition(" ")
    if word.upper() == "NONE":
        if after.strip() or node.flags:
            raise InvalidParameter("HEALTHCHECK NONE takes no arguments")
        stage.config["Healthcheck"] = {"Test": ["NONE"]}
        return "HEALTHCHECK &{[\"NONE\"] \"0s\" \"0s\" \"0s\" \"0s\" '\\x00'}"
    if word.upper() != "CMD":
        raise InvalidParameter(f'Unknown type "{word.upper()}" in HEALTHCHECK (try CMD)')
    after = after.strip()
    if not after:
        raise InvalidParameter("Missing command after HEALTHCHECK CMD")
    try:
        args = json.loads(after) if after.startswith("[") else None
    except ValueError:
        args = None
    test = ["CMD"] + args if isinstance(args, list) else ["CMD-SHELL", after]
    hc: dict[str, object] = {"Test": test}
    known = {"interval": "Interval", "timeout": "Timeout", "start-period": "StartPeriod",
             "start-interval": "StartInterval"}
    for f in node.flags:
        key, _, val = f[2:].partition("=")
        if key in known:
            d = go_duration(val, key)
            if d and d < 10**6:
                raise InvalidParameter(f"Interval \"{key}\" cannot be less than 1ms")
            hc[known[key]] = d
        elif key == "retries":
            try:
                n = int(val)
            except ValueError:
                raise InvalidParameter(f'strconv.ParseInt: parsing "{val}": invalid syntax') from None
            if n < 0:
                raise InvalidParameter("--retries cannot be negative")
            hc["Retries"] = n
        else:
            raise InvalidParameter(f"Unknown flag: {key}")
    stage.config["Healthcheck"] = hc
    return "HEALTHCHECK &{" + go_list(test) + "}"


def _shell(node: Node, stage: Stage, env: Env, esc: str) -> str:
    if node.json_args is None or not node.json_args:
        raise InvalidParameter("SHELL requires the arguments to be in JSON form")
    stage.config["Shell"] = list(node.json_args)
    return "SHELL " + "[" + " ".join(node.json_args) + "]"


def _onbuild(node: Node, stage: Stage, env: Env, esc: str) -> str:
    inner = node.rest.strip()
    word = inner.split(None, 1)[0].upper() if inner else ""
    if word in ("ONBUILD",):
        raise InvalidParameter("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed")
    if word in ("FROM", "MAINTAINER"):
        raise InvalidParameter(f"{word} isn't allowed as an ONBUILD trigger")
    stage.config["OnBuild"] = list(stage.config.get("OnBuild") or []) + [inner]
    return "ONBUILD " + inner


def _arg(node: Node, stage: Stage, env: Env, esc: str) -> str:
    words = split_words(node.rest, esc)
    shown = []
    for w in words:
        name, eq, default = w.partition("=")
        if not name:
            raise InvalidParameter("ARG names can not be blank")
        val = expand(default, env, esc) if eq else None
        stage.args[name] = val
        shown.append(f"{name}={val}" if eq else name)
    return "ARG " + " ".join(shown)


HANDLERS: dict[str, Callable[[Node, Stage, Env, str], str]] = {
    "env": _env, "label": _label, "maintainer": _maintainer, "expose": _expose, "cmd": _cmd,
    "entrypoint": _entrypoint, "workdir": _workdir, "user": _user, "volume": _volume,
    "stopsignal": _stopsignal, "healthcheck": _healthcheck, "shell": _shell, "onbuild": _onbuild,
    "arg": _arg,
}


def apply(node: Node, stage: Stage, env: Env, escape: str) -> str:
    if node.cmd == "cmd":
        stage.cmd_set = True
    return HANDLERS[node.cmd](node, stage, env, escape)
