"""hithe-registry: the URL grammar (names, tags, digests, upload ids) and byte ranges."""
from __future__ import annotations

import pytest

from hithe.distribution.server.errors import RegistryError
from hithe.distribution.server.names import check_name, check_tag, check_upload_id, parse_digest
from hithe.distribution.server.ranges import ByteRange, Unsatisfiable, parse_chunk_range, parse_range

HEX = "a" * 64


@pytest.mark.parametrize("name", ["a", "library/busybox", "a/b/c/d", "my-app", "my__app", "a.b_c--d", "0/1",
                                  "x" * 255])
def test_valid_names(name):
    assert check_name(name) == name


@pytest.mark.parametrize("name", ["", "A", "a/", "/a", "a//b", "../a", "a/../b", "a/..", ".", "..", "_layers",
                                  "a/_manifests", "a/-b", "a-", "a___b", "a b", "a\nb", "a\n", "é", "a\x00",
                                  "a:b", "x" * 256, "a/./b", "a%2Fb"])
def test_hostile_or_invalid_names(name):
    with pytest.raises(RegistryError) as e:
        check_name(name)
    assert e.value.code == "NAME_INVALID" and e.value.status == 400


@pytest.mark.parametrize("tag", ["latest", "v1.0", "_x", "A-b.c_d", "x" * 128])
def test_valid_tags(tag):
    assert check_tag(tag) == tag


@pytest.mark.parametrize("tag", ["", ".x", "-x", "a/b", "..", "x" * 129, "a\n", "a b"])
def test_invalid_tags(tag):
    with pytest.raises(RegistryError) as e:
        check_tag(tag)
    assert e.value.code == "TAG_INVALID"


def test_digests():
    d = parse_digest("sha256:" + HEX)
    assert (d.algorithm, d.hex, str(d)) == ("sha256", HEX, "sha256:" + HEX)
    assert parse_digest("sha512:" + "0" * 128).algorithm == "sha512"


@pytest.mark.parametrize("text", ["", "sha256", "sha256:", "sha256:" + HEX[:-1], "sha256:" + HEX + "0",
                                  "sha256:" + "A" * 64, "md5:" + "a" * 32, "sha256:../../etc/passwd",
                                  "sha256:" + HEX + "\n", "sha256:/" + HEX[1:], ":" + HEX, "sha512:" + HEX])
def test_bad_digests(text):
    with pytest.raises(RegistryError) as e:
        parse_digest(text)
    assert e.value.code == "DIGEST_INVALID" and e.value.status == 400


def test_upload_ids():
    uid = "0f8fad5b-d9cb-469f-a165-70867728950e"
    assert check_upload_id(uid) == uid
    for bad in ["", "..", "../x", uid.upper(), uid + "/", uid[:-1]]:
        with pytest.raises(RegistryError) as e:
            check_upload_id(bad)
        assert e.value.code == "BLOB_UPLOAD_UNKNOWN" and e.value.status == 404


@pytest.mark.parametrize("header,size,want", [
    (None, 10, None), ("", 10, None), ("bytes=0-3", 10, ByteRange(0, 3)), ("bytes=5-", 10, ByteRange(5, 9)),
    ("bytes=-3", 10, ByteRange(7, 9)), ("bytes=-30", 10, ByteRange(0, 9)), ("bytes=8-100", 10, ByteRange(8, 9)),
    ("bytes=5-2", 10, None), ("items=0-3", 10, None), ("bytes=0-1,4-5", 10, None), ("bytes=-", 10, None),
    ("bytes=x-3", 10, None),
])
def test_parse_range(header, size, want):
    assert parse_range(header, size) == want


@pytest.mark.parametrize("header,size", [("bytes=10-", 10), ("bytes=10-20", 10), ("bytes=-0", 10),
                                         ("bytes=0-", 0), ("bytes=-5", 0)])
def test_unsatisfiable_range(header, size):
    with pytest.raises(Unsatisfiable):
        parse_range(header, size)


def test_chunk_ranges():
    parse_chunk_range(None, 5, 10)          # no header: append
    parse_chunk_range("5-14", 5, 10)
    parse_chunk_range("bytes 5-14", 5, None)
    for header, code in [("0-9", "RANGE_INVALID"), ("6-15", "RANGE_INVALID"), ("x", "RANGE_INVALID"),
                         ("5-4", "RANGE_INVALID"), ("5-20", "SIZE_INVALID")]:
        with pytest.raises(RegistryError) as e:
            parse_chunk_range(header, 5, 10)
        assert e.value.code == code
    with pytest.raises(RegistryError) as e:
        parse_chunk_range("9-9", 5, 1)
    assert e.value.status == 416
