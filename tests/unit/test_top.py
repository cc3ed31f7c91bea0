from hithe.containers.top import filter_ps

PS = """UID          PID    PPID  C STIME TTY          TIME CMD
root           1       0  0 10:00 ?        00:00:01 /sbin/init
root        4242    4200  0 10:01 ?        00:00:00 sleep 31
root        4243    4242  0 10:01 ?        00:00:00 sh -c echo a b c
"""


def test_keeps_only_container_pids_and_whole_commands():
    doc = filter_ps(PS, {4242, 4243})
    assert doc["Titles"] == ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
    assert [p[1] for p in doc["Processes"]] == ["4242", "4243"]
    assert doc["Processes"][1][-1] == "sh -c echo a b c"


def test_missing_pid_column_is_an_error():
    import pytest
    from hithe.errors import InvalidParameter
    with pytest.raises(InvalidParameter, match="Couldn't find PID field"):
        filter_ps("USER COMMAND\nroot x\n", {1})
