"""package_facts natively against the same module run through the Ansible module bridge
(ansible-core's own package_facts, with the system's python3, which has python3-apt) on
this Debian machine: the same ``ansible_facts.packages`` for every installed package, in
ansible-core's exact shape. Reads only; nothing is installed. ``manager: rpm`` fails on both sides: no rpm here."""

from __future__ import annotations

import json

import pytest

from runner.playbook.modules.pkgfacts import parse_rpm
from tests.test_native_vs_bridge_e2e import MODES, compare_registered, run_native_and_bridged

pytestmark = pytest.mark.sshd

PLAY = """\
- hosts: all
  gather_facts: false
  vars:
    ansible_python_interpreter: /usr/bin/python3
  tasks:
    - package_facts: {}
      register: pf1
    - name: the facts the first task set, as the next tasks see them
      copy:
        content: "{{ ansible_facts.packages | to_json }}"
        dest: "{{ out }}/{{ inventory_hostname }}.packages"
    - package_facts: {manager: [rpm, dnf], strategy: all}
      register: pf3
      ignore_errors: true
    - copy:
        content: "{{ {'pf1': pf1, 'pf3': pf3} | to_json }}"
        dest: "{{ out }}/{{ inventory_hostname }}.json"
"""


def test_package_facts_native_as_bridged(make_fleet, in_process, tmp_path):
    fleet = make_fleet(1)
    host = fleet.names[0]
    recaps, outs = run_native_and_bridged(
        tmp_path, fleet, in_process, PLAY, lambda mode: {}, ("package_facts",), probe="pf1"
    )
    assert recaps["native"][host]["ignored"] == 1, recaps  # no rpm database here
    native, bridged = (json.loads((outs[m] / f"{host}.packages").read_text()) for m in MODES)
    assert len(native) > 50 and native["dpkg"][0]["source"] == "apt", native.get("dpkg")
    assert set(native) == set(bridged), sorted(set(native) ^ set(bridged))[:20]
    differ = [name for name in native if native[name] != bridged[name]]
    assert not differ, [(n, native[n], bridged[n]) for n in differ[:5]]
    assert set(native["bash"][0]) == {"name", "version", "arch", "category", "origin", "source"}
    compare_registered(outs, host, ("pf1",), ("changed",))
    regs = [json.loads((outs[m] / f"{host}.json").read_text()) for m in MODES]
    assert regs[0]["pf1"]["ansible_facts"] == regs[1]["pf1"]["ansible_facts"]
    assert [r["pf3"]["failed"] for r in regs] == [True, True]
    assert regs[0]["pf3"]["msg"] == regs[1]["pf3"]["msg"]


def test_rpm_lines_in_ansible_cores_shape():
    lines = ["rpm\tbash\t(none)\t5.1.8\t9.el9\tx86_64", "rpm\tvim\t2\t9.0\t3\tx86_64"]
    assert parse_rpm(lines) == {
        "bash": [{"name": "bash", "version": "5.1.8", "release": "9.el9", "epoch": "None",
                  "arch": "x86_64", "source": "rpm"}],
        "vim": [{"name": "vim", "version": "9.0", "release": "3", "epoch": "2",
                 "arch": "x86_64", "source": "rpm"}],
    }  # fmt: skip
