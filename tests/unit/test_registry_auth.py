"""hithe-registry: htpasswd parsing (bcrypt only), Basic credentials, verification and reload."""
from __future__ import annotations

import base64
import os

import bcrypt

from hithe.distribution.server.auth import Htpasswd, parse_basic, parse_htpasswd


def _hash(pw: str, prefix: str = "$2y$") -> str:
    return prefix + bcrypt.hashpw(pw.encode(), bcrypt.gensalt(4)).decode()[4:]


def test_parse_keeps_bcrypt_entries_only():
    text = "\n".join([
        "# comment", "", f"alice:{_hash('a')}", f"bob:{_hash('b', '$2a$')}", f"carol:{_hash('c', '$2b$')}",
        "dave:$apr1$abc$0123456789", "erin:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", "frank:plaincrypt",
        "nocolon", ":$2y$05$nouser", "  gina:" + _hash("g") + "  ",
    ])
    users = parse_htpasswd(text)
    assert sorted(users) == ["alice", "bob", "carol", "gina"]


def test_parse_basic():
    enc = base64.b64encode(b"user:pa:ss").decode()
    assert parse_basic(f"Basic {enc}") == ("user", "pa:ss")
    assert parse_basic(f"basic {enc}") == ("user", "pa:ss")
    for bad in [None, "", "Bearer abc", "Basic", "Basic !!!", "Basic " + base64.b64encode(b"nocolon").decode(),
                "Basic " + base64.b64encode(b"\xff\xfe:x").decode()]:
        assert parse_basic(bad) is None


def test_verify_and_cache(tmp_path):
    f = tmp_path / "htpasswd"
    f.write_text(f"alice:{_hash('secret')}\n")
    h = Htpasswd(str(f), realm="r")
    h.load()
    assert h.challenge == 'Basic realm="r"'
    assert not h.cached("alice", "secret")
    assert h.verify("alice", "secret")
    assert h.cached("alice", "secret")
    assert not h.verify("alice", "wrong") and not h.cached("alice", "wrong")
    assert not h.verify("mallory", "secret")
    assert not h.verify("alice", "")


def test_reload_on_change_drops_cache(tmp_path):
    f = tmp_path / "htpasswd"
    f.write_text(f"alice:{_hash('one')}\n")
    h = Htpasswd(str(f))
    h.load()
    assert h.verify("alice", "one")
    f.write_text(f"alice:{_hash('two')}\nbob:{_hash('b')}\n")
    os.utime(f, ns=(1, 1))  # a different stamp even within one clock tick
    h.refresh()
    assert not h.cached("alice", "one") and not h.verify("alice", "one")
    assert h.verify("alice", "two") and h.verify("bob", "b")
    f.unlink()
    h.refresh()  # a vanished file keeps the users we had
    assert h.verify("bob", "b")


def test_damaged_hash_is_a_failure_not_a_crash(tmp_path):
    f = tmp_path / "htpasswd"
    f.write_text("alice:$2y$05$short\n")
    h = Htpasswd(str(f))
    h.load()
    assert not h.verify("alice", "x")
