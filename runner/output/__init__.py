"""Renderers: the only users of rich. Each is an EventSink (``handle(event)``).

A Console is made once with :func:`make_console` and injected. Typical compositions::

    report_sinks(console, err_console=err)          # live view + grouped report
    stream_sinks(console, hosts, err_console=err)   # lines as they come + failures
    [..., JsonLines(sys.stdout)]                    # --json (no other sink on stdout)
"""

from runner.output.console import Verbatim, color_on, live_capable, make_console
from runner.output.grouped import GroupedReport, NoticePrinter, failure_lines, summary_line
from runner.output.jsonl import JsonLines, host_record, summary_record
from runner.output.junit import JUnitWriter
from runner.output.live import LiveProgress
from runner.output.outdir import OutDirWriter, out_paths
from runner.output.sinks import report_sinks
from runner.output.stream import StreamPrinter, stream_sinks

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
