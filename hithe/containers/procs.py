"""Small facts about processes and directories the container service needs."""
from __future__ import annotations

import os

def alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def dir_size(path: str) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def exit_code_for_error(msg: str) -> int:
    low = msg.lower()
    if "executable file not found" in low or "no such file or directory" in low:
        return 127
    if "permission denied" in low or "not executable" in low:
        return 126
    return 128
