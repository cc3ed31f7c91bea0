"""Netlink through pyroute2: bridges, veth pairs, network namespaces (imported by the daemon only).

One IPRoute socket in the host namespace is reused. Work inside a container's namespace runs in
a throwaway thread that setns()es into it and opens its own socket there: a netlink socket belongs
to the namespace of the thread that creates it (pyroute2's NetNS forks helpers, which is slow).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
from typing import Any, Callable, TypeVar

from hithe.errors import SystemError_
from hithe.util import sys as hsys

T = TypeVar("T")
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _errno_check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _in_thread(fn: Callable[[], T]) -> T:
    """Run fn in a new thread (it may change that thread's namespace; the thread then ends)."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["r"] = fn()
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller
            box["e"] = e
    t = threading.Thread(target=run, name="netns")
    t.start()
    t.join()
    if "e" in box:
        raise box["e"]
    return box.get("r")  # type: ignore[return-value]


def _sysctl(path: str, value: str) -> None:
    try:
        with open(path) as f:
            if f.read().strip() == value:
                return
        with open(path, "w") as f:
            f.write(value)
    except OSError:
        pass


class Netlink:
    def __init__(self, alias: str) -> None:
        from pyroute2 import IPRoute
        self._IPRoute = IPRoute
        self.ipr = IPRoute()
        self.alias = alias            # set as IFLA_IFALIAS on what we create: how cleanup finds it
        self.lock = threading.Lock()

    def close(self) -> None:
        self.ipr.close()

    def _index(self, name: str) -> int | None:
        found = self.ipr.link_lookup(ifname=name)
        return found[0] if found else None

    def host_routes(self) -> list[str]:
        """Destinations routed or addressed on the host (a new subnet must not overlap them)."""
        out = []
        with self.lock:
            for r in self.ipr.get_routes(family=2, table=254):
                dst = r.get_attr("RTA_DST")
                if dst and r["dst_len"]:
                    out.append(f"{dst}/{r['dst_len']}")
            for a in self.ipr.get_addr(family=2):
                out.append(f"{a.get_attr('IFA_ADDRESS')}/{a['prefixlen']}")
        return out

    def ensure_bridge(self, name: str, gateway: str, prefixlen: int) -> None:
        """The bridge exists, is up and carries the gateway address (created if missing)."""
        with self.lock:
            idx = self._index(name)
            if idx is None:
                self.ipr.link("add", ifname=name, kind="bridge")
                idx = self._index(name)
                self.ipr.link("set", index=idx, ifalias=self.alias)
            have = {(a.get_attr("IFA_ADDRESS"), a["prefixlen"]) for a in self.ipr.get_addr(index=idx, family=2)}
            if (gateway, prefixlen) not in have:
                self.ipr.addr("add", index=idx, address=gateway, prefixlen=prefixlen)
            self.ipr.link("set", index=idx, state="up")
        # 127.0.0.1 published ports are DNATed onto the bridge: let loopback sources route there
        _sysctl(f"/proc/sys/net/ipv4/conf/{name}/route_localnet", "1")

    def delete_link(self, name: str) -> None:
        with self.lock:
            idx = self._index(name)
            if idx is not None:
                self.ipr.link("del", index=idx)

    def delete_link_later(self, name: str) -> None:
        """Deleting a veth takes the kernel 20-35 ms: off the request's path."""
        threading.Thread(target=self._quiet_delete, args=(name,), daemon=True).start()

    def _quiet_delete(self, name: str) -> None:
        try:
            self.delete_link(name)
        except Exception:  # noqa: BLE001 - already gone
            pass

    # --- namespaces ---------------------------------------------------------
    @staticmethod
    def create_netns(path: str) -> None:
        """A new network namespace, kept alive by a bind mount at `path`."""
        os.makedirs(os.path.dirname(path), exist_ok=True)
        open(path, "w").close()

        def make() -> None:
            _errno_check(_libc.unshare(CLONE_NEWNET), "unshare(CLONE_NEWNET)")
            hsys.mount("/proc/thread-self/ns/net", path, None, hsys.MS_BIND)
        try:
            _in_thread(make)
        except BaseException:
            Netlink.remove_netns(path)
            raise

    @staticmethod
    def remove_netns(path: str) -> None:
        """Unmount and unlink; the kernel frees the namespace and its veths in the background."""
        try:
            hsys.umount(path)
        except OSError:
            pass
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass

    def plumb(self, netns: str, bridge: str, veth: str, ifname: str, ip: str, prefixlen: int,
              gateway: str, mac: str, default_route: bool) -> None:
        """A veth pair: `veth` on the bridge, its peer in the namespace as `ifname` with the address."""
        tmp = "p" + veth[4:] if veth.startswith("veth") else veth + "p"
        fd = os.open(netns, os.O_RDONLY)
        try:
            with self.lock:
                br = self._index(bridge)
                if br is None:
                    raise SystemError_(f"bridge {bridge} not found")
                self.ipr.link("add", ifname=veth, kind="veth", peer={"ifname": tmp, "net_ns_fd": fd})
                idx = self._index(veth)
                self.ipr.link("set", index=idx, master=br, state="up")
            # a container reaching its own published port comes back through this port
            _sysctl(f"/sys/class/net/{veth}/brport/hairpin_mode", "1")

            def inside() -> None:
                _errno_check(_libc.setns(fd, CLONE_NEWNET), "setns")
                ns = self._IPRoute()
                try:
                    links = {link.get_attr("IFLA_IFNAME"): link["index"] for link in ns.get_links()}
                    # never configure anything but the peer we just made in a namespace of ours
                    if tmp not in links:
                        raise SystemError_(f"setns into {netns} failed: {tmp} not found there")
                    i = links[tmp]
                    ns.link("set", index=i, ifname=ifname, address=mac)
                    ns.addr("add", index=i, address=ip, prefixlen=prefixlen)
                    ns.link("set", index=i, state="up")
                    if "lo" in links:
                        ns.link("set", index=links["lo"], state="up")
                    if default_route:
                        ns.route("add", dst="0.0.0.0/0", gateway=gateway)
                finally:
                    ns.close()
            _in_thread(inside)
        except BaseException:
            self._quiet_delete(veth)
            raise
        finally:
            os.close(fd)

    def unplumb_inside(self, netns: str, veth: str) -> None:
        """Disconnect at runtime: the pair goes (deleting one end deletes both), in the background."""
        self.delete_link_later(veth)

    def links_with_alias(self) -> list[str]:
        with self.lock:
            return [link.get_attr("IFLA_IFNAME") for link in self.ipr.get_links()
                    if link.get_attr("IFLA_IFALIAS") == self.alias]
