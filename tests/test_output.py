"""runner.output renderers, fed with events built from fake results.

Every test builds its own Console on a StringIO and asserts on the exact text printed.
"""

from __future__ import annotations

import io
import json
import random
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from runner.errors import UnsafePathError
from runner.events import (
    HostFinished,
    HostOutput,
    HostStarted,
    Notice,
    RunFinished,
    RunStarted,
)
from runner.models import CommandResult, HostResult, RunReport, Status
from runner.output import (
    GroupedReport,
    JsonLines,
    JUnitWriter,
    LiveProgress,
    OutDirWriter,
    StreamPrinter,
    Verbatim,
    make_console,
    out_paths,
    report_sinks,
    stream_sinks,
    summary_line,
)
from runner.output.stream import host_style

ANSI = re.compile(r"\x1b\[")
CSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")  # a whole escape sequence, to strip
STARTED = 1714564800.5  # 2024-05-01T12:00:00.500Z


def console(*, terminal: bool = False, width: int = 80, environ: dict | None = None):  # type: ignore[no-untyped-def]
    out = io.StringIO()
    return make_console(out, force_terminal=terminal, width=width, environ=environ or {}), out


def ok(host: str, stdout: bytes = b"", stderr: bytes = b"", code: int = 0, **kw) -> HostResult:  # type: ignore[no-untyped-def]
    status = Status.OK if code == 0 else Status.FAILED
    cmd = CommandResult(code, stdout, stderr, 0.25, **kw)
    return HostResult(host, status, cmd, started=STARTED, duration=0.25)


def down(host: str, error: str = "connection refused", kind: str = "connect") -> HostResult:
    return HostResult(host, Status.UNREACHABLE, error=error, error_kind=kind, started=STARTED)


def report(results: list[HostResult], duration: float = 1.83, interrupted=()) -> RunReport:  # type: ignore[no-untyped-def]
    return RunReport({r.host: r for r in results}, duration, tuple(interrupted))


def render_grouped(rep: RunReport, **kw) -> str:  # type: ignore[no-untyped-def]
    con, out = console()
    GroupedReport(con, **kw).handle(RunFinished(rep))
    return out.getvalue()


SAMPLE = [
    *[ok(f"web{i:02d}", b"Linux\n") for i in range(1, 21)],
    ok("db3", b"Linux\n"),
    ok("web21", b"", b"ls: cannot access '/x'\n", code=2),
    down("web30"),
    down("web31"),
    down("web32", "authentication failed", "auth"),
]


# -- console -------------------------------------------------------------------------


def test_console_colour_rules() -> None:
    con, out = console(terminal=True)
    con.print(Verbatim("x\n", "red"))
    assert ANSI.search(out.getvalue())

    for con, out in (console(terminal=False), console(terminal=True, environ={"NO_COLOR": "1"})):
        con.print(Verbatim("x\n", "red"))
        assert out.getvalue() == "x\n"

    out = io.StringIO()  # --color=always into a pipe, even with NO_COLOR
    con = make_console(out, color=True, environ={"NO_COLOR": "1"})
    con.print(Verbatim("x", "red"))
    assert ANSI.search(out.getvalue()) and not con.is_terminal


def test_verbatim_keeps_text_exactly() -> None:
    con, out = console(terminal=True, width=10)
    text = "a\tb [red]x[/red] " + "z" * 40 + "\n:smile: \\[x]\n"
    con.print(Verbatim(text))
    assert out.getvalue() == text  # no wrap at width 10, no tab expansion, no markup


# -- grouped report --------------------------------------------------------------------


def test_grouped_report_sample() -> None:
    assert render_grouped(report(SAMPLE, interrupted=["web40", "web41"])) == (
        "---- db3,web[01-20] (21) ----\n"
        "Linux\n"
        "---- web21 (1) exit 2 ----\n"
        "ls: cannot access '/x'\n"
        "\n"
        "web32: unreachable: authentication failed\n"
        "web[30-31]: unreachable: connection refused\n"
        "interrupted: web[40-41] (2)\n"
        "ok=21 failed=1 unreachable=3 hosts=27 in 1.8s interrupted=2\n"
    )


