"""Small language and module behaviours, each as ansible-playbook 2.19 has it, in one
playbook run by both tools on the same sshd fleet from the same clean state (one
ansible-playbook run for all of them; the play of file contents runs on a local
connection, which writes the same bytes and costs Ansible far less): the PLAY RECAP, the exit code, the files left
behind (bytes and modes), and how each tool labels the hosts of delegated tasks.

- ``meta: end_role`` (ansible-core 2.18): the host passes over the rest of its role,
  ``always`` sections too, and goes on with the next role;
- ``delegate_to``: ``web01 -> web03(127.0.0.1)`` in the output, ``delegated_to`` in JSON;
- ``copy content:`` of booleans, numbers, lists and mappings, and ``"{{ x }}\\n"``;
- templates' trailing newlines (``{% endfor %}\\n`` at the end, ``trim_blocks: false``,
  ``lstrip_blocks``, a template that renders nothing);
- free-form ``k=v`` arguments with escapes (``content="a\\nb"``, ``line="a\\tb"``);
- ``copy remote_src`` of a folder, with and without the trailing slash, onto a folder
  that is partly there, twice (the second run changes nothing).
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest

from runner.testing.fleet import host_names
from tests.ansible_side import ansible_playbook, ansible_recap, runner_recap, same_recap, tree
from tests.conftest import json_records

pytestmark = pytest.mark.sshd

SITE = r"""
- name: roles
  hosts: app
  gather_facts: false
  roles: [ender, after]
  tasks:
    - name: after the roles
      copy: {content: "after\n", dest: "{{ out }}/{{ inventory_hostname }}.play"}

- name: delegation
  hosts: app
  gather_facts: false
  tags: [delegation]
  tasks:
    - name: to the db host
      command: "true"
      delegate_to: "{{ groups['db'][0] }}"
    - name: to localhost
      command: "true"
      delegate_to: localhost
      changed_when: false
    - name: to itself
      command: "true"
      delegate_to: "{{ inventory_hostname }}"
    - name: a delegated loop
      command: "true"
      delegate_to: "{{ groups['db'][0] }}"
      loop: [1, 2]
    - name: a delegated debug
      debug: msg=hi
      delegate_to: "{{ groups['db'][0] }}"
    - name: delegated on one host
      command: "true"
      delegate_to: "{{ groups['db'][0] }}"
      when: inventory_hostname == groups['app'][0]

- name: files
  hosts: app[0]
  gather_facts: false
  connection: local  # what is written is the point here, not the wire: Ansible's is faster
  vars:
    d: "{{ out }}/{{ inventory_hostname }}"
    a_bool: false
    a_list: [1, "two", {k: v}, "é"]
    a_dict: {b: [1, 2], a: "x", n: ~}
    port: 8080
  tasks:
    - name: a folder on the host, and a destination partly there
      shell: |
        mkdir -p {{ d }}/tpl {{ d }}/src/sub/deeper {{ d }}/src/empty {{ d }}/partial/sub
        printf 'a\n' > {{ d }}/src/a; printf 'b\n' > {{ d }}/src/sub/b
        printf 'c\n' > {{ d }}/src/sub/deeper/c; printf 'old\n' > {{ d }}/partial/a
        printf 'b\n' > {{ d }}/partial/sub/b; printf 'x\n' > {{ d }}/partial/extra
        chmod 600 {{ d }}/src/a; chmod 755 {{ d }}/src/sub/b; chmod 700 {{ d }}/src/sub
    - copy: {content: "{{ a_bool }}", dest: "{{ d }}/c_bool"}
    - copy: {content: "{{ a_list }}", dest: "{{ d }}/c_list"}
    - copy: {content: "{{ a_dict }}", dest: "{{ d }}/c_dict"}
    - copy: {content: "{{ port }}\n", dest: "{{ d }}/c_port_nl"}
    - copy: {content: "{{ a_bool }}\n\n", dest: "{{ d }}/c_bool_nl2"}
    - copy: {content: 1.5, dest: "{{ d }}/c_lit_float"}
    - template: {src: "{{ item }}", dest: "{{ d }}/tpl/{{ item }}"}
      loop: [endfor.j2, blank.j2, indent.j2, set.j2]
    - template: {src: endfor.j2, dest: "{{ d }}/tpl/endfor.notrim", trim_blocks: false}
    - copy: content="x\ny\t\"q\" \u00e9 \\n" dest={{ d }}/kv_copy
    - copy: content=plain\nunquoted dest={{ d }}/kv_unquoted
    - lineinfile: path={{ d }}/kv_line line="a\tb" create=true
    - name: remote folders
      copy: {src: "{{ d }}/src{{ item[0] }}", dest: "{{ d }}/{{ item[1] }}", remote_src: true}
      loop: [["/", "slash"], ["", "noslash"], ["/", "partial"],
             ["/", "slash"], ["", "noslash"], ["/", "partial"]]
      register: folders
    - copy:
        content: "{{ folders.results | map(attribute='changed') | list }}"
        dest: "{{ d }}/folders.changed"
"""

ENDER = """\
- copy: {content: "one\\n", dest: "{{ out }}/{{ inventory_hostname }}.ender-one"}
- block:
    - meta: end_role
      when: inventory_hostname == groups['app'][0]
    - copy: {content: "block\\n", dest: "{{ out }}/{{ inventory_hostname }}.ender-block"}
  always:
    - copy: {content: "always\\n", dest: "{{ out }}/{{ inventory_hostname }}.ender-always"}
