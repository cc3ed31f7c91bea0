"""Whiteouts: how deletions travel in OCI layers and live in overlay dirs.

In a layer tar (OCI image spec, "AUFS style"):
  DIR/.wh.NAME        NAME was deleted in this layer
  DIR/.wh..wh..opq    DIR was replaced: nothing below it from lower layers shows

In an overlayfs upper directory (what the kernel writes and reads):
  DIR/NAME as a char device 0/0                 NAME is deleted
  DIR with xattr trusted.overlay.opaque = "y"  DIR is opaque

The `trusted.overlay.*` namespace belongs to the kernel's overlay driver: a
layer that carried e.g. trusted.overlay.redirect or .opaque could make the
mounted filesystem show files from places it should not, so such xattrs are
never read from archives nor written into them.  security.selinux is the
host's label, not the image's; Docker drops it on extraction too.
"""
from __future__ import annotations

import os
import stat

WHITEOUT_PREFIX = ".wh."
# Names below the root starting like this are AUFS bookkeeping (".wh..wh.plnk",
# ".wh..wh.aufs"), never content; Docker skips them when applying layers.
WHITEOUT_META_PREFIX = ".wh..wh."
WHITEOUT_OPAQUE = ".wh..wh..opq"

OVERLAY_XATTR_PREFIX = "trusted.overlay."
OVERLAY_OPAQUE_XATTR = "trusted.overlay.opaque"
_IGNORED_XATTRS = frozenset({"security.selinux"})


def is_ignored_xattr(name: str) -> bool:
    """True for extended attributes that must not cross a tar boundary."""
    return name.startswith(OVERLAY_XATTR_PREFIX) or name in _IGNORED_XATTRS


def is_overlay_whiteout(st: os.stat_result) -> bool:
    """Is this inode an overlayfs whiteout (char device 0/0)?"""
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def whiteout_target(base: str) -> str | None:
    """For ".wh.NAME" return NAME; None when `base` is not a whiteout."""
    if not base.startswith(WHITEOUT_PREFIX) or base == WHITEOUT_OPAQUE:
        return None
    return base[len(WHITEOUT_PREFIX):]
