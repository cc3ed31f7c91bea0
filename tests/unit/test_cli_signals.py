"""Signal names for forwarding, read from _signal (not the enum-building signal module)."""
from __future__ import annotations

import signal

from hithe.cli.streams import signal_names


def test_names_match_signal_enum():
    names = signal_names()
    assert names == {int(s): s.name for s in signal.Signals if not s.name.startswith("SIGRT")}
    assert names[signal.SIGABRT] == "SIGABRT" and names[signal.SIGCHLD] == "SIGCHLD"
    assert names[signal.SIGIO] == "SIGIO"
