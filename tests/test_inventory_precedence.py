"""Variable precedence, one layer against the next (Ansible's documented order).

Each case writes a small inventory, loads it and reads one variable of one host.
"""

from __future__ import annotations

import os
import textwrap

import pytest

from runner.inventory import PRECEDENCE, load_inventory

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def build(tmp_path, files: dict[str, str]) -> str:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return str(tmp_path / "hosts.yml")


NESTED = """
all:
  vars: {v: all}
  children:
    parent:
      vars: {v: parent}
      children:
        child:
          vars: {v: child}
          hosts:
            h1: {}
            h2: {v: host}
"""

CASES = [
    # (name, files, host, expected value of v)
    ("all group only", {"hosts.yml": "all:\n  vars: {v: all}\n  hosts: {h1: }\n"}, "h1", "all"),
    ("child over parent over all", {"hosts.yml": NESTED}, "h1", "child"),
    ("host over groups", {"hosts.yml": NESTED}, "h2", "host"),
    (
        "deeper group wins over a shallower one whatever the names",
        {
            "hosts.yml": """
            all:
              children:
                zzz: {vars: {v: zzz}, hosts: {h1: }}
                aaa:
                  vars: {v: aaa}
                  children:
                    bbb: {vars: {v: bbb}, hosts: {h1: }}
            """
        },
        "h1",
        "bbb",
    ),
    (
        "same depth: later name wins",
        {
            "hosts.yml": """
            all:
              children:
                bbb: {vars: {v: bbb}, hosts: {h1: }}
                aaa: {vars: {v: aaa}, hosts: {h1: }}
            """
        },
        "h1",
        "bbb",
    ),
    (
        "same depth: higher ansible_group_priority wins over name",
        {
            "hosts.yml": """
            all:
              children:
                aaa: {vars: {v: aaa, ansible_group_priority: 10}, hosts: {h1: }}
                bbb: {vars: {v: bbb}, hosts: {h1: }}
            """
        },
        "h1",
        "aaa",
    ),
    (
        "priority does not beat depth",
        {
            "hosts.yml": """
            all:
              children:
                top: {vars: {v: top, ansible_group_priority: 99}, hosts: {h1: }}
                p:
                  children:
                    deep: {vars: {v: deep}, hosts: {h1: }}
            """
        },
        "h1",
        "deep",
    ),
    (
        "group_vars/all beats inventory vars of every group",
        {"hosts.yml": NESTED, "group_vars/all.yml": "v: gv-all\n"},
        "h1",
        "gv-all",
    ),
    (
        "group_vars/GROUP beats group_vars/all",
        {"hosts.yml": NESTED, "group_vars/all.yml": "v: gv-all\n", "group_vars/parent.yml": "v: gv-parent\n"},
        "h1",
        "gv-parent",
    ),
    (
        "group_vars of a deeper group win",
        {"hosts.yml": NESTED, "group_vars/child.yml": "v: gv-child\n", "group_vars/parent.yml": "v: gv-parent\n"},
        "h1",
        "gv-child",
    ),
    (
        "inventory host vars beat group_vars",
        {"hosts.yml": NESTED, "group_vars/child.yml": "v: gv-child\n"},
        "h2",
        "host",
    ),
    (
        "host_vars beat inventory host vars",
        {"hosts.yml": NESTED, "host_vars/h2.yml": "v: hv\n"},
        "h2",
        "hv",
    ),
    (
        "group_vars directory: files in name order, later wins",
        {"hosts.yml": NESTED, "group_vars/child/a.yml": "v: a\n", "group_vars/child/b.yml": "v: b\n"},
        "h1",
        "b",
    ),
    (
        "NAME without extension is used before NAME.yml",
        {"hosts.yml": NESTED, "host_vars/h1": "v: bare\n", "host_vars/h1.yml": "v: yml\n"},
        "h1",
        "bare",
    ),
    (
        "NAME.yml is used before NAME.yaml and NAME.json",
        {"hosts.yml": NESTED, "host_vars/h1.yaml": "v: yaml\n", "host_vars/h1.yml": "v: yml\n",
         "host_vars/h1.json": '{"v": "json"}'},
        "h1",
        "yml",
    ),
    (
        "dicts are replaced, not merged",
        {"hosts.yml": "all:\n  vars: {v: {a: 1, b: 2}}\n  hosts: {h1: {v: {c: 3}}}\n"},
        "h1",
        {"c": 3},
    ),
    (
        "hidden and backup files in a vars directory are skipped",
        {"hosts.yml": NESTED, "group_vars/child/.hidden.yml": "v: hidden\n",
         "group_vars/child/a.yml~": "v: backup\n", "group_vars/child/c.txt": "v: txt\n"},
        "h1",
        "child",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("name", "files", "host", "expected"), CASES, ids=[c[0] for c in CASES])
def test_precedence(tmp_path, name, files, host, expected):
    inv = load_inventory([build(tmp_path, files)])
    assert inv.hosts[host].vars["v"] == expected


def test_extra_vars_win_over_everything(tmp_path):
    source = build(tmp_path, {"hosts.yml": NESTED, "host_vars/h2.yml": "v: hv\n"})
    inv = load_inventory([source], {"v": "extra", "new": [1]})
    assert inv.hosts["h2"].vars["v"] == "extra" and inv.hosts["h1"].vars["new"] == [1]


def test_vars_dirs_of_every_source_apply_in_source_order(tmp_path):
    first = build(tmp_path / "one", {"hosts.yml": NESTED, "host_vars/h1.yml": "v: one\nw: one\n"})
    second = build(
        tmp_path / "two", {"hosts.yml": "all:\n  hosts: {h9: }\n", "host_vars/h1.yml": "v: two\n"}
    )
    inv = load_inventory([first, second])
    assert inv.hosts["h1"].vars["v"] == "two"  # host_vars beside the second source
    assert inv.hosts["h1"].vars["w"] == "one"


def test_later_source_replaces_host_vars_key_by_key(tmp_path):
    (tmp_path / "a.ini").write_text("[web]\nh1 x=1 y=1\n")
    (tmp_path / "b.ini").write_text("[db]\nh1 y=2\n")
    inv = load_inventory([str(tmp_path / "a.ini"), str(tmp_path / "b.ini")])
    assert inv.hosts["h1"].vars == {"x": 1, "y": 2}
    assert inv.hosts["h1"].groups == ("db", "web")


def test_group_priority_is_not_a_variable(tmp_path):
    source = build(
        tmp_path,
        {
            "hosts.yml": "all:\n  children:\n    g:\n      vars: {ansible_group_priority: 3}\n      hosts: {h1: }\n"
        },
    )
    inv = load_inventory([source])
    assert "ansible_group_priority" not in inv.hosts["h1"].vars
    assert inv.groups["g"].priority == 3


def test_fixture_layers(tmp_path):
    """tests/data/inventory/precedence: one variable per layer (also a golden case)."""
    inv = load_inventory(
        [os.path.join(ROOT, "tests", "data", "inventory", "precedence", "hosts.yml")]
    )
    h1, h2 = inv.hosts["h1"].vars, inv.hosts["h2"].vars
    assert h1["layer"] == "host-inventory"
    assert h2["layer"] == "all-group_vars"  # group_vars/all beats canary's inventory vars
    assert h1["by_name"] == "bbb" and h1["by_priority"] == "zzz"
    assert h1["web_only"] == "web-group_vars" and h1["gv_web"] == "second"
    assert h1["deep"] == "canary-group_vars"
    assert h1["host_inline"] == "host_vars"
    assert h1["dict_value"] == {"c": 3}


def test_precedence_is_written_down_in_order():
    assert PRECEDENCE[0].startswith("inventory vars of group 'all'")
    assert PRECEDENCE[-1] == "extra vars"
    assert len(PRECEDENCE) == 7


def test_group_and_host_vars_beside_the_playbook_as_ansible_inventory_reads_them(tmp_path):
    """The playbook's group_vars/ and host_vars/ come after the inventory's at each level
    (all, groups, host), as ``ansible-inventory --playbook-dir`` merges them."""
    import json
    import subprocess

    from tests.test_vault import ansible_env, tool

    # every variable is set at its level and at each level below it: its value names
    # the level that won
    levels = ["inv_all", "book_all", "inv_group", "book_group", "inv_host", "inv_host_vars",
              "book_host_vars"]  # fmt: skip

    def upto(level: str) -> str:
        return "".join(f"{name}: {level}\n" for name in levels[levels.index(level) :])

    source = build(
        tmp_path / "inv",
        {
            "hosts.yml": "all:\n  children:\n    web:\n      hosts:\n        h1:\n"
            + "".join(f"          {name}: inv_host\n" for name in levels[4:]),
            "group_vars/all.yml": upto("inv_all"),
            "group_vars/web.yml": upto("inv_group"),
            "host_vars/h1.yml": upto("inv_host_vars"),
        },
    )
    build(
        tmp_path / "book",
        {
            "group_vars/all.yml": upto("book_all"),
            "group_vars/web.yml": upto("book_group"),
            "host_vars/h1.yml": upto("book_host_vars"),
        },
    )
    ours = load_inventory([source], playbook_dirs=[str(tmp_path / "book")]).hosts["h1"].vars
    assert {k: ours[k] for k in levels} == {k: k for k in levels}
    theirs = subprocess.run(
        [tool("ansible-inventory"), "-i", source, "--playbook-dir", str(tmp_path / "book"),
         "--host", "h1"],
        capture_output=True, text=True, env=ansible_env(tmp_path), timeout=120,
    )  # fmt: skip
    assert theirs.returncode == 0, theirs.stderr
    assert {k: ours[k] for k in levels} == {k: json.loads(theirs.stdout)[k] for k in levels}
