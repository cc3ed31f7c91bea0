"""Image references: parsing, normalisation and errors as Docker has them.

Expected values follow distribution/reference (ParseNormalizedNamed +
TagNameOnly + FamiliarString) and go-digest, whose messages Docker prints.
"""
from __future__ import annotations


import pytest

from hithe.errors import InvalidParameter
from hithe.images.reference import (
    Reference,
    _parse,
    id_prefix_hex,
    is_full_id,
    looks_like_id_prefix,
    normalize_for_display,
    parse_any_reference,
    parse_reference,
    split_repo_tag,
    validate_digest,
)

H64 = "0123456789abcdef" * 4
H96 = "0123456789abcdef" * 6
H128 = "0123456789abcdef" * 8
D = "sha256:" + H64

# input, str(ref), ref.familiar(), domain, path, tag, digest
VALID = [
    ("busybox", "docker.io/library/busybox:latest", "busybox:latest",
     "docker.io", "library/busybox", "latest", None),
    ("ubuntu:18.04", "docker.io/library/ubuntu:18.04", "ubuntu:18.04",
     "docker.io", "library/ubuntu", "18.04", None),
    ("user/app", "docker.io/user/app:latest", "user/app:latest",
     "docker.io", "user/app", "latest", None),
    ("user/app:v2", "docker.io/user/app:v2", "user/app:v2",
     "docker.io", "user/app", "v2", None),
    ("a/b/c/d", "docker.io/a/b/c/d:latest", "a/b/c/d:latest",
     "docker.io", "a/b/c/d", "latest", None),
    ("localhost:5000/a/b:t", "localhost:5000/a/b:t", "localhost:5000/a/b:t",
     "localhost:5000", "a/b", "t", None),
    ("localhost/app", "localhost/app:latest", "localhost/app:latest",
     "localhost", "app", "latest", None),
    ("registry.example.com/x", "registry.example.com/x:latest", "registry.example.com/x:latest",
     "registry.example.com", "x", "latest", None),
    ("example:5000/x", "example:5000/x:latest", "example:5000/x:latest",
     "example:5000", "x", "latest", None),
    ("127.0.0.1:5000/foo", "127.0.0.1:5000/foo:latest", "127.0.0.1:5000/foo:latest",
     "127.0.0.1:5000", "foo", "latest", None),
    ("[::1]:5000/foo:1", "[::1]:5000/foo:1", "[::1]:5000/foo:1",
     "[::1]:5000", "foo", "1", None),
    ("[2001:db8::1]/foo", "[2001:db8::1]/foo:latest", "[2001:db8::1]/foo:latest",
     "[2001:db8::1]", "foo", "latest", None),
    ("a.b.c/d/e/f:1", "a.b.c/d/e/f:1", "a.b.c/d/e/f:1", "a.b.c", "d/e/f", "1", None),
    # An uppercase first element can only be a host name; host names keep case.
    ("Foo/bar", "Foo/bar:latest", "Foo/bar:latest", "Foo", "bar", "latest", None),
    ("Example.COM/foo", "Example.COM/foo:latest", "Example.COM/foo:latest",
     "Example.COM", "foo", "latest", None),
    # Docker Hub spellings fold into docker.io, official images into library/.
    ("index.docker.io/x", "docker.io/library/x:latest", "x:latest",
     "docker.io", "library/x", "latest", None),
    ("index.docker.io/user/x", "docker.io/user/x:latest", "user/x:latest",
     "docker.io", "user/x", "latest", None),
    ("docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest",
     "docker.io", "library/busybox", "latest", None),
    ("docker.io/library/busybox:1", "docker.io/library/busybox:1", "busybox:1",
     "docker.io", "library/busybox", "1", None),
    # "library/" stays when something nested follows it.
    ("library/a/b", "docker.io/library/a/b:latest", "library/a/b:latest",
     "docker.io", "library/a/b", "latest", None),
    # A single element is always a Hub official image, even a host-like one.
    ("localhost", "docker.io/library/localhost:latest", "localhost:latest",
     "docker.io", "library/localhost", "latest", None),
    ("example.com", "docker.io/library/example.com:latest", "example.com:latest",
     "docker.io", "library/example.com", "latest", None),
    ("localhost:5000", "docker.io/library/localhost:5000", "localhost:5000",
     "docker.io", "library/localhost", "5000", None),
    # Digests: no default tag when one is present; tag and digest together.
    (f"a@{D}", f"docker.io/library/a@{D}", f"a@{D}",
     "docker.io", "library/a", None, D),
    (f"busybox:1.0@{D}", f"docker.io/library/busybox:1.0@{D}", f"busybox:1.0@{D}",
     "docker.io", "library/busybox", "1.0", D),
    (f"localhost:5000/x@{D}", f"localhost:5000/x@{D}", f"localhost:5000/x@{D}",
     "localhost:5000", "x", None, D),
    (f"a@sha384:{H96}", f"docker.io/library/a@sha384:{H96}", f"a@sha384:{H96}",
     "docker.io", "library/a", None, f"sha384:{H96}"),
    (f"a@sha512:{H128}", f"docker.io/library/a@sha512:{H128}", f"a@sha512:{H128}",
     "docker.io", "library/a", None, f"sha512:{H128}"),
    # Separators inside path components.
    ("foo_bar", "docker.io/library/foo_bar:latest", "foo_bar:latest",
     "docker.io", "library/foo_bar", "latest", None),
    ("foo__bar", "docker.io/library/foo__bar:latest", "foo__bar:latest",
     "docker.io", "library/foo__bar", "latest", None),
    ("foo.bar", "docker.io/library/foo.bar:latest", "foo.bar:latest",
     "docker.io", "library/foo.bar", "latest", None),
    ("foo---bar", "docker.io/library/foo---bar:latest", "foo---bar:latest",
     "docker.io", "library/foo---bar", "latest", None),
    ("a0/1b-2.c_d", "docker.io/a0/1b-2.c_d:latest", "a0/1b-2.c_d:latest",
     "docker.io", "a0/1b-2.c_d", "latest", None),
    # Tags may be uppercase and start with "_"; a 64-hex tag is just a tag.
    ("busybox:Latest_1.0-RC", "docker.io/library/busybox:Latest_1.0-RC",
     "busybox:Latest_1.0-RC", "docker.io", "library/busybox", "Latest_1.0-RC", None),
    ("busybox:_x", "docker.io/library/busybox:_x", "busybox:_x",
     "docker.io", "library/busybox", "_x", None),
    (f"busybox:{H64}", f"docker.io/library/busybox:{H64}", f"busybox:{H64}",
     "docker.io", "library/busybox", H64, None),
    ("busybox:" + "t" * 128, "docker.io/library/busybox:" + "t" * 128, "busybox:" + "t" * 128,
     "docker.io", "library/busybox", "t" * 128, None),
]


