"""Finding the project's ansible.cfg as Ansible does, and reading it as Ansible reads it
(Python's configparser: ``#`` and ``;`` comment lines, ``;`` inline comments, keys in
any case, ``=`` or ``:``, indented continuation lines, no ``%`` interpolation), keeping
the line of every value so that errors and ``runner config`` can name it.

The search order (the first that exists and is readable wins):

1. ``ANSIBLE_CONFIG`` (a file, or a folder holding ``ansible.cfg``);
2. ``./ansible.cfg``, unless the current folder is world-writable (then it is ignored,
   with a warning, as Ansible does: anyone could have put it there);
3. ``~/.ansible.cfg``;
4. ``/etc/ansible/ansible.cfg``.

Only reading files: HOME and the current folder are passed in, never read here.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field

from runner.errors import ConfigError

log = logging.getLogger(__name__)

SYSTEM_CONFIG = "/etc/ansible/ansible.cfg"
MAX_CONFIG_BYTES = 16 << 20


@dataclass(frozen=True)
class Discovery:
    """The config file found (None: none) and the warnings the search gave."""

    path: str | None
    warnings: tuple[str, ...] = ()
    via: str = ""  # how it was found: "ANSIBLE_CONFIG", "./ansible.cfg", "~/.ansible.cfg"...


def expand_user(path: str, home: str) -> str:
    """``~`` and ``~/x`` with ``home`` (not the process's HOME); ``~user`` as the system
    says.

    >>> expand_user("~/.ansible.cfg", "/home/ops"), expand_user("a/~b", "/h")
    ('/home/ops/.ansible.cfg', 'a/~b')
    """
    if path == "~" or path.startswith("~/"):
        return home + path[1:]
    if path.startswith("~"):
        return os.path.expanduser(path)
    return path


def find_config_file(environ: Mapping[str, str], cwd: str, home: str) -> Discovery:
    """Where the project's ansible.cfg is, in Ansible's order (see the module docstring).

    >>> find_config_file({}, "/nonexistent-dir", "/nonexistent-home").path is None
    True
    """
    candidates: list[tuple[str, str]] = []
    from_env = environ.get("ANSIBLE_CONFIG")
    if from_env is not None:
        path = os.path.normpath(os.path.join(cwd, expand_user(from_env, home)))
        if os.path.isdir(path):
            path = os.path.join(path, "ansible.cfg")
        candidates.append((path, "ANSIBLE_CONFIG"))
    warnings: list[str] = []
    here = os.path.join(cwd, "ansible.cfg")
    skipped_here = False
    try:
        world_writable = bool(os.stat(cwd).st_mode & stat.S_IWOTH)
    except OSError:
        world_writable, here = False, ""
    if here and world_writable:
        skipped_here = os.path.exists(here)
    elif here:
        candidates.append((here, "./ansible.cfg"))
    candidates.append((os.path.join(home, ".ansible.cfg"), "~/.ansible.cfg"))
    candidates.append((SYSTEM_CONFIG, SYSTEM_CONFIG))
    found, via = None, ""
    for path, how in candidates:
        if os.path.exists(path) and os.access(path, os.R_OK):
            found, via = path, how
            break
    if skipped_here and via != "ANSIBLE_CONFIG":
        warnings.append(
            f"{here} ignored: the folder {cwd} is world-writable, so anyone could have "
            "written it (as Ansible does; use ANSIBLE_CONFIG to name it)"
        )
    return Discovery(found, tuple(warnings), via)


@dataclass(frozen=True)
class CfgFile:
    """One parsed ansible.cfg: ``get(section, key)`` gives (value, line) or None."""

    path: str
    values: Mapping[tuple[str, str], tuple[str, int]] = field(default_factory=dict)

    def get(self, section: str, key: str) -> tuple[str, int] | None:
        """A value of ``section`` (``[DEFAULT]``'s too when the section exists, as
        configparser gives them)."""
        return self.values.get((section, key.lower()))

    def keys(self, section: str) -> list[str]:
        return [k for s, k in self.values if s == section]

    @property
    def sections(self) -> set[str]:
        return {s for s, _k in self.values}


def read_config_file(path: str) -> CfgFile:
    """Parse ``path`` as Ansible does (ConfigError naming the file and the line of what
    cannot be read: a line that is no ``key = value``, a duplicate key or section,
    text that is not UTF-8)."""
    if not path.endswith((".cfg", ".ini")):
        raise ConfigError(
            "unsupported configuration file extension (Ansible reads .cfg and .ini files)",
            path=path,
        )
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read the config file: {exc.strerror}", path=path) from exc
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"config file over {MAX_CONFIG_BYTES >> 20} MiB", path=path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError("not UTF-8 text", path=path, line=line) from exc
    import configparser  # only when there is a file to read

    parser = configparser.ConfigParser(inline_comment_prefixes=(";",), interpolation=None)
    try:
        parser.read_string(text, source=path)
    except configparser.Error as exc:
        raise _parse_error(exc, path) from exc
    lines = _key_lines(text)
    values: dict[tuple[str, str], tuple[str, int]] = {}
    for section in parser.sections():  # a section's options include [DEFAULT]'s...
        for key in parser.options(section):
            own = lines.get((section, key))
            if own is None and section == "runner":
                continue  # ...but runner's own section takes no Ansible defaults
            line = own or lines.get((parser.default_section, key), 0)
            values[(section, key)] = (parser.get(section, key, raw=True), line)
    for key, text in parser.defaults().items():
        values[(parser.default_section, key)] = (text, lines.get((parser.default_section, key), 0))
    return CfgFile(path, values)


def _parse_error(exc: Exception, path: str) -> ConfigError:
    import configparser

    line = getattr(exc, "lineno", None)
    if isinstance(exc, configparser.MissingSectionHeaderError):
        return ConfigError(
            "expected a [section] header before the first setting",
            path=path,
            line=exc.lineno,
            hint="Ansible's settings go under [defaults], [privilege_escalation], "
            "[ssh_connection]; runner's own under [runner]",
        )
    if isinstance(exc, configparser.ParsingError):
        first_line, text = exc.errors[0]
        return ConfigError(
            f"expected 'key = value', a [section] or a comment, not {text.strip()!r}",
            path=path,
            line=first_line,
        )
    if isinstance(exc, configparser.DuplicateOptionError):
        return ConfigError(f"[{exc.section}] sets {exc.option!r} twice", path=path, line=line)
    if isinstance(exc, configparser.DuplicateSectionError):
        return ConfigError(f"section [{exc.section}] appears twice", path=path, line=line)
    return ConfigError(f"cannot parse the config file: {exc}", path=path, line=line)


def _key_lines(text: str) -> dict[tuple[str, str], int]:
    """(section, lower-case key) -> the line it is set on, for messages. configparser
    has already accepted the text; this follows its rules for sections, comments and
    continuation lines (a line indented deeper than its key continues the value)."""
    out: dict[tuple[str, str], int] = {}
    section = ""
    key_indent: int | None = None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if not stripped or stripped.startswith(("#", ";")):
            continue
        if key_indent is not None and indent > key_indent:
            continue  # a continuation line
        if stripped.startswith("[") and "]" in stripped:
            section, key_indent = stripped[1 : stripped.index("]")], None
            continue
        cut = min((i for i in (stripped.find("="), stripped.find(":")) if i >= 0), default=-1)
        key = (stripped[:cut] if cut >= 0 else stripped).strip().lower()
        out.setdefault((section, key), number)
        key_indent = indent
    return out


__all__ = ["CfgFile", "Discovery", "expand_user", "find_config_file", "read_config_file"]
