"""Turning tar member names into paths relative to the extraction root.

We follow moby's pkg/archive (Unpack/UnpackLayer), which cleans the name the
way Go's filepath.Clean does, joins it to the destination and refuses it when
the result climbs out:

* a leading "/" is dropped: "/etc/passwd" lands at DEST/etc/passwd;
* ".." is resolved lexically; in an absolute name it stops at the root
  ("/../x" is DEST/x, as Clean makes it "/x"), in a relative name climbing
  above the root is an error ("../x", "a/../../x");
* "." and empty components vanish; a name that cleans to the root itself is
  the root entry, which callers skip.

Hardlink targets get the same treatment (moby joins them to the destination
and refuses breakouts).  Symlink targets are not paths we write to, so they
are never cleaned: they are stored verbatim and never followed except inside
the root (see rootdir.py).
"""
from __future__ import annotations

from hithe.errors import InvalidParameter

RelPath = tuple[str, ...]


def clean_member_name(name: str, *, what: str = "path") -> RelPath:
    """Clean a member name into components below the root (empty = the root).

    Raises InvalidParameter when a relative name climbs above the root.
    """
    if "\x00" in name:
        raise InvalidParameter(f"invalid {what} {name!r} in archive: contains a NUL byte")
    absolute = name.startswith("/")
    out: list[str] = []
    for comp in name.split("/"):
        if comp in ("", "."):
            continue
        if comp == "..":
            if out:
                out.pop()
            elif absolute:
                continue  # "/.." is "/": clamp at the root like filepath.Clean
            else:
                raise InvalidParameter(
                    f"invalid {what} {name!r} in archive: it is outside of the destination")
            continue
        out.append(comp)
    return tuple(out)


def display(parts: RelPath) -> str:
    """Human form of a cleaned path, for error messages."""
    return "/".join(parts) if parts else "."