def test_grouped_500_identical_outputs_printed_once() -> None:
    text = render_grouped(report([ok(f"web{i:03d}", b"same\n") for i in range(1, 501)]))
    assert (
        text
        == "---- web[001-500] (500) ----\nsame\n\nok=500 failed=0 unreachable=0 hosts=500 in 1.8s\n"
    )


def test_grouped_order_by_exit_code_then_hosts() -> None:
    text = render_grouped(
        report(
            [ok("b1", b"x", code=1), ok("a1", b"y", code=1), ok("z9", b"z"), ok("c1", b"q", code=3)]
        )
    )
    headers = [line for line in text.splitlines() if line.startswith("----")]
    assert headers == [
        "---- z9 (1) ----",
        "---- a1 (1) exit 1 ----",
        "---- b1 (1) exit 1 ----",
        "---- c1 (1) exit 3 ----",
    ]
    assert "\nx\n" in text  # output without a final newline still ends its line


@pytest.mark.parametrize("terminal", [False, True])
def test_grouped_prints_markup_literally(terminal: bool) -> None:
    con, out = console(terminal=terminal)
    rep = report([ok("h[1]", b"[red]x[/red] [bold]\n", b"[/]\n", code=1)])
    GroupedReport(con).handle(RunFinished(rep))
    text = CSI.sub("", out.getvalue())
    assert "[red]x[/red] [bold]\n" in text
    assert "[/]\n" in text
    assert "---- h[1] (1) exit 1 ----" in text


def test_grouped_invalid_utf8_and_truncation() -> None:
    text = render_grouped(report([ok("a1", b"bad\xff\xfe\n"), ok("a2", b"abc", stdout_dropped=7)]))
    assert "bad\ufffd\ufffd\n" in text
    assert "abc\n[... 7 bytes truncated ...]\n" in text


def test_grouped_stderr_distinguished_only_with_colour() -> None:
    rep = report([ok("a1", b"out\n", b"err\n")])
    assert render_grouped(rep).startswith("---- a1 (1) ----\nout\nerr\n")
    con, out = console(terminal=True)
    GroupedReport(con).handle(RunFinished(rep))
    assert "\x1b[31merr\x1b[0m" in out.getvalue()
    assert "\nout\n" in out.getvalue()


def test_grouped_quiet_shows_only_failures_and_summary() -> None:
    assert render_grouped(report(SAMPLE), quiet=True) == (
        "web21: failed: exit code 2\n"
        "web32: unreachable: authentication failed\n"
        "web[30-31]: unreachable: connection refused\n"
        "ok=21 failed=1 unreachable=3 hosts=25 in 1.8s\n"
    )


def test_grouped_verbose_adds_kind_and_slowest() -> None:
    text = render_grouped(report([ok("a1"), down("b1")]), quiet=True, verbose=True)
    assert "b1: unreachable (connect): connection refused\n" in text
    assert "slowest: a1 0.2s, b1 0.0s\n" in text


def test_grouped_failed_with_output_and_error_is_in_both_places() -> None:
    timed_out = HostResult(
        "w1", Status.FAILED, CommandResult(-1, b"partial\n"), error="timed out after 5s"
    )
    text = render_grouped(report([timed_out]))
    assert "---- w1 (1) exit -1 ----\npartial\n\nw1: failed: timed out after 5s\n" in text


def test_summary_line() -> None:
    assert summary_line(report(SAMPLE)) == "ok=21 failed=1 unreachable=3 hosts=25 in 1.8s"
    rep = report(
        [ok("a"), HostResult("b", Status.CHANGED), HostResult("c", Status.SKIPPED)],
        duration=0.04,
        interrupted=["c", "d"],
    )
    assert (
        summary_line(rep) == "ok=2 failed=0 unreachable=0 hosts=4 in 0.0s skipped=1 interrupted=2"
    )


