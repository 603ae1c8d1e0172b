"""with_* loops and loop_control, run by ``runner play`` and by ``ansible-playbook`` on
the same playbook (tests/data/loops_play.yml, a local host): each loop's registered
``msg`` list must be the same, and a loop_control label names the item in the output."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
PLAYBOOK = Path(__file__).parent / "data" / "loops_play.yml"


@pytest.fixture
def project(tmp_path):
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "one.conf").write_text("a\n")
    (tmp_path / "files" / "two.conf").write_text("b\n")
    shutil.copy(PLAYBOOK, tmp_path / "play.yml")
    (tmp_path / "inv").write_text(
        f"local ansible_connection=local ansible_python_interpreter={sys.executable}\n"
    )
    return tmp_path


def _ansible(project: Path) -> list:
    out = project / "ansible.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    done = subprocess.run(
        [str(ANSIBLE_PLAYBOOK), "-i", "inv", "play.yml", "-e", f"out={out}"],
        cwd=project, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "(item=La)" in done.stdout
    return json.loads(out.read_text())


def test_with_loops_and_loop_control_give_what_ansible_gives(project, cli):
    if not ANSIBLE_PLAYBOOK.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("ansible-playbook is needed under CI")
        pytest.skip("ansible-playbook is not installed")
    out = project / "runner.json"
    done = cli("play", "-i", "inv", "play.yml", "-e", f"out={out}", cwd=project)
    assert done.exit_code == 0, done
    assert "(item=La) => 1/3 True False 3 - b 0 a" in done.stdout
    ours = json.loads(out.read_text())
    theirs = _ansible(project)
    assert len(ours) == 12
    assert ours == theirs


def test_two_loops_on_one_task_are_refused(project, cli):
    (project / "bad.yml").write_text(
        "- hosts: all\n  tasks:\n    - debug: {msg: x}\n"
        "      with_items: [1]\n      with_dict: {a: 1}\n"
    )
    done = cli("play", "-i", "inv", "bad.yml", cwd=project)
    assert done.exit_code == 1
    assert "bad.yml:4" in done.stderr and "with_items, with_dict" in done.stderr


def test_an_unknown_with_lookup_is_refused_naming_the_supported_ones(project, cli):
    (project / "bad.yml").write_text(
        "- hosts: all\n  tasks:\n    - debug: {msg: x}\n      with_random_choice: [1]\n"
    )
    done = cli("play", "-i", "inv", "bad.yml", cwd=project)
    assert done.exit_code == 1
    assert "with_random_choice" in done.stderr and "with_ one of: dict, env" in done.stderr
