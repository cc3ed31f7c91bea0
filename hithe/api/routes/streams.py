"""The body of docker export: the container's filesystem as a tar, written in a worker thread."""
from __future__ import annotations

from typing import Any, AsyncIterator

from hithe.api.threadio import thread_stream
from hithe.archive import write_tree_tar
from hithe.containers.archive import RootfsHold


def export_stream(svc: Any, c: Any) -> AsyncIterator[bytes]:
    hold: list[RootfsHold] = []

    def produce(out: Any) -> None:
        # mounted (if stopped) and counted, so a concurrent cp cannot unmount it under us
        hold.append(RootfsHold(svc, c))
        write_tree_tar(hold[0].root.path, out)

    def close() -> None:
        if hold:
            hold[0].close()

    return thread_stream(produce, close=close, name="export")