- copy: {content: "two\\n", dest: "{{ out }}/{{ inventory_hostname }}.ender-two"}
"""

TEMPLATES = {
    "endfor.j2": "{% for i in [1, 2] %}\nline {{ i }}\n{% endfor %}\n",
    "blank.j2": "a\n\n",
    "indent.j2": "{% for i in [1, 2] %}\n  {% if i %}\n  v{{ i }}\n  {% endif %}\n{% endfor %}\n",
    "set.j2": "{% set x = 1 %}\n",
}


def project(root: Path) -> None:
    files = {
        "site.yml": SITE,
        "roles/ender/tasks/main.yml": ENDER,
        "roles/after/tasks/main.yml": '- copy: {content: "after\\n", '
        'dest: "{{ out }}/{{ inventory_hostname }}.after-role"}\n',
        **{f"templates/{name}": text for name, text in TEMPLATES.items()},
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def modes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): oct(stat.S_IMODE(p.lstat().st_mode))
        for p in sorted(folder.rglob("*"))
    }


def raw_files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


_TASK = re.compile(r"^(?:TASK|RUNNING HANDLER) \[(.+?)\]")


def ansible_labels(stdout: str) -> dict[str, set[tuple[str, str]]]:
    """task -> {(status, 'web01 -> web03(127.0.0.1)')} from ansible-playbook's lines."""
    found: dict[str, set[tuple[str, str]]] = {}
    task = ""
    for line in stdout.splitlines():
        if match := _TASK.match(line):
            task = match.group(1)
        elif match := re.match(r"^(ok|changed|skipping): \[(.+?)\]", line):
            found.setdefault(task, set()).add((match.group(1), match.group(2)))
    return found


def runner_labels(stdout: str, names: list[str]) -> dict[str, set[tuple[str, str]]]:
    """The same from runner's grouped lines (``changed: web[01-02] (2) -> web03(...)``),
    the folded host set expanded."""
    found: dict[str, set[tuple[str, str]]] = {}
    task = ""
    for line in stdout.splitlines():
        if match := _TASK.match(line):
            task = match.group(1)
        elif match := re.match(r"^(ok|changed|skipping): (\S+)(?: \(\d+\))?( -> \S+)?", line):
            status, hosts, where = match.groups()
            pattern = re.escape(hosts).replace(r"\[01\-02\]", "0[12]")
            for name in names:
                if re.fullmatch(pattern, name):
                    found.setdefault(task, set()).add((status, name + (where or "")))
    return found


def test_small_behaviours_as_ansible_playbook(make_fleet, in_process, tmp_path):
    names = host_names(3)
    fleet = make_fleet(3, groups={"app": names[:2], "db": names[2:]})
    project(tmp_path)
    book = str(tmp_path / "site.yml")
    runs = {}
    for side in ("theirs", "ours"):
        out = tmp_path / side
        out.mkdir()
        args = [book, "-e", f"out={out}"]
        if side == "theirs":
            done = ansible_playbook(tmp_path, "-i", str(fleet.inventory), *args, timeout=900)
            runs[side] = (done.returncode, ansible_recap(done.stdout), done.stdout)
        else:
            res = in_process("play", *fleet.args(), *args, "--json")
            runs[side] = (res.exit_code, runner_recap(res.stdout), res.stdout)
    (rc_theirs, recap_theirs, text), (rc_ours, recap_ours, ours_text) = runs.values()
    assert recap_theirs and rc_theirs == 0, text[-3000:]
    same_recap(recap_ours, recap_theirs)
    assert rc_ours == rc_theirs, ours_text[-3000:]
    theirs, ours = tmp_path / "theirs", tmp_path / "ours"
    assert raw_files(ours) == raw_files(theirs)
    assert modes(ours) == modes(theirs)

    # what the comparison shows, written out
    first, second = names[0], names[1]
    left = tree(ours)
    assert f"{first}.ender-one" in left and f"{first}.ender-always" not in left
    assert f"{second}.ender-two" in left and f"{first}.after-role" in left
    assert left[f"{first}/c_bool"] == "False" and left[f"{first}/c_port_nl"] == "8080"
    assert left[f"{first}/c_dict"] == '{"b": [1, 2], "a": "x", "n": null}'
    assert (
        left[f"{first}/kv_line"] == "a\tb\n" and left[f"{first}/kv_unquoted"] == "plain\nunquoted"
    )
    assert left[f"{first}/tpl/endfor.j2"] == "line 1\nline 2\n"
    assert left[f"{first}/folders.changed"] == "[true, true, true, false, false, false]"
    assert os.path.isfile(ours / first / "noslash" / "src" / "sub" / "deeper" / "c")

    # delegated hosts: the JSON names the target, the grouped lines tag the hosts as
    # ansible-playbook does (their label set per task, hosts expanded from the fold)
    records = [r for r in json_records(ours_text) if r["type"] == "task"]
    delegated = {(r["task"], r["host"], r["delegated_to"]) for r in records
                 if r["play"] == "delegation" and r["status"] != "skipped"}  # fmt: skip
    expected = {
        (task, label.split(" -> ")[0], label.split(" -> ")[1].split("(")[0] if " -> " in label else None)
        for task, seen in ansible_labels(text).items()
        for status, label in seen
        if status != "skipping" and task in {r["task"] for r in records if r["play"] == "delegation"}
    }  # fmt: skip
    assert delegated == expected and ("to the db host", first, names[2]) in delegated
    human = in_process("play", *fleet.args(), book, "-e", f"out={tmp_path / 'again'}",
                       "--tags", "delegation")  # fmt: skip
    assert human.exit_code == 0, human
    theirs_labels = {t: s for t, s in ansible_labels(text).items() if t in runner_labels(
        human.stdout, names)}  # fmt: skip
    assert runner_labels(human.stdout, names) == theirs_labels
    assert f"changed: {names[0][:-2]}[01-02] (2) -> {names[2]}(127.0.0.1)" in human.stdout
