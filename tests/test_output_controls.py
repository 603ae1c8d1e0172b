"""Control characters from hosts and inventories on the operator's terminal: the pure
escaping functions, which consoles get them, and every human renderer on a terminal
(forced-terminal consoles on a StringIO; the real CLI on a pty is in test_terminal_e2e)."""

from __future__ import annotations

import doctest
import io
import json
import os
import re
import unicodedata

from hypothesis import given
from hypothesis import strategies as st

import runner.output.controls
from runner.events import HostFinished, HostOutput, HostStarted, Notice, RunFinished
from runner.models import CommandResult, HostResult, RunReport, Status
from runner.output import GroupedReport, LiveProgress, NoticePrinter, StreamPrinter, make_console
from runner.output.controls import display_filter, escape_controls, escape_line
from runner.output.playbook import PlaybookView
from runner.playbook.events import (
    BatchStarted,
    HostCounts,
    PlaybookFinished,
    PlayStarted,
    PlayStopped,
    TaskFinished,
    TaskOutcome,
    TaskStarted,
)

# Written out here, not imported: what a terminal must never get from a host.
C0 = {chr(c) for c in range(0x20)} - {"\n", "\t"}
C1 = {chr(c) for c in range(0x7F, 0xA0)}  # DEL and C1
BIDI = {chr(c) for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]}
FORBIDDEN = C0 | C1 | BIDI
RAW = re.compile("[" + re.escape("".join(sorted(FORBIDDEN))) + "]")

HOSTILE = "\x1b]0;pwned\x07\x1b[2J\rFORGED | x\n"
SHOWN = "^[]0;pwned^G^[[2J^MFORGED | x\n"


def tty_console(width: int = 200, **kw):  # type: ignore[no-untyped-def]
    """A console that is a terminal but emits no colour: any ESC in it leaked."""
    out = io.StringIO()
    return make_console(out, force_terminal=True, color=False, width=width, environ={}, **kw), out


def pipe_console(width: int = 200):  # type: ignore[no-untyped-def]
    out = io.StringIO()
    return make_console(out, force_terminal=False, width=width, environ={}), out


def result(host: str, stdout: str = "", stderr: str = "", code: int = 0) -> HostResult:
    cmd = CommandResult(code, stdout.encode(), stderr.encode(), 0.1)
    return HostResult(host, Status.OK if code == 0 else Status.FAILED, cmd, duration=0.1)


# -- the pure functions ------------------------------------------------------------------


def test_docstring_examples() -> None:
    outcome = doctest.testmod(runner.output.controls)
    assert outcome.attempted >= 6 and outcome.failed == 0


def test_every_code_point_below_u3000() -> None:
    for code in range(0x3000):
        char = chr(code)
        shown = escape_controls(char)
        if char in FORBIDDEN:
            assert shown != char and shown.isascii() and shown.isprintable(), hex(code)
            assert len(shown) == (2 if code < 0x20 or code == 0x7F else 8), hex(code)
        else:
            assert shown == char, hex(code)
        assert escape_line(char) == ("^J" if char == "\n" else shown)


def test_notation() -> None:
    assert escape_controls("\x00\x01\x1a\x1b\x1f\x7f") == "^@^A^Z^[^_^?"
    assert escape_controls("\x80\x9b\x9f") == "<U+0080><U+009B><U+009F>"
    assert escape_controls("\u202a\u202e\u2066\u2069") == "<U+202A><U+202E><U+2066><U+2069>"
    # Bidi marks (LRM, RLM) and other format characters are text, not commands: kept.
    assert escape_controls("\u200e\u200f\u200b\ufeff") == "\u200e\u200f\u200b\ufeff"


def test_clean_text_is_returned_as_is_without_a_copy() -> None:
    big = "web01 ok \u2713\tdone\n" * 100_000
    assert escape_controls(big) is big
    assert escape_line("web01") == "web01"


@given(st.text())
def test_output_never_holds_a_control_but_newline_and_tab(text: str) -> None:
    shown = escape_controls(text)
    assert not RAW.search(shown)
    assert shown.count("\n") == text.count("\n") and shown.count("\t") == text.count("\t")
    assert escape_controls(shown) == shown  # escaping twice changes nothing
    line = escape_line(text)
    assert not RAW.search(line) and "\n" not in line


@given(st.text().map(lambda t: RAW.sub("", t)))
def test_identity_on_text_without_controls(text: str) -> None:
    assert escape_controls(text) == text
    assert escape_line(text) == text.replace("\n", "^J")


@given(st.text(alphabet=st.sampled_from(sorted(FORBIDDEN) + ["a", "\n", "\t", "é"])))
def test_every_control_is_shown_not_dropped(text: str) -> None:
    shown = escape_controls(text)
    assert len(shown) >= len(text)
    assert len(shown) - len(text) == sum(
        1 if c in C0 or c == "\x7f" else 7 for c in text if c in FORBIDDEN
    )


