"""add_host and group_by without a network: the inventory changes
(runner.inventory.dynamic), the modules' results (Ansible's keys), load-time checks, and
a playbook run on fakes where later tasks and plays see the new hosts and groups."""

from __future__ import annotations

import pytest

from runner.errors import InventoryError, PlaybookError
from runner.inventory import dynamic, load_inventory
from runner.playbook.modules.base import ModuleFailure
from runner.playbook.modules.inventory_changes import add_host, group_by
from tests.fakes import FakeFleet, run_playbook, shell_text


def inventory(tmp_path):
    path = tmp_path / "hosts.ini"
    path.write_text("[web]\nw1\nw2\n[db]\nd1\n[db:vars]\nrole=db\n[all:vars]\nsite=x\n")
    return load_inventory([str(path)])


def test_group_by_creates_the_group_under_its_parents_once(tmp_path):
    inv = inventory(tmp_path)
    assert dynamic.group_by(inv, "w1", "os_debian", ["linux"]) is True
    assert dynamic.group_by(inv, "w1", "os_debian", ["linux"]) is False  # nothing new
    assert inv.hosts["w1"].groups == ("linux", "os_debian", "web")
    assert [h.name for h in inv.select("linux")] == ["w1"]
    assert dynamic.group_by(inv, "d1", "db", ["all"]) is False  # already there
    assert dynamic.group_by(inv, "d1", "web", ["all"]) is True
    assert inv.hosts["d1"].vars["role"] == "db" and "web" in inv.hosts["d1"].groups


def test_add_host_is_new_last_with_group_vars_then_updates(tmp_path):
    inv = inventory(tmp_path)
    assert dynamic.add_host(inv, "n1", ["db", "fresh"], {"ansible_port": 2222}) is True
    host = inv.hosts["n1"]
    assert host.port == 2222 and host.vars["role"] == "db" and host.vars["site"] == "x"
    assert host.groups == ("db", "fresh")
    assert [h.name for h in inv.select("all")] == ["w1", "w2", "d1", "n1"]
    assert dynamic.add_host(inv, "n1", ["db"], {"ansible_port": 2222}) is False
    assert dynamic.add_host(inv, "n1", [], {"extra": 1}) is True
    assert inv.hosts["n1"].vars["extra"] == 1 and inv.hosts["n1"].vars["ansible_port"] == 2222
    assert dynamic.add_host(inv, "lone", [], {}) is True
    assert inv.hosts["lone"].groups == ("ungrouped",)


def test_a_cycle_is_refused(tmp_path):
    inv = inventory(tmp_path)
    dynamic.group_by(inv, "w1", "child", ["parent"])
    with pytest.raises(InventoryError, match="its own ancestor"):
        dynamic.group_by(inv, "w1", "parent", ["child"])
    assert "parent" not in inv.groups["child"].children  # the inventory is left as it was
    assert dynamic.group_by(inv, "w2", "child", ["parent"]) is True


def test_module_results_use_ansibles_keys():
    result = add_host(None, {"name": "h:2200", "groups": "a, b,a", "x": 1, "group": "g"})
    assert result["add_host"] == {
        "host_name": "h", "groups": ["a", "b"],
        "host_vars": {"x": 1, "group": "g", "ansible_ssh_port": 2200},
    }  # fmt: skip
    assert add_host(None, {"hostname": "h2", "group": "g"})["add_host"]["groups"] == ["g"]
    with pytest.raises(ModuleFailure):
        add_host(None, {"groups": "a"})
    assert group_by(None, {"key": "os is Debian", "parents": "p q"}) == {
        "changed": False, "add_group": "os-is-Debian", "parent_groups": ["p-q"],
    }  # fmt: skip
    assert group_by(None, {"key": "k"})["parent_groups"] == ["all"]


def test_load_time_errors_name_the_file_and_what_is_missing(tmp_path):
    from runner.playbook import load_playbook

    path = tmp_path / "play.yml"
    path.write_text("- hosts: all\n  tasks:\n    - group_by: {parents: x}\n")
    with pytest.raises(PlaybookError) as err:
        load_playbook(str(path))
    assert "group_by needs 'key'" in str(err.value) and "play.yml" in str(err.value)
    path.write_text("- hosts: all\n  tasks:\n    - add_host: {groups: x}\n")
    with pytest.raises(PlaybookError) as err:
        load_playbook(str(path))
    assert "add_host needs" in str(err.value)


PLAYBOOK = """
- hosts: all
  gather_facts: false
  tasks:
    - group_by: {key: "kind_{{ kind }}"}
    - add_host: {name: "{{ item }}", groups: added, kind: new}
      loop: [n1, n2]
    - shell: echo {{ group_names | join(',') }}
- hosts: kind_b:added
  gather_facts: false
  tasks:
    - shell: echo {{ inventory_hostname }} {{ kind }} {{ groups['added'] | join(',') }}
"""


def test_later_tasks_and_plays_see_the_changes(tmp_path):
    fleet = FakeFleet(["a", "b", "n1", "n2"])
    hosts = tmp_path / "hosts.ini"
    hosts.write_text("a kind=a\nb kind=b\n")
    inv = load_inventory([str(hosts)])
    fleet.inventory = lambda: inv  # type: ignore[method-assign]
    summary, _ = run_playbook(fleet, PLAYBOOK, tmp_path)
    commands = [(h, shell_text(c)) for h, c in fleet.log]
    assert commands == [
        ("a", "echo kind_a"), ("b", "echo kind_b"),  # group_names changed at once
        ("b", "echo b b n1,n2"), ("n1", "echo n1 new n1,n2"), ("n2", "echo n2 new n1,n2"),
    ]  # fmt: skip
    # add_host bypasses the host loop: it ran once, on a, for both items
    assert summary.recap["a"].as_dict()["changed"] == 3
    assert summary.recap["b"].as_dict()["changed"] == 3
    assert summary.recap["n1"].as_dict()["ok"] == 1


def test_changes_survive_refresh_inventory(tmp_path, in_process):
    hosts = tmp_path / "hosts.ini"
    hosts.write_text("box ansible_connection=local\n")
    book = tmp_path / "site.yml"
    book.write_text(
        """
- hosts: all
  gather_facts: false
  tasks:
    - group_by: {key: made}
    - add_host: {name: extra, ansible_connection: local, colour: blue}
    - meta: refresh_inventory
- hosts: made:extra
  gather_facts: false
  tasks:
    - debug: {msg: "seen={{ inventory_hostname }}-{{ colour | default('none') }}"}
"""
    )
    result = in_process("play", "-i", str(hosts), str(book), "--persist", "0")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "seen=box-none" in result.stdout and "seen=extra-blue" in result.stdout


def test_the_free_strategy_sees_its_new_group_at_once(tmp_path):
    fleet = FakeFleet(["a", "b"])
    text = """
- hosts: all
  gather_facts: false
  strategy: free
  tasks:
    - group_by: {key: "g_{{ inventory_hostname }}"}
    - shell: echo {{ group_names | join(',') }}
"""
    inv = load_inventory(["a,b,"])
    fleet.inventory = lambda: inv  # type: ignore[method-assign]
    run_playbook(fleet, text, tmp_path)
    assert sorted((h, shell_text(c)) for h, c in fleet.log) == [
        ("a", "echo g_a"),
        ("b", "echo g_b"),
    ]
