"""Inventory: load Ansible-format sources, merge variables, select hosts by pattern.

>>> inv = load_inventory(["web1,web2:2222,"])
>>> [h.name for h in inv.select("all")], inv.hosts["web2"].port
(['web1', 'web2'], 2222)
"""

from __future__ import annotations

from runner.inventory.inventory import Inventory
from runner.inventory.loader import load_inventory
from runner.inventory.model import Group
from runner.inventory.variables import PRECEDENCE

__all__ = ["Inventory", "Group", "load_inventory", "PRECEDENCE"]
