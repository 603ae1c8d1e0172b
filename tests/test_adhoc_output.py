"""How a module run's results (`runner run -m`) are shown: grouped report, -o, --json,
--stream, JUnit. Results are built here (the renderer tier: no sshd)."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET

from runner.events import HostFinished, RunFinished
from runner.models import CommandResult, HostResult, RunReport, Status
from runner.output import GroupedReport, JsonLines, JUnitWriter, StreamPrinter, make_console
from runner.output.oneline import OneLineReport


def console():  # type: ignore[no-untyped-def]
    out = io.StringIO()
    return make_console(out, force_terminal=False, width=100, environ={}), out


def file_result(host: str, status: Status, path: str = "/srv/app") -> HostResult:
    data = {"changed": status is Status.CHANGED, "path": path, "state": "directory"}
    return HostResult(host, status, None, module="file", module_result=data, duration=0.1)


def shell_result(host: str, rc: int, out: str) -> HostResult:
    status = Status.CHANGED if rc == 0 else Status.FAILED
    data = {"changed": True, "rc": rc, "stdout": out, "stderr": "", "delta": "0.01"}
    command = CommandResult(rc, out.encode(), b"")
    return HostResult(host, status, command, module="shell", module_result=data)


def failed_result(host: str, msg: str) -> HostResult:
    data = {"changed": False, "msg": msg}
    return HostResult(host, Status.FAILED, None, msg, "task", module="file", module_result=data)


def unreachable(host: str) -> HostResult:
    return HostResult(
        host, Status.UNREACHABLE, None, "connection refused", "connect", module="file"
    )


def report(*results: HostResult) -> RunReport:
    return RunReport({r.host: r for r in results}, 0.5)


def grouped(rep: RunReport) -> str:
    con, out = console()
    GroupedReport(con).handle(RunFinished(rep))
    return out.getvalue()


def test_identical_results_fold_under_their_verdict_changed_first():
    rep = report(
        file_result("web1", Status.OK),
        file_result("web2", Status.CHANGED),
        file_result("web3", Status.OK),
        file_result("web4", Status.CHANGED, path="/other"),
        failed_result("web5", "/srv/app exists but is not a directory"),
        unreachable("web6"),
    )
    assert grouped(rep) == (
        "---- web2 (1) changed ----\npath: /srv/app\nstate: directory\n"
        "---- web4 (1) changed ----\npath: /other\nstate: directory\n"
        "---- web[1,3] (2) ok ----\npath: /srv/app\nstate: directory\n"
        "\n"
        "web5: failed: /srv/app exists but is not a directory\n"
        "web6: unreachable: connection refused\n"
        "ok=4 changed=2 failed=1 unreachable=1 hosts=6 in 0.5s\n"
    )


def test_command_modules_show_their_output_as_runner_run_does():
    rep = report(
        shell_result("web1", 0, "hi"), shell_result("web2", 0, "hi"), shell_result("web3", 2, "")
    )
    assert grouped(rep) == (
        "---- web[1-2] (2) changed ----\nhi\n"
        "---- web3 (1) exit 2 ----\n"
        "\n"
        "ok=2 changed=2 failed=1 unreachable=0 hosts=3 in 0.5s\n"
    )


def test_a_command_run_keeps_its_summary_line():
    plain = HostResult("web1", Status.OK, CommandResult(0, b"x\n"))
    assert grouped(report(plain)).splitlines()[-1] == "ok=1 failed=0 unreachable=0 hosts=1 in 0.5s"


def test_one_line_per_host_as_ansible_prints_it():
    rep = report(
        file_result("web1", Status.OK),
        file_result("web2", Status.CHANGED),
        shell_result("web3", 1, "out"),
        failed_result("web4", "nope"),
        unreachable("web5"),
        HostResult("web6", Status.SKIPPED, None, module="shell", module_result={"skipped": True}),
    )
    con, out = console()
    OneLineReport(con).handle(RunFinished(rep))
    assert out.getvalue().splitlines() == [
        'web1 | SUCCESS => {"changed": false,"path": "/srv/app","state": "directory"}',
        'web2 | CHANGED => {"changed": true,"path": "/srv/app","state": "directory"}',
        "web3 | FAILED | rc=1 | (stdout) out",
        'web4 | FAILED! => {"changed": false,"msg": "nope"}',
        "web5 | UNREACHABLE!: connection refused",
        "web6 | SKIPPED",
        "ok=2 changed=1 failed=2 unreachable=1 hosts=6 in 0.5s skipped=1",
    ]


def test_json_records_add_module_changed_and_result():
    out = io.StringIO()
    sink = JsonLines(out)
    rep = report(file_result("web1", Status.CHANGED), unreachable("web2"))
    for result in rep.results.values():
        sink.handle(HostFinished(result))
    sink.handle(RunFinished(rep))
    first, second, summary = (json.loads(line) for line in out.getvalue().splitlines())
    assert (first["status"], first["module"], first["changed"]) == ("changed", "file", True)
    assert first["result"] == {"changed": True, "path": "/srv/app", "state": "directory"}
    assert (second["status"], second["result"], second["changed"]) == ("unreachable", None, False)
    assert summary["changed"] == 1 and summary["ok"] == 1 and summary["unreachable"] == 1


def test_stream_prints_a_result_line_for_modules_without_output():
    con, out = console()
    printer = StreamPrinter(con, ["web1", "web22"])
    printer.handle(HostFinished(file_result("web1", Status.CHANGED)))
    printer.handle(HostFinished(failed_result("web22", "nope")))
    assert out.getvalue().splitlines() == [
        "web1  | [changed] path: /srv/app, state: directory",
        "web22 | [failed: nope]",
    ]


def test_junit_keeps_the_result_as_system_out(tmp_path):
    path = tmp_path / "j.xml"
    JUnitWriter(str(path)).handle(RunFinished(report(file_result("web1", Status.OK))))
    case = ET.parse(path).getroot().find("testcase")
    assert case is not None
    assert case.findtext("system-out") == "path: /srv/app\nstate: directory\n"
