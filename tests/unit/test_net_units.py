"""Networking logic without a host: port specs, IPAM, nft rendering, hosts/resolv.conf."""
from __future__ import annotations

import ipaddress

import pytest

from hithe.cli.opts_parse import parse_port_spec
from hithe.containers.files import write_files
from hithe.errors import Conflict, Forbidden, InvalidParameter
from hithe.network import ipam, nft
from hithe.network.model import PortMap
from hithe.network.ports import PortAllocator, parse_bindings


# --- -p parsing (docker's CLI errors) and the daemon's PortBindings -------------------------
def test_cli_port_specs():
    assert parse_port_spec("8080:80") == [("80/tcp", "", "8080")]
    assert parse_port_spec("127.0.0.1:8080:80/udp") == [("80/udp", "127.0.0.1", "8080")]
    assert parse_port_spec("80") == [("80/tcp", "", "")]
    assert parse_port_spec("8000-8001:80-81") == [("80/tcp", "", "8000"), ("81/tcp", "", "8001")]


@pytest.mark.parametrize("spec,msg", [
    ("8080:abc", "invalid containerPort: abc"), ("x:80", "invalid hostPort: x"),
    ("1.2.3:80:80", "invalid IP address: 1.2.3"), ("80/icmp", "invalid proto: icmp"),
    ("8000-8002:80-81", "invalid ranges specified"), ("8080:", "no port specified"),
])
def test_cli_port_spec_errors(spec, msg):
    with pytest.raises(ValueError, match=msg):
        parse_port_spec(spec)


