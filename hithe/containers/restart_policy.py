"""Docker's restart policies: whether an exited container comes back, and when."""
from __future__ import annotations

from hithe.containers.record import REMOVING, Container


def should_restart(c: Container) -> bool:
    p = c.spec.restart
    if c.state.manually_stopped or c.state.status == REMOVING:
        return False
    if p.name in ("always", "unless-stopped"):
        return True
    if p.name == "on-failure" and c.state.exit_code != 0:
        return p.maximum_retry_count == 0 or c.state.restart_count < p.maximum_retry_count
    return False


def restart_delay(restart_count: int) -> float:
    """Docker's back-off: 100 ms, doubling with each restart, at most a minute."""
    return min(0.1 * (2 ** min(restart_count, 10)), 60.0)