@pytest.mark.parametrize("s,full,familiar,domain,path,tag,digest", VALID)
def test_valid(s, full, familiar, domain, path, tag, digest):
    ref = parse_reference(s)
    assert (ref.domain, ref.path, ref.tag, ref.digest) == (domain, path, tag, digest)
    assert str(ref) == full
    assert ref.familiar() == familiar
    assert ref.name == (f"{domain}/{path}")
    assert ref.repository_path == path
    # Both printed forms parse back to the same reference.
    assert parse_reference(full) == ref
    assert parse_reference(familiar) == ref


ERR_FORMAT = "invalid reference format"
ERR_CHECKSUM = "invalid checksum digest format"
INVALID = [
    ("", ERR_FORMAT),
    ("busybox:", ERR_FORMAT),
    (":tag", ERR_FORMAT),
    ("@" + D, ERR_FORMAT),
    ("busybox\n", ERR_FORMAT),
    ("busybox ", ERR_FORMAT),
    (" busybox", ERR_FORMAT),
    ("-foo", ERR_FORMAT),
    ("foo-", ERR_FORMAT),
    ("foo_", ERR_FORMAT),
    ("foo.", ERR_FORMAT),
    ("foo..bar", ERR_FORMAT),
    ("foo___bar", ERR_FORMAT),
    ("foo._bar", ERR_FORMAT),
    ("foo/", ERR_FORMAT),
    ("/foo", ERR_FORMAT),
    ("foo//bar", ERR_FORMAT),
    ("foo:bar:baz", ERR_FORMAT),
    ("a/b:c/d", ERR_FORMAT),
    ("http://foo/bar", ERR_FORMAT),
    ("busybox:.x", ERR_FORMAT),
    ("busybox:-x", ERR_FORMAT),
    ("busybox:a+b", ERR_FORMAT),
    ("busybox:" + "t" * 129, ERR_FORMAT),
    ("busybóx", ERR_FORMAT),
    ("busybox:tág", ERR_FORMAT),
    ("localhost:abc/foo", ERR_FORMAT),
    ("-host.com/foo", ERR_FORMAT),
    ("host-.com/foo", ERR_FORMAT),
    ("[zz]/foo", ERR_FORMAT),
    ("a@sha256:abc", ERR_FORMAT),  # under the grammar's 32 hex minimum
    (f"a@{D}:tag", ERR_FORMAT),
    (f"a@{D}@{D}", ERR_FORMAT),
    # Lowercase rule: Docker names the offending repository path.
    ("Busybox", "invalid reference format: repository name (library/Busybox) must be lowercase"),
    ("FOO:tag", "invalid reference format: repository name (library/FOO) must be lowercase"),
    ("user/Foo", "invalid reference format: repository name (user/Foo) must be lowercase"),
    ("docker.io/User/app", "invalid reference format: repository name (User/app) must be lowercase"),
    ("localhost:5000/Foo:tag", "invalid reference format: repository name (Foo) must be lowercase"),
    ("Foo/Bar", "invalid reference format: repository name (Bar) must be lowercase"),
    (f"a@Md5:{H64[:32]}", "invalid reference format: repository name (library/a@Md5) must be lowercase"),
    # distribution's Parse check: only lowercasing the domain would make it
    # match (KELVIN SIGN lowercases to "k" in Go and Python alike).
    ("\u212a.com/foo", "repository name must be lowercase"),
    # A bare image ID is never a name.
    (H64, f"invalid repository name ({H64}), cannot specify 64-byte hexadecimal strings"),
    # Digests: go-digest's messages.
    (f"a@sha256:{H64[:32]}", ERR_CHECKSUM),
    (f"a@sha256:{H64}00", ERR_CHECKSUM),
    (f"a@sha256:{H64.upper()}", ERR_CHECKSUM),
    (f"a@sha512:{H64}", ERR_CHECKSUM),
    (f"a@md5:{H64[:32]}", "unsupported digest algorithm"),
    (f"a@sha3+b64:{H64}", "unsupported digest algorithm"),
]


