"""`runner ... | head`: when the reader of runner's output goes away, the run still
finishes on every host, quietly, and exits with its own status (not rich's or click's
exit 1, not a traceback per host). Real CLI, hosts on a local connection."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO

HOSTS = ["h1", "h2", "h3", "h4", "h5", "h6"]


def with_reader_gone(argv: list[str], *, stderr: object) -> int:
    """Run `runner ARGV` with stdout on a pipe whose reader is already gone; the exit code."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [sys.executable, "-m", "runner", *argv],
            stdout=write_end,
            stderr=write_end if stderr == "stdout" else stderr,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            timeout=120,
        ).returncode
    finally:
        os.close(write_end)


def run_with_closed_stdout(tmp_path, *args: str, stderr_too: bool = False):
    inv = tmp_path / "local.yml"
    inv.write_text(
        "all:\n  vars:\n    ansible_connection: local\n  hosts:\n"
        + "".join(f"    {h}:\n" for h in HOSTS)
    )
    marks = tmp_path / "ran"
    marks.mkdir()
    command = f"touch {marks}/{{{{ inventory_hostname }}}}; echo hi; test {{{{ inventory_hostname }}}} != h2"
    err_file = tmp_path / "stderr"
    with open(err_file, "wb") as err:
        code = with_reader_gone(
            ["run", "-i", str(inv), *args, "all", command],
            stderr="stdout" if stderr_too else err,
        )
    return code, err_file.read_text(), sorted(p.name for p in marks.iterdir())


@pytest.mark.parametrize(
    "args",
    [(), ("--stream",), ("--json",), ("--quiet",)],
    ids=["report", "stream", "json", "quiet"],
)
def test_run_finishes_quietly_with_its_own_exit_status(tmp_path, args):
    code, stderr, ran = run_with_closed_stdout(tmp_path, *args)
    assert ran == HOSTS  # every host ran its command
    assert code == 2, stderr  # h2 failed: the run's status, not 0 or 1
    assert "Traceback" not in stderr and "Broken pipe" not in stderr, stderr


def test_stdout_and_stderr_on_the_same_closed_pipe(tmp_path):
    code, _, ran = run_with_closed_stdout(tmp_path, "--stream", stderr_too=True)
    assert ran == HOSTS
    assert code == 2


def test_playbook_finishes_quietly_with_its_own_exit_status(tmp_path):
    inv = tmp_path / "local.yml"
    inv.write_text("all:\n  vars:\n    ansible_connection: local\n  hosts:\n    h1:\n    h2:\n")
    book = tmp_path / "book.yml"
    book.write_text(
        "- hosts: all\n  gather_facts: false\n  tasks:\n"
        "    - name: mark\n      command: touch "
        + str(tmp_path)
        + "/{{ inventory_hostname }}.ran\n"
        "    - name: fail one\n      shell: test {{ inventory_hostname }} != h2\n"
    )
    err_file = tmp_path / "stderr"
    with open(err_file, "wb") as err:
        code = with_reader_gone(["play", "-i", str(inv), str(book)], stderr=err)
    stderr = err_file.read_text()
    assert code == 2, stderr
    assert "Traceback" not in stderr
    assert sorted(p.name for p in tmp_path.glob("*.ran")) == ["h1.ran", "h2.ran"]
