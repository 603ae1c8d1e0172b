"""Every setting runner takes from a project, and the one precedence rule that decides
each of them, highest first:

1. the command line (``-f 20``);
2. the environment: runner's own ``RUNNER_*`` variable first, then Ansible's
   ``ANSIBLE_*`` ones (``RUNNER_INVENTORY`` beats ``ANSIBLE_INVENTORY``);
3. the project's ansible.cfg (runner.project.cfgfile finds it): runner's own
   ``[runner]`` section first, then Ansible's sections;
4. the default.

Within the environment and within the file, a setting named for itself beats the same
option given inside ``ssh_args`` / ``ssh_common_args`` / ``ssh_extra_args`` (``-J``, ``-o
ProxyJump``, ``ProxyCommand``, ``StrictHostKeyChecking``, ``UserKnownHostsFile``,
``ServerAliveInterval``; other ssh options are ignored with one notice: runner is not
ssh and keeps its own connections).

These are the run's defaults: a host's inventory variables (``ansible_user``...) still
win over them, as they win over ``-u`` (runner.transport.ssh.settings, runner.become).
Each value keeps where it came from; ``runner config`` shows them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from runner.errors import ConfigError
from runner.project.cfgfile import CfgFile, find_config_file, read_config_file
from runner.project.table import BY_NAME, PE, SETTINGS, SSH, Setting
from runner.project.values import Where, convert, unquote

log = logging.getLogger(__name__)

LEVELS = ("command line", "env", "file", "default")


SSH_ARG_SETTINGS = ("ssh_args", "ssh_common_args", "ssh_extra_args")
#: ssh options (lower-case keyword) runner takes from ssh_args, and the setting each sets.
SSH_ARG_TARGETS = {
    "proxyjump": "jump",
    "proxycommand": "proxy_command",
    "stricthostkeychecking": "host_key_checking",
    "userknownhostsfile": "known_hosts",
    "serveraliveinterval": "keepalive",
}
_SSH_POLICY = {
    "yes": "strict",
    "accept-new": "accept-new",
    "ask": "accept-new",
    "no": "off",
    "off": "off",
}


@dataclass(frozen=True)
class Value:
    """A setting's value and where it came from ("default", "command line: -f",
    "env: ANSIBLE_FORKS", "file: PATH:LINE [defaults] forks")."""

    value: Any
    source: str = "default"
    level: str = "default"  # one of LEVELS
    path: str | None = None
    line: int | None = None
    key: str = ""  # "[defaults] forks" or "ANSIBLE_FORKS"

    @property
    def typed(self) -> bool:
        return self.level == "command line"


@dataclass(frozen=True)
class ProjectSettings:
    """Every setting's Value, the config file read (None: none) and the notices."""

    values: Mapping[str, Value]
    config_file: str | None = None
    found_via: str = ""
    notices: tuple[str, ...] = field(default_factory=tuple)

    def __getitem__(self, name: str) -> Any:
        return self.values[name].value

    def origin(self, name: str) -> str | None:
        """Where a value came from when it was not typed (None: typed, or the default)."""
        found = self.values[name]
        return None if found.level in ("command line", "default") else found.source


def resolve_project_settings(
    params: Mapping[str, Any], environ: Mapping[str, str], cwd: str, home: str
) -> ProjectSettings:
    """Every setting from the command line's ``params``, ``environ`` and the project's
    ansible.cfg (found from ``cwd`` and ``home``), by the rule in the module docstring.
    ConfigError, naming the file and line or the variable, for a value that cannot be
    read."""
    discovery = find_config_file(environ, cwd, home)
    cfg = read_config_file(discovery.path) if discovery.path else None
    if cfg is not None:
        _check_keys(cfg)
    notices = list(discovery.warnings)
    reader = _Reader(params, environ, cwd, home, cfg)
    values: dict[str, Value] = {}
    derived: dict[str, list[Value]] = {}
    ignored: list[str] = []
    for name in SSH_ARG_SETTINGS:
        values[name] = reader.resolve(BY_NAME[name])
        count = len(ignored)
        _ssh_arg_values(values[name], derived, ignored)
        if len(ignored) > count:
            ignored[count:] = [f"{', '.join(ignored[count:])} ({values[name].source})"]
    for setting in SETTINGS:
        if setting.name not in values:
            found = reader.resolve(setting)
            values[setting.name] = _best(found, derived.get(setting.name, []))
    if ignored:
        notices.append(
            f"ssh options runner does not use were ignored: {'; '.join(ignored)}. runner "
            "takes -J and -o ProxyJump, ProxyCommand, StrictHostKeyChecking, "
            "UserKnownHostsFile, ServerAliveInterval from ssh_args and keeps its own "
            "connections"
        )
    _check_inventory(values["inventory"])
    ordered = {s.name: values[s.name] for s in SETTINGS}
    return ProjectSettings(ordered, discovery.path, discovery.via, tuple(notices))


