"""Ansible-syntax playbooks: loading and validation, task modules, the linear strategy.

Loading (nothing contacts a host):
    loader.py      playbook files, import_playbook, plays, vars_files -> load_playbook
    tasks.py       tasks, blocks and handlers, with inherited keywords
    checks.py      keyword, argument, condition and template checks (file:line errors)
    modspec.py     what each module accepts; free-form ``key=value`` parsing
    localfiles.py  where templates/, files/ and scripts are found
    reader.py      YAML with line numbers
    model.py       Play, Block, Task; selection.py: --tags, --skip-tags, --start-at-task
Running:
    job.py         the engine's playbook job; run.py: PlaybookRunner (plays, batches, recap)
    hosts.py       a play's hosts; batches.py: serial and the stop rules
    strategy.py    the linear strategy over one batch (tasks in step, then handlers)
    executor.py    one task on one host: conditions, loops, retries, the module
    variables.py   the variables a task sees, in precedence order
    modules/       the modules themselves; events.py, recap.py: what a run reports

>>> from runner.playbook import load_playbook, PlaybookRunner
>>> callable(load_playbook), PlaybookRunner.__module__
(True, 'runner.playbook.run')
"""

from __future__ import annotations

from runner.playbook.executor import BecomeDefaults
from runner.playbook.loader import load_playbook
from runner.playbook.model import Block, Play, Playbook, Task
from runner.playbook.run import PlaybookRunner, RunSummary
from runner.playbook.selection import select_tasks, tags_allow

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
