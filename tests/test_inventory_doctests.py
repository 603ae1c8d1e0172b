"""The input -> output examples in the inventory modules' docstrings."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "runner.inventory",
    "runner.inventory.ranges",
    "runner.inventory.patterns",
    "runner.inventory.ini_source",
    "runner.inventory.fastyaml",
    "runner.inventory.extravars",
    "runner.inventory.export",
    "runner.safeyaml",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0