class _Reader:
    def __init__(
        self,
        params: Mapping[str, Any],
        environ: Mapping[str, str],
        cwd: str,
        home: str,
        cfg: CfgFile | None,
    ) -> None:
        self.params, self.environ, self.cwd, self.home, self.cfg = params, environ, cwd, home, cfg

    def resolve(self, setting: Setting) -> Value:
        given = self.params.get(setting.cli) if setting.cli else None
        # a flag not typed is False, a repeatable option not typed empty (0 is typed)
        if not (given is None or given is False or (not given and not isinstance(given, int))):
            if isinstance(given, list):
                given = tuple(given)
            return Value(given, f"command line: {setting.flag}", "command line")
        for name in setting.env:
            text = self.environ.get(name)
            if text is None or text.strip() == "":
                continue  # an empty variable means "not set", as Ansible takes it
            where = Where(f"env: {name}", self.cwd, self.home, self.environ, name=name)
            value = convert(self._kind(setting, name.startswith("RUNNER_")), text, where)
            return Value(value, where.source, "env", key=name)
        for section, key in setting.ini if self.cfg is not None else ():
            assert self.cfg is not None
            found = self.cfg.get(section, key)
            if found is None:
                continue
            text, line = unquote(found[0].strip()), found[1]
            path = self.cfg.path
            source = f"file: {path}:{line} [{section}] {key}"
            where = Where(
                source,
                os.path.dirname(path),
                self.home,
                self.environ,
                path=path,
                line=line,
                name=f"[{section}] {key}",
            )
            if text == "":
                continue
            value = convert(self._kind(setting, section == "runner"), text, where)
            return Value(value, source, "file", path, line, f"[{section}] {key}")
        default = setting.default
        if setting.kind == "pathspec" and default:
            where = Where("default", self.cwd, self.home, self.environ)
            default = tuple(convert("path", p, where) for p in default)
        return Value(default)

    @staticmethod
    def _kind(setting: Setting, own: bool) -> str:
        return (setting.own_kind or setting.kind) if own else setting.kind


def _ssh_arg_values(found: Value, derived: dict[str, list[Value]], ignored: list[str]) -> None:
    """The settings an ssh_args-like value gives (first of each wins, as in ssh) and
    the words runner does not use."""
    if not found.value or found.level == "default":
        return
    from runner.transport.ssh.sshargs import split_ssh_args

    name = found.key
    try:
        words = split_ssh_args(str(found.value))
    except ValueError as exc:
        raise ConfigError(f"{name}: {exc}", path=found.path, line=found.line) from None
    for keyword, text, written in words:
        target = SSH_ARG_TARGETS.get(keyword)
        if target is None:
            ignored.append(written)
            continue
        source = f"{found.source} ({written})"
        where = Where(
            source,
            "",
            "",
            {},
            path=found.path,
            line=found.line,
            name=f"{name} {written.split('=')[0]}",
        )
        value: Any = text
        if target == "keepalive":
            value = convert("seconds", text, where)
        elif target == "jump":
            value = convert("jump", text, where)
        elif target == "host_key_checking":
            if text.lower() not in _SSH_POLICY:
                raise where.error(text, "yes, accept-new, ask, no or off")
            value = _SSH_POLICY[text.lower()]
        derived.setdefault(target, []).append(
            Value(value, source, found.level, found.path, found.line)
        )


def _check_inventory(found: Value) -> None:
    """An inventory the project names must exist: the error names the line that named
    it (Ansible warns and goes on with no hosts). Typed ones and RUNNER_INVENTORY's
    (which may be host lists) are the inventory loader's to judge."""
    if found.level not in ("env", "file") or found.key == "RUNNER_INVENTORY":
        return
    for path in found.value:
        if not os.path.exists(path):
            raise ConfigError(
                f"{found.key}: the inventory {path} does not exist",
                path=found.path,
                line=found.line,
                hint="give an inventory file or folder (a relative path starts at the "
                "folder of the ansible.cfg; in ANSIBLE_INVENTORY at the current folder)",
            )


def _best(found: Value, derived: list[Value]) -> Value:
    """The setting named for itself, unless an ssh_args option came from a higher level."""
    if derived and LEVELS.index(derived[0].level) < LEVELS.index(found.level):
        return derived[0]
    return found


_SECTIONS = {"defaults", PE, SSH, "runner"}


def _check_keys(cfg: CfgFile) -> None:
    """Unknown keys of Ansible's sections are Ansible's business (a debug note); one in
    ``[runner]`` is a typo runner can name."""
    known = {(section, key) for s in SETTINGS for section, key in s.ini}
    for section in sorted(cfg.sections & _SECTIONS):
        for key in cfg.keys(section):
            if (section, key) in known or cfg.get("DEFAULT", key) is not None:
                continue
            if section != "runner":
                log.debug("%s: [%s] %s is not a setting runner uses", cfg.path, section, key)
                continue
            own = sorted(k for s, k in known if s == "runner")
            found = cfg.get(section, key)
            raise ConfigError(
                f"[runner] {key}: not a runner setting",
                path=cfg.path,
                line=found[1] if found else None,
                hint=f"runner's own settings: {', '.join(own)}",
            )


__all__ = ["BY_NAME", "ProjectSettings", "SETTINGS", "Setting", "Value", "resolve_project_settings"]
