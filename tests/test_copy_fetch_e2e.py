"""End-to-end: runner copy / fetch over SFTP, and run --script/--env/--chdir/--stdin-file."""

from __future__ import annotations

import hashlib
import os
import stat

import pytest

from tests.test_faults_e2e import json_records

pytestmark = pytest.mark.sshd


def hosts_of(res) -> dict[str, dict]:
    return {r["host"]: r for r in json_records(res.stdout) if r["type"] == "host"}


def test_copy_keeps_mode_and_skips_equal_files(make_fleet, cli, tmp_path):
    # a real process per run, as an operator runs three copies one after the other
    fleet = make_fleet(3)
    src = tmp_path / "tool.sh"
    src.write_bytes(b"#!/bin/sh\necho tool\n" * 1000)
    src.chmod(0o750)
    remote_dir = tmp_path / "remote"
    remote_dir.mkdir()
    # every host is the same machine here: give each its own destination
    dest = str(remote_dir) + "/{{ inventory_hostname }}.sh"
    first = cli("copy", *fleet.args(), "--json", "all", str(src), dest)
    assert first.exit_code == 0, first
    # DEST is rendered per host, as run's command is; each file written atomically
    for name in fleet.names:
        assert (remote_dir / f"{name}.sh").read_bytes() == src.read_bytes()
    literal = remote_dir / "web01.sh"
    assert stat.S_IMODE(literal.stat().st_mode) == 0o750
    second = cli("copy", *fleet.args(), "--json", "all", str(src), str(literal))
    assert second.exit_code == 0, second
    assert {r["stdout"].split()[0] for r in hosts_of(second).values()} == {"unchanged"}
    src.chmod(0o700)  # a mode change alone is copied again
    third = cli("copy", *fleet.args(), "--json", "web01", str(src), str(literal))
    assert hosts_of(third)["web01"]["stdout"].startswith("copied")
    assert stat.S_IMODE(literal.stat().st_mode) == 0o700
    assert not [p for p in remote_dir.iterdir() if ".runner-" in p.name]  # no temp files left


def test_copy_into_folder_and_fetch_back(make_fleet, in_process, tmp_path):
    fleet = make_fleet(2)
    src = tmp_path / "data.bin"
    src.write_bytes(os.urandom(300_000))
    src.chmod(0o640)
    remote_dir = tmp_path / "srv"
    remote_dir.mkdir()
    res = in_process("copy", *fleet.args(), "--json", "web01", str(src), f"{remote_dir}/")
    assert res.exit_code == 0, res
    assert (remote_dir / "data.bin").read_bytes() == src.read_bytes()
    fetched = tmp_path / "fetched"
    got = in_process(
        "fetch", *fleet.args(), "--json", "all", str(remote_dir / "data.bin"), str(fetched)
    )
    assert got.exit_code == 0, got
    for name in fleet.names:
        local = fetched / name / "data.bin"
        assert (
            hashlib.sha256(local.read_bytes()).digest() == hashlib.sha256(src.read_bytes()).digest()
        )
        assert stat.S_IMODE(local.stat().st_mode) == 0o640
    again = in_process(
        "fetch", *fleet.args(), "--json", "all", str(remote_dir / "data.bin"), str(fetched)
    )
    assert {r["stdout"].split()[0] for r in hosts_of(again).values()} == {"unchanged"}
    missing = in_process("fetch", *fleet.args(), "--json", "web01", "/nonexistent/x", str(fetched))
    assert missing.exit_code == 2 and "no such file" in hosts_of(missing)["web01"]["error"]


def test_script_env_chdir_and_stdin(make_fleet, in_process, tmp_path):
    fleet = make_fleet(2)
    script = tmp_path / "probe.sh"
    script.write_text('#!/bin/sh\necho "args=$* pwd=$(pwd) greet=$GREETING"; cat\necho "me=$0"\n')
    data = tmp_path / "stdin.txt"
    data.write_text("from-stdin\n")
    res = in_process(
        "run",
        *fleet.args(),
        "--json",
        "--script",
        str(script),
        "--env",
        "GREETING=hi there",
        "--chdir",
        "/tmp",
        "--stdin-file",
        str(data),
        "all",
        "one {{ inventory_hostname }}",
    )
    assert res.exit_code == 0, res
    for name, rec in hosts_of(res).items():
        lines = rec["stdout"].splitlines()
        assert lines[0] == f"args=one {name} pwd=/tmp greet=hi there"
        assert lines[1] == "from-stdin"
        uploaded = lines[2].removeprefix("me=")
        assert uploaded.startswith("/tmp/.runner-") and uploaded.endswith("-probe.sh")
        assert not os.path.exists(uploaded), "the uploaded script must be removed"
    usage = in_process("run", *fleet.args(), "all")
    assert usage.exit_code == 5 and "--script" in usage.stderr
