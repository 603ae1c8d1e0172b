"""Inventory sources: YAML, INI, directories, scripts, inline lists; and their errors."""

from __future__ import annotations

import os
import stat
import sys
import textwrap

import pytest

from runner.errors import InventoryError
from runner.inventory import load_inventory
from runner.inventory.ini_source import parse_ini_value

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "inventories")


def write(tmp_path, name: str, text: str, executable: bool = False) -> str:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    if executable:
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def load_error(sources) -> InventoryError:
    with pytest.raises(InventoryError) as info:
        load_inventory(sources)
    return info.value


# --- YAML ------------------------------------------------------------------------


def test_yaml_groups_membership_and_ungrouped():
    inv = load_inventory([os.path.join(EXAMPLES, "hosts.yml")])
    assert list(inv.hosts)[:3] == ["bastion.example.com", "web01.example.com", "web02.example.com"]
    assert inv.hosts["bastion.example.com"].groups == ("ungrouped",)
    assert inv.hosts["web01.example.com"].groups == ("canary", "prod", "web")
    assert inv.hosts["db-a.example.com"].groups == ("db", "eu", "prod")
    assert inv.groups["web"].children == ("canary",)
    assert inv.groups["prod"].children == ("web", "db")
    assert set(inv.groups["web"].parents) == {"all", "prod"}
    assert inv.hosts["web05.example.com"].port == 8080
    assert inv.hosts["web05.example.com"].address == "10.0.0.5"
    assert inv.groups["web"].depth == 2 and inv.groups["canary"].depth == 3


def test_yaml_other_top_level_groups_and_string_sections(tmp_path):
    source = write(
        tmp_path,
        "hosts.yaml",
        """
        web:
          hosts: web1
        db:
          hosts:
            db1:
        empty:
        """,
    )
    inv = load_inventory([source])
    assert inv.hosts["web1"].groups == ("web",)
    assert set(inv.groups["all"].children) == {"ungrouped", "web", "db", "empty"}


def test_yaml_values_keep_yaml_types(tmp_path):
    source = write(
        tmp_path,
        "hosts.yml",
        """
        all:
          hosts:
            h1: {a: yes, b: '010', c: 010, d: 1.5, e: ~, f: [1, x], g: "2"}
        """,
    )
    assert dict(load_inventory([source]).hosts["h1"].vars) == {
        "a": True, "b": "010", "c": 8, "d": 1.5, "e": None, "f": [1, "x"], "g": "2",
    }  # fmt: skip


def test_json_inventory_file(tmp_path):
    source = write(tmp_path, "hosts.json", '{"web": {"hosts": {"w1": {"x": 1e3}}}}')
    assert load_inventory([source]).hosts["w1"].vars["x"] == 1000.0


def test_empty_yaml_file_is_an_empty_inventory(tmp_path):
    assert load_inventory([write(tmp_path, "hosts.yml", "# nothing yet\n")]).hosts == {}


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("all:\n  hosts:\n    web1:\n   bad: [\n", 4, "invalid YAML"),
        ("all:\n  children:\n    web:\n      host:\n        web1:\n", 4, "unknown key 'host'"),
        ("all:\n  hosts:\n    - web1\n", 2, "must be a mapping, found a list"),
        ("all:\n  hosts:\n    web1: 5\n", 3, "variables of host 'web1'"),
        ("all:\n  hosts:\n    web[3:1]:\n", 3, "reversed"),
        ("all:\n  hosts:\n    web[01:5]:\n", 3, "mixes padding"),
        ("all:\n  children:\n    web: [a]\n", 3, "group 'web' must be a mapping"),
        ("- a\n- b\n", 1, "mapping of group names"),
        ("plugin: aws_ec2\n", 1, "not supported"),
        (
            "all:\n  children:\n    a:\n      children:\n        b:\n          children:\n            a:\n",
            7,
            "'a' is its own ancestor: a -> b -> a",
        ),
        ("all:\n  children:\n    a:\n      children:\n        a:\n", 5, "own ancestor"),
        ("all:\n  children:\n    web:\n      children:\n        all:\n", 5, "cannot be a child"),
    ],
)
def test_yaml_errors_name_file_and_line(tmp_path, text, line, message):
    path = write(tmp_path, "hosts.yml", text)
    error = load_error([path])
    assert message in error.message
    assert (error.path, error.line) == (path, line)
    assert str(error).startswith(f"{path}:{line}: ")


# --- INI -------------------------------------------------------------------------

INI_VALUES = [
    ("8080", 8080),
    ("1.5", 1.5),
    ("True", True),
    ("true", "true"),
    ("yes", "yes"),
    ("None", None),
    ("'quoted'", "quoted"),
    ('"2"', "2"),
    ("[1, 'a']", [1, "a"]),
    ("(1, 2)", [1, 2]),
    ("{'a': {1, 2}}", {"a": [1, 2]}),
    ("10.0.0.1", "10.0.0.1"),
    ("web.example.com", "web.example.com"),
    ("007", "007"),
    ("0x10", 16),
    ("-5", -5),
    ("1_000", 1000),
    ("1+2j", "(1+2j)"),
    ("...", "..."),
    ("a b", "a b"),
    ("", ""),
    ("b'x'", "x"),
]


