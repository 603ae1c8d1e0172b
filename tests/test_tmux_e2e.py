"""End-to-end in a real terminal: the real `runner` CLI in a tmux window, against the real
sshd fleet, stopped with Ctrl-C (sent as a key, as an operator types it). What the screen
shows is read back with ``tmux capture-pane``: the live view must be gone, not left
half-erased, and the "press Ctrl-C again" notice must be readable while the run ends."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.testing.fleet import wait_until
from tests.conftest import REPO

NOTICE = "interrupted: stopping (press Ctrl-C again to quit at once)"
# The live views' lines: `━━━╺━━ 3/12 ok=3 failed=0 unreachable=0 2.0s` (run, copy,
# fetch), `  web01  2.0s` (a running host), `  0/12 hosts done  2.0s` (a playbook task).
LIVE_LINES = [
    re.compile(r"\d+/\d+ ok=\d+ failed=\d+ unreachable=\d+ [\d.]+s"),
    re.compile(r"^\s+web\d+\s+[\d.]+s\s*$", re.M),
    re.compile(r"and \d+ more running"),
    re.compile(r"\d+/\d+ hosts done"),
]
LIVE_SHOWN = {
    "run": re.compile(r"0/12 ok=0 failed=0 unreachable=0"),
    "play": re.compile(r"0/12 hosts done"),
}
SLEEP = "sleep 47"  # what the hosts run: long enough that only Ctrl-C ends it


class Tmux:
    """A tmux server of this test's own (``-L``), one window of a fixed size."""

    def __init__(self, socket: str) -> None:
        self.socket = socket

    def __call__(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=30
        )
        assert done.returncode == 0, (args, done.stderr)
        return done.stdout

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "t")


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    if shutil.which("tmux") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but tmux is not installed")
        pytest.skip("tmux not installed")
    server = Tmux(f"runner-test-{uuid.uuid4().hex[:12]}")
    try:
        yield server
    finally:
        subprocess.run(["tmux", "-L", server.socket, "kill-server"], capture_output=True)


def leftover_live_lines(screen: str) -> list[str]:
    return [m.group(0) for pattern in LIVE_LINES for m in pattern.finditer(screen)]


def test_first_ctrl_c_clears_the_screen_then_prints_the_notice_then_stops_the_run():
    """The order the e2e test below relies on, without a terminal."""
    import io

    from runner.entry import Interrupts

    stderr = io.StringIO()
    seen: list[str] = []
    interrupts = Interrupts(stderr)
    interrupts.register(lambda: seen.append(f"cancel after {stderr.getvalue()!r}"))
    unregister = interrupts.register(lambda: seen.append("gone"), before_notice=True)
    interrupts.register(
        lambda: seen.append(f"clear after {stderr.getvalue()!r}"), before_notice=True
    )
    unregister()
    interrupts.fire()
    assert seen == ["clear after ''", f"cancel after {Interrupts.NOTICE!r}"]


@pytest.mark.sshd
@pytest.mark.parametrize("command", ["run", "play"])
def test_ctrl_c_takes_the_live_view_off_the_screen(
    command, make_fleet, user_sshd, tmux, tmp_path: Path
):
    fleet = make_fleet(12, server=user_sshd)  # a non-root login: Ctrl-C ends its sleeps
    if command == "run":
        args = ["run", *fleet.args(), "all", SLEEP]
    else:
        book = tmp_path / "book.yml"
        book.write_text(f"- hosts: all\n  gather_facts: false\n  tasks:\n  - command: {SLEEP}\n")
        args = ["play", *fleet.args(), str(book)]
    runner = shlex.join([sys.executable, "-m", "runner", *args])
    shell = f"cd {shlex.quote(str(REPO))} && {runner}; echo EXIT=$?; sleep 600"
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "RUNNER_INVENTORY")}
    env["PYTHONPATH"] = str(REPO)
    subprocess.run(
        ["tmux", "-L", tmux.socket, "new-session", "-d", "-s", "t", "-x", "120", "-y", "40"]
        + [shell],
        check=True,
        env=env,
        timeout=30,
    )
    # Ctrl-C once every host is running (all 12 started, none done).
    wait_until(lambda: LIVE_SHOWN[command].search(tmux.screen()), 60, "the live view")
    if command == "run":
        wait_until(lambda: "and 4 more running" in tmux.screen(), 60, "all hosts running")
    tmux("send-keys", "-t", "t", "C-c")
    screens: list[str] = []

    def ended() -> bool:
        screens.append(tmux.screen())
        time.sleep(0.05)
        return "EXIT=" in screens[-1]

    wait_until(ended, 60, "runner to end after Ctrl-C")
    final = screens[-1]
    assert "EXIT=130" in final, final
    assert any(NOTICE in screen for screen in screens), screens
    assert NOTICE in final, final  # not drawn over by the view's last refresh
    assert leftover_live_lines(final) == [], final
    if command == "run":
        assert re.search(r"^interrupted: web\[01-12\] \(12\)$", final, re.M), final
        assert "hosts=12" in final and "interrupted=12" in final, final
    else:
        assert "PLAY RECAP" in final and "interrupted: the run was stopped" in final, final
    # Nothing but the report is left where the view was: the notice comes after the
    # banners (play) or first (run), and no line is a torn piece of the view.
    lines = [line for line in final.splitlines() if line.strip()]
    assert lines[-1] == "EXIT=130", lines