@pytest.mark.parametrize("s,message", INVALID)
def test_invalid(s, message):
    with pytest.raises(InvalidParameter) as exc:
        parse_reference(s)
    assert str(exc.value) == message


def test_path_length_limit_is_255():
    # The limit is on the repository path, "library/" included, not the domain.
    ok = parse_reference("a" * (255 - len("library/")))
    assert len(ok.path) == 255
    assert len(parse_reference("x/" + "a" * 253).path) == 255
    assert parse_reference("host.example.com:5000/" + "a" * 255).path == "a" * 255
    for s in ("a" * 248, "x/" + "a" * 254, "host.example.com/" + "a" * 256):
        with pytest.raises(InvalidParameter) as exc:
            parse_reference(s)
        assert str(exc.value) == "repository name must not be more than 255 characters"


def test_default_tag_off_keeps_name_only():
    ref = parse_reference("busybox", default_tag=False)
    assert ref.tag is None and ref.digest is None and ref.is_name_only
    assert str(ref) == "docker.io/library/busybox"
    assert ref.familiar() == "busybox"
    assert parse_reference("busybox:1", default_tag=False).tag == "1"


def test_parse_without_normalisation_errors():
    # distribution's Parse on its own: the empty-name message and no defaults.
    with pytest.raises(InvalidParameter) as exc:
        _parse("")
    assert str(exc.value) == "repository name must have at least one component"
    assert _parse("foo") == Reference(domain="", path="foo")
    with pytest.raises(InvalidParameter) as exc:
        _parse("Foo")
    assert str(exc.value) == "repository name must be lowercase"


def test_non_string_is_invalid():
    with pytest.raises(InvalidParameter):
        parse_reference(None)  # type: ignore[arg-type]


def test_reference_record():
    ref = parse_reference("docker.io/library/a/b")
    assert ref.familiar_name == "library/a/b"
    assert parse_reference("busybox").familiar_name == "busybox"
    assert parse_reference("user/app").familiar_name == "user/app"
    assert parse_reference("localhost:5000/app").familiar_name == "localhost:5000/app"
    assert parse_reference("busybox").repository_path == "library/busybox"
    assert parse_reference("busybox").name == "docker.io/library/busybox"
    with pytest.raises(AttributeError):  # immutable
        ref.tag = "x"  # type: ignore[misc]
    # Value semantics: usable as dict keys, equal when parsed alike.
    assert {parse_reference("busybox"): 1}[parse_reference("docker.io/library/busybox:latest")] == 1


def test_with_tag_with_digest_trim():
    ref = parse_reference("busybox")
    assert str(ref.with_tag("1.0")) == "docker.io/library/busybox:1.0"
    assert str(ref.with_digest(D)) == f"docker.io/library/busybox:latest@{D}"
    assert str(ref.trim()) == "docker.io/library/busybox"
    assert ref.trim().with_digest(D).familiar() == f"busybox@{D}"
    for bad in ("", ".x", "a b", "t" * 129):
        with pytest.raises(InvalidParameter) as exc:
            ref.with_tag(bad)
        assert str(exc.value) == "invalid tag format"
    with pytest.raises(InvalidParameter) as exc:
        ref.with_digest("sha256:abc")
    assert str(exc.value) == "invalid digest format"
    with pytest.raises(InvalidParameter) as exc:
        ref.with_digest("sha256:" + H64.upper())
    assert str(exc.value) == "invalid checksum digest format"