@pytest.mark.parametrize(("text", "value"), INI_VALUES)
def test_ini_values_are_python_literals(text, value):
    assert parse_ini_value(text) == value
    assert type(parse_ini_value(text)) is type(value)


def test_ini_inventory(tmp_path):
    source = write(
        tmp_path,
        "hosts",
        """
        # comment
        ; another comment
        top1 ansible_port=2200

        [web]   # a comment after a header
        web[1:2] x=1 s="a b" q='"3"' n="4"
        web3:2222

        [web:vars]
        v=1
        t=text # not a comment in a vars section
        q="4"

        [prod:children]
        web
        later

        [later]
        db1

        [all:vars]
        a=all
        """,
    )
    inv = load_inventory([source])
    assert list(inv.hosts) == ["top1", "web1", "web2", "web3", "db1"]
    assert inv.hosts["top1"].groups == ("ungrouped",) and inv.hosts["top1"].port == 2200
    assert dict(inv.hosts["web1"].vars) == {
        "a": "all", "v": 1, "t": "text # not a comment in a vars section", "q": "3",
        "x": 1, "s": "a b", "n": 4,
    }  # fmt: skip
    assert inv.hosts["web3"].vars["q"] == "4" and inv.hosts["web3"].port == 2222
    assert inv.hosts["db1"].groups == ("later", "prod")
    assert inv.groups["prod"].children == ("web", "later")


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("[web]\nweb[3:1]\n", 2, "reversed"),
        ("[web]\nweb[01:5]\n", 2, "mixes padding"),
        ("[web]\nweb1 foo\n", 2, "expected key=value after host 'web1'"),
        ("[web]\nweb1 x='unclosed\n", 2, "cannot parse host line"),
        ("[web]\nweb1:\n", 2, "port"),
        ("[web]\nweb1:http\n", 2, "port"),
        ("# a\n# b\n[web:vars]\nx=1\n", 3, "[web:vars] is for group 'web', which is not defined"),
        ("[a:children]\nb\n", 2, "includes group 'b', which is not defined"),
        ("[web\n", 1, "invalid section header"),
        ("[web group]\n", 1, "invalid section header"),
        ("[web:foo]\n", 1, "unknown type 'foo'"),
        ("[web]\nh\n[web:vars]\njust-a-word\n", 4, "expected key=value in [web:vars]"),
        ("[web]\nh\n[web:children]\na b\n", 4, "expected a group name"),
        ("[a]\nh1\n[b:children]\na\n[a:children]\nb\n", 4, "own ancestor"),
        ("---\nall:\n", 1, "looks like a YAML file"),
    ],
)
def test_ini_errors_name_file_and_line(tmp_path, text, line, message):
    path = write(tmp_path, "hosts.ini", text)
    error = load_error([path])
    assert message in error.message
    assert (error.path, error.line) == (path, line)


# --- group_vars / host_vars ----------------------------------------------------


def test_bad_vars_files(tmp_path):
    write(tmp_path, "hosts.yml", "all:\n  hosts: {h1: }\n")
    write(tmp_path, "group_vars/all.yml", "a: 1\nb: [\n")
    error = load_error([str(tmp_path / "hosts.yml")])
    assert error.path == str(tmp_path / "group_vars" / "all.yml") and error.line == 3
    write(tmp_path, "group_vars/all.yml", "- a\n")
    error = load_error([str(tmp_path / "hosts.yml")])
    assert "must hold a mapping" in error.message and error.line == 1
    (tmp_path / "group_vars" / "all.yml").write_bytes(b"a: \xff\n")
    assert "UTF-8" in load_error([str(tmp_path / "hosts.yml")]).message


def test_vars_files_for_unknown_names_are_ignored(tmp_path):
    write(tmp_path, "hosts.yml", "all:\n  hosts: {h1: }\n")
    write(tmp_path, "group_vars/nosuch.yml", "broken: [\n")
    assert load_inventory([str(tmp_path / "hosts.yml")]).hosts["h1"].vars == {}


# --- directories ---------------------------------------------------------------


def test_directory_reads_files_in_name_order_and_skips_ignored(tmp_path):
    write(tmp_path, "inv/b.yml", "all:\n  hosts: {from_b: }\n")
    write(tmp_path, "inv/a.ini", "from_a\n")
    write(tmp_path, "inv/sub/c.ini", "from_c\n")
    for ignored in ("x.bak", "x.md", "x.txt", "x.rst", "x.orig", "x.cfg", "x.retry",
                    "x.swp", "x.pyc", "x~", ".hidden"):  # fmt: skip
        write(tmp_path, f"inv/{ignored}", "not an inventory: [[[\n")
    write(tmp_path, "inv/group_vars/all.yml", "g: 1\n")
    write(tmp_path, "inv/host_vars/from_c.yml", "h: 1\n")
    inv = load_inventory([str(tmp_path / "inv")])
    assert list(inv.hosts) == ["from_a", "from_b", "from_c"]
    assert inv.hosts["from_c"].vars == {"g": 1, "h": 1}


