"""--procs: several worker processes behave exactly like one process."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from runner.models import CommandResult, HostResult, Status
from runner.multiproc import read_frame, split_round_robin, write_frame
from tests.conftest import REPO

VOLATILE = ("started", "duration")


def normalised(stdout: str) -> tuple[list[dict], dict]:
    records = [json.loads(line) for line in stdout.splitlines()]
    hosts = sorted(
        ({k: v for k, v in r.items() if k not in VOLATILE} for r in records[:-1]),
        key=lambda r: r["host"],
    )
    summary = {k: v for k, v in records[-1].items() if k not in VOLATILE}
    return hosts, summary


def test_split_round_robin():
    assert split_round_robin([1, 2, 3, 4, 5], 2) == [[1, 3, 5], [2, 4]]
    assert split_round_robin([1, 2], 8) == [[1], [2]]
    assert split_round_robin([], 3) == []


def test_frames_round_trip_results():
    buf = io.BytesIO()
    result = HostResult("web01", Status.FAILED, CommandResult(3, b"out\xff", b"err"), None)
    write_frame(buf, result)
    write_frame(buf, {"k": 1})
    buf.seek(0)
    assert read_frame(buf) == result
    assert read_frame(buf) == {"k": 1}
    assert read_frame(buf) is None


@pytest.mark.sshd
def test_500_hosts_every_result_checked_and_procs_give_identical_json(make_fleet, cli):
    fleet = make_fleet(500)
    command = "echo {{ inventory_hostname }}; test {{ inventory_hostname }} != web007 || exit 7"
    one = cli("run", *fleet.args(), "--json", "--procs", "1", "all", command)
    assert one.exit_code == 2, one
    hosts, summary = normalised(one.stdout)
    assert [h["host"] for h in hosts] == fleet.names
    for h in hosts:
        expected_code = 7 if h["host"] == "web007" else 0
        assert (h["stdout"], h["exit_code"]) == (f"{h['host']}\n", expected_code)
    assert summary == {"type": "summary", "hosts": 500, "ok": 499, "failed": 1, "unreachable": 0}

    three = cli("run", *fleet.args(), "--json", "--procs", "3", "all", command)
    assert three.exit_code == 2, three
    assert normalised(three.stdout) == (hosts, summary)


@pytest.mark.sshd
def test_ctrl_c_during_multiprocess_run_leaves_no_process(make_fleet, user_sshd):
    fleet = make_fleet(12, server=user_sshd)
    marker = "43.217"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "runner",
            "run",
            *fleet.args(),
            "--procs",
            "3",
            "--stream",
            "all",
            f"echo started; sleep {marker}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.stdout is not None
    seen = 0
    while seen < 12:
        line = proc.stdout.readline()
        assert line, "runner ended early"
        seen += "started" in line
    workers = subprocess.run(
        ["pgrep", "-f", "runner _worker"], capture_output=True, text=True
    ).stdout.split()
    assert len(workers) >= 3
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    assert "interrupted=12" in out
    time.sleep(0.5)
    alive = [pid for pid in workers if os.path.exists(f"/proc/{pid}")]
    assert alive == [], "worker processes left behind"
    if user_sshd is not None:
        left = subprocess.run(["pgrep", "-f", f"sleep {marker}"], capture_output=True, text=True)
        assert left.stdout.strip() == ""
