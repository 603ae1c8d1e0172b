"""The loaded, validated shape of a playbook: plays, blocks, tasks, handlers.

Everything here is checked by the loader before any host is contacted, and carries the
file and line it came from. Keywords a block sets (``when``, ``become``, ``tags``,
``environment``, ``vars``...) are already folded into each task, so the strategy only
ever looks at one ``Task``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(eq=False)
class Role:
    """The role a task belongs to and the variables it brings (runner.playbook.roles).

    ``defaults`` sit below the inventory, ``vars`` above the play's vars_files, ``params``
    above set_fact (runner.playbook.variables.PRECEDENCE); each is already merged along
    the role's dependency chain."""

    name: str  # as Ansible's role_name: the short name
    path: str  # role_path
    fqcn: str = ""  # ansible_role_name: ns.coll.name for a collection role
    defaults: Mapping[str, Any] = field(default_factory=dict)
    vars: Mapping[str, Any] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"Role({self.name!r}, {self.path!r})"


@dataclass(eq=False)
class Task:
    """One task (or handler) with its effective keywords."""

    module: str
    args: dict[str, Any]
    path: str
    line: int
    name: str | None = None
    when: tuple[Any, ...] = ()
    register: str | None = None
    loop: Any = None
    loop_flatten: bool = False  # with_items flattens one level of nested lists
    loop_lookup: str | None = None  # with_NAME (other than with_items): the lookup NAME
    loop_var: str = "item"
    loop_label: str | None = None
    loop_index_var: str | None = None  # loop_control: the variable holding the index0
    loop_pause: Any = None  # loop_control: seconds between items (number or template)
    loop_extended: Any = False  # loop_control: set ansible_loop (index, first, last...)
    loop_allitems: Any = True  # loop_control extended_allitems: ansible_loop.allitems
    ignore_errors: Any = False
    changed_when: Any = None
    failed_when: Any = None
    run_once: bool = False
    delegate_to: str | None = None
    delegate_facts: bool = False
    notify: tuple[str, ...] = ()
    listen: tuple[str, ...] = ()
    become: Any = None  # None: not set here (the command line decides); bool or template
    become_user: str | None = None
    become_method: Any = None  # sudo or su (None: not set: sudo, or the host's variable)
    become_flags: Any = None
    become_exe: Any = None
    retries: Any = None
    until: Any = None
    delay: Any = None
    timeout: Any = None
    environment: Mapping[str, Any] = field(default_factory=dict)
    tags: frozenset[str] = frozenset()
    vars: Mapping[str, Any] = field(default_factory=dict)
    check_mode: bool | None = None
    diff: Any = None  # None: --diff decides; else a boolean (or template) for this task
    collections: tuple[str, ...] = ()  # the play's/block's/task's 'collections:' keyword
    no_log: bool = False
    any_errors_fatal: bool = False
    # where it connects (runner.playbook.delegation): None means not set anywhere
    connection: str | None = None
    remote_user: Any = None
    throttle: Any = None  # at most this many hosts at once (int or template)
    ignore_unreachable: bool = False
    # Filled by the loader: document order within the play, and whether a failure here
    # is caught by an enclosing block's ``rescue``.
    index: int = 0
    rescuable: bool = False
    handler: bool = False
    # include_tasks: how the strategy reads the file (runner.playbook.includes.Included);
    # ``order`` sorts tasks across hosts: (index,) here, longer inside included files.
    include: Any = None
    order: tuple[int, ...] = ()
    role: Role | None = None  # the role whose files this task came from

    @property
    def sort_key(self) -> tuple[int, ...]:
        return self.order or (self.index,)

    @property
    def label(self) -> str:
        """The name shown in output: the task name, or its module, after ``ROLE : `` for a
        role's task (as Ansible shows it)."""
        text = self.name if self.name else self.module
        return f"{self.role.name} : {text}" if self.role is not None else text

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"

    def __repr__(self) -> str:
        return f"Task({self.label!r}, {self.module}, {self.where})"


@dataclass(eq=False)
class Block:
    """``block`` with its ``rescue`` and ``always`` sections."""

    block: list[Node]
    rescue: list[Node]
    always: list[Node]
    path: str
    line: int
    name: str | None = None


Node = Task | Block


@dataclass(eq=False)
class Play:
    name: str
    hosts: str
    path: str
    line: int
    tasks: list[Node] = field(default_factory=list)
    pre_tasks: list[Node] = field(default_factory=list)
    post_tasks: list[Node] = field(default_factory=list)
    handlers: list[Task] = field(default_factory=list)
    vars: dict[str, Any] = field(default_factory=dict)
    vars_files: tuple[str, ...] = ()
    serial: tuple[int | str, ...] = ()
    max_fail_percentage: float | None = None
    any_errors_fatal: bool = False
    tags: frozenset[str] = frozenset()
    gather_facts: bool | None = None  # None: not set (the gathering setting decides)
    gather_subset: tuple[str, ...] | None = None
    gather_timeout: float | None = None
    # what the play's own keywords give its implicit Gathering Facts task
    become: Any = None
    become_user: str | None = None
    when: tuple[Any, ...] = ()  # import_playbook's 'when': also decides Gathering Facts
    vars_prompt: tuple[Any, ...] = ()  # runner.playbook.prompts.Prompt, asked before the run
    # the play's public roles (roles:, import_role): their defaults and vars are seen by
    # every task of the play, at their levels of runner.playbook.variables.PRECEDENCE
    role_defaults: dict[str, Any] = field(default_factory=dict)
    role_vars: dict[str, Any] = field(default_factory=dict)
    role_names: tuple[str, ...] = ()
    become_method: Any = None
    become_flags: Any = None
    become_exe: Any = None
    environment: Mapping[str, Any] = field(default_factory=dict)
    connection: str | None = None
    remote_user: Any = None
    # how the hosts go through the tasks (runner.playbook.keywords)
    strategy: str = "linear"
    order: str = "inventory"
    force_handlers: bool = False

    def sections(self) -> list[list[Node]]:
        """pre_tasks, tasks, post_tasks: run in this order, each followed by its handlers."""
        return [self.pre_tasks, self.tasks, self.post_tasks]

    def all_tasks(self) -> Iterator[Task]:
        """Every task in run order (pre_tasks, tasks, post_tasks; block, rescue, always,
        depth first)."""
        for section in self.sections():
            yield from iter_tasks(section)

    def __repr__(self) -> str:
        return f"Play({self.name!r}, hosts={self.hosts!r})"


@dataclass(eq=False)
class Playbook:
    path: str
    plays: list[Play]
    warnings: list[str] = field(default_factory=list)


def iter_tasks(nodes: list[Node]) -> Iterator[Task]:
    for node in nodes:
        if isinstance(node, Task):
            yield node
        else:
            yield from iter_tasks(node.block)
            yield from iter_tasks(node.rescue)
            yield from iter_tasks(node.always)