def test_example_directory():
    inv = load_inventory([os.path.join(EXAMPLES, "site")])
    assert inv.hosts["web01.example.com"].vars["color"] == "yellow"  # host_vars
    assert inv.hosts["web02.example.com"].vars["color"] == "blue"  # group_vars/web/
    assert inv.hosts["web03.example.com"].vars["color"] == "green"  # inline host var
    assert inv.hosts["db-a"].vars["primary"] is True  # host_vars/db-a without extension


# --- scripts -------------------------------------------------------------------


def test_script_inventory():
    inv = load_inventory([os.path.join(EXAMPLES, "dynamic.py")])
    assert list(inv.hosts) == [
        "web1.example.com", "web2.example.com", "db1.example.com", "db2.example.com",
    ]  # fmt: skip
    assert inv.hosts["web1.example.com"].vars == {
        "ansible_user": "deploy", "http_port": 80, "ansible_host": "10.0.0.11", "release": "beta",
    }  # fmt: skip
    assert inv.hosts["db1.example.com"].port == 2200
    assert inv.hosts["web1.example.com"].groups == ("canary", "web")


def test_script_without_meta_is_asked_per_host(tmp_path):
    script = write(
        tmp_path,
        "inv.py",
        f"""
        #!{sys.executable}
        import json, sys
        if sys.argv[1] == "--list":
            print(json.dumps({{"web": ["w1", "w2"], "solo": {{"x": 1}}}}))
        else:
            print(json.dumps({{"name": sys.argv[2]}}) if sys.argv[2] == "w1" else "")
        """,
        executable=True,
    )
    inv = load_inventory([script])
    assert inv.hosts["w1"].vars == {"name": "w1"}
    assert inv.hosts["w2"].vars == {}
    assert inv.hosts["solo"].vars == {"x": 1}  # Ansible's legacy "group is one host" form


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("echo 'it broke' >&2; exit 3", "exited with status 3; its stderr:\nit broke"),
        ("echo '{not json'; echo 'warn' >&2", "did not print valid JSON"),
        ("echo '[1, 2]'", "must be a JSON object"),
        ("""echo '{"web": {"hosts": "w1"}}'""", "'web.hosts' must be a list"),
        ("""echo '{"_meta": {"hostvars": []}}'""", "_meta.hostvars"),
    ],
)
def test_script_errors(tmp_path, body, message):
    script = write(tmp_path, "inv.sh", f"#!/bin/sh\n{body}\n", executable=True)
    error = load_error([script])
    assert message in error.message and error.path == script


def test_non_executable_file_with_shebang_is_ini(tmp_path):
    path = write(tmp_path, "hosts", "#!/bin/false\nweb1\n")
    assert list(load_inventory([path]).hosts) == ["web1"]


# --- inline lists and missing sources ------------------------------------------


def test_inline_lists():
    inv = load_inventory(["web1,web2:2222, 10.0.0.3 ,[::1]:2200,db[1:2],"])
    assert list(inv.hosts) == ["web1", "web2", "10.0.0.3", "::1", "db1", "db2"]
    assert inv.hosts["web2"].port == 2222 and inv.hosts["::1"].port == 2200
    assert all(h.groups == ("ungrouped",) for h in inv.hosts.values())
    assert list(load_inventory(["solo,"]).hosts) == ["solo"]


def test_inline_list_does_not_change_known_hosts():
    inv = load_inventory([os.path.join(EXAMPLES, "hosts.ini"), "web01.example.com:9,new,"])
    assert inv.hosts["web01.example.com"].port is None
    assert inv.hosts["web01.example.com"].groups == ("canary", "prod", "web")
    assert inv.hosts["new"].groups == ("ungrouped",)


def test_missing_source(tmp_path):
    error = load_error([str(tmp_path / "nope")])
    assert error.path == str(tmp_path / "nope") and "trailing comma" in error.hint


def test_host_in_many_groups_across_formats(tmp_path):
    yaml_source = write(tmp_path, "a.yml", "web:\n  hosts: {h1: {x: 1}}\n")
    ini_source = write(tmp_path, "b.ini", "[db]\nh1 y=2\n[web]\nh2\n")
    inv = load_inventory([yaml_source, ini_source])
    assert inv.hosts["h1"].groups == ("db", "web") and inv.hosts["h1"].vars == {"x": 1, "y": 2}
    assert inv.groups["web"].hosts == ("h1", "h2")
