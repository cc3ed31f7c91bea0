"""`docker top`: the host's `ps` output, narrowed to one container's processes."""
from __future__ import annotations

import subprocess
from typing import Any

from hithe.errors import InvalidParameter


def filter_ps(output: str, pids: set[int]) -> dict[str, Any]:
    """Docker's parsing: titles from the first line, rows whose PID column is ours."""
    lines = output.splitlines()
    if not lines:
        raise InvalidParameter("ps produced no output")
    titles = lines[0].split()
    try:
        pid_col = titles.index("PID")
    except ValueError:
        raise InvalidParameter("Couldn't find PID field in ps output") from None
    procs = []
    for line in lines[1:]:
        # The last column (the command) may contain spaces: split only the others.
        fields = line.split(None, len(titles) - 1)
        if len(fields) > pid_col and fields[pid_col].isdigit() and int(fields[pid_col]) in pids:
            procs.append(fields)
    return {"Titles": titles, "Processes": procs}


def run_ps(ps_args: str, pids: set[int]) -> dict[str, Any]:
    out = subprocess.run(["ps"] + ps_args.split(), capture_output=True, text=True)
    if out.returncode != 0:
        raise InvalidParameter(f"ps: {out.stderr.strip()}")
    return filter_ps(out.stdout, pids)
