"""The output of block processing: runs of whole lines, each of one stream."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

# A payload is bytes or a memoryview slice of a converted block.
Payload = bytes | memoryview


@dataclass
class Batch:
    """Consecutive runs of output: streams[i] owns payloads[i] (whole lines).

    Parallel lists rather than tuples so that framing can be done with
    C-level map() calls over all runs of a block at once.
    """

    streams: list[int]
    payloads: list[Payload]

    def __bool__(self) -> bool:
        return bool(self.payloads)

    def __iter__(self) -> Iterator[tuple[int, Payload]]:
        return zip(self.streams, self.payloads)

    def add(self, stream: int, payload: Payload) -> None:
        self.streams.append(stream)
        self.payloads.append(payload)

    def extend(self, other: "Batch") -> None:
        self.streams += other.streams
        self.payloads += other.payloads
