"""Engine scheduling with a fake transport: concurrency bound, every host gets a result,
errors become data, retries only on transient connect errors, cancel cuts hosts off."""

from __future__ import annotations

import gevent
import pytest

from runner.config import OutputConfig, RunConfig, Secrets
from runner.engine import Engine, JobContext, fit_forks
from runner.engine.command import CommandJob
from runner.errors import (
    AuthenticationError,
    CommandTimeoutError,
    ConnectError,
)
from runner.events import HostFinished, HostOutput, HostStarted, Recorder, RunFinished
from runner.models import CommandResult, Host, Status
from runner.transport.base import OutputCapture, Transport
from tests.fakes import FactoryOf, NoFiles


class FakeTransport(NoFiles, Transport):
    """Scripted behaviour per host name: output, exit code, delay, errors."""

    def __init__(self, host: Host, script: dict, stats: dict) -> None:
        self.host = host
        self.script = script.get(host.name, {})
        self.stats = stats

    def connect(self) -> None:
        self.stats["connects"] = self.stats.get("connects", 0) + 1
        failures = self.script.get("connect_failures", [])
        if failures:
            raise failures.pop(0)

    def run(
        self,
        command,
        *,
        stdout: OutputCapture,
        stderr: OutputCapture,
        timeout=None,
        stdin=None,
        env=None,
        pty=False,
        become=None,
    ) -> CommandResult:
        self.stats["running"] = self.stats.get("running", 0) + 1
        self.stats["peak"] = max(self.stats.get("peak", 0), self.stats["running"])
        try:
            gevent.sleep(self.script.get("delay", 0.001))
            if "raise" in self.script:
                raise self.script["raise"]
            stdout.feed(self.script.get("stdout", f"{command}\n").encode())
            stdout.close()
            stderr.close()
            return CommandResult(self.script.get("exit", 0), stdout.value, stderr.value)
        finally:
            self.stats["running"] -= 1

    def close(self) -> None:
        self.stats["closed"] = self.stats.get("closed", 0) + 1


class Runs:
    """The command job on fake transports: ``runs.command(hosts)`` -> RunReport."""

    def __init__(self, script: dict | None = None, *, forks: int = 100, **config) -> None:
        self.stats: dict = {}
        self.recorder = Recorder()
        factory = FactoryOf(lambda h: FakeTransport(h, script or {}, self.stats))
        self.context = JobContext(RunConfig(**config), Secrets(), self.recorder, factory, forks)

    def command(self, hosts, command="echo {{ inventory_hostname }}"):
        return CommandJob(command).run(self.context, hosts)


def hosts(n: int, **host_vars) -> list[Host]:
    return [Host(f"h{i:03d}", dict(host_vars)) for i in range(n)]


def test_every_host_gets_exactly_one_result_and_forks_bound_concurrency():
    runs = Runs(forks=7)
    rec, stats = runs.recorder, runs.stats
    report = runs.command(hosts(50))
    assert list(report.results) == [h.name for h in hosts(50)]
    assert all(r.status is Status.OK for r in report.results.values())
    assert stats["peak"] == 7
    assert len(rec.of_type(HostFinished)) == 50 and len(rec.of_type(HostStarted)) == 50
    assert isinstance(rec.events[-1], RunFinished)
    assert stats["closed"] == 50  # every connection closed


def test_errors_become_results_with_status():
    script = {
        "h000": {"exit": 3},
        "h001": {"connect_failures": [ConnectError("connection refused", transient=True)]},
        "h002": {"connect_failures": [AuthenticationError("authentication failed")]},
        "h003": {"raise": CommandTimeoutError("command timed out after 1s")},
        "h004": {"raise": RuntimeError("bug")},
    }
    report = Runs(script).command(hosts(6))
    r = report.results
    assert (r["h000"].status, r["h000"].exit_code) == (Status.FAILED, 3)
    assert (r["h001"].status, r["h001"].error_kind) == (Status.UNREACHABLE, "connect")
    assert (r["h002"].status, r["h002"].error_kind) == (Status.UNREACHABLE, "auth")
    assert (r["h003"].status, r["h003"].error_kind) == (Status.FAILED, "timeout")
    assert r["h004"].status is Status.FAILED and "internal error" in r["h004"].error
    assert r["h005"].status is Status.OK
    assert report.any_failed and report.any_unreachable


