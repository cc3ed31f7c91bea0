"""Fixtures shared by the compat tests."""
from __future__ import annotations

import pytest


@pytest.fixture
def client(daemon, busybox):
    """The docker Python SDK's high-level client on this session's hithed."""
    import docker
    c = docker.DockerClient(base_url=daemon.host)
    yield c
    c.close()
