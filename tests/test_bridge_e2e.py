"""End-to-end, against real sshd: Ansible's own module files run through runner's module
bridge (ansible-core's lineinfile and known_hosts, a collection's modules with their
module_utils, a redirect, check mode, diff, no_log, a failing module), compared with the
real ansible-playbook on the same fleet: the recap, the registered results' keys and the
files each tool leaves.

The collection is tests/bridge_collection.py's (community.general is on Galaxy only);
lineinfile is forced through the bridge with RUNNER_BRIDGE_MODULES so the test keeps
covering the bridge once runner has its own lineinfile.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.ansible_side import ansible_playbook, ansible_recap, runner_recap, same_recap, tree
from tests.bridge_collection import make_collection

pytestmark = pytest.mark.sshd

KEY = (
    "example.test ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBn6x7n0ylmVJvUS0HW0ZgO8wI2Al7EhTqDs6XbsPSVf"
)

PLAY = """
- hosts: all
  gather_facts: false
  vars:
    dir: "{{ root }}/{{ inventory_hostname }}"
  tasks:
    - name: a line, through ansible-core's lineinfile
      ansible.builtin.lineinfile: {path: "{{ dir }}/a.conf", line: "x=1", create: true}
      register: lf
    - name: again, nothing to do
      lineinfile: path={{ dir }}/a.conf line=x=1
      register: lf2
    - name: a collection module with module_utils of its own and of ansible-core
      runnertest.tools.ini_set: {path: "{{ dir }}/app.ini", section: main, option: port, value: "80"}
      register: ini
    - known_hosts: {path: "{{ dir }}/known_hosts", name: example.test, key: "KEY"}
      become: true
      register: kh
    - name: check mode
      runnertest.tools.ini_set: {path: "{{ dir }}/app.ini", section: main, option: x, value: y}
      check_mode: true
      register: checked
    - name: a module without check mode, in check mode
      runnertest.tools.nocheck: {path: "{{ dir }}/ran"}
      check_mode: true
      register: nocheck
    - name: no_log
      runnertest.tools.ini_set: {path: "{{ dir }}/s.ini", section: s, option: o, value: v, secret: s3cret}
      no_log: true
      register: hidden
    - name: a failing module
      runnertest.tools.nocheck: {path: "{{ dir }}/ran", fail: true}
      ignore_errors: true
      register: failing
    - name: a short name, found in the collection the collections keyword lists
      ini_set: {path: "{{ dir }}/app.ini", section: main, option: host, value: db}
      collections: [runnertest.tools]
      register: short
    - copy:
        dest: "{{ dir }}/registered.json"
        content: "{{ {'lf': lf, 'lf2': lf2, 'ini': ini, 'kh': kh, 'checked': checked,
                      'nocheck': nocheck, 'hidden': hidden, 'failing': failing,
                      'short': short} | to_json }}"
""".replace("KEY", KEY)

# What differs by design: the paths (each tool writes under its own root), the
# interpreter runner discovered (Ansible is given one), Ansible's exception text.
_LOOSE = {"ansible_facts", "exception", "invocation"}


def _registered(root: Path) -> dict[str, dict]:
    return {
        host.name: json.loads((host / "registered.json").read_text())
        for host in sorted(root.iterdir())
    }


def _shape(result: dict) -> dict:
    return {
        "keys": sorted(set(result) - _LOOSE),
        **{k: result.get(k) for k in ("changed", "failed", "skipped", "msg", "warnings")},
    }


def test_bridged_modules_match_ansible_playbook(make_fleet, in_process, tmp_path):
    fleet = make_fleet(2)
    collections = make_collection(tmp_path / "collections")
    book = tmp_path / "site.yml"
    book.write_text(PLAY)
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    env = {"ANSIBLE_COLLECTIONS_PATH": str(collections), "RUNNER_BRIDGE_MODULES": "lineinfile"}
    res = in_process(
        "play", *fleet.args(), "--json", "--diff", "-e", f"root={ours}", str(book), env=env
    )
    assert res.exit_code == 0, res
    done = ansible_playbook(
        tmp_path, "-i", str(fleet.inventory), "--diff", "-e", f"root={theirs}", str(book),
        env={"ANSIBLE_COLLECTIONS_PATH": str(collections)},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    same_recap(runner_recap(res.stdout), ansible_recap(done.stdout))
    mine, real = _registered(ours), _registered(theirs)
    assert mine.keys() == real.keys() == set(fleet.names)
    for host in fleet.names:
        for name in real[host]:
            assert _shape(mine[host][name]) == _shape(real[host][name]), (host, name)
    # the files each left, but for the registered results (paths differ)
    strip = {k: v for k, v in tree(ours).items() if not k.endswith("registered.json")}
    assert strip == {k: v for k, v in tree(theirs).items() if not k.endswith("registered.json")}
    first = mine[fleet.names[0]]
    assert first["ini"]["changed"] and not first["lf2"]["changed"]
    assert first["nocheck"]["skipped"] and first["failing"]["msg"] == "asked to fail"
    assert (ours / fleet.names[0] / "app.ini").read_text() == "[main]\nport = 80\nhost = db\n"
    assert first["short"]["changed"]
    # found as Ansible's auto discovery finds it, once per host
    assert first["lf"]["ansible_facts"]["discovered_interpreter_python"].startswith("/")
    assert "ansible_facts" not in first["ini"]
    assert "s3cret" not in res.stdout  # no_log: the output hides the result


def test_diff_and_refusals_in_the_text_output(make_fleet, in_process, tmp_path):
    fleet = make_fleet(1)
    collections = make_collection(tmp_path / "collections")
    book = tmp_path / "site.yml"
    book.write_text(
        "- hosts: all\n  gather_facts: false\n  tasks:\n"
        f"    - runnertest.tools.ini_set: {{path: {tmp_path}/d.ini, section: a, option: b, value: c}}\n"
    )
    env = {"ANSIBLE_COLLECTIONS_PATH": str(collections)}
    res = in_process("play", *fleet.args(), "--diff", str(book), env=env)
    assert res.exit_code == 0, res
    assert f"--- before: {tmp_path}/d.ini" in res.stdout and "+b = c" in res.stdout, res.stdout
    assert "[WARNING]: ini_set is a test module" in res.stdout
    # ad hoc, through the same path, with the interpreter given
    res = in_process(
        "run", *fleet.args(), "-e", f"ansible_python_interpreter={sys.executable}", "all",
        "-m", "runnertest.tools.ini_set", "-a", f"path={tmp_path}/d.ini section=a option=b value=d",
        env=env,
    )  # fmt: skip
    assert res.exit_code == 0, res
    assert (tmp_path / "d.ini").read_text() == "[a]\nb = d\n"
    for module, words in (
        ("runnertest.tools.needs_action", "controller-side action plugin"),
        ("runnertest.tools.gone", "was removed: use runnertest.tools.ini_set instead"),
        ("ansible.builtin.service", "action plugin"),
        ("runnertest.tools.no_such", "unknown module"),
    ):
        book.write_text(f"- hosts: all\n  tasks:\n    - {module}: {{}}\n")
        # service is runner's own now: forced through the bridge, its action plugin refuses it
        res = in_process(
            "play", *fleet.args(), str(book), env={**env, "RUNNER_BRIDGE_MODULES": "service"}
        )
        assert res.exit_code == 1 and words in res.stderr, (module, res.stderr)
        assert f"{book}:3" in res.stderr
