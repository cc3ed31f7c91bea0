"""The tutorial's networking chapter: default bridge, published ports, user networks, DNS."""
from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import time
import urllib.request

import pytest

from tests.conftest import session_network_config

pytestmark = pytest.mark.integration


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _get(url: str, tries: int = 30) -> str:
    for _ in range(tries):
        try:
            return urllib.request.urlopen(url, timeout=2).read().decode()
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing served at {url}")


@pytest.fixture
def usernet(hithe):
    name = "tn" + str(time.time_ns())[-6:]
    assert hithe("network", "create", name).rc == 0
    yield name
    for cid in hithe("ps", "-aq").out.split():
        if name in hithe("inspect", "-f", "{{json .NetworkSettings.Networks}}", cid).out:
            hithe("rm", "-f", cid)
    hithe("network", "rm", "-f", name)


def test_default_bridge_gives_an_address_in_the_subnet(hithe):
    cfg = session_network_config()
    cid = hithe("run", "-d", "busybox", "sleep", "30").out.strip()
    try:
        ip = hithe("inspect", "-f", "{{.NetworkSettings.IPAddress}}", cid).out.strip()
        gw = hithe("inspect", "-f", "{{.NetworkSettings.Networks.bridge.Gateway}}", cid).out.strip()
        assert gw == cfg["bip"].split("/")[0]
        assert ip.rsplit(".", 1)[0] == gw.rsplit(".", 1)[0] and ip != gw
        inside = hithe("exec", cid, "ip", "-4", "-o", "addr", "show", "eth0").out
        assert ip + "/24" in inside
        assert hithe("exec", cid, "ping", "-c1", "-W1", gw).rc == 0
        net = json.loads(hithe("network", "inspect", "bridge").out)[0]
        assert net["Options"]["com.docker.network.bridge.name"] == cfg["bridge"]
        assert net["Containers"][cid]["IPv4Address"] == ip + "/24"
    finally:
        hithe("rm", "-f", cid)


def test_publish_on_loopback_serves_a_file(hithe):
    port = _free_port()
    cid = hithe("run", "-d", "-p", f"127.0.0.1:{port}:80", "busybox", "sh", "-c",
                "mkdir -p /www && echo hello-from-hithe > /www/index.html && httpd -f -p 80 -h /www").out.strip()
    try:
        assert _get(f"http://127.0.0.1:{port}/") == "hello-from-hithe\n"
        assert hithe("port", cid, "80").out.strip() == f"127.0.0.1:{port}"
        assert f"127.0.0.1:{port}->80/tcp" in hithe("ps", "--format", "{{.Ports}}", "-f", f"id={cid}").out
        # the same host port again: Docker's refusal, and nothing is left running
        r = hithe("run", "-d", "-p", f"127.0.0.1:{port}:80", "busybox", "true")
        assert r.rc != 0 and f"Bind for 127.0.0.1:{port} failed: port is already allocated" in r.err
    finally:
        hithe("rm", "-f", cid)
    # released at removal: the port can be published again
    cid = hithe("run", "-d", "-p", f"127.0.0.1:{port}:80", "busybox", "sleep", "5").out.strip()
    assert cid and hithe("rm", "-f", cid).rc == 0


def test_publish_all_and_port_command(hithe):
    cid = hithe("run", "-d", "-P", "--expose", "80", "--expose", "81/udp", "busybox", "sh", "-c",
                "echo P > /tmp/index.html && httpd -f -p 80 -h /tmp").out.strip()
    try:
        lines = sorted(hithe("port", cid).out.splitlines())
        assert len(lines) == 2 and lines[0].startswith("80/tcp -> 0.0.0.0:") and lines[1].startswith("81/udp -> 0.0.0.0:")
        host_port = int(lines[0].rsplit(":", 1)[1])
        lo, hi = map(int, open("/proc/sys/net/ipv4/ip_local_port_range").read().split())
        assert lo <= host_port <= hi
        assert _get(f"http://127.0.0.1:{host_port}/index.html") == "P\n"
        r = hithe("port", cid, "9999")
        assert r.rc != 0 and "No public port '9999' published" in r.err
    finally:
        hithe("rm", "-f", cid)


def test_bad_port_specs_are_refused(hithe):
    r = hithe("run", "--rm", "-p", "127.0.0.1:abc:80", "busybox", "true")
    assert r.rc == 125 and "invalid hostPort: abc" in r.err


