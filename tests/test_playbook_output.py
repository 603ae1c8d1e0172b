"""Playbook renderers: grouped task lines, folded recap, JSON Lines, JUnit."""

from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET

from rich.console import Console

from runner.models import Status
from runner.output import make_console
from runner.output.playbook import PlaybookView, recap_lines
from runner.output.playbook_json import PlaybookJsonLines, PlaybookJUnit
from runner.playbook.events import (
    HostCounts,
    PlaybookFinished,
    PlayStarted,
    PlayStopped,
    TaskFinished,
    TaskOutcome,
    TaskStarted,
)
from tests.fakes import FakeFleet, run_playbook


def outcome(host, status, **result):
    return TaskOutcome(host, status, result)


def events():
    names = [f"web{i:02d}" for i in range(1, 41)]
    outs = [outcome(n, Status.OK, changed=False) for n in names[:37]]
    outs += [outcome(n, Status.CHANGED, changed=True) for n in names[37:39]]
    outs.append(
        outcome(
            "web40",
            Status.FAILED,
            rc=3,
            stderr="disk full",
            failed=True,
            msg="non-zero return code",
        )
    )
    ok = HostCounts(ok=2, changed=0)
    recap = {n: ok for n in names[:37]}
    recap.update({n: HostCounts(ok=2, changed=1) for n in names[37:39]})
    recap["web40"] = HostCounts(ok=1, failed=1)
    return [
        PlayStarted("deploy", tuple(names), (tuple(names),)),
        TaskStarted("deploy", "install", tuple(names)),
        TaskFinished("deploy", "install", tuple(outs), module="shell"),
        PlayStopped("deploy", "every host failed in the play"),
        PlaybookFinished(recap, 1.5, None),
    ]


def render(view_kwargs=None) -> str:
    buf = io.StringIO()
    view = PlaybookView(make_console(buf, color=False, width=100), **(view_kwargs or {}))
    for event in events():
        view.handle(event)
    return buf.getvalue()


def test_grouped_task_lines_and_failure_detail():
    out = render()
    assert "PLAY [deploy] ****" in out
    assert "TASK [install] ****" in out
    assert "ok: web[01-37] (37)\n" in out
    assert "changed: web[38-39] (2)\n" in out
    assert "failed: web40 (exit 3)\n  disk full\n" in out
    assert out.index("ok: web[01-37]") < out.index("changed:") < out.index("failed:")


def test_recap_folds_identical_counts():
    out = render()
    assert "PLAY RECAP ****" in out
    assert re.search(r"^web\[01-37\] : ok=2 +changed=0 +unreachable=0 +failed=0 ", out, re.M)
    assert re.search(r"^web40      : ok=1 +changed=0 +unreachable=0 +failed=1 ", out, re.M)
    recap = {"a1": HostCounts(ok=1), "a2": HostCounts(ok=1), "b": HostCounts(ok=2)}
    assert [h for h, _ in recap_lines(recap)] == ["a[1-2]", "b"]


def test_recap_lines_have_no_trailing_padding():
    # a soft-wrapping console prints a Text as it is: rich's own wrapping would hide padding
    buf = io.StringIO()
    view = PlaybookView(Console(file=buf, color_system=None, soft_wrap=True, width=100))
    for event in events():
        view.handle(event)
    out = buf.getvalue()
    recap = out[out.index("PLAY RECAP") :].splitlines()[1:]
    counted = [line for line in recap if " : ok=" in line]
    assert counted and all(line == line.rstrip() for line in counted)


def test_quiet_shows_only_failures():
    out = render({"quiet": True})
    assert "ok: web" not in out and "failed: web40" in out and "PLAY RECAP" in out


def test_json_lines_records():
    buf = io.StringIO()
    sink = PlaybookJsonLines(buf)
    for event in events():
        sink.handle(event)
    lines = [json.loads(line) for line in buf.getvalue().splitlines()]
    tasks = [r for r in lines if r["type"] == "task"]
    assert len(tasks) == 40
    failed = tasks[-1]
    assert failed == {
        **failed,
        "play": "deploy", "task": "install", "host": "web40", "status": "failed",
        "changed": False, "exit_code": 3, "stderr": "disk full",
    }  # fmt: skip
    assert {"duration", "stdout"} <= set(failed)
    assert lines[-1]["type"] == "recap"
    assert lines[-1]["hosts"]["web40"] == {
        "ok": 1, "changed": 0, "unreachable": 0, "failed": 1, "skipped": 0, "rescued": 0,
        "ignored": 0,
    }  # fmt: skip


def test_junit_one_testcase_per_task_per_host(tmp_path):
    path = tmp_path / "report.xml"
    sink = PlaybookJUnit(path)
    for event in events():
        sink.handle(event)
    root = ET.parse(path).getroot()
    assert root.get("tests") == "40" and root.get("failures") == "1"
    failure = root.find(".//testcase[@classname='deploy.web40']/failure")
    assert failure is not None and "disk full" in failure.text


def test_no_log_hides_output_everywhere(tmp_path):
    fleet = FakeFleet(["a"], responder=lambda h, c: (1, "secret-out\n", "secret-err\n"))
    text = "- hosts: all\n  tasks:\n    - shell: x\n      no_log: true\n"
    _, recorder = run_playbook(fleet, text, tmp_path)
    buf = io.StringIO()
    view = PlaybookView(make_console(buf, color=False, width=100))
    jbuf = io.StringIO()
    jsonl = PlaybookJsonLines(jbuf)
    for event in recorder.events:
        view.handle(event)
        jsonl.handle(event)
    assert "secret" not in buf.getvalue() and "secret" not in jbuf.getvalue()
    assert "no_log" in buf.getvalue()


def test_delegated_hosts_are_tagged_and_fold_by_target():
    """``web1 -> db1`` as ansible-playbook labels a delegated result (the target's
    ansible_host in brackets when it differs); hosts fold only with hosts delegated to
    the same target; JSON records name it in ``delegated_to``. (The labels themselves
    are compared with ansible-playbook's in tests/test_ansible_parity_e2e.py.)"""

    def to(target, address=None, **result):
        info = {"ansible_delegated_host": target}
        if address:
            info["ansible_host"] = address
        return {"_ansible_delegated_vars": info, "changed": True, **result}

    outs = (
        outcome("web1", Status.CHANGED, **to("db1", "10.0.0.5")),
        outcome("web2", Status.CHANGED, **to("db1", "10.0.0.5")),
        outcome("web3", Status.CHANGED, **to("db2")),
        outcome("web4", Status.CHANGED, changed=True),
        outcome("web5", Status.CHANGED, results=[to("db2"), to("db2")], changed=True),
        outcome("web6", Status.SKIPPED, skipped=True),
    )
    buf = io.StringIO()
    view = PlaybookView(make_console(buf, color=False, width=100))
    finished = TaskFinished("p", "t", outs, module="command")
    view.handle(finished)
    lines = buf.getvalue().splitlines()
    assert lines == [
        "changed: web[1-2] (2) -> db1(10.0.0.5)",
        "changed: web[3,5] (2) -> db2",
        "changed: web4",
        "skipping: web6",
    ]
    json_buf = io.StringIO()
    PlaybookJsonLines(json_buf).handle(finished)
    records = [json.loads(line) for line in json_buf.getvalue().splitlines()]
    assert [r["delegated_to"] for r in records] == ["db1", "db1", "db2", None, "db2", None]
