"""JUnit XML report: one testcase per host, so CI systems can show a run like a test run.

::

    <testsuite name="runner" tests="3" failures="1" errors="1" skipped="0" time="1.800">
      <testcase classname="runner.run" name="web01" time="0.120"><system-out>hi</system-out>
      <testcase classname="runner.run" name="web02" time="0.130">
        <failure message="exit code 2">stderr text</failure><system-out>stdout</system-out>
      <testcase classname="runner.run" name="web03" time="3.000">
        <error message="connection refused" type="connect"/>
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from runner.aggregate import natural_key
from runner.events import RunFinished
from runner.models import HostResult, RunReport, Status
from runner.module_results import result_text

__all__ = ["JUnitWriter", "junit_tree", "xml_safe"]

# Everything XML 1.0 does not allow in a document (C0 controls but tab/LF/CR,
# surrogates, U+FFFE/U+FFFF).
_XML_FORBIDDEN = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    """Drop characters XML 1.0 forbids: ``"a\\x1b[31mb"`` -> ``"a[31mb"``."""
    return _XML_FORBIDDEN.sub("", text)


def _testcase(suite: ET.Element, result: HostResult | None, host: str, interrupted: bool) -> None:
    duration = result.duration if result else 0.0
    case = ET.SubElement(
        suite, "testcase", classname="runner.run", name=xml_safe(host), time=f"{duration:.3f}"
    )
    cmd = result.command if result else None
    if interrupted:
        ET.SubElement(case, "skipped", message="interrupted")
    elif result is None:
        pass
    elif result.status is Status.UNREACHABLE:
        error = ET.SubElement(case, "error", message=xml_safe(result.error or "unreachable"))
        if result.error_kind:
            error.set("type", result.error_kind)
    elif result.status is Status.FAILED:
        if result.error:
            message = result.error
        elif cmd is not None:
            message = f"exit code {cmd.exit_code}"
        else:
            message = "failed"
        failure = ET.SubElement(case, "failure", message=xml_safe(message))
        if result.error_kind:
            failure.set("type", result.error_kind)
        if cmd is not None and cmd.stderr_text:
            failure.text = xml_safe(cmd.stderr_text)
    elif result.status is Status.SKIPPED:
        data = result.module_result or {}
        ET.SubElement(
            case, "skipped", message=xml_safe(result.error or data.get("msg") or "skipped")
        )
    if cmd is None and result is not None and result.module_result:
        ET.SubElement(case, "system-out").text = xml_safe(result_text(result.module_result))
    if cmd is not None:
        if cmd.stdout_text:
            ET.SubElement(case, "system-out").text = xml_safe(cmd.stdout_text)
        if cmd.stderr_text and result is not None and result.status is not Status.FAILED:
            ET.SubElement(case, "system-err").text = xml_safe(cmd.stderr_text)


def junit_tree(report: RunReport) -> ET.ElementTree:
    """The JUnit document for ``report``: hosts sorted naturally, interrupted ones skipped."""
    interrupted = set(report.interrupted)
    hosts = sorted(set(report.results) | interrupted, key=natural_key)
    failures = errors = skipped = 0
    for host in hosts:
        result = report.results.get(host)
        if host in interrupted or (result and result.status is Status.SKIPPED):
            skipped += 1
        elif result and result.status is Status.FAILED:
            failures += 1
        elif result and result.status is Status.UNREACHABLE:
            errors += 1
    suite = ET.Element(
        "testsuite",
        name="runner",
        tests=str(len(hosts)),
        failures=str(failures),
        errors=str(errors),
        skipped=str(skipped),
        time=f"{report.duration:.3f}",
    )
    for host in hosts:
        _testcase(suite, report.results.get(host), host, host in interrupted)
    ET.indent(suite)
    return ET.ElementTree(suite)


class JUnitWriter:
    """EventSink writing JUnit XML to ``path`` on RunFinished (atomically: tmp + rename).

    It reads every result from the final RunReport, so it needs no per-host state.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def handle(self, event: object) -> None:
        if isinstance(event, RunFinished):
            self.write(event.report)

    def write(self, report: RunReport) -> None:
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        junit_tree(report).write(tmp, encoding="utf-8", xml_declaration=True)
        os.replace(tmp, self.path)