def test_network_none_has_only_loopback(hithe):
    out = hithe("run", "--rm", "--network", "none", "busybox", "ls", "/sys/class/net").out.split()
    assert out == ["lo"]
    assert hithe("run", "--rm", "--network", "none", "busybox", "cat", "/etc/resolv.conf").rc == 0


def test_dns_and_add_host_land_in_the_files(hithe):
    out = hithe("run", "--rm", "--dns", "10.255.255.1", "--dns-search", "corp.example", "--dns-option", "ndots:3",
                "--add-host", "db.local:10.9.8.7", "busybox", "cat", "/etc/resolv.conf", "/etc/hosts").out
    assert "nameserver 10.255.255.1" in out and "search corp.example" in out and "options ndots:3" in out
    assert "10.9.8.7\tdb.local" in out


def test_user_network_name_resolution(hithe, usernet):
    web = hithe("run", "-d", "--name", f"{usernet}-web", "--network", usernet, "--network-alias", "webalias",
                "busybox", "sh", "-c", "echo served > /tmp/index.html && httpd -f -p 80 -h /tmp").out.strip()
    assert web
    other = f"{usernet}-web"
    r = hithe("run", "--rm", "--network", usernet, "busybox", "sh", "-c",
              f"ping -c1 -W1 {other} && nslookup webalias && wget -q -O- http://{other}/index.html")
    assert r.rc == 0, r.out + r.err
    ip = hithe("inspect", "-f", f"{{{{(index .NetworkSettings.Networks \"{usernet}\").IPAddress}}}}", web).out.strip()
    assert f"Address: {ip}" in r.out and "served" in r.out
    # nc between the two, and a --link alias resolved for the linking container only
    srv = hithe("run", "-d", "--name", f"{usernet}-nc", "--network", usernet, "busybox", "sh", "-c",
                "echo over-nc | nc -l -p 7000").out.strip()
    time.sleep(0.3)
    r = hithe("run", "--rm", "--network", usernet, "--link", f"{usernet}-nc:ncsrv", "busybox", "nc", "ncsrv", "7000")
    assert "over-nc" in r.out, r.err
    hithe("rm", "-f", srv)
    # names of other networks and unknown names do not resolve (nothing is forwarded in tests)
    r = hithe("run", "--rm", "--network", usernet, "busybox", "nslookup", "nosuch-name-zz")
    assert r.rc != 0
    # network rm while in use is refused
    r = hithe("network", "rm", usernet)
    assert r.rc != 0 and "has active endpoints" in r.err
    net = json.loads(hithe("network", "inspect", usernet).out)[0]
    assert web in net["Containers"]


def test_connect_disconnect_at_runtime(hithe, usernet, daemon):
    cid = hithe("run", "-d", "busybox", "sleep", "60").out.strip()
    try:
        since = str(int(time.time()) - 1)
        assert hithe("network", "connect", "--alias", "late", usernet, cid).rc == 0
        assert "eth1" in hithe("exec", cid, "ls", "/sys/class/net").out.split()
        r = hithe("run", "--rm", "--network", usernet, "busybox", "nslookup", "late")
        assert r.rc == 0
        assert usernet in hithe("inspect", "-f", "{{json .NetworkSettings.Networks}}", cid).out
        assert hithe("network", "disconnect", usernet, cid).rc == 0
        time.sleep(0.3)
        assert "eth1" not in hithe("exec", cid, "ls", "/sys/class/net").out.split()
        ev = hithe("events", "--since", since, "--until", str(int(time.time()) + 1),
                   "--filter", "type=network", "--format", "{{.Action}}").out.split()
        assert "connect" in ev and "disconnect" in ev
        r = hithe("network", "disconnect", usernet, cid)
        assert r.rc != 0 and "is not connected" in r.err
    finally:
        hithe("rm", "-f", cid)


def test_predefined_networks_and_errors(hithe):
    names = hithe("network", "ls", "--format", "{{.Name}} {{.Driver}}").out.splitlines()
    assert {"bridge bridge", "host host", "none null"} <= set(names)
    head = hithe("network", "ls").out.splitlines()[0].split()
    assert head == ["NETWORK", "ID", "NAME", "DRIVER", "SCOPE"]
    r = hithe("network", "rm", "bridge")
    assert r.rc != 0 and "bridge is a pre-defined network and cannot be removed" in r.err
    r = hithe("network", "create", "--subnet", "not-a-subnet", "badnet")
    assert r.rc != 0 and "invalid subnet" in r.err
    r = hithe("network", "create", "bad name!")
    assert r.rc != 0 and "invalid network name" in r.err
    r = hithe("network", "create", "-o", 'com.docker.network.bridge.name=x"; flush ruleset', "evil")
    assert r.rc != 0 and "invalid bridge name" in r.err
    r = hithe("run", "--rm", "--network", "nosuchnet", "busybox", "true")
    assert r.rc == 125 and "network nosuchnet not found" in r.err


