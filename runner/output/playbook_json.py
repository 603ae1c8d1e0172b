"""Machine-readable playbook output: JSON Lines and JUnit XML.

JSON Lines (``--json``), one record per task per host as each task finishes, then the
recap::

    {"type":"task","play":"deploy","task":"restart","host":"web01","delegated_to":null,
     "status":"changed",
     "changed":true,"exit_code":0,"stdout":"","stderr":"","duration":0.051,...}
    {"type":"recap","hosts":{"web01":{"ok":3,"changed":1,"unreachable":0,"failed":0,
     "skipped":0,"rescued":0,"ignored":0}},"stopped":null,"interrupted":false}

JUnit (``--junit FILE``): one testsuite per play, one testcase per task per host.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import IO, Any

from runner.errors import UnsafePathError
from runner.localpaths import out_paths
from runner.output.jsonl import dumps, iso_utc
from runner.output.junit import xml_safe
from runner.output.playbook import outcome_detail, outcome_label
from runner.playbook.events import PlaybookFinished, TaskFinished, TaskOutcome

__all__ = ["PlaybookJsonLines", "PlaybookJUnit", "task_record"]


def task_record(event: TaskFinished, outcome: TaskOutcome) -> dict[str, Any]:
    """``status`` is ok/changed/failed/skipped/unreachable (as Ansible's callbacks);
    ``ignored``/``rescued`` say what happened to a failure; ``delegated_to`` names the host
    a ``delegate_to`` task ran on (null: the host itself)."""
    record: dict[str, Any] = {
        "type": "task",
        "play": event.play,
        "task": event.task,
        "handler": event.handler,
        "module": event.module,
        "host": outcome.host,
        "delegated_to": outcome.delegated_to,
        "status": outcome.status.value,
        "changed": outcome.changed,
        "ignored": outcome.ignored,
        "rescued": outcome.rescued,
        "exit_code": outcome.exit_code,
        "stdout": outcome.stdout,
        "stderr": outcome.stderr,
        "msg": outcome.message or None,
        "started": iso_utc(outcome.started),
        "duration": round(outcome.duration, 3),
    }
    if event.module == "debug" and not outcome.censored:
        record["result"] = {k: v for k, v in outcome.result.items() if k not in ("failed",)}
    return record


class PlaybookJsonLines:
    """EventSink writing JSON Lines to ``file``, flushed after every task."""

    def __init__(self, file: IO[str]) -> None:
        self.file = file

    def handle(self, event: object) -> None:
        if isinstance(event, TaskFinished):
            for outcome in event.outcomes:
                self.file.write(dumps(task_record(event, outcome)) + "\n")
            self.file.flush()
        elif isinstance(event, PlaybookFinished):
            record = {
                "type": "recap",
                "hosts": {h: c.as_dict() for h, c in event.recap.items()},
                "stopped": event.stopped,
                "interrupted": event.interrupted,
                "duration": round(event.duration, 3),
            }
            self.file.write(dumps(record) + "\n")
            self.file.flush()


class PlaybookJUnit:
    """EventSink collecting outcomes and writing JUnit XML at the end (tmp + rename)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._suites: dict[str, ET.Element] = {}

    def handle(self, event: object) -> None:
        if isinstance(event, TaskFinished):
            suite = self._suites.get(event.play)
            if suite is None:
                suite = ET.Element("testsuite", name=xml_safe(event.play))
                self._suites[event.play] = suite
            for outcome in event.outcomes:
                self._case(suite, event, outcome)
        elif isinstance(event, PlaybookFinished):
            self.write()

    def _case(self, suite: ET.Element, event: TaskFinished, outcome: TaskOutcome) -> None:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=xml_safe(f"{event.play}.{outcome.host}"),
            name=xml_safe(event.task),
            time=f"{outcome.duration:.3f}",
        )
        label = outcome_label(outcome)
        suffix, detail = outcome_detail(outcome, event.module, False)
        if label == "failed":
            ET.SubElement(
                case, "failure", message=xml_safe((outcome.message or "failed") + suffix)
            ).text = xml_safe(detail)
        elif label == "unreachable":
            ET.SubElement(case, "error", message=xml_safe(outcome.message), type="unreachable")
        elif label == "skipping":
            ET.SubElement(
                case,
                "skipped",
                message=xml_safe(
                    str(outcome.result.get("skip_reason") or outcome.message or "skipped")
                ),
            )
        if outcome.stdout:
            ET.SubElement(case, "system-out").text = xml_safe(outcome.stdout)
        if outcome.stderr:
            ET.SubElement(case, "system-err").text = xml_safe(outcome.stderr)

    def write(self) -> None:
        root = ET.Element("testsuites", name="runner play")
        totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        for suite in self._suites.values():
            cases = suite.findall("testcase")
            counts = {
                "tests": len(cases),
                "failures": sum(1 for c in cases if c.find("failure") is not None),
                "errors": sum(1 for c in cases if c.find("error") is not None),
                "skipped": sum(1 for c in cases if c.find("skipped") is not None),
            }
            for key, value in counts.items():
                suite.set(key, str(value))
                totals[key] += value
            root.append(suite)
        for key, value in totals.items():
            root.set(key, str(value))
        ET.indent(root)
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        ET.ElementTree(root).write(tmp, encoding="utf-8", xml_declaration=True)
        os.replace(tmp, self.path)


class PlaybookOutDir:
    """--out-dir for playbooks: DIR/HOST.json gets one JSON line per task record of that
    host, appended as tasks finish (DIR/HOST.stdout|.stderr are appended by the executor)."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = os.fspath(directory)

    def handle(self, event: object) -> None:
        if isinstance(event, TaskFinished):
            for outcome in event.outcomes:
                try:
                    _, _, path = out_paths(self.directory, outcome.host)
                except UnsafePathError:  # a symbolic link under DIR leading out of it: the
                    continue  # executor failed the host's commands for the same reason
                with open(path, "a", encoding="utf-8") as fh:
                    fh.write(dumps(task_record(event, outcome)) + "\n")
