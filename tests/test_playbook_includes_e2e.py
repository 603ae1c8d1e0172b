"""End-to-end against real sshd: a playbook using import_tasks and include_tasks (free
form, file:, vars, when, loop, a host-templated file name, nested includes, tags) run by
runner and by the real ansible-playbook on the same hosts: the same PLAY RECAP counts and
the same files left on the hosts."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.ansible_ssh import ansible_ssh_env
from tests.conftest import json_records
from tests.test_facts_e2e import recap_lines
from tests.test_vault import ansible_env, tool

pytestmark = pytest.mark.sshd

PLAY = """\
- hosts: all
  gather_facts: false
  vars: {flavour: plain}
  tasks:
    - file: {path: "{{ out }}/{{ inventory_hostname }}", state: directory}
    - import_tasks: tasks/common.yml
      vars: {word: imported}
    - import_tasks:
        file: tasks/common.yml
      vars: {word: only-first}
      when: inventory_hostname == 'web01'
    - include_tasks: "tasks/{{ role_name }}.yml"
    - include_tasks: tasks/common.yml
      loop: [one, two]
      loop_control: {loop_var: word}
    - include_tasks:
        file: tasks/common.yml
      vars: {word: never}
      when: inventory_hostname == 'nobody'
"""
COMMON = """\
- name: write {{ word }}
  copy:
    content: "{{ word }} {{ flavour }}\\n"
    dest: "{{ out }}/{{ inventory_hostname }}/{{ word }}.txt"
"""
WEB = """\
- include_tasks: nested.yml
- command: "true"
  changed_when: false
"""
DB = """\
- copy: {content: "db\\n", dest: "{{ out }}/{{ inventory_hostname }}/db.txt"}
"""
NESTED = """\
- copy: {content: "nested\\n", dest: "{{ out }}/{{ inventory_hostname }}/nested.txt"}
"""


def ansible(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {
        **ansible_env(tmp_path),
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        **ansible_ssh_env(),  # one connection a host: tests/ansible_ssh.py
        "ANSIBLE_FORKS": "3",
    }
    return subprocess.run(
        [tool("ansible-playbook"), *args], capture_output=True, text=True, env=env, timeout=300
    )


def tree(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): p.read_text() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_includes_match_ansible_playbook(make_fleet, in_process, tmp_path):
    fleet = make_fleet(3, host_vars={"web01": {"role_name": "web"}, "web02": {"role_name": "db"},
                                     "web03": {"role_name": "web"}})  # fmt: skip
    site = tmp_path / "site"
    (site / "tasks").mkdir(parents=True)
    book = site / "play.yml"
    book.write_text(PLAY)
    for name, text in [("common", COMMON), ("web", WEB), ("db", DB), ("nested", NESTED)]:
        (site / "tasks" / f"{name}.yml").write_text(text)
    theirs_out, ours_out = tmp_path / "theirs", tmp_path / "ours"
    done = ansible(tmp_path, "-i", str(fleet.inventory), str(book), "-e", f"out={theirs_out}")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    ours = in_process("play", *fleet.args(), str(book), "-e", f"out={ours_out}", "--json")
    assert ours.exit_code == 0, ours
    recap = next(r for r in json_records(ours.stdout) if r["type"] == "recap")["hosts"]
    theirs = recap_lines(done.stdout)
    for host in fleet.names:
        assert {k: recap[host][k] for k in theirs[host]} == theirs[host], host
    assert tree(ours_out) == tree(theirs_out)
    assert "web01/only-first.txt" in tree(ours_out) and "web02/db.txt" in tree(ours_out)
    assert "web03/nested.txt" in tree(ours_out)
    # a second run changes nothing
    again = in_process("play", *fleet.args(), str(book), "-e", f"out={ours_out}", "--json")
    changed = next(r for r in json_records(again.stdout) if r["type"] == "recap")["hosts"]
    assert all(c["changed"] == 0 for c in changed.values())


def test_missing_import_is_refused_before_any_host_like_ansible(make_fleet, in_process, tmp_path):
    fleet = make_fleet(1)
    book = tmp_path / "play.yml"
    marker = tmp_path / "ran"
    book.write_text(
        f"- hosts: all\n  tasks:\n    - command: touch {marker}\n    - import_tasks: gone.yml\n"
    )
    ours = in_process("play", *fleet.args(), str(book))
    assert ours.exit_code == 1 and not marker.exists()
    assert "play.yml:4" in ours.stderr and "gone.yml" in ours.stderr
    done = ansible(tmp_path, "-i", str(fleet.inventory), str(book))
    assert done.returncode != 0 and not marker.exists()


SECTIONS = """\
- hosts: all
  gather_facts: false
  post_tasks:
    - copy: {content: "post\\n", dest: "{{ out }}/{{ inventory_hostname }}.post"}
      notify: log
  tasks:
    - copy: {content: "main\\n", dest: "{{ out }}/{{ inventory_hostname }}.main"}
      notify: log
  pre_tasks:
    - file: {path: "{{ out }}", state: directory}
      run_once: true
    - copy: {content: "pre\\n", dest: "{{ out }}/{{ inventory_hostname }}.pre"}
      notify: log
  handlers:
    - name: log
      shell: ls {{ out }}/{{ inventory_hostname }}.[mp]* | wc -l >> {{ out }}/{{ inventory_hostname }}.log
