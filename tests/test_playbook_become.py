"""Become in playbooks, on fakes: Ansible's precedence (command line < play < block < task
keywords < ansible_become* variables), the Become handed to the transport, and the
modules that write files through sudo."""

from __future__ import annotations

import doctest

import pytest

import runner.playbook.executor
from runner.become import Become
from runner.models import Host, Status
from runner.playbook import BecomeDefaults
from runner.playbook.events import TaskFinished
from runner.transport.local import LocalTransport
from tests.fakes import FakeFleet, run_playbook, shell_text

SECRET = "s3cret-become-pw"


def becomes(fleet: FakeFleet, host: str = "a") -> list[Become | None]:
    return [r.become for r in fleet.runs if r.host == host]


def test_docstring_examples():
    result = doctest.testmod(runner.playbook.executor)
    assert result.attempted > 0 and result.failed == 0


PLAY = """
- hosts: all
  {play}
  tasks:
    - shell: echo inherits
    - shell: echo task-off
      become: false
    - shell: echo task-user
      become: true
      become_user: task
    - block:
        - shell: echo block
      become: true
      become_user: block
"""


@pytest.mark.parametrize(
    ("play", "cli", "expected"),
    [
        # -b alone: every task that does not say otherwise escalates, as --become-user
        ("vars: {}", BecomeDefaults(True, "cli"), ["cli", None, "task", "block"]),
        # play keywords win over the command line; task and block keywords over the play
        (
            "become: false",
            BecomeDefaults(True, "cli"),
            [None, None, "task", "block"],
        ),
        ("become: true\n  become_user: play", BecomeDefaults(), ["play", None, "task", "block"]),
        ("become_user: play", BecomeDefaults(True, "cli"), ["play", None, "task", "block"]),
        # without -b or a keyword, nothing escalates
        ("vars: {}", BecomeDefaults(False, "cli"), [None, None, "task", "block"]),
    ],
)
def test_keyword_precedence_over_the_command_line(tmp_path, play, cli, expected):
    fleet = FakeFleet(["a"])
    run_playbook(fleet, PLAY.format(play=play), tmp_path, become=cli)
    users = [b if b is None else b.user for b in becomes(fleet)]
    assert users == expected
    assert [shell_text(r.command) for r in fleet.runs] == [
        "echo inherits",
        "echo task-off",
        "echo task-user",
        "echo block",
    ]


def test_connection_variables_override_keywords(tmp_path):
    """ansible_become* win over keywords (as in Ansible); -e wins over the inventory."""
    fleet = FakeFleet(
        ["a", "b", "c"],
        host_vars={
            "a": {"ansible_become": True, "ansible_become_user": "inv"},
            "b": {"ansible_become": "no"},
            "c": {"ansible_become_pass": "from-inventory"},
        },
    )
    text = "- hosts: all\n  become: true\n  become_user: play\n  tasks:\n    - shell: echo x\n"
    run_playbook(fleet, text.replace("become: true", "become: false"), tmp_path)
    assert becomes(fleet, "a") == [Become("inv")]
    assert becomes(fleet, "b") == [None] and becomes(fleet, "c") == [None]

    fleet.runs.clear()
    run_playbook(fleet, text, tmp_path, become=BecomeDefaults(password="from-cli"))
    assert becomes(fleet, "b") == [None]  # ansible_become: no wins over the play's become
    assert becomes(fleet, "c") == [Become("play", "from-inventory")]  # variable over -K
    assert becomes(fleet, "a")[0].password == "from-cli"

    fleet.runs.clear()
    run_playbook(fleet, text, tmp_path, extra_vars={"ansible_become_user": "extra"})
    assert {b.user for b in becomes(fleet, "a") + becomes(fleet, "c")} == {"extra"}


def test_become_user_and_become_are_templates(tmp_path):
    fleet = FakeFleet(["a"], host_vars={"a": {"admin": "ops", "escalate": "yes"}})
    text = """
- hosts: all
  tasks:
    - shell: echo x
      become: "{{ escalate }}"
      become_user: "{{ admin }}"
"""
    run_playbook(fleet, text, tmp_path)
    assert becomes(fleet) == [Become("ops")]


