"""``runner inventory`` against outputs saved from real ``ansible-inventory``.

The golden files under tests/data/inventory/ansible/ were generated with ansible-core
2.19 by tests/data/inventory/ansible/regen.py (see its docstring); each line of CASES
names one. JSON and YAML are compared as parsed data (same hosts, groups, membership,
order of lists and variables); graphs are compared as text.
"""

from __future__ import annotations

import json
import os
import shlex

import pytest
import yaml

from tests.conftest import run_inprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLDEN = os.path.join(ROOT, "tests", "data", "inventory", "ansible")


def _cases():
    with open(os.path.join(GOLDEN, "CASES"), encoding="utf-8") as fh:
        for line in fh:
            if line.strip() and not line.startswith("#"):
                name, ext, args = line.split(None, 2)
                yield pytest.param(name, ext, shlex.split(args), id=name)


@pytest.mark.parametrize(("name", "ext", "args"), list(_cases()))
def test_output_matches_ansible_inventory(name, ext, args, monkeypatch):
    monkeypatch.chdir(ROOT)
    result = run_inprocess("inventory", *args)
    assert result.exit_code == 0, result
    output = result.stdout
    with open(os.path.join(GOLDEN, f"{name}.{ext}"), encoding="utf-8") as fh:
        expected = fh.read()
    if ext == "json":
        assert json.loads(output) == json.loads(expected)
    elif ext == "yml":
        assert yaml.safe_load(output) == yaml.safe_load(expected)
    else:
        assert output.rstrip("\n") == expected.rstrip("\n")


def test_every_example_inventory_has_a_golden_file():
    listed = {arg for _, _, args in (c.values for c in _cases()) for arg in args}
    for entry in os.listdir(os.path.join(ROOT, "inventories")):
        assert f"inventories/{entry}" in listed, entry
