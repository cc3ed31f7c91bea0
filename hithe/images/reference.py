"""Docker image references, parsed and normalised as docker/distribution does.

What users type (``busybox``, ``user/app:1.0``, ``localhost:5000/a/b@sha256:…``)
is turned into a fully qualified :class:`Reference` the way the Docker CLI and
daemon do it: ``reference.ParseNormalizedNamed`` followed by
``reference.TagNameOnly``.  Error messages are Docker's own, word for word,
because scripts and test suites match on them.

Grammar (distribution/reference)::

    reference        := name [ ":" tag ] [ "@" digest ]
    name             := [domain "/"] remote-name
    domain           := host [":" port-number]
    host             := domain-name | "[" IPv6address "]"
    domain-name      := domain-component ["." domain-component]*
    domain-component := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
    remote-name      := path-component ["/" path-component]*
    path-component   := alpha-numeric [separator alpha-numeric]*
    alpha-numeric    := /[a-z0-9]+/
    separator        := /[_.]|__|[-]+/
    tag              := /[\\w][\\w.-]{0,127}/
    digest           := algorithm ":" /[0-9a-fA-F]{32,}/

Only ``re`` is imported: the CLI imports this module and must start fast.
"""
from __future__ import annotations

import re

from hithe.errors import InvalidParameter

DEFAULT_DOMAIN = "docker.io"
# "The Docker Index": still accepted on input and folded into docker.io.
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
OFFICIAL_REPO_PREFIX = "library/"
DEFAULT_TAG = "latest"
# distribution limits the repository path (not domain, tag or digest).
NAME_TOTAL_LENGTH_MAX = 255

# Docker's error strings, verbatim (distribution/reference and go-digest).
ERR_REFERENCE_INVALID_FORMAT = "invalid reference format"
ERR_TAG_INVALID_FORMAT = "invalid tag format"
ERR_DIGEST_INVALID_FORMAT = "invalid digest format"
ERR_NAME_CONTAINS_UPPERCASE = "repository name must be lowercase"
ERR_NAME_EMPTY = "repository name must have at least one component"
ERR_NAME_TOO_LONG = f"repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters"
ERR_CHECKSUM_INVALID_FORMAT = "invalid checksum digest format"
ERR_DIGEST_UNSUPPORTED = "unsupported digest algorithm"

# --- grammar ----------------------------------------------------------------
# Character classes are spelled out rather than using \w or [[:xdigit:]]:
# Python's \w is Unicode-aware on str patterns, Go's is ASCII-only.  Every
# pattern is used with fullmatch(), never with "$", because "$" in Python also
# matches before a trailing newline ("busybox\n" must be invalid).
_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|-+)"
_PATH_COMPONENT = _ALNUM + r"(?:" + _SEPARATOR + _ALNUM + r")*"
_REMOTE_NAME = _PATH_COMPONENT + r"(?:/" + _PATH_COMPONENT + r")*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_NAME = _DOMAIN_COMPONENT + r"(?:\." + _DOMAIN_COMPONENT + r")*"
_IPV6 = r"\[[a-fA-F0-9:]+\]"
_DOMAIN = r"(?:" + _DOMAIN_NAME + r"|" + _IPV6 + r")(?::[0-9]+)?"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_NAME = r"(?:" + _DOMAIN + r"/)?" + _REMOTE_NAME

_REFERENCE_RE = re.compile(r"(" + _NAME + r")(?::(" + _TAG + r"))?(?:@(" + _DIGEST + r"))?")
_ANCHORED_NAME_RE = re.compile(r"(?:(" + _DOMAIN + r")/)?(" + _REMOTE_NAME + r")")
_TAG_RE = re.compile(_TAG)
_DIGEST_GRAMMAR_RE = re.compile(_DIGEST)
# go-digest's own (stricter on the algorithm, looser on the encoding) pattern,
# used only to choose between "invalid format" and "unsupported algorithm".
_GO_DIGEST_RE = re.compile(r"[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+")
# Algorithms the Docker daemon has registered, with their hex lengths.
_DIGEST_HEX_LEN = {"sha256": 64, "sha384": 96, "sha512": 128}
_LOWER_HEX_RE = re.compile(r"[a-f0-9]+")

_IDENTIFIER_RE = re.compile(r"[a-f0-9]{64}")
# moby daemon/containerd checkTruncatedID: optional "sha256:", 4 to 64 hex.
_TRUNCATED_ID_RE = re.compile(r"(?:sha256:)?([a-f0-9]{4,64})")


