"""The one switch that keeps test daemons on loopback."""
from __future__ import annotations

import pytest

from hithe.util import egress


def test_switch_follows_the_environment(monkeypatch):
    monkeypatch.setenv(egress.ENV, "1")
    assert egress.loopback_only()
    monkeypatch.delenv(egress.ENV)
    assert not egress.loopback_only()


@pytest.mark.parametrize("host, ok", [("127.0.0.1", True), ("127.3.4.5", True), ("::1", True),
                                      ("localhost", True), ("10.0.0.1", False),
                                      ("registry-1.docker.io", False), ("", False), (None, False)])
def test_loopback_literals_only(host, ok):
    assert egress.is_loopback_literal(host) is ok