def test_escaped_text_is_printable_for_unicodedata() -> None:
    shown = escape_controls("".join(sorted(FORBIDDEN)))
    assert all(unicodedata.category(c)[0] != "C" for c in shown)


# -- which consoles escape ---------------------------------------------------------------


def test_display_filter_terminal_escapes_pipe_keeps() -> None:
    tty, _ = tty_console()
    pipe, _ = pipe_console()
    assert display_filter(tty)(HOSTILE) == SHOWN
    assert display_filter(tty, line=True)("a\nb") == "a^Jb"
    assert display_filter(pipe)(HOSTILE) == HOSTILE
    assert display_filter(pipe, line=True)("a\nb") == "a\nb"


def test_display_filter_follows_rich_when_told_a_pipe_is_a_terminal() -> None:
    forced = make_console(io.StringIO(), environ={"FORCE_COLOR": "1"})
    assert forced.is_terminal and display_filter(forced)("\x1b") == "^["


def test_no_environment_turns_escaping_off_on_a_real_terminal() -> None:
    master, slave = os.openpty()
    try:
        with open(slave, "w", closefd=False) as file:
            for env in ({"TTY_COMPATIBLE": "0"}, {"FORCE_COLOR": ""}):
                con = make_console(file, environ=env)
                assert not con.is_terminal  # rich believes the environment...
                assert display_filter(con)("\x1b[2J") == "^[[2J"  # ...we believe the tty
    finally:
        os.close(master)
        os.close(slave)


# -- renderers on a terminal -------------------------------------------------------------


def test_grouped_report_on_a_terminal_shows_controls() -> None:
    con, out = tty_console()
    evil = "evil\x1b[8m"
    down = HostResult(
        "web02\r", Status.UNREACHABLE, error="sudo: \x1b]0;t\x07bad", error_kind="connect"
    )
    report = RunReport(
        {
            evil: result(evil, HOSTILE, "err\x9b2J\n", code=3),
            "web01": result("web01", "plain\n"),
            "web02\r": down,
        },
        1.0,
        ("web03\x1b[A",),
    )
    GroupedReport(con, verbose=True).handle(RunFinished(report))
    text = out.getvalue()
    assert not RAW.search(text), repr(text)
    assert "---- evil^[[8m (1) exit 3 ----\n" + SHOWN + "err<U+009B>2J\n" in text
    assert "---- web01 (1) ----\nplain\n" in text
    assert "web02^M: unreachable (connect): sudo: ^[]0;t^Gbad\n" in text
    assert "interrupted: web03^[[A (1)\n" in text
    assert "evil^[[8m 0.1s" in text  # slowest


def test_grouped_report_piped_keeps_host_output_exactly() -> None:
    con, out = pipe_console()
    report = RunReport({"web01": result("web01", HOSTILE)}, 1.0)
    GroupedReport(con).handle(RunFinished(report))
    assert out.getvalue().startswith("---- web01 (1) ----\n" + HOSTILE)


def test_grouped_report_with_colour_leaks_nothing_but_its_own_styles() -> None:
    out = io.StringIO()
    con = make_console(out, force_terminal=True, width=200, environ={})
    report = RunReport({"web01": result("web01", HOSTILE, code=1)}, 1.0)
    GroupedReport(con).handle(RunFinished(report))
    rest = re.sub(r"\x1b\[[0-9;]*m", "", out.getvalue())  # rich's SGR colour codes
    assert out.getvalue() != rest and not RAW.search(rest)
    assert SHOWN in rest


def test_stream_on_a_terminal_a_cr_cannot_overwrite_the_prefix() -> None:
    con, out = tty_console()
    sink = StreamPrinter(con, ["web01", "db\n3"])
    sink.handle(HostOutput("web01", "stdout", b"\x1b]0;pwned\x07\x1b[2J\rFORGED | x\n"))
    sink.handle(HostOutput("web01", "stdout", b"crlf ends a pty line\r\n"))
    sink.handle(HostOutput("db\n3", "stderr", b"\x1b[1A\x1b[2Kgone\n"))
    down = HostResult("db\n3", Status.UNREACHABLE, error="refused \x1b[31m", error_kind="connect")
    sink.handle(HostFinished(down))
    assert out.getvalue() == (
        "web01 | ^[]0;pwned^G^[[2J^MFORGED | x\n"
        "web01 | crlf ends a pty line\n"
        "db^J3 ! ^[[1A^[[2Kgone\n"
        "db^J3 | [unreachable: refused ^[[31m]\n"
    )


def test_stream_piped_keeps_the_line() -> None:
    con, out = pipe_console()
    sink = StreamPrinter(con, ["web01"])
    sink.handle(HostOutput("web01", "stdout", HOSTILE.encode()))
    assert out.getvalue() == "web01 | " + HOSTILE