class Reference:
    """A parsed image reference.

    Built by :func:`parse_reference`; constructing one directly skips
    validation, so only do that with parts that came from a parsed reference.
    ``domain`` is empty only for references made outside the normalising
    parser (Docker's ``Parse`` without normalisation has no default domain).
    """

    # A plain immutable class, not a dataclass: the CLI imports this module on every
    # `run`, and dataclasses (with inspect) would add ~6 ms to its start-up.
    __slots__ = ("domain", "path", "tag", "digest")
    domain: str
    path: str
    tag: str | None
    digest: str | None

    def __init__(self, domain: str, path: str, tag: str | None = None, digest: str | None = None) -> None:
        object.__setattr__(self, "domain", domain)
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "tag", tag)
        object.__setattr__(self, "digest", digest)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field '{name}'")

    def _key(self) -> tuple[str, str, str | None, str | None]:
        return (self.domain, self.path, self.tag, self.digest)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Reference) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (f"Reference(domain={self.domain!r}, path={self.path!r}, tag={self.tag!r}, "
                f"digest={self.digest!r})")

    def replace(self, **changes: str | None) -> "Reference":
        d = dict(zip(self.__slots__, self._key()))
        d.update(changes)
        return Reference(**d)  # type: ignore[arg-type]

    @property
    def name(self) -> str:
        """Fully qualified repository name: ``docker.io/library/busybox``."""
        return f"{self.domain}/{self.path}" if self.domain else self.path

    @property
    def familiar_name(self) -> str:
        """Name as Docker shows it: ``busybox``, ``user/app``, ``localhost:5000/app``."""
        if self.domain != DEFAULT_DOMAIN:
            return self.name
        if self.path.startswith(OFFICIAL_REPO_PREFIX):
            rest = self.path[len(OFFICIAL_REPO_PREFIX):]
            # Docker keeps "library/" when something nested follows it, so
            # that the familiar form still parses back to the same name.
            if "/" not in rest:
                return rest
        return self.path

    @property
    def repository_path(self) -> str:
        """Repository path for the registry API (``/v2/<path>/manifests/…``)."""
        return self.path

    @property
    def is_name_only(self) -> bool:
        return self.tag is None and self.digest is None

    def _suffix(self) -> str:
        out = ""
        if self.tag is not None:
            out += ":" + self.tag
        if self.digest is not None:
            out += "@" + self.digest
        return out

    def __str__(self) -> str:
        return self.name + self._suffix()

    def familiar(self) -> str:
        """Familiar string: ``busybox:latest``, ``busybox:1.0@sha256:…``."""
        return self.familiar_name + self._suffix()

    def with_tag(self, tag: str) -> Reference:
        """Same reference with ``tag`` (Docker's ``WithTag``; keeps any digest)."""
        if not isinstance(tag, str) or _TAG_RE.fullmatch(tag) is None:
            raise InvalidParameter(ERR_TAG_INVALID_FORMAT)
        return self.replace(tag=tag)

    def with_digest(self, digest: str) -> Reference:
        """Same reference with ``digest`` (Docker's ``WithDigest``; keeps any tag)."""
        if not isinstance(digest, str) or _DIGEST_GRAMMAR_RE.fullmatch(digest) is None:
            raise InvalidParameter(ERR_DIGEST_INVALID_FORMAT)
        # Docker checks the grammar only here; we also want the algorithm and
        # encoding right, since these end up as store keys.
        validate_digest(digest)
        return self.replace(digest=digest)

    def trim(self) -> Reference:
        """Name only, without tag or digest (Docker's ``TrimNamed``)."""
        return self.replace(tag=None, digest=None)


# --- digests and IDs ----------------------------------------------------------

def validate_digest(digest: str) -> str:
    """Validate ``algorithm:hex`` as go-digest's ``Parse`` does; return it.

    sha256/sha384/sha512 need exactly 64/96/128 lowercase hex characters;
    other well-formed algorithms are refused as unsupported, like Docker.
    """
    i = digest.find(":")
    if i <= 0 or i + 1 == len(digest):
        raise InvalidParameter(ERR_CHECKSUM_INVALID_FORMAT)
    algorithm, encoded = digest[:i], digest[i + 1:]
    want = _DIGEST_HEX_LEN.get(algorithm)
    if want is None:
        if _GO_DIGEST_RE.fullmatch(digest) is None:
            raise InvalidParameter(ERR_CHECKSUM_INVALID_FORMAT)
        raise InvalidParameter(ERR_DIGEST_UNSUPPORTED)
    if len(encoded) != want or _LOWER_HEX_RE.fullmatch(encoded) is None:
        raise InvalidParameter(ERR_CHECKSUM_INVALID_FORMAT)
    return digest


def is_full_id(s: str) -> bool:
    """True for a bare 64-hex image ID, which Docker never accepts as a name."""
    return _IDENTIFIER_RE.fullmatch(s) is not None


def looks_like_id_prefix(s: str) -> bool:
    """True if ``s`` may be a (possibly truncated) image ID, for lookups.

    Same rule as moby's ``checkTruncatedID``: an optional ``sha256:``
    followed by 4 to 64 lowercase hex characters.  Such a string may also be
    a valid name (``abcdef``): look it up as a name first, as Docker does.
    """
    return _TRUNCATED_ID_RE.fullmatch(s) is not None


def id_prefix_hex(s: str) -> str | None:
    """The hex part of an ID prefix (``sha256:`` removed), or None if not one."""
    m = _TRUNCATED_ID_RE.fullmatch(s)
    return m.group(1) if m else None


# --- parsing ------------------------------------------------------------------

