"""Renderers: the only users of rich. Each is an EventSink (``handle(event)``).

A Console is made once with :func:`make_console` and injected. Typical compositions::

    report_sinks(console, err_console=err)          # live view + grouped report
    stream_sinks(console, hosts, err_console=err)   # lines as they come + failures
    [..., JsonLines(sys.stdout)]                    # --json (no other sink on stdout)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runner.output.console import Verbatim, color_on, live_capable, make_console
    from runner.output.grouped import GroupedReport, failure_lines, summary_line
    from runner.output.jsonl import JsonLines, host_record, summary_record
    from runner.output.junit import JUnitWriter
    from runner.output.live import LiveProgress
    from runner.output.notices import NoticePrinter
    from runner.output.outdir import OutDirWriter, out_paths
    from runner.output.sinks import report_sinks
    from runner.output.stream import StreamPrinter, stream_sinks

# name -> the module that defines it. Each module is imported on first use (PEP 562): a
# plain run never loads the XML writer, the streaming printer or rich's live display.
_HOME = {
    "Verbatim": "console",
    "color_on": "console",
    "live_capable": "console",
    "make_console": "console",
    "GroupedReport": "grouped",
    "NoticePrinter": "notices",
    "failure_lines": "grouped",
    "summary_line": "grouped",
    "JsonLines": "jsonl",
    "host_record": "jsonl",
    "summary_record": "jsonl",
    "JUnitWriter": "junit",
    "LiveProgress": "live",
    "OutDirWriter": "outdir",
    "out_paths": "outdir",
    "report_sinks": "sinks",
    "StreamPrinter": "stream",
    "stream_sinks": "stream",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


__all__ = [
    "GroupedReport",
    "JUnitWriter",
    "JsonLines",
    "LiveProgress",
    "NoticePrinter",
    "OutDirWriter",
    "StreamPrinter",
    "Verbatim",
    "color_on",
    "failure_lines",
    "host_record",
    "live_capable",
    "make_console",
    "out_paths",
    "report_sinks",
    "stream_sinks",
    "summary_line",
    "summary_record",
]