def test_live_view_host_names() -> None:
    con, _ = tty_console()
    progress = LiveProgress(con, clock=lambda: 5.0)
    progress.handle(HostStarted("web\x1b]0;x\x07", 1.0))
    progress.handle(HostStarted("db1", 2.0))
    plain = progress.render().plain
    assert not RAW.search(plain)
    assert "\n  web^[]0;x^G  4.0s\n  db1          3.0s" in plain


def test_notices_on_a_terminal() -> None:
    con, out = tty_console()
    NoticePrinter(con).handle(Notice("host web\x1b[2J01: forks lowered"))
    assert out.getvalue() == "warning: host web^[[2J01: forks lowered\n"
    con, out = tty_console()
    GroupedReport(con).handle(Notice("x\x9by"))
    assert out.getvalue() == "warning: x<U+009B>y\n"


def test_playbook_view_on_a_terminal() -> None:
    con, out = tty_console()
    view = PlaybookView(con, live=False)
    evil = "web\x1b[2J01"
    hosts = (evil, "web02")
    outcomes = (
        TaskOutcome(
            evil,
            Status.FAILED,
            {"rc": 2, "stderr": "no\rway\x1b[K\nend", "failed": True},
            ignored=True,
        ),
        TaskOutcome("web02", Status.OK, {"msg": "hi\x1b]0;t\x07\u202eevil"}),
    )
    events = [
        PlayStarted("play\x1b[H", hosts, (hosts,)),
        BatchStarted(1, 1, hosts),
        TaskStarted("play", "task\r", hosts),
        TaskFinished("play", "task\r", outcomes, module="debug"),
        TaskFinished(
            "play",
            "diff",
            (TaskOutcome("web02", Status.CHANGED, {"changed": True, "diff": "-a\x1b[m\n+b\n"}),),
            module="copy",
            diff=True,
        ),
        PlayStopped("play", "fatal on \x1b[5m", not_run=(evil,)),
        PlaybookFinished({evil: HostCounts(ok=1, failed=1)}, 1.0, "because \x07"),
    ]
    for event in events:
        view.handle(event)
    text = out.getvalue()
    assert not RAW.search(text), repr(text)
    assert "PLAY [play^[[H] ***" in text
    assert "batch 1/1: web02,web^[[2J01 (2)" in text or "web^[[2J01,web02 (2)" in text
    assert "TASK [task^M] ***" in text
    assert "ok: web02 => hi^[]0;t^G<U+202E>evil\n" in text
    assert "ignored: web^[[2J01 (exit 2)\n  no^Mway^[[K\n  end\n" in text
    assert "changed: web02\n  -a^[[m\n  +b\n" in text
    assert "play stopped: fatal on ^[[5m; not run: web^[[2J01 (1)" in text
    assert "web^[[2J01 : ok=1" in text
    assert "stopped early: because ^G" in text


def test_playbook_view_piped_keeps_task_output() -> None:
    con, out = pipe_console()
    view = PlaybookView(con, live=False)
    outcome = TaskOutcome("web01", Status.OK, {"msg": "a\x1b[2Jb\nline two"})
    view.handle(TaskFinished("play", "t", (outcome,), module="debug"))
    assert out.getvalue() == "ok: web01\n  a\x1b[2Jb\n  line two\n"


# -- JSON Lines and the CLI's own messages -----------------------------------------------


def test_json_lines_escape_what_a_terminal_obeys_and_decode_exactly() -> None:
    from runner.output import jsonl

    assert doctest.testmod(jsonl).failed == 0
    text = "".join(sorted(FORBIDDEN)) + "é ✓ \u200f"
    line = jsonl.dumps({"stdout": text, "host": "w\u202eb"})
    assert not RAW.search(line)
    assert json.loads(line) == {"stdout": text, "host": "w\u202eb"}
    assert "é ✓ \u200f" in line  # other non-ASCII stays as UTF-8


def test_cli_errors_on_a_terminal_show_controls_escaped() -> None:
    from runner.cli.app import print_error
    from runner.errors import InventoryError

    error = InventoryError("bad host \x1b]0;x\x07 here", hint="try \x9b2J")
    master, slave = os.openpty()
    try:
        with open(slave, "w", closefd=False) as tty:
            print_error(error, tty)
        shown = os.read(master, 4096).decode()
    finally:
        os.close(master)
        os.close(slave)
    assert not RAW.search(shown.replace("\r\n", "\n"))
    assert "runner: error: bad host ^[]0;x^G here" in shown
    assert "  hint: try <U+009B>2J" in shown
    piped = io.StringIO()
    print_error(error, piped)
    assert "bad host \x1b]0;x\x07 here" in piped.getvalue()