def test_every_module_command_goes_through_the_transports_become(tmp_path):
    """copy under become: upload to /tmp as the login user, then one script through sudo
    copies it next to the destination, removes the upload and moves the copy into place;
    raw keeps its executable; --pty only under become."""

    def responder(host: str, command: str) -> tuple[int, str, str]:
        text = shell_text(command)
        if text.startswith("p="):  # the probe: nothing there yet
            return 0, "absent\n", ""
        if text.startswith("s="):  # the write
            return 0, "done |644 root root\n", ""
        return 0, "", ""

    fleet = FakeFleet(["a"], responder=responder)
    text = """
- hosts: all
  become: true
  tasks:
    - copy: {content: "v1\\n", dest: /etc/app.conf}
    - raw: echo raw
      args: {executable: /bin/bash}
    - shell: echo plain
      become: false
"""
    summary, _ = run_playbook(
        fleet, text, tmp_path, become=BecomeDefaults(password=SECRET), pty=True
    )
    assert not summary.any_failed
    runs = fleet.runs
    assert not any(r.command.startswith("sudo") for r in runs)
    write = next(r for r in runs if shell_text(r.command).startswith("s=/tmp/.runner-edit-"))
    assert 'cp -- "$s" "$t"' in write.command and 'rm -f -- "$s"' in write.command
    assert write.become == Become(None, SECRET) and write.pty
    probe = next(r for r in runs if shell_text(r.command).startswith("p="))
    assert probe.become == Become(None, SECRET)  # what is there is read as root sees it
    raw = next(r for r in runs if "echo raw" in r.command)
    assert raw.command == "/bin/bash -c 'echo raw'" and raw.become == Become(None, SECRET)
    plain = runs[-1]
    assert shell_text(plain.command) == "echo plain" and plain.become is None and not plain.pty
    uploads = [path for (_, path) in fleet.files]
    assert uploads and all(path.startswith("/tmp/.runner-edit-") for path in uploads)


def test_become_password_is_in_no_event(tmp_path):
    fleet = FakeFleet(["a"])
    text = "- hosts: all\n  become: true\n  tasks:\n    - command: id -un\n      register: who\n"
    summary, recorder = run_playbook(fleet, text, tmp_path, become=BecomeDefaults(password=SECRET))
    assert not summary.any_failed
    assert becomes(fleet) == [Become(None, SECRET)]
    assert SECRET not in repr(recorder.events)
    assert SECRET not in repr(BecomeDefaults(True, "x", SECRET))


def test_delegated_task_runs_on_the_control_node_with_its_become(tmp_path):
    fleet = FakeFleet(["a"])
    text = """
- hosts: all
  tasks:
    - shell: echo here
      delegate_to: localhost
      become: true
      become_user: daemon
"""
    summary, _ = run_playbook(fleet, text, tmp_path)
    assert not summary.any_failed
    assert becomes(fleet) == [Become("daemon")]


def test_local_transport_refuses_a_become_password_as_a_task_failure(tmp_path):
    """The real LocalTransport (delegate_to: localhost): sudo -n without a password, and a
    clear task failure (not a hang, not a crash) when a password would be needed."""
    from runner.engine import Engine
    from runner.events import Recorder
    from runner.playbook import PlaybookRunner, load_playbook
    from tests.fakes import FactoryOf, FakeInventory

    path = tmp_path / "play.yml"
    path.write_text(
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - shell: echo local\n"
        "      become: true\n      register: out\n"
    )
    host = Host("ctl", {"ansible_connection": "local"})
    recorder = Recorder()
    runner_ = PlaybookRunner(
        inventory=FakeInventory({"ctl": host}),
        engine_factory=lambda: Engine(FactoryOf(LocalTransport)),
        sink=recorder,
        local_factory=LocalTransport,
        become=BecomeDefaults(password=SECRET),
    )
    summary = runner_.run(load_playbook(str(path)))
    assert summary.any_failed
    outcome = recorder.of_type(TaskFinished)[0].outcomes[0]
    assert outcome.status is Status.FAILED
    assert "become password is not supported for local connections" in outcome.message
    assert SECRET not in repr(recorder.events)
