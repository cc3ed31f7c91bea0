"""Docker's restart-policy decisions, without a runtime."""
from __future__ import annotations

import pytest

from hithe.containers.record import Container, State
from hithe.containers.restart_policy import restart_delay, should_restart
from hithe.containers.spec import CreateSpec, RestartPolicy


def _c(policy: str, count: int = 0, exit_code: int = 0, restarts: int = 0, manual: bool = False,
       status: str = "exited") -> Container:
    spec = CreateSpec(image="busybox", restart=RestartPolicy(policy, count))
    st = State(status=status, exit_code=exit_code, restart_count=restarts, manually_stopped=manual)
    return Container(id="x" * 64, name="n", created="", spec=spec, image_id="", top_layer=None, path="true",
                     args=[], env=[], working_dir="", user="", hostname="h", stop_signal="SIGTERM", state=st)


@pytest.mark.parametrize("policy,exit_code,expected", [
    ("no", 1, False), ("always", 0, True), ("always", 3, True), ("unless-stopped", 0, True),
    ("on-failure", 0, False), ("on-failure", 2, True)])
def test_policy_by_exit_code(policy, exit_code, expected):
    assert should_restart(_c(policy, exit_code=exit_code)) is expected


def test_on_failure_counts_retries():
    assert should_restart(_c("on-failure", count=2, exit_code=1, restarts=1))
    assert not should_restart(_c("on-failure", count=2, exit_code=1, restarts=2))
    assert should_restart(_c("on-failure", count=0, exit_code=1, restarts=50))  # 0 means no limit


def test_manual_stop_and_removal_win():
    assert not should_restart(_c("always", manual=True))
    assert not should_restart(_c("always", status="removing"))


def test_backoff_doubles_and_caps():
    assert restart_delay(0) == pytest.approx(0.1)
    assert restart_delay(1) == pytest.approx(0.2)
    assert restart_delay(3) == pytest.approx(0.8)
    assert restart_delay(100) == 60.0