def test_notices_go_to_err_console_unless_disabled() -> None:
    con, out = console()
    err, err_out = console()
    GroupedReport(con, err_console=err).handle(Notice("forks lowered to 512"))
    assert err_out.getvalue() == "warning: forks lowered to 512\n" and out.getvalue() == ""
    GroupedReport(con, err_console=err, notices=False).handle(Notice("again"))
    assert "again" not in err_out.getvalue()


# -- stream ----------------------------------------------------------------------------


class WriteLog(io.StringIO):
    """Records every write call, to prove each line is written whole."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def write(self, s: str) -> int:
        self.writes.append(s)
        return super().write(s)


def test_stream_lines_aligned_whole_and_marked() -> None:
    out = WriteLog()
    con = make_console(out, force_terminal=False, environ={})
    sink = StreamPrinter(con, ["web01", "db3", "loadbalancer"])
    sink.handle(HostOutput("web01", "stdout", b"hello [red]x[/red]\n"))
    sink.handle(HostOutput("db3", "stderr", b"bad \xff\r\n"))
    sink.handle(HostOutput("loadbalancer", "stdout", b"no newline"))
    sink.handle(HostOutput("web01", "stdout", b"\n"))
    sink.handle(HostFinished(down("db3")))
    sink.handle(HostFinished(ok("web01")))
    assert out.getvalue() == (
        "web01        | hello [red]x[/red]\n"
        "db3          ! bad \ufffd\n"
        "loadbalancer | no newline\n"
        "web01        |\n"
        "db3          | [unreachable: connection refused]\n"
    )
    assert all(w.endswith("\n") and w.count("\n") == 1 for w in out.writes)


def test_stream_colour_per_host_is_stable() -> None:
    con, out = console(terminal=True)
    sink = StreamPrinter(con, ["web01", "web02"])
    sink.handle(HostOutput("web01", "stdout", b"a\n"))
    sink.handle(HostOutput("web01", "stderr", b"b\n"))
    first, second = out.getvalue().splitlines()
    assert first.split(" ")[0] == second.split(" ")[0]  # same coloured name
    assert host_style("web01") == host_style("web01")
    assert first.endswith(" a") and second.endswith(" b")
    assert "\x1b[1;31m!" in second


def test_stream_sinks_end_with_failures_and_summary() -> None:
    con, out = console()
    sinks = stream_sinks(con, ["a1", "b1"])
    events = [
        HostOutput("a1", "stdout", b"up\n"),
        HostFinished(ok("a1", b"up\n")),
        HostFinished(down("b1")),
        RunFinished(report([ok("a1", b"up\n"), down("b1")], 0.4)),
    ]
    for event in events:
        for sink in sinks:
            sink.handle(event)
    assert out.getvalue() == (
        "a1 | up\n"
        "b1 | [unreachable: connection refused]\n"
        "b1: unreachable: connection refused\n"
        "ok=1 failed=0 unreachable=1 hosts=2 in 0.4s\n"
    )


# -- JSON lines ------------------------------------------------------------------------

HOST_KEYS = {
    "type": str,
    "host": str,
    "status": str,
    "exit_code": (int, type(None)),
    "stdout": str,
    "stderr": str,
    "error": (str, type(None)),
    "error_kind": (str, type(None)),
    "started": (str, type(None)),
    "duration": (int, float),
}


def test_json_lines_schema() -> None:
    out = io.StringIO()
    sink = JsonLines(out)
    results = [ok("web01", b"hi \xff\n", b"warn"), ok("wé2", b"x", stdout_dropped=3), down("db1")]
    for r in results:
        sink.handle(HostFinished(r))
    sink.handle(Notice("ignored"))
    sink.handle(HostOutput("web01", "stdout", b"ignored\n"))
    sink.handle(RunFinished(report(results, 1.8)))
    lines = out.getvalue().splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == 4
    for record in records[:3]:
        assert set(record) == set(HOST_KEYS)
        for key, kind in HOST_KEYS.items():
            assert isinstance(record[key], kind), key
        assert record["type"] == "host"
    first, second, third = records[:3]
    assert first["stdout"] == "hi \ufffd\n" and first["exit_code"] == 0
    assert first["started"] == "2024-05-01T12:00:00.500+00:00"
    assert first["duration"] == 0.25 and first["status"] == "ok"
    assert second["stdout"] == "x\n[... 3 bytes truncated ...]"
    assert "wé2" in lines[1]  # ensure_ascii=False
    assert third["exit_code"] is None and third["status"] == "unreachable"
    assert third["error"] == "connection refused" and third["error_kind"] == "connect"
    assert records[3] == {
        "type": "summary",
        "hosts": 3,
        "ok": 2,
        "failed": 0,
        "unreachable": 1,
        "duration": 1.8,
    }
    assert ", " not in lines[3] and ": " not in lines[3]  # compact separators


def test_json_lines_summary_lists_interrupted() -> None:
    out = io.StringIO()
    JsonLines(out).handle(RunFinished(report([ok("a")], 2.0, interrupted=["b", "c"])))
    record = json.loads(out.getvalue())
    assert record["interrupted"] == ["b", "c"] and record["hosts"] == 3


# -- JUnit -----------------------------------------------------------------------------


def test_junit_counts_and_cases(tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    results = [
        ok("web1", b"fine\n"),
        ok("web2", b"out \x1b[31m\x00\n", b"bad \xff\x01\n", code=2),
        down("web3"),
        down("web4", "lost", "interrupted"),
    ]
    JUnitWriter(path).handle(RunFinished(report(results, 3.5, interrupted=["web4", "web5"])))
    suite = ET.parse(path).getroot()
    assert suite.tag == "testsuite" and suite.get("name") == "runner"
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("5", "1", "1")
    assert suite.get("skipped") == "2" and suite.get("time") == "3.500"
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert list(cases) == ["web1", "web2", "web3", "web4", "web5"]
    assert all(c.get("classname") == "runner.run" for c in cases.values())
    assert cases["web1"].find("system-out").text == "fine\n"
    failure = cases["web2"].find("failure")
    assert failure.get("message") == "exit code 2"
    assert failure.text == "bad \ufffd\n"  # \x01 stripped
    assert cases["web2"].find("system-out").text == "out [31m\n"  # ESC and NUL stripped
    assert cases["web3"].find("error").get("message") == "connection refused"
    assert cases["web4"].find("skipped").get("message") == "interrupted"
    assert cases["web5"].find("skipped") is not None
    assert not list(tmp_path.glob(".*.tmp"))


# -- out dir ---------------------------------------------------------------------------


def test_out_paths_sanitise(tmp_path: Path) -> None:
    assert out_paths(tmp_path, "web01") == (
        tmp_path / "web01.stdout",
        tmp_path / "web01.stderr",
        tmp_path / "web01.json",
    )
    assert out_paths(tmp_path, "../etc/passwd")[2] == tmp_path / ".._etc_passwd.json"
    assert out_paths(tmp_path, "a\0b")[0].name == "a_b.stdout"
    for bad in ("..", ".", ""):
        with pytest.raises(UnsafePathError, match="cannot be used as a file name"):
            out_paths(tmp_path, bad)


def test_out_dir_writes_json(tmp_path: Path) -> None:
    directory = tmp_path / "out" / "run1"
    writer = OutDirWriter(directory)
    writer.handle(HostFinished(ok("web01", b"hi\n")))
    writer.handle(HostFinished(down("db/1")))
    record = json.loads((directory / "web01.json").read_text())
    assert record["stdout"] == "hi\n" and record["host"] == "web01"
    assert json.loads((directory / "db_1.json").read_text())["status"] == "unreachable"
    assert sorted(p.name for p in directory.iterdir()) == ["db_1.json", "web01.json"]


# -- live progress ---------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_live_progress_2000_hosts_longest_running_first() -> None:
    con, _ = console(terminal=False)
    clock = FakeClock()
    progress = LiveProgress(con, max_running=5, clock=clock)
    hosts = [f"web{i:04d}" for i in range(2000)]
    progress.handle(RunStarted(tuple(hosts), forks=500, started=1.0))
    # host i starts at t=i/100; the first 1500 finish (every 10th fails, every 25th is
    # unreachable), except web0100..web0109 which are still running.
    for i, host in enumerate(hosts):
        clock.now = i / 100
        progress.handle(HostStarted(host, clock.now))
    for i, host in enumerate(hosts[:1500]):
        if 100 <= i < 110:
            continue
        if i % 25 == 0:
            result = down(host)
        elif i % 10 == 0:
            result = ok(host, code=1)
        else:
            result = ok(host)
        progress.handle(HostFinished(result))
    clock.now = 30.0
    text = progress.render().plain
    lines = text.splitlines()
    assert "1490/2000 ok=1311 failed=120 unreachable=59 30.0s" in lines[0]
    assert [line.split()[0] for line in lines[1:6]] == [f"web{i:04d}" for i in range(100, 105)]
    assert lines[1] == "  web0100  29.0s"
    assert lines[6] == "  and 505 more running"
    assert progress.ok == 1311 and len(progress.running) == 510


def test_live_progress_longest_running_when_starts_arrive_out_of_order() -> None:
    con, _ = console(terminal=False)
    clock = FakeClock()
    progress = LiveProgress(con, max_running=3, clock=clock)
    progress.handle(RunStarted(tuple(f"h{i}" for i in range(2000)), forks=2000, started=0.0))
    order = list(range(2000))
    random.Random(3).shuffle(order)
    for i in order:
        progress.handle(HostStarted(f"h{i}", float(i)))
    progress.handle(HostFinished(ok("h0")))
    clock.now = 5000.0
    assert progress.longest_running() == [("h1", 1.0), ("h2", 2.0), ("h3", 3.0)]
    lines = progress.render().plain.splitlines()
    assert lines[1:] == [
        "  h1  4999.0s",
        "  h2  4998.0s",
        "  h3  4997.0s",
        "  and 1996 more running",
    ]


def test_live_progress_restarted_host_moves_to_the_back() -> None:
    con, _ = console(terminal=False)
    progress = LiveProgress(con, max_running=2, clock=FakeClock())
    for i, host in enumerate(["a", "b", "c"]):
        progress.handle(HostStarted(host, float(i)))
    progress.handle(HostStarted("a", 3.0))
    assert progress.longest_running() == [("b", 1.0), ("c", 2.0)]


def test_live_progress_off_when_not_a_terminal() -> None:
    con, out = console(terminal=False)
    progress = LiveProgress(con)
    assert not progress.enabled
    progress.handle(RunStarted(("a",), forks=1, started=0.0))
    assert not progress.active
    progress.handle(Notice("not printed here"))
    progress.handle(RunFinished(report([ok("a")])))
    assert out.getvalue() == ""


def test_live_progress_start_stop_idempotent_and_notices() -> None:
    con, out = console(terminal=True)
    progress = LiveProgress(con, refresh_per_second=50)
    progress.handle(Notice("before the run"))
    assert CSI.sub("", out.getvalue()) == "warning: before the run\n"
    progress.handle(RunStarted(("a", "b"), forks=2, started=0.0))
    assert progress.active
    progress.handle(Notice("forks lowered"))
    progress.handle(HostFinished(ok("a")))
    progress.stop()
    progress.stop()
    progress.handle(RunFinished(report([ok("a")])))
    assert not progress.active
    assert "warning: forks lowered\n" in CSI.sub("", out.getvalue())


def test_report_sinks_wiring() -> None:
    con, _ = console(terminal=True)
    live, grouped = report_sinks(con)
    assert isinstance(live, LiveProgress) and isinstance(grouped, GroupedReport)
    assert not grouped.notices
    con, _ = console(terminal=False)
    (grouped,) = report_sinks(con)
    assert isinstance(grouped, GroupedReport) and grouped.notices