@pytest.mark.parametrize("digest,message", [
    (D, None),
    (f"sha384:{H96}", None),
    (f"sha512:{H128}", None),
    ("", ERR_CHECKSUM),
    ("sha256", ERR_CHECKSUM),
    (":" + H64, ERR_CHECKSUM),
    ("sha256:", ERR_CHECKSUM),
    ("sha256:" + H64[:-1], ERR_CHECKSUM),
    ("sha256:" + H64 + "\n", ERR_CHECKSUM),
    ("sha256:" + H64.upper(), ERR_CHECKSUM),
    ("sha256:../../" + H64[6:], ERR_CHECKSUM),
    ("md5:" + H64[:32], "unsupported digest algorithm"),
    ("MD5:" + H64[:32], ERR_CHECKSUM),
    ("foo:bar/baz", ERR_CHECKSUM),
])
def test_validate_digest(digest, message):
    if message is None:
        assert validate_digest(digest) == digest
    else:
        with pytest.raises(InvalidParameter) as exc:
            validate_digest(digest)
        assert str(exc.value) == message


def test_ids():
    assert is_full_id(H64)
    assert not is_full_id(H64[:-1])
    assert not is_full_id(H64 + "0")
    assert not is_full_id(H64.upper())
    assert not is_full_id(D)
    assert not is_full_id(H64 + "\n")
    for s in ("abcd", "0123", H64, "sha256:abcd", D):
        assert looks_like_id_prefix(s), s
    for s in ("abc", "sha256:abc", H64 + "0", "ABCD", "abcg", "busybox", "", "abcd\n", "sha512:abcd"):
        assert not looks_like_id_prefix(s), s
    assert id_prefix_hex("sha256:abcd") == "abcd"
    assert id_prefix_hex("abcdef") == "abcdef"
    assert id_prefix_hex("abc") is None


def test_parse_any_reference():
    assert parse_any_reference(H64) == D
    assert parse_any_reference(D) == D
    ref = parse_any_reference("busybox")
    assert isinstance(ref, Reference) and str(ref) == "docker.io/library/busybox"
    # Short hex is a name to Docker too (the caller then tries it as an ID).
    assert str(parse_any_reference("abcdef")) == "docker.io/library/abcdef"
    with pytest.raises(InvalidParameter):
        parse_any_reference("Busybox")


@pytest.mark.parametrize("s,expected", [
    ("busybox", ("busybox", "")),
    ("busybox:1", ("busybox", "1")),
    ("busybox:", ("busybox", "")),
    ("user/app:v1.2", ("user/app", "v1.2")),
    ("localhost:5000/app", ("localhost:5000/app", "")),
    ("localhost:5000/app:v1", ("localhost:5000/app", "v1")),
    ("localhost:5000", ("localhost", "5000")),
    (f"busybox@{D}", ("busybox", D)),
    (f"localhost:5000/a@{D}", ("localhost:5000/a", D)),
    ("", ("", "")),
])
def test_split_repo_tag(s, expected):
    assert split_repo_tag(s) == expected


@pytest.mark.parametrize("name,shown", [
    ("docker.io/library/busybox:latest", "busybox:latest"),
    ("docker.io/library/busybox", "busybox"),
    ("docker.io/user/app:1", "user/app:1"),
    (f"docker.io/user/app@{D}", f"user/app@{D}"),
    ("localhost:5000/a:1", "localhost:5000/a:1"),
    ("busybox", "busybox"),
    ("<none>:<none>", "<none>:<none>"),
    ("<none>", "<none>"),
    ("Not A Name", "Not A Name"),
])
def test_normalize_for_display(name, shown):
    assert normalize_for_display(name) == shown


@pytest.mark.parametrize("s", [
    "a" * 100000 + "!",
    "a-" * 50000 + "!",
    "a." * 50000 + "/b!",
    "a/" * 50000 + "!",
    "a.b-" * 30000 + "/x!",
])
def test_hostile_inputs_fail_fast(s):
    # The grammar has nested repetition: make sure a long near-miss is still
    # rejected quickly (no catastrophic backtracking).
    import time
    t = time.perf_counter()
    with pytest.raises(InvalidParameter):
        parse_reference(s)
    assert time.perf_counter() - t < 1.0