def test_user_subnet_and_static_ip(hithe):
    cfg = session_network_config()
    base = cfg["default-address-pools"][0]["base"].split(".")
    subnet = f"{base[0]}.{base[1]}.{int(base[2]) + 14}.0/24"
    name = "tnstatic"
    assert hithe("network", "create", "--subnet", subnet, "--label", "k=v", name).rc == 0
    try:
        want = subnet.rsplit(".", 1)[0] + ".77"
        out = hithe("run", "--rm", "--network", name, "--ip", want, "busybox", "ip", "-4", "-o", "addr", "show", "eth0").out
        assert want + "/24" in out
        assert hithe("network", "ls", "-q", "--filter", "label=k=v").out.strip()
        r = hithe("network", "create", "--subnet", subnet, "tnoverlap")
        assert r.rc != 0 and "overlaps" in r.err
    finally:
        hithe("network", "rm", name)
    assert "tnstatic" in hithe("network", "prune", "-f").out or \
        "tnstatic" not in hithe("network", "ls").out


def test_kill9_restart_keeps_published_port(hithe, daemon):
    port = _free_port()
    cid = hithe("run", "-d", "-p", f"127.0.0.1:{port}:80", "busybox", "sh", "-c",
                "echo kept > /tmp/i.html && httpd -f -p 80 -h /tmp").out.strip()
    try:
        assert _get(f"http://127.0.0.1:{port}/i.html") == "kept\n"
        daemon.stop(signal.SIGKILL)
        daemon.start()
        assert _get(f"http://127.0.0.1:{port}/i.html") == "kept\n"
        assert hithe("port", cid, "80").out.strip() == f"127.0.0.1:{port}"
        # and a new publication re-renders the rules without losing the old one
        p2 = _free_port()
        c2 = hithe("run", "-d", "-p", f"127.0.0.1:{p2}:80", "busybox", "httpd", "-f", "-p", "80", "-h", "/etc").out.strip()
        assert _get(f"http://127.0.0.1:{p2}/hostname").strip() == c2[:12]
        assert _get(f"http://127.0.0.1:{port}/i.html") == "kept\n"
        hithe("rm", "-f", c2)
    finally:
        hithe("rm", "-f", cid)


def test_docker_py_networks(api, daemon, busybox):
    docker = pytest.importorskip("docker")
    client = docker.DockerClient(base_url=daemon.host, version="1.45")
    net = client.networks.create("tnpy", driver="bridge", labels={"from": "py"})
    try:
        assert client.networks.get("tnpy").attrs["Labels"] == {"from": "py"}
        out = client.containers.run("busybox", ["sh", "-c", "ip -4 -o addr show eth0"], network="tnpy", remove=True)
        subnet = net.attrs["IPAM"]["Config"][0]["Subnet"] if net.attrs.get("IPAM") else \
            client.networks.get("tnpy").attrs["IPAM"]["Config"][0]["Subnet"]
        assert subnet.rsplit(".", 1)[0] in out.decode()
        c = client.containers.run("busybox", "sleep 30", detach=True)
        net.connect(c)
        net.reload()
        assert c.id in net.attrs["Containers"]
        net.disconnect(c)
        c.remove(force=True)
    finally:
        net.remove()


@pytest.mark.skipif(not shutil.which("docker"), reason="needs the docker CLI")
def test_docker_cli_network_ls_and_publish(daemon, busybox):
    env = daemon.env
    out = subprocess.run(["docker", "network", "ls"], env=env, capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and "bridge" in out.stdout and "NETWORK ID" in out.stdout
    port = _free_port()
    r = subprocess.run(["docker", "run", "-d", "-p", f"127.0.0.1:{port}:80", "busybox", "httpd", "-f", "-p", "80",
                        "-h", "/etc"], env=env, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    cid = r.stdout.strip()
    try:
        assert _get(f"http://127.0.0.1:{port}/hostname").strip() == cid[:12]
        p = subprocess.run(["docker", "port", cid], env=env, capture_output=True, text=True, timeout=30)
        assert f"80/tcp -> 127.0.0.1:{port}" in p.stdout
    finally:
        subprocess.run(["docker", "rm", "-f", cid], env=env, capture_output=True, timeout=30)
