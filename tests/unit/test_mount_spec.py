"""-v / --mount / --tmpfs / --volumes-from parsing, with Docker's error texts."""
from __future__ import annotations

import pytest

from hithe.containers.mountspec import (parse_all, parse_bind, parse_mount, parse_volumes_from,
                                        render_mounts, tmpfs_data, valid_mode)
from hithe.errors import InvalidParameter


def never(path: str) -> bool:
    return False


def always(path: str) -> bool:
    return True


def test_named_volume_bind():
    mp = parse_bind("my-vol:/data")
    assert (mp.type, mp.name, mp.destination, mp.rw, mp.mode, mp.driver) == ("volume", "my-vol", "/data", True,
                                                                              "z", "local")
    assert not mp.anonymous and mp.copy_data


def test_host_path_bind_single_file_read_only():
    mp = parse_bind("/etc/hostname:/tmp/h:ro")
    assert (mp.type, mp.source, mp.destination, mp.rw, mp.mode, mp.propagation) == (
        "bind", "/etc/hostname", "/tmp/h", False, "ro", "rprivate")
    assert mp.create_source  # -v makes a missing host directory


def test_modes():
    mp = parse_bind("/a:/b:rw,rshared")
    assert mp.rw and mp.propagation == "rshared"
    assert parse_bind("v1:/b:nocopy").copy_data is False
    assert parse_bind("v1:/b:ro,z").rw is False
    assert parse_bind("/x/../y/:/b//c/").destination == "/b/c" and parse_bind("/x/../y/:/b").source == "/y"
    assert valid_mode("ro,Z,rslave,nocopy,cached")
    assert not valid_mode("ro,rw") and not valid_mode("z,Z") and not valid_mode("shared,slave")


def test_anonymous_bind_entry():
    mp = parse_bind("/data")
    assert mp.type == "volume" and mp.anonymous and mp.name == ""


@pytest.mark.parametrize("raw,message", [
    ("", "invalid volume specification: ''"),
    (":/x", "invalid volume specification: ':/x'"),
    ("/a:rw", "invalid volume specification: '/a:rw'"),
    ("a:b:c:d", "invalid volume specification: 'a:b:c:d'"),
    ("x:/y:bogus", "invalid mode: bogus"),
    ("/a:/b:ro,rw", "invalid mode: ro,rw"),
    ("a:b", "invalid volume specification: 'a:b': invalid mount config for type \"volume\": "
            "invalid mount path: 'b' mount path must be absolute"),
    ("/a:/", "invalid volume specification: '/a:/': invalid mount config for type \"bind\": "
             "invalid specification: destination can't be '/'"),
    ("/a:/..", "invalid specification: destination can't be '/'"),
    ("/a://", "invalid specification: destination can't be '/'"),
])
def test_bind_errors(raw, message):
    with pytest.raises(InvalidParameter) as e:
        parse_bind(raw)
    assert message in str(e.value)


def test_mount_volume_with_options():
    mp = parse_mount({"Type": "volume", "Source": "v", "Target": "/d", "ReadOnly": True,
                      "VolumeOptions": {"NoCopy": True, "Labels": {"a": "b"},
                                        "DriverConfig": {"Name": "local", "Options": {"type": "tmpfs"}}}}, never)
    assert (mp.name, mp.rw, mp.copy_data, mp.volume_labels, mp.driver_opts, mp.mode) == (
        "v", False, False, {"a": "b"}, {"type": "tmpfs"}, "z")