def _split_docker_domain(name: str) -> tuple[str, str]:
    """Split ``name`` into (domain, remote name), adding Docker Hub defaults."""
    maybe_domain, sep, maybe_remote = name.partition("/")
    if not sep:
        # A single element ("ubuntu", "ubuntu:18.04") is always a Hub
        # official image, even "localhost" or "example.com" on their own:
        # otherwise "ubuntu:18.04" would read as host:port.
        return DEFAULT_DOMAIN, OFFICIAL_REPO_PREFIX + name
    if maybe_domain == "localhost":
        domain, remote = maybe_domain, maybe_remote
    elif maybe_domain == LEGACY_DEFAULT_DOMAIN:
        domain, remote = DEFAULT_DOMAIN, maybe_remote
    elif "." in maybe_domain or ":" in maybe_domain:
        # A hostname, an IPv4 address, host:port or [IPv6]:port.
        domain, remote = maybe_domain, maybe_remote
    elif maybe_domain.lower() != maybe_domain:
        # Namespaces cannot be uppercase, so an uppercase first element can
        # only be meant as a (case-insensitive) host name.
        domain, remote = maybe_domain, maybe_remote
    else:
        domain, remote = DEFAULT_DOMAIN, name
    if domain == DEFAULT_DOMAIN and "/" not in remote:
        remote = OFFICIAL_REPO_PREFIX + remote
    return domain, remote


def _parse(s: str) -> Reference:
    """distribution's ``Parse``: grammar only, no defaults added."""
    if s == "":
        raise InvalidParameter(ERR_NAME_EMPTY)
    m = _REFERENCE_RE.fullmatch(s)
    if m is None:
        lowered = s.lower()
        if lowered != s and _REFERENCE_RE.fullmatch(lowered) is not None:
            raise InvalidParameter(ERR_NAME_CONTAINS_UPPERCASE)
        raise InvalidParameter(ERR_REFERENCE_INVALID_FORMAT)
    name, tag, digest = m.group(1), m.group(2), m.group(3)
    nm = _ANCHORED_NAME_RE.fullmatch(name)
    assert nm is not None  # the name group matched the same grammar
    domain, path = nm.group(1) or "", nm.group(2)
    if len(path) > NAME_TOTAL_LENGTH_MAX:
        raise InvalidParameter(ERR_NAME_TOO_LONG)
    if digest is not None:
        validate_digest(digest)
    return Reference(domain=domain, path=path, tag=tag, digest=digest)


def parse_reference(s: str, *, default_tag: bool = True) -> Reference:
    """Parse what a user typed into a normalised :class:`Reference`.

    ``busybox`` → ``docker.io/library/busybox:latest``.  With ``default_tag``
    (Docker's ``TagNameOnly``) ``latest`` is added only when there is neither
    a tag nor a digest.  Raises :class:`InvalidParameter` with Docker's text.
    """
    if not isinstance(s, str):
        raise InvalidParameter(ERR_REFERENCE_INVALID_FORMAT)
    if is_full_id(s):
        raise InvalidParameter(
            f"invalid repository name ({s}), cannot specify 64-byte hexadecimal strings")
    domain, remainder = _split_docker_domain(s)
    # Like Docker, cut at the first ":" of the remainder: that is the tag
    # separator, since the port (if any) went with the domain.
    remote = remainder.partition(":")[0]
    if remote.lower() != remote:
        raise InvalidParameter(
            f"invalid reference format: repository name ({remote}) must be lowercase")
    ref = _parse(domain + "/" + remainder)
    if default_tag and ref.is_name_only:
        ref = ref.replace(tag=DEFAULT_TAG)
    return ref


def parse_any_reference(s: str) -> Reference | str:
    """Docker's ``ParseAnyReference``: an image ID or digest, else a name.

    Returns a ``sha256:…`` string for a bare 64-hex ID or a valid digest,
    otherwise the (untagged, as typed) :class:`Reference`.
    """
    if is_full_id(s):
        return "sha256:" + s
    try:
        return validate_digest(s)
    except InvalidParameter:
        pass
    return parse_reference(s, default_tag=False)


def split_repo_tag(s: str) -> tuple[str, str]:
    """Split ``repo[:tag]`` or ``repo@digest`` the way Docker splits arguments.

    The tag is whatever follows the last ``:`` unless that part contains a
    ``/`` (then the colon belonged to a registry port).  A digest comes back
    in the second slot (recognisable by its ``:``).  No validation.
    ``localhost:5000/app`` → (``localhost:5000/app``, ``""``).
    """
    repo, at, digest = s.partition("@")
    if at:
        return repo, digest
    repo, colon, tag = s.rpartition(":")
    if not colon or "/" in tag:
        return s, ""
    return repo, tag


def normalize_for_display(name: str) -> str:
    """Familiar form of a stored name for output; unparsable input unchanged.

    ``docker.io/library/busybox:latest`` → ``busybox:latest``,
    ``docker.io/library/busybox`` → ``busybox`` (no tag is added), and
    ``<none>:<none>`` stays as it is.
    """
    try:
        return parse_reference(name, default_tag=False).familiar()
    except InvalidParameter:
        return name