def test_daemon_bindings():
    maps = parse_bindings({"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}], "53/udp": [{}]},
                          {"443/tcp": {}}, publish_all=True)
    assert PortMap(80, "tcp", "127.0.0.1", 8080) in maps
    assert PortMap(53, "udp", "", 0) in maps and PortMap(443, "tcp") in maps
    assert parse_bindings({"80": [{"HostIp": "0.0.0.0", "HostPort": "8000-8010"}]}, {}, False) == \
        [PortMap(80, "tcp", "", 8000, 8010)]


@pytest.mark.parametrize("bindings,msg", [
    ({"80/tcp": [{"HostPort": "abc"}]}, 'invalid port specification: "abc"'),
    ({"80/tcp": [{"HostPort": "70000"}]}, "invalid port specification"),
    ({"0/tcp": [{}]}, "invalid containerPort"),
    ({"80/icmp": [{}]}, "invalid proto: icmp"),
    ({"80/tcp": [{"HostIp": "not-an-ip"}]}, "invalid IP address: not-an-ip"),
    ({"80/tcp": [{"HostIp": "1.2.3.4; drop", "HostPort": "1"}]}, "invalid IP address"),
])
def test_daemon_binding_errors(bindings, msg):
    with pytest.raises(InvalidParameter, match=msg):
        parse_bindings(bindings, {}, False)


def test_port_allocator_conflicts_and_release():
    a = PortAllocator()
    got = a.allocate([PortMap(80, "tcp", "127.0.0.1", 0)])
    assert 1024 < got[0].host_port <= 65535
    p = got[0].host_port
    with pytest.raises(Conflict, match=f"Bind for 0.0.0.0:{p} failed: port is already allocated"):
        a.allocate([PortMap(80, "tcp", "", p)])
    # another address, or udp, does not clash with 127.0.0.1/tcp
    a.allocate([PortMap(80, "udp", "127.0.0.1", p)])
    a.release(got)
    assert a.allocate([PortMap(80, "tcp", "", p)])[0].host_port == p


def test_port_allocator_all_or_nothing():
    a = PortAllocator()
    first = a.allocate([PortMap(1, "tcp", "127.0.0.1", 0)])[0].host_port
    with pytest.raises(Conflict):
        a.allocate([PortMap(2, "tcp", "127.0.0.2", 0), PortMap(3, "tcp", "127.0.0.1", first)])
    assert len(a._used) == 1  # the first of the failed pair was given back


# --- IPAM ----------------------------------------------------------------------------------
def test_pick_subnet_skips_used_and_host_routes():
    pools = ipam.parse_pools([{"base": "10.99.0.0/22", "size": 24}])
    used = [ipaddress.IPv4Network("10.99.0.0/24"), ipaddress.IPv4Network("10.99.1.128/25")]
    assert str(ipam.pick_subnet(pools, used)) == "10.99.2.0/24"
    with pytest.raises(Forbidden, match="non-overlapping"):
        ipam.pick_subnet(pools, [ipaddress.IPv4Network("10.99.0.0/22")])


def test_default_pools_start_at_docker_default():
    assert str(ipam.pick_subnet(ipam.parse_pools([]), [])) == "172.17.0.0/16"


def test_address_pool_sequential_reserve_release():
    p = ipam.AddressPool("10.5.0.0/29", "10.5.0.1")
    assert [p.allocate() for _ in range(5)] == ["10.5.0.2", "10.5.0.3", "10.5.0.4", "10.5.0.5", "10.5.0.6"]
    with pytest.raises(Forbidden, match="no available IPv4 addresses"):
        p.allocate()
    p.release("10.5.0.3")
    assert p.allocate() == "10.5.0.3"
    with pytest.raises(Forbidden, match="Address already in use"):
        p.reserve("10.5.0.1")
    with pytest.raises(InvalidParameter, match="not in the network's subnet"):
        p.reserve("10.6.0.2")


def test_ip_range_and_config_validation():
    assert ipam.parse_config("10.7.0.0/16", "", "10.7.5.0/24") == ("10.7.0.0/16", "10.7.0.1", "10.7.5.0/24")
    p = ipam.AddressPool("10.7.0.0/16", "10.7.0.1", "10.7.5.0/24")
    assert p.allocate() == "10.7.5.1"
    with pytest.raises(InvalidParameter, match="no matching subnet for gateway"):
        ipam.parse_config("10.7.0.0/16", "10.8.0.1", "")
    with pytest.raises(InvalidParameter, match="invalid subnet"):
        ipam.parse_config("10.7.0.0/33", "", "")


def test_mac_follows_ip():
    assert ipam.mac_for("172.17.0.2") == "02:42:ac:11:00:02"


# --- nft rendering -------------------------------------------------------------------------
def test_nft_render_replaces_only_our_table():
    rs = nft.Ruleset("hithe-abc", [nft.BridgeRules("ht1", "10.1.0.0/24"), nft.BridgeRules("br-x", "10.2.0.0/24", True)],
                     [nft.DNAT("tcp", "127.0.0.1", 8080, "10.1.0.2", 80, "ht1"), nft.DNAT("udp", "", 53, "10.1.0.3", 53, "ht1")])
    text = nft.render(rs)
    lines = text.splitlines()
    assert lines[:2] == ["table ip hithe-abc {}", "delete table ip hithe-abc"]
    assert "flush ruleset" not in text and "delete table ip hithe-abc" in text
    assert "ip daddr 127.0.0.1 tcp dport 8080 dnat to 10.1.0.2:80" in text
    assert "    udp dport 53 dnat to 10.1.0.3:53" in text
    assert 'ip saddr 10.1.0.0/24 oifname != "ht1" masquerade' in text
    assert 'oifname "ht1" ip saddr 127.0.0.0/8 masquerade' in text
    # an internal network is not masqueraded out and cannot forward off its bridge
    assert 'ip saddr 10.2.0.0/24 oifname != "br-x" masquerade' not in text
    assert 'iifname "br-x" oifname != "br-x" drop' in text


def test_nft_render_quotes_hostile_names():
    text = nft.render(nft.Ruleset("t", [nft.BridgeRules('a"; flush ruleset; "', "10.0.0.0/24")]))
    assert '"a; flush ruleset; "' in text  # stays one quoted name


# --- hosts and resolv.conf -----------------------------------------------------------------
def test_files_with_ip_links_dns(tmp_path):
    write_files(str(tmp_path), hostname="abc", domainname="", dns=["1.1.1.1"], dns_search=["example.com"],
                dns_options=["ndots:2"], extra_hosts=["db:10.0.0.9", "lnk other:10.1.0.3"], ip="10.1.0.2")
    hosts = (tmp_path / "hosts").read_text()
    assert "10.0.0.9\tdb" in hosts and "10.1.0.3\tlnk other" in hosts and "10.1.0.2\tabc" in hosts
    assert "127.0.1.1" not in hosts
    assert (tmp_path / "resolv.conf").read_text() == \
        "search example.com\nnameserver 1.1.1.1\noptions ndots:2\n"


def test_files_embedded_dns_overrides(tmp_path):
    write_files(str(tmp_path), hostname="h", domainname="", dns=["1.1.1.1"], dns_search=[],
                dns_options=["ndots:0"], extra_hosts=[], ip="10.1.0.2", nameservers=["10.1.0.1"])
    text = (tmp_path / "resolv.conf").read_text()
    assert "nameserver 10.1.0.1" in text and "1.1.1.1" not in text
