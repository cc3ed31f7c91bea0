"""Seccomp: a Docker / containers-common profile resolved into the OCI ``linux.seccomp`` object.

The profile format is the one of ``/usr/share/containers/seccomp.json`` (Debian
``golang-github-containers-common``) and of Docker's ``profiles/seccomp/default.json``:
``defaultAction``, ``defaultErrnoRet``, ``archMap`` (or the older ``architectures``),
``flags`` and ``syscalls[]`` whose rules carry ``names`` (or the older ``name``),
``action``, ``errnoRet``, ``args`` and ``includes`` / ``excludes`` conditions on
``caps``, ``arches`` and ``minKernel``.

Resolution follows Docker (moby ``profiles/seccomp/seccomp_linux.go``):

* a rule is kept when *every* cap in ``includes.caps`` is held, the host arch is in
  ``includes.arches`` and the kernel is at least ``includes.minKernel``; and it is
  dropped when *any* cap in ``excludes.caps`` is held, the arch is in
  ``excludes.arches`` or the kernel is at least ``excludes.minKernel``;
* ``architectures`` is the ``archMap`` entry of the host arch: the main arch and its
  sub-arches (``SCMP_ARCH_X86_64`` -> ``+ SCMP_ARCH_X86, SCMP_ARCH_X32``);
* ``minKernel`` compares "kernel.major" only (4.8.17 and 4.8-1-amd64 are both 4.8).

Every container start needs this, so parsed files are cached by path and
(mtime, size, inode), each profile is compiled once into a rule table, and the
result for one (profile, caps, arch, kernel) is memoized; a cached call copies
the memoized result (callers may mutate it) and costs some tens of microseconds.
Profiles handed to :func:`to_oci` are treated as immutable.

Modules: ``host`` (arch names, kernel version), ``rules`` (validation, the compiled rule
table), ``profile`` (loading and the caches), ``convert`` (:func:`to_oci`); this package
adds the ``--security-opt seccomp=...`` handling (:func:`seccomp_for`).
"""
from __future__ import annotations

import logging
import os

from hithe.errors import InvalidParameter
from hithe.runtime.seccomp.convert import to_oci
from hithe.runtime.seccomp.host import host_arch, host_kernel, kernel_supports_seccomp
from hithe.runtime.seccomp.profile import _clear, load_profile, parse_profile

# Further names of the former single module, still reachable as seccomp.NAME.
from hithe.runtime.seccomp.host import NATIVE_TO_SCMP, _native_arch  # noqa: F401
from hithe.runtime.seccomp.rules import ACTIONS, FLAGS, OPERATORS  # noqa: F401

__all__ = [
    "DEFAULT_PROFILE_PATHS", "default_profile_path", "load_profile", "parse_profile",
    "to_oci", "seccomp_for", "host_arch", "host_kernel", "kernel_supports_seccomp", "clear_caches",
]

log = logging.getLogger("hithe.runtime.seccomp")

# containers-common's lookup order (c/common pkg/config): the admin override in /etc
# first, then the packaged profile.
DEFAULT_PROFILE_PATHS: tuple[str, ...] = (
    "/etc/containers/seccomp.json",
    "/usr/share/containers/seccomp.json",
)

# --security-opt seccomp=<value> keywords (Docker: config.SeccompProfileUnconfined / Default).
UNCONFINED = "unconfined"
BUILTIN = "builtin"


def default_profile_path() -> str | None:
    """containers-common's profile on this host, or None when it is not installed."""
    for p in DEFAULT_PROFILE_PATHS:
        if os.path.isfile(p):
            return p
    return None


# ---------------------------------------------------------------------------------------
# --security-opt seccomp=...

_warned_missing = False


def clear_caches() -> None:
    """Forget every parsed profile and conversion (tests; a changed profile is noticed anyway)."""
    global _warned_missing
    _clear()
    _warned_missing = False


def _seccomp_opt(security_opt: list[str] | None) -> str | None:
    """The value of the last ``seccomp=`` (or deprecated ``seccomp:``) option, else None."""
    value = None
    for opt in security_opt or ():
        k, eq, v = opt.partition("=")
        if not eq:
            k, eq, v = opt.partition(":")
        if eq and k.strip() == "seccomp":
            value = v
    return value


def seccomp_for(security_opt: list[str] | None, caps: set[str] | frozenset[str],
                privileged: bool) -> dict | None:
    """The ``linux.seccomp`` object for a container, or None for no filter (Docker's rules).

    * ``seccomp=unconfined`` or ``--privileged``: no filter;
    * ``seccomp=<JSON>`` (docker CLI sends file contents inline) or ``seccomp=/path.json``:
      that profile (InvalidParameter ``opening seccomp profile (PATH) failed: ...`` when
      the file cannot be read). It is loaded and checked even with ``--privileged``, as
      ``docker run`` does, and then not applied;
    * nothing, ``seccomp=`` or ``seccomp=builtin``: containers-common's profile, or no
      filter and one logged warning when the host has none.
    """
    value = _seccomp_opt(security_opt)
    spec = value.strip() if value is not None else ""
    if spec == UNCONFINED:
        return None
    custom = spec not in ("", BUILTIN)
    if custom:
        if not kernel_supports_seccomp():
            raise InvalidParameter("seccomp is not enabled in your kernel, cannot run a custom seccomp profile")
        profile = parse_profile(spec) if spec.startswith("{") else load_profile(spec)
        if privileged:
            return None
        return to_oci(profile, caps=caps)
    if privileged:
        return None
    path = default_profile_path()
    if path is None or not kernel_supports_seccomp():
        global _warned_missing
        if not _warned_missing:
            _warned_missing = True
            if path is None:
                log.warning("no default seccomp profile (%s not found): running containers "
                            "without a seccomp filter; install golang-github-containers-common",
                            " or ".join(DEFAULT_PROFILE_PATHS))
            else:
                log.warning("seccomp is not enabled in your kernel, running container without default profile")
        return None
    return to_oci(load_profile(path), caps=caps)
