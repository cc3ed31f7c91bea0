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
        # docker CLI's calculateMemUsageUnixNoCache: subtract total_inactive_file (cgroup v1) when
        # present and below usage, otherwise inactive_file (v2, 0 when absent) when below usage
        v1 = st.get("total_inactive_file")
        if v1 is not None and v1 < usage:
            usage -= v1
        elif (st.get("inactive_file") or 0) < usage:
            usage -= st.get("inactive_file") or 0
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


class _Watcher:
    """One container's stats stream, read in a thread like the docker CLI's per-container
    goroutine: the table shows each container's latest frame; the thread ends with the stream."""

    def __init__(self, cli: Cli, name: str) -> None:
        import threading

        self.name = name
        self.latest: dict[str, Any] | None = None
        self.error: str | None = None
        self.done = False
        self._client = _own_client(cli)
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        try:
            resp = self._client.request("GET", f"/containers/{self.name}/stats", {"stream": "1"})
            for frame in resp.iter_json():
                self.latest = frame
        except APIError as exc:
            self.error = str(exc)
        except Exception:  # noqa: BLE001 - the daemon went away: the container drops out
            pass
        self.done = True


def _own_client(cli: Cli) -> Any:
    """A client per thread: APIClient keeps one idle-connection list and is not thread-safe."""
    from hithe.client.api import APIClient

    return APIClient(cli.client.host, version=cli.client.version, autostart=False)


def _fetch_once(cli: Cli, names: list[str]) -> list[tuple[str, dict[str, Any] | None, str | None]]:
    """stream=0 for every container at once: each answer takes a second (two samples)."""
    import threading

    results: list[tuple[str, dict[str, Any] | None, str | None]] = [(n, None, None) for n in names]

    def one(i: int, name: str) -> None:
        try:
            results[i] = (name, _own_client(cli).get_json(f"/containers/{name}/stats", {"stream": "0"}) or {}, None)
        except APIError as exc:
            results[i] = (name, None, str(exc))
    threads = [threading.Thread(target=one, args=(i, n), daemon=True) for i, n in enumerate(names)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def show(cli: Cli, names: list[str], *, all_: bool, fmt: str, no_trunc: bool, stream: bool) -> int:
    from hithe.cli.container_list import render

    follow_all = not names  # like docker: without names, the set of containers follows the listing

    def listing() -> list[str]:
        cs = cli.client.get_json("/containers/json", {"all": "1" if all_ else None}) or []
        return [c["Id"] for c in cs]

    cli.client.version  # negotiate once, before any thread needs it
    if not stream:
        rows, errors = [], []
        for name, s, err in _fetch_once(cli, listing() if follow_all else names):
            if err is not None:
                errors.append(err)
            else:
                rows.append(StatsContext(s or {}, name, not no_trunc))
        sys.stdout.write(render(fmt or "table", rows, STATS_HEADERS, STATS_TABLE))
        if errors:
            raise StatusError(1, "\n".join(errors))
        return 0
    watchers: dict[str, _Watcher] = {n: _Watcher(cli, n) for n in (listing() if follow_all else names)}
    while True:
        time.sleep(1)
        if follow_all:
            current = listing()
            for n in current:
                if n not in watchers or watchers[n].done:
                    watchers[n] = _Watcher(cli, n)
            watchers = {n: w for n, w in watchers.items() if n in current}
        errors = [w.error for w in watchers.values() if w.error]
        if errors and not follow_all and all(w.done for w in watchers.values()):
            raise StatusError(1, "\n".join(errors))
        rows = [StatsContext(w.latest, n, not no_trunc) for n, w in watchers.items() if w.latest is not None]
        sys.stdout.write("\x1b[2J\x1b[H" + render(fmt or "table", rows, STATS_HEADERS, STATS_TABLE))
        sys.stdout.flush()
