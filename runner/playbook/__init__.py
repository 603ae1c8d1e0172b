"""Ansible-syntax playbooks: loading and validation, task modules, the linear strategy.

>>> from runner.playbook import load_playbook, PlaybookRunner  # doctest: +SKIP
"""

from __future__ import annotations

from runner.playbook.executor import BecomeDefaults
from runner.playbook.loader import load_playbook
from runner.playbook.model import Block, Play, Playbook, Task
from runner.playbook.selection import select_tasks, tags_allow
from runner.playbook.strategy import PlaybookRunner, RunSummary

__all__ = [
    "BecomeDefaults",
    "Block",
    "Play",
    "Playbook",
    "PlaybookRunner",
    "RunSummary",
    "Task",
    "load_playbook",
    "select_tasks",
    "tags_allow",
]