def test_mount_bind_and_tmpfs():
    mp = parse_mount({"Type": "bind", "Source": "/src", "Target": "/dst",
                      "BindOptions": {"Propagation": "rslave"}}, always)
    assert (mp.source, mp.propagation, mp.mode, mp.create_source) == ("/src", "rslave", "", False)
    mp = parse_mount({"Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"SizeBytes": 2 << 20, "Mode": 0o1777}},
                     never)
    assert mp.tmpfs_options == "mode=1777,size=2m"


@pytest.mark.parametrize("m,message", [
    ({"Type": "bind", "Source": "/x", "Target": "/y"},
     'invalid mount config for type "bind": bind source path does not exist: /x'),
    ({"Type": "bind", "Target": "/y"}, 'invalid mount config for type "bind": field Source must not be empty'),
    ({"Type": "bind", "Source": "rel", "Target": "/y"},
     "invalid mount config for type \"bind\": invalid mount path: 'rel' mount path must be absolute"),
    ({"Type": "bind", "Source": "/x", "Target": "/y", "BindOptions": {"Propagation": "weird"}},
     'invalid mount config for type "bind": invalid propagation mode: weird'),
    ({"Type": "bind", "Source": "/x", "Target": "/y", "VolumeOptions": {}},
     'invalid mount config for type "bind": field VolumeOptions must not be specified'),
    ({"Type": "volume", "Target": "/y", "BindOptions": {}},
     'invalid mount config for type "volume": field BindOptions must not be specified'),
    ({"Type": "volume", "Target": "/y", "ReadOnly": True},
     'invalid mount config for type "volume": must not set ReadOnly mode when using anonymous volumes'),
    ({"Type": "volume", "Source": "v"}, 'invalid mount config for type "volume": field Target must not be empty'),
    ({"Type": "volume", "Source": "v", "Target": "/"},
     "invalid mount config for type \"volume\": invalid specification: destination can't be '/'"),
    ({"Type": "tmpfs", "Source": "x", "Target": "/t"},
     'invalid mount config for type "tmpfs": field Source must not be specified'),
    ({"Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"Options": [["suid"]]}},
     'invalid mount config for type "tmpfs": invalid option: suid'),
    ({"Type": "npipe", "Target": "/t"}, 'invalid mount config for type "npipe": mount type unknown'),
    ({"Target": "/t"}, 'invalid mount config for type "": mount type unknown'),
])
def test_mount_errors(m, message):
    with pytest.raises(InvalidParameter) as e:
        parse_mount(m, never)
    assert str(e.value) == message


def test_duplicates():
    with pytest.raises(InvalidParameter, match="^Duplicate mount point: /data$"):
        parse_all(["a1:/data", "/h:/data/"], [], {}, always)
    with pytest.raises(InvalidParameter, match="^Duplicate mount point: /data/$"):
        parse_all(["a1:/data"], [{"Type": "volume", "Target": "/data/"}], {}, always)
    with pytest.raises(InvalidParameter, match="^Duplicate mount point: /t$"):
        parse_all(["a1:/t"], [], {"/t": ""}, always)
    with pytest.raises(InvalidParameter, match="must be absolute"):
        parse_all([], [], {"rel": ""}, always)
    assert [m.destination for m in parse_all(["a1:/a", "/h:/b"], [{"Type": "tmpfs", "Target": "/c"}],
                                             {"/d": ""}, always)] == ["/a", "/b", "/c"]


def test_volumes_from():
    assert parse_volumes_from("c1") == ("c1", "rw")
    assert parse_volumes_from("c1:ro") == ("c1", "ro")
    for bad, msg in (("", "volumes-from specification cannot be an empty string"),
                     ("c1:rshared", "invalid mode: rshared"), ("c1:nocopy", "invalid mode: nocopy"),
                     ("c1:bogus", "invalid mode: bogus")):
        with pytest.raises(InvalidParameter) as e:
            parse_volumes_from(bad)
        assert str(e.value) == msg


def test_tmpfs_size_units_and_render():
    assert tmpfs_data({"SizeBytes": 1000}, True) == "ro,size=1000"
    assert tmpfs_data({"SizeBytes": 3 << 30}, False) == "size=3g"
    mp = parse_bind("v1:/d")
    mp.source = "/var/lib/hithe/volumes/v1/_data"
    assert render_mounts([mp]) == [{"Type": "volume", "Name": "v1", "Source": mp.source, "Destination": "/d",
                                    "Driver": "local", "Mode": "z", "RW": True, "Propagation": ""}]
    assert list(render_mounts([parse_bind("/h:/d")])[0]) == ["Type", "Source", "Destination", "Mode", "RW",
                                                              "Propagation"]
