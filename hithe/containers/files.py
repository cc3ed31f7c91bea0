"""The per-container /etc/hostname, /etc/hosts and /etc/resolv.conf."""
from __future__ import annotations

import os


def _host_resolv() -> tuple[list[str], list[str], list[str]]:
    ns, search, opts = [], [], []
    try:
        with open("/etc/resolv.conf") as f:
            for line in f:
                parts = line.split()
                if not parts:
                    continue
                if parts[0] == "nameserver" and len(parts) > 1:
                    ns.append(parts[1])
                elif parts[0] == "search":
                    search = parts[1:]
                elif parts[0] == "options":
                    opts = parts[1:]
    except OSError:
        pass
    return ns, search, opts


def write_files(dir_: str, *, hostname: str, domainname: str, dns: list[str], dns_search: list[str],
                dns_options: list[str], extra_hosts: list[str], ip: str | None = None,
                host_network: bool = False, nameservers: list[str] | None = None) -> None:
    """`nameservers` overrides the resolvers (a user network's embedded DNS); `dns` is what else
    the container (or the daemon) asked for."""
    os.makedirs(dir_, exist_ok=True)
    full = f"{hostname}.{domainname}" if domainname else hostname
    _write(os.path.join(dir_, "hostname"), hostname + "\n")
    lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback", "fe00::0\tip6-localnet",
             "ff00::0\tip6-mcastprefix", "ff02::1\tip6-allnodes", "ff02::2\tip6-allrouters"]
    for h in extra_hosts:
        name, _, addr = h.partition(":")
        if addr:
            lines.append(f"{addr}\t{name}")
    if ip:
        lines.append(f"{ip}\t{full} {hostname}" if full != hostname else f"{ip}\t{hostname}")
    elif not host_network:
        lines.append(f"127.0.1.1\t{full} {hostname}" if full != hostname else f"127.0.1.1\t{hostname}")
    if host_network:
        try:  # Docker copies the host's own hosts file for --network host
            with open("/etc/hosts") as f:
                lines = [f.read().rstrip("\n")] + lines[6:]
        except OSError:
            pass
    _write(os.path.join(dir_, "hosts"), "\n".join(lines) + "\n")
    host_ns, host_search, host_opts = _host_resolv()
    # A container with its own network namespace cannot reach a resolver on the host's loopback.
    servers = nameservers or dns or [n for n in host_ns if not n.startswith("127.")] or []
    out = []
    if dns_search or host_search:
        out.append("search " + " ".join(dns_search or host_search))
    out += [f"nameserver {n}" for n in servers]
    if dns_options or host_opts:
        out.append("options " + " ".join(dns_options or host_opts))
    _write(os.path.join(dir_, "resolv.conf"), "\n".join(out) + "\n")


def _write(path: str, text: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)
