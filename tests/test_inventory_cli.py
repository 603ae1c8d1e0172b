"""``runner inventory`` and ``-e`` parsing."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest
import yaml

from runner.cli.environment import Environment
from runner.cli.inventory import inventory_command
from runner.errors import ConfigError, HostPatternError, InventoryError, RunnerError
from runner.inventory import load_inventory
from runner.inventory.extravars import parse_extra_vars
from tests.conftest import run_cli, run_inprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
YAML_INVENTORY = os.path.join(ROOT, "inventories", "hosts.yml")


def run(*args, env=None):
    """``runner inventory ARGS`` in process, through the CLI's exit-code boundary."""
    return run_inprocess("inventory", *args, env=env)


def test_list_shape():
    result = run("-i", YAML_INVENTORY, "--list")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["all"] == {"children": ["ungrouped", "web", "db", "prod", "eu"]}
    assert data["canary"] == {"hosts": ["web01.example.com"]}
    assert data["_meta"]["hostvars"]["web01.example.com"]["release"] == "beta"
    assert result.stdout.startswith('{\n    "_meta"')  # sorted keys, 4-space indent


def test_graph_and_group():
    result = run("-i", YAML_INVENTORY, "--graph", "web")
    assert result.stdout.splitlines() == [
        "@web:",
        "  |--@canary:",
        "  |  |--web01.example.com",
        "  |--web01.example.com",
        "  |--web02.example.com",
        "  |--web03.example.com",
        "  |--web04.example.com",
        "  |--web05.example.com",
    ]
    assert run("-i", YAML_INVENTORY, "--graph").stdout.startswith("@all:\n  |--@ungrouped:\n")


def test_host_and_hosts():
    result = run("-i", YAML_INVENTORY, "--host", "web02.example.com")
    assert json.loads(result.stdout)["http_port"] == 8081
    result = run("-i", YAML_INVENTORY, "--host", "web02.example.com", "--yaml")
    assert yaml.safe_load(result.stdout)["role"] == "eu-node"
    result = run("-i", YAML_INVENTORY, "--hosts", "db-c*,canary")
    assert result.stdout == "web01.example.com\ndb-c.example.com\n"  # inventory order


def test_yaml_list_loads_back_to_the_same_inventory(tmp_path):
    result = run("-i", YAML_INVENTORY, "--list", "--yaml")
    exported = tmp_path / "exported.yml"
    exported.write_text(result.stdout)
    again, original = load_inventory([str(exported)]), load_inventory([YAML_INVENTORY])
    assert list(again.hosts) == list(original.hosts) or set(again.hosts) == set(original.hosts)
    for name, host in original.hosts.items():
        assert dict(again.hosts[name].vars) == dict(host.vars)
        assert again.hosts[name].groups == host.groups


def test_inventory_from_environment_and_extra_vars():
    # a process: click reads RUNNER_INVENTORY from os.environ, not the injected environ
    result = run_cli(
        "inventory",
        *("--host", "w1", "-e", "a=1", "-e", '{"b": [2]}'),
        env={"RUNNER_INVENTORY": "w1,w2,"},
    )
    assert json.loads(result.stdout) == {"a": "1", "b": [2]}


def test_errors_are_raised_for_the_top_level():
    for args, error in [
        (["-i", YAML_INVENTORY, "--hosts", "nosuch"], HostPatternError),
        (["-i", "/nonexistent/inventory", "--list"], InventoryError),
        (["-i", YAML_INVENTORY, "--graph", "nosuch"], InventoryError),
        (["-i", YAML_INVENTORY, "--host", "nosuch"], InventoryError),
        (["-i", YAML_INVENTORY, "--list", "-e", "novalue"], ConfigError),
    ]:
        env = Environment(stdout=io.StringIO(), stderr=io.StringIO(), environ={})
        with pytest.raises(error) as raised:
            inventory_command.main(args, standalone_mode=False, obj=env)
        assert isinstance(raised.value, RunnerError)
        assert run(*args).exit_code == 1, args  # and the boundary reports it as bad input


def test_exactly_one_action():
    assert run("-i", YAML_INVENTORY).exit_code == 5  # usage
    assert run("-i", YAML_INVENTORY, "--list", "--graph").exit_code == 5


def test_does_not_import_gevent_or_paramiko():
    code = (
        "import sys, runner.cli.inventory, runner.inventory; "
        "bad = [m for m in ('gevent', 'paramiko', 'rich') if m in sys.modules]; "
        "sys.exit(str(bad) if bad else 0)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


# --- -e ------------------------------------------------------------------------


def test_parse_extra_vars(tmp_path):
    varsfile = tmp_path / "vars.yml"
    varsfile.write_text("c: 3\nd: {e: 1}\n")
    assert parse_extra_vars(["a=1 b='two words'", f"@{varsfile}", "a=x", ""]) == {
        "a": "x",
        "b": "two words",
        "c": 3,
        "d": {"e": 1},
    }
    assert parse_extra_vars(['{"n": 1, "l": [1, 2]}']) == {"n": 1, "l": [1, 2]}
    assert parse_extra_vars(["x=a=b"]) == {"x": "a=b"}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("novalue", "name=value"),
        ("=1", "name=value"),
        ("a='open", "cannot parse"),
        ("./vars.yml", "file name"),
        ("[1, 2]", "must be a mapping"),
        ("{a: [", "not valid YAML"),
        ("@", "needs a file name"),
    ],
)
def test_bad_extra_vars(value, message):
    with pytest.raises(ConfigError, match=message):
        parse_extra_vars([value])


def test_bad_extra_vars_file(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("a: 1\nb: [\n")
    with pytest.raises(ConfigError) as info:
        parse_extra_vars([f"@{bad}"])
    assert (info.value.path, info.value.line) == (str(bad), 3)
    with pytest.raises(ConfigError, match="cannot read"):
        parse_extra_vars([f"@{tmp_path / 'missing.yml'}"])
    bad.write_text("- 1\n")
    with pytest.raises(ConfigError, match="mapping"):
        parse_extra_vars([f"@{bad}"])