def test_template_error_fails_only_that_host():
    fleet = hosts(3, port=22)
    fleet[1] = Host("h001")
    report = Runs().command(fleet, "echo {{ port }}")
    assert report.results["h001"].status is Status.FAILED
    assert "'port'" in report.results["h001"].error
    assert report.results["h000"].status is Status.OK


def test_retries_only_transient_connect_errors():
    script = {
        "h000": {"connect_failures": [ConnectError("refused", transient=True)] * 2},
        "h001": {"connect_failures": [ConnectError("no such host", transient=False)]},
    }
    stats: dict = {}
    engine = Engine(
        FactoryOf(lambda h: FakeTransport(h, script, stats)), retries=2, retry_delay=0.001
    )
    results, _ = engine.map(hosts(2), engine.connection, lambda h, exc: exc)
    assert isinstance(results["h000"], FakeTransport)
    assert isinstance(results["h001"], ConnectError)
    assert stats["connects"] == 3 + 1


def test_stream_events_are_whole_lines():
    script = {"h000": {"stdout": "a\nb\npartial"}}
    runs = Runs(script, output=OutputConfig(mode="stream"))
    runs.command(hosts(1))
    lines = [e.line for e in runs.recorder.of_type(HostOutput)]
    assert lines == [b"a\n", b"b\n", b"partial"]


def test_cancel_cuts_off_running_and_unstarted_hosts():
    script = {h.name: {"delay": 5} for h in hosts(10)[2:]}
    runs = Runs(script, forks=4)
    gevent.spawn_later(0.2, runs.context.cancel)
    report = runs.command(hosts(10))
    assert set(report.results) == {"h000", "h001"}
    assert set(report.interrupted) == {f"h{i:03d}" for i in range(2, 10)}
    assert runs.stats["running"] == 0


@pytest.mark.parametrize(
    ("requested", "hosts_", "limit", "expected"),
    [(100, 10, 1024, 10), (100, 500, 1024, 100), (1000, 5000, 1024, 320), (5, 0, 1024, 1)],
)
def test_fit_forks(requested, hosts_, limit, expected):
    forks, notice = fit_forks(requested, hosts_, limit)
    assert forks == expected
    assert (notice is not None) == (expected < min(requested, max(hosts_, 1)))


def test_output_capture_bounds_memory():
    cap = OutputCapture(limit=10)
    for _ in range(1000):
        cap.feed(b"x" * 1000)
    assert cap.value == b"x" * 10 and cap.dropped == 1_000_000 - 10


def test_connections_to_one_address_are_paced():
    """No more than connect_burst handshakes in flight per address, whatever the forks."""
    stats: dict = {"opening": 0, "peak_opening": 0}

    class SlowConnect(FakeTransport):
        def connect(self) -> None:
            stats["opening"] += 1
            stats["peak_opening"] = max(stats["peak_opening"], stats["opening"])
            gevent.sleep(0.01)
            stats["opening"] -= 1

    factory = FactoryOf(lambda h: SlowConnect(h, {}, stats))

    def connect_all(engine: Engine, fleet: list[Host]) -> dict:
        results, _ = engine.map(fleet, engine.connection, lambda h, exc: exc)
        engine.close()
        return results

    same = [Host(f"h{i}", {"ansible_host": "10.9.9.9"}) for i in range(60)]
    results = connect_all(Engine(factory, forks=100, connect_burst=8), same)
    assert len(results) == 60 and stats["peak_opening"] == 8
    stats["peak_opening"] = 0
    spread = [Host(f"s{i}", {"ansible_host": f"10.9.9.{i}"}) for i in range(60)]
    connect_all(Engine(factory, forks=100, connect_burst=8), spread)
    assert stats["peak_opening"] > 8  # different addresses are not held back by it
    stats["peak_opening"] = 0
    connect_all(Engine(factory, forks=100, connect_concurrency=5), spread)
    assert stats["peak_opening"] == 5  # ...but by the bound on all handshakes in flight
