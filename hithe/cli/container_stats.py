"""``stats``: GET /containers/{id}/stats?stream=0, docker's columns and arithmetic."""
from __future__ import annotations

import sys
import time
TYPE_CHECKING = False  # typing costs ~5 ms at start-up; annotations are strings anyway
if TYPE_CHECKING:
    from typing import Any

from hithe.cli.command import Cli, StatusError
from hithe.client.errors import APIError

STATS_TABLE = ("table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t"
               "{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}")
STATS_HEADERS = {"ID": "CONTAINER ID", "Container": "CONTAINER", "Name": "NAME",
                 "CPUPerc": "CPU %", "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %",
                 "NetIO": "NET I/O", "BlockIO": "BLOCK I/O", "PIDs": "PIDS"}


def bytes_size(n: float) -> str:
    """go-units BytesSize: binary units, %.4g."""
    units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"]
    i = 0
    while n >= 1024.0 and i < len(units) - 1:
        n /= 1024.0
        i += 1
    return f"{n:.4g}{units[i]}"


class StatsContext:
    def __init__(self, s: dict[str, Any], container: str, trunc: bool) -> None:
        self.s = s
        self.container = container
        self.trunc = trunc

    def ID(self) -> str:
        ident = self.s.get("id", "")
        return ident[:12] if self.trunc else ident

    def Container(self) -> str:
        return self.container

    def Name(self) -> str:
        return (self.s.get("name") or "").lstrip("/") or "--"

    def CPUPerc(self) -> str:
        cpu = self.s.get("cpu_stats") or {}
        pre = self.s.get("precpu_stats") or {}
        cpu_delta = (cpu.get("cpu_usage") or {}).get("total_usage", 0) - \
            (pre.get("cpu_usage") or {}).get("total_usage", 0)
        sys_delta = (cpu.get("system_cpu_usage") or 0) - (pre.get("system_cpu_usage") or 0)
        online = cpu.get("online_cpus") or len((cpu.get("cpu_usage") or {}).get("percpu_usage") or []) or 1
        pct = cpu_delta / sys_delta * online * 100.0 if sys_delta > 0 and cpu_delta > 0 else 0.0
        return f"{pct:.2f}%"

    def _mem(self) -> tuple[float, float]:
        mem = self.s.get("memory_stats") or {}
        usage = mem.get("usage") or 0
        st = mem.get("stats") or {}
        # docker subtracts the page cache: total_inactive_file (v1) or inactive_file (v2)
        cache = st.get("total_inactive_file", st.get("inactive_file", 0)) or 0
        if cache < usage:
            usage -= cache
        return float(usage), float(mem.get("limit") or 0)

    def MemUsage(self) -> str:
        usage, limit = self._mem()
        return f"{bytes_size(usage)} / {bytes_size(limit)}"

    def MemPerc(self) -> str:
        usage, limit = self._mem()
        return f"{(usage / limit * 100.0) if limit else 0.0:.2f}%"

    def NetIO(self) -> str:
        from hithe.cli.formatters import human_size

        rx = tx = 0
        for n in (self.s.get("networks") or {}).values():
            rx += n.get("rx_bytes", 0)
            tx += n.get("tx_bytes", 0)
        return f"{human_size(rx, 3)} / {human_size(tx, 3)}"

    def BlockIO(self) -> str:
        from hithe.cli.formatters import human_size

        rd = wr = 0
        for e in ((self.s.get("blkio_stats") or {}).get("io_service_bytes_recursive") or []):
            op = (e.get("op") or "").lower()
            if op == "read":
                rd += e.get("value", 0)
            elif op == "write":
                wr += e.get("value", 0)
        return f"{human_size(rd, 3)} / {human_size(wr, 3)}"

    def PIDs(self) -> str:
        return str((self.s.get("pids_stats") or {}).get("current", 0))

    def __json__(self) -> Any:
        from hithe.cli.template import GoMap

        return GoMap({k: getattr(self, k)() for k in (
            "BlockIO", "CPUPerc", "Container", "ID", "MemPerc", "MemUsage", "Name", "NetIO", "PIDs")})


def show(cli: Cli, names: list[str], *, all_: bool, fmt: str, no_trunc: bool, stream: bool) -> int:
    from hithe.cli.container_list import render

    if not names:
        listing = cli.client.get_json("/containers/json", {"all": "1" if all_ else None}) or []
        names = [c["Id"] for c in listing]
    while True:
        rows = []
        errors = []
        for name in names:
            try:
                s = cli.client.get_json(f"/containers/{name}/stats", {"stream": "0"})
            except APIError as exc:
                errors.append(str(exc))
                continue
            rows.append(StatsContext(s or {}, name, not no_trunc))
        text = render(fmt or "table", rows, STATS_HEADERS, STATS_TABLE)
        if not stream:
            sys.stdout.write(text)
            if errors:
                raise StatusError(1, "\n".join(errors))
            return 0
        sys.stdout.write("\x1b[2J\x1b[H" + text)
        sys.stdout.flush()
        time.sleep(1)
