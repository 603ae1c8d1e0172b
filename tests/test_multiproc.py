"""--procs: several worker processes behave exactly like one process."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys

import pytest

from runner.config import RunConfig, Secrets
from runner.engine.command import CommandJob
from runner.errors import ConfigError
from runner.events import HostFinished, HostOutput, HostStarted, Notice
from runner.executors import Run
from runner.executors.procs import split_round_robin
from runner.executors.protocol import (
    decode_event,
    encode_event,
    read_record,
    record,
    write_record,
)
from runner.models import CommandResult, Host, HostResult, Status
from runner.testing.fleet import processes_matching, wait_until
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


def test_protocol_records_round_trip_events_runs_and_secrets():
    events = [
        HostStarted("web01", 12.5),
        HostOutput("web01", "stderr", b"half a line \xff"),
        HostFinished(HostResult("web01", Status.FAILED, CommandResult(3, b"out\xff", b"err"))),
        HostFinished(HostResult("web02", Status.UNREACHABLE, None, "refused", "connect")),
        Notice("forks lowered", "warning"),
    ]
    buf = io.BytesIO()
    for event in events:
        write_record(buf, record("event", event=encode_event(event)))
    run = Run((Host("web01", {"ansible_port": 2222}),), CommandJob("uptime"), RunConfig())
    write_record(buf, record("run", run=run.to_dict(), secrets=Secrets("pw").to_dict()))
    buf.seek(0)
    lines = buf.getvalue().splitlines()
    assert all(b"\n" not in line for line in lines)  # one JSON object per line
    decoded = [decode_event(read_record(buf)["event"]) for _ in events]
    assert decoded == events
    last = read_record(buf)
    assert Run.from_dict(last["run"]).hosts[0].port == 2222
    assert Secrets.from_dict(last["secrets"]).ssh_password == "pw"
    assert read_record(buf) is None


def test_a_record_of_another_protocol_version_is_refused():
    with pytest.raises(ConfigError, match="version 2"):
        read_record(io.BytesIO(b'{"protocol": 2, "type": "event"}\n'))


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
        ["pgrep", "-P", str(proc.pid), "-f", "runner _worker"], capture_output=True, text=True
    ).stdout.split()
    assert len(workers) >= 3
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    assert "interrupted=12" in out
    wait_until(
        lambda: not [pid for pid in workers if os.path.exists(f"/proc/{pid}")],
        5,
        "the worker processes to end",
    )
    if user_sshd is not None:
        wait_until(
            lambda: not processes_matching(f"^sleep {marker}"), 5, f"no remote 'sleep {marker}'"
        )
