"""Load and validate playbooks: every error names the file, the line and what to do.

Nothing here contacts a host. After ``load_playbook`` returns, every module, keyword,
module argument, Jinja2 expression and handler name has been checked.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from runner.errors import PlaybookError
from runner.playbook.bridge import Bridge
from runner.playbook.checks import PLAY_KEYWORDS, opt_str, tags_of
from runner.playbook.gathering import gather_keywords
from runner.playbook.keywords import environment_layer, merge_environment, play_keywords
from runner.playbook.model import Play, Playbook, Task
from runner.playbook.playbook_import import ImportScope, import_key, read_import
from runner.playbook.prompts import read_prompts
from runner.playbook.reader import line_of, load_yaml
from runner.playbook.task_keywords import collections_of, defaults_layer
from runner.playbook.tasks import Inherited, TaskLoader
from runner.playbook.varsfiles import read_vars_files
from runner.vault import Keyring

__all__ = ["load_playbook"]


class _Loader(TaskLoader):
    def __init__(
        self,
        extra_vars: Mapping[str, Any] | None,
        vault: Keyring | None,
        roles_path: tuple[str, ...] = (),
        collections_path: tuple[str, ...] = (),
    ) -> None:
        self.extra_vars = dict(extra_vars or {})
        self.roles_path, self.collections_path = tuple(roles_path), tuple(collections_path)
        self.vault = vault
        self.warnings: list[str] = []
        self._seen: set[str] = set()
        self._importing: list[str] = []
        self._task_files: dict[tuple[str, int], list] = {}
        self.unloaded_handlers: set[str] = set()
        self.play_vars: dict[str, Any] = {}
        self.scope = ImportScope()  # what the enclosing import_playbook entries give

    # -- playbook -------------------------------------------------------------------

    def playbook(self, path: str) -> list[Play]:
        real = os.path.realpath(path)
        if real in self._seen:
            raise PlaybookError("import_playbook loop: this file imports itself", path=path)
        self._seen.add(real)
        data = load_yaml(path, self.vault)
        if data is None:
            return []
        if not isinstance(data, list):
            raise PlaybookError(
                "a playbook is a YAML list of plays", path=path, line=line_of(data, default=1),
                hint="start each play with '- hosts: PATTERN'",
            )  # fmt: skip
        plays: list[Play] = []
        for index, entry in enumerate(data):
            # each play and import on its own: errors are collected (runner.playbook.collect)
            plays.extend(self.collect(self._entry, entry, index, path) or [])
        self._seen.discard(real)
        return plays

    def _entry(self, entry: Any, index: int, path: str) -> list[Play]:
        if not isinstance(entry, dict):
            raise PlaybookError(
                f"each play must be a mapping (hosts:, tasks:...), not {_kind(entry)}",
                path=path, line=_node_line(path, index),
                hint="start each play with '- hosts: PATTERN'",
            )  # fmt: skip
        key = import_key(entry)
        if key is None:
            return [self.play(entry, path)]
        target, scope = read_import(entry, key, path, self.scope, self.extra_vars, self)
        if os.path.realpath(target) in self._seen:
            raise PlaybookError(
                f"import_playbook {str(entry[key])!r} imports a playbook that is "
                "already being imported (a loop)", path=path, line=line_of(entry),
            )  # fmt: skip
        outer, self.scope = self.scope, scope
        try:
            return self.playbook(target)
        finally:
            self.scope = outer

    # -- plays ----------------------------------------------------------------------

    def play(self, data: dict[Any, Any], path: str) -> Play:
        line = line_of(data) or 1
        for key in data:
            if key not in PLAY_KEYWORDS:
                self.collect(
                    self._bad_keyword, key, "play", path, line_of(data, key), PLAY_KEYWORDS
                )
        hosts = data.get("hosts")
        if isinstance(hosts, list):
            hosts = ",".join(str(h) for h in hosts)
        if not hosts or not isinstance(hosts, str):
            raise PlaybookError(
                "a play needs 'hosts' (a host pattern such as 'web' or 'all')",
                path=path, line=line,
            )  # fmt: skip
        name = data.get("name") or hosts
        self._check_method(data, path)
        execution = play_keywords(data, path, self.warnings)
        gather = gather_keywords(data, path)
        play_vars = {**self._mapping(data, "vars", path), **self.scope.vars}
        self._check_templates(play_vars, path, line_of(data, "vars"))
        vars_files = read_vars_files(data, path, {**play_vars, **self.extra_vars}, self.vault)
        merged_vars = {**play_vars}
        for _, file_vars in vars_files:
            merged_vars.update(file_vars)
        prompts = read_prompts(data, path, {k for _, f in vars_files for k in f})
        mfp = data.get("max_fail_percentage")
        if mfp is not None:
            try:
                mfp = float(str(mfp).rstrip("%"))
            except ValueError:
                mfp = -1.0
            if not 0 <= mfp <= 100:
                raise PlaybookError(
                    "max_fail_percentage must be a number from 0 to 100",
                    path=path, line=line_of(data, "max_fail_percentage"),
                )  # fmt: skip
        play = Play(
            name=str(name),
            hosts=hosts,
            path=path,
            line=line,
            vars=merged_vars,
            vars_files=tuple(p for p, _ in vars_files),
            serial=self._serial(data, path),
            max_fail_percentage=mfp,
            any_errors_fatal=bool(data.get("any_errors_fatal", False)),
            tags=tags_of(data.get("tags"), path, line_of(data, "tags")) | self.scope.tags,
            gather_facts=gather[0],
            gather_subset=gather[1],
            gather_timeout=gather[2],
            become=data.get("become"),
            become_user=opt_str(data.get("become_user")),
            environment=merge_environment({}, environment_layer(data, path)),
            connection=execution["inherited"]["connection"],
            remote_user=execution["inherited"]["remote_user"],
            strategy=execution["strategy"],
            order=execution["order"],
            force_handlers=execution["force_handlers"],
            when=self.scope.when,
            vars_prompt=prompts,
        )
        inherited = Inherited(
            when=self.scope.when,
            check_mode=data.get("check_mode"),
            diff=data.get("diff"),
            module_defaults=defaults_layer(data, path),
            collections=collections_of(data, path),
            become=data.get("become"),
            become_user=opt_str(data.get("become_user")),
            environment=play.environment,
            tags=play.tags,
            vars={},
            any_errors_fatal=play.any_errors_fatal,
            **execution["inherited"],
        )
        self.play_path, self.play_vars = path, merged_vars
        counter = [0]
        self.unloaded_handlers = set()
        self.start_roles()
        for section in ("pre_tasks", "tasks", "post_tasks"):
            # roles: run after pre_tasks, before tasks, in the same section (runner.playbook.roles)
            roles = self.play_roles(data, path, inherited, counter) if section == "tasks" else []
            nodes = self.nodes(data.get(section), path, inherited, counter, section, data)
            setattr(play, section, roles + nodes)
        handler_counter = [0]
        handlers = self.nodes(
            data.get("handlers"), path, inherited, handler_counter, "handlers", data, handler=True
        )
        play.handlers = [h for h in handlers if isinstance(h, Task)]
        self.finish_roles(play)
        self._check_notify(play)
        return play

    def _serial(self, data: dict[Any, Any], path: str) -> tuple[int | str, ...]:
        serial = data.get("serial")
        if serial is None:
            return ()
        items = serial if isinstance(serial, list) else [serial]
        out: list[int | str] = []
        for item in items:
            text = str(item).strip()
            ok = text.endswith("%") and text[:-1].strip().replace(".", "", 1).isdigit()
            if ok:
                out.append(text.replace(" ", ""))
            elif text.isdigit():
                out.append(int(text))
            else:
                raise PlaybookError(
                    f"serial must be a number, a percentage or a list of them, not {item!r}",
                    path=path, line=line_of(data, "serial"),
                )  # fmt: skip
        return tuple(out)


def _kind(value: Any) -> str:
    """``[1]`` -> ``'a list'``, ``'x'`` -> ``'a string'``: what a YAML value is, for errors."""
    names = {list: "a list", str: "a string", bool: "a boolean", int: "a number",
             type(None): "an empty entry"}  # fmt: skip
    return names.get(type(value), "a number" if isinstance(value, float) else "a scalar")


def _node_line(path: str, index: int | None = None) -> int:
    """The line of a file's top-level YAML node, or of its ``index``-th list entry
    (lists carry no line numbers once loaded). Only called for an error; 1 if unknown."""
    import yaml

    try:
        with open(path, encoding="utf-8") as fh:
            node = yaml.compose(fh, Loader=yaml.SafeLoader)
        if node is None:  # an empty file
            return 1
        if index is not None:
            node = node.value[index]
        return node.start_mark.line + 1
    except Exception:  # the file was read once already; this only improves the message
        return 1


def load_playbook(
    path: str,
    extra_vars: Mapping[str, Any] | None = None,
    vault: Keyring | None = None,
    bridge: Bridge | None = None,
    *,
    roles_path: tuple[str, ...] = (),
    collections_path: tuple[str, ...] = (),
) -> Playbook:
    """Read and validate one playbook file (and the playbooks it imports); files
    encrypted whole with Ansible Vault are decrypted with ``vault``; modules runner does
    not have are found by ``bridge`` (runner.playbook.bridge). Roles are looked up as
    Ansible does (runner.playbook.role_search) with the project's ``roles_path`` and
    ``collections_path``."""
    loader = _Loader(extra_vars, vault, roles_path, collections_path)
    loader.bridge = bridge
    loader.start_collecting()
    plays = loader.collect(loader.playbook, path) or []
    loader.stop_collecting()  # every error found, at once
    return Playbook(path, plays, loader.warnings)
