"""hithed's flags read like dockerd's: Go bool flags, the contract's network and registry flags."""
from __future__ import annotations

import json

import pytest

from hithe.daemon.config import instance_name, parse_args


@pytest.mark.parametrize("argv, want", [([], True), (["--ip-forward"], True),
                                        (["--ip-forward=false"], False), (["--ip-forward=true"], True)])
def test_ip_forward_is_a_go_bool_flag(argv, want):
    assert parse_args(argv + ["--config-file", "/nonexistent"]).ip_forward is want


def test_daemon_json_keys_and_flags(tmp_path):
    conf = tmp_path / "daemon.json"
    conf.write_text(json.dumps({"ip-forward": False, "insecure-registries": ["10.1.2.3:5000"]}))
    cfg = parse_args(["--config-file", str(conf), "--data-root", str(tmp_path / "d"), "-b", "br9",
                      "--bip", "10.9.9.1/24", "--dns", "127.0.0.1"])
    assert cfg.ip_forward is False
    assert (cfg.bridge, cfg.bip, cfg.dns) == ("br9", "10.9.9.1/24", ["127.0.0.1"])
    assert "10.1.2.3:5000" in cfg.insecure_registries
    assert cfg.instance == instance_name(str(tmp_path / "d")) != "hithe"