"""


def test_pre_and_post_tasks_flush_handlers_like_ansible(make_fleet, in_process, tmp_path):
    fleet = make_fleet(2)
    book = tmp_path / "sections.yml"
    book.write_text(SECTIONS)
    theirs_out, ours_out = tmp_path / "theirs", tmp_path / "ours"
    done = ansible(tmp_path, "-i", str(fleet.inventory), str(book), "-e", f"out={theirs_out}")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    ours = in_process("play", *fleet.args(), str(book), "-e", f"out={ours_out}", "--json")
    assert ours.exit_code == 0, ours
    recap = next(r for r in json_records(ours.stdout) if r["type"] == "recap")["hosts"]
    theirs = recap_lines(done.stdout)
    for host in fleet.names:
        assert {k: recap[host][k] for k in theirs[host]} == theirs[host], host
    # the handler ran after each section: it saw 1, then 2, then 3 files
    assert tree(ours_out) == tree(theirs_out)
    assert tree(ours_out)["web01.log"] == "1\n2\n3\n"


META = """\
- hosts: all
  gather_facts: false
  tasks:
    - copy: {content: "one\\n", dest: "{{ out }}/{{ inventory_hostname }}.one"}
      notify: log
    - meta: end_host
      when: inventory_hostname == 'web01'
    - meta: flush_handlers
    - copy: {content: "two\\n", dest: "{{ out }}/{{ inventory_hostname }}.two"}
      notify: log
    - meta: end_play
    - copy: {content: "never\\n", dest: "{{ out }}/{{ inventory_hostname }}.never"}
  handlers:
    - name: log
      shell: echo ran >> {{ out }}/{{ inventory_hostname }}.log
- hosts: all
  gather_facts: false
  tasks:
    - copy: {content: "next\\n", dest: "{{ out }}/{{ inventory_hostname }}.next"}
"""


def test_meta_tasks_like_ansible(make_fleet, in_process, tmp_path):
    fleet = make_fleet(3)
    book = tmp_path / "meta.yml"
    book.write_text(META)
    theirs_out, ours_out = tmp_path / "theirs", tmp_path / "ours"
    theirs_out.mkdir()
    ours_out.mkdir()
    done = ansible(tmp_path, "-i", str(fleet.inventory), str(book), "-e", f"out={theirs_out}")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    ours = in_process("play", *fleet.args(), str(book), "-e", f"out={ours_out}", "--json")
    assert ours.exit_code == 0, ours
    recap = next(r for r in json_records(ours.stdout) if r["type"] == "recap")["hosts"]
    theirs = recap_lines(done.stdout)
    for host in fleet.names:
        assert {k: recap[host][k] for k in theirs[host]} == theirs[host], host
    assert tree(ours_out) == tree(theirs_out)
    assert "web01.log" not in tree(ours_out) and tree(ours_out)["web02.log"] == "ran\n"
    assert "web02.next" in tree(ours_out) and "web02.never" not in tree(ours_out)
