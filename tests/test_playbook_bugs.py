"""Issue 12's playbook bugs, each checked against ansible-playbook where it claims to match."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import json_records, run_inprocess

ANSIBLE = Path(sys.executable).with_name("ansible-playbook")


def ansible_msgs(play: Path, tmp_path: Path, *args: str) -> list[object]:
    """The ``"msg"`` values ansible-playbook's default callback printed, on localhost."""
    if not ANSIBLE.exists() and not shutil.which("ansible-playbook"):
        pytest.skip("ansible-playbook is not installed")
    home = tmp_path / "ansible-home"
    home.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "HOME": str(home),
        "ANSIBLE_CONFIG": str(home / "none.cfg"),
        "ANSIBLE_LOCAL_TEMP": str(home / "tmp"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_STDOUT_CALLBACK": "default",
        "ANSIBLE_DEPRECATION_WARNINGS": "False",
    }
    out = subprocess.run(
        [str(ANSIBLE), "-i", "localhost,", "-c", "local", str(play), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return [json.loads(m) for m in re.findall(r'"msg": (".*"|\d+)$', out.stdout, re.M)]


def runner_msgs(play: Path, *args: str) -> list[object]:
    """The ``msg`` of every debug result ``runner play --json`` reported, on localhost."""
    res = run_inprocess(
        "play", "-i", "localhost,", "-e", "ansible_connection=local", "--json", str(play), *args
    )
    assert res.exit_code == 0, res.stdout + res.stderr
    msgs = []
    for rec in json_records(res.stdout):
        if rec.get("type") == "task" and rec.get("module") == "debug":
            result = rec.get("result") or {}
            if "msg" in result:
                msgs.append(result["msg"])
            for item in result.get("results", []):
                msgs.append(item.get("msg"))
    return msgs


CHECK_PLAY = """
- hosts: all
  gather_facts: false
  tasks:
    - command: echo hi
      register: result
    - shell: echo hi
      register: r2
    - debug:
        msg: "{{ result.stdout_lines | length }} {{ r2.rc }} {{ r2.stdout | length }}"
    - raw: echo hi
      register: r3
    - script: s.sh
      register: r4
    - debug:
        msg: "{{ result | dict2items | map(attribute='key') | sort | join(',') }}"
    - debug:
        msg: "{{ r3 | dict2items | map(attribute='key') | sort | join(',') }}"
    - debug:
        msg: "{{ r4.msg }} {{ r4.skipped }} {{ r4.changed }}"
"""


def test_check_mode_registers_what_ansible_registers(tmp_path):
    play = tmp_path / "play.yml"
    play.write_text(CHECK_PLAY)
    (tmp_path / "s.sh").write_text("#!/bin/sh\necho s\n")
    expected = ansible_msgs(play, tmp_path, "--check")
    assert len(expected) == 4
    assert [str(m) for m in runner_msgs(play, "--check")] == [str(m) for m in expected]


LOOP_PLAY = """
- hosts: all
  gather_facts: false
  tasks:
    - debug:
        msg: "hello {{ item }}"
      loop: [a, b]
"""


def test_debug_in_a_loop_shows_each_item_as_ansible_does(tmp_path):
    play = tmp_path / "play.yml"
    play.write_text(LOOP_PLAY)
    expected = ansible_msgs(play, tmp_path)
    assert expected == ["hello a", "hello b"]
    res = run_inprocess("play", "-i", "localhost,", "-e", "ansible_connection=local", str(play))
    assert res.exit_code == 0, res
    for item, msg in zip("ab", expected, strict=True):
        assert f"(item={item}) => {msg}" in res.stdout
    assert "All items completed" not in res.stdout
    assert runner_msgs(play) == ["All items completed", *expected]  # --json: each item too


def test_ctrl_c_keeps_the_hosts_that_had_finished_the_task(tmp_path):
    import io

    import gevent

    from runner.engine import Engine
    from runner.events import Recorder
    from runner.output.playbook_json import PlaybookJsonLines
    from runner.playbook import PlaybookRunner, load_playbook
    from runner.playbook.events import TaskFinished
    from tests.fakes import FactoryOf, FakeFleet, default_responder

    def responder(host: str, command: str) -> tuple[int, str, str]:
        if host.startswith("slow"):
            gevent.sleep(30)
        return default_responder(host, command)

    fleet = FakeFleet(["fast1", "fast2", "slow1"], responder=responder)
    path = tmp_path / "play.yml"
    path.write_text(
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - shell: echo one\n"
        "    - shell: echo two\n"
    )
    recorder, out = Recorder(), io.StringIO()
    json_sink = PlaybookJsonLines(out)

    class Both:
        def handle(self, event: object) -> None:
            recorder.handle(event)
            json_sink.handle(event)

    runner = PlaybookRunner(
        inventory=fleet.inventory(),
        engine_factory=lambda: Engine(FactoryOf(fleet.factory), forks=10),
        sink=Both(),
        local_factory=fleet.factory,
    )
    cancel = gevent.spawn_later(0.5, runner.cancel)
    with gevent.Timeout(20):
        summary = runner.run(load_playbook(str(path)))
    cancel.join()
    assert summary.interrupted
    for host in ("fast1", "fast2"):
        assert summary.recap[host].changed == 1, summary.recap[host]
    assert not any(summary.recap["slow1"].as_dict().values())  # cut off: nothing counted
    (event,) = recorder.of_type(TaskFinished)
    assert sorted(o.host for o in event.outcomes) == ["fast1", "fast2"]
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert sorted(r["host"] for r in records if r["type"] == "task") == ["fast1", "fast2"]
    (recap,) = [r for r in records if r["type"] == "recap"]
    assert recap["interrupted"] and recap["hosts"]["fast1"]["changed"] == 1
    assert "echo two" not in fleet.commands("fast1")
