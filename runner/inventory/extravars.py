"""``-e/--extra-vars`` values, parsed as Ansible parses them.

* ``@FILE``: a YAML or JSON file holding a mapping;
* text starting with ``{`` or ``[``: inline YAML/JSON (must be a mapping);
* otherwise ``key=value`` pairs separated by spaces, shell-quoted; values stay strings.

Later values replace earlier ones key by key.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from typing import Any

from runner.errors import ConfigError
from runner.inventory.vars_files import load_vars_file
from runner.safeyaml import load_text
from runner.vault import Keyring

__all__ = ["parse_extra_vars", "EXTRA_VARS_SOURCE"]

EXTRA_VARS_SOURCE = "-e"  # what errors name as the "file" of an inline -e value


def parse_extra_vars(values: Sequence[str], vault: Keyring | None = None) -> dict[str, Any]:
    """Merge ``-e`` values into one dict; raises :class:`ConfigError`. An ``@FILE``
    encrypted with Ansible Vault is decrypted with ``vault``.

    >>> parse_extra_vars(["a=1 b='two words'", '{"c": [1, 2]}'])
    {'a': '1', 'b': 'two words', 'c': [1, 2]}
    """
    result: dict[str, Any] = {}
    for value in values:
        if not value:
            continue
        if value.startswith("@"):
            path = value[1:]
            if not path:
                raise ConfigError(
                    "-e @ needs a file name", path=EXTRA_VARS_SOURCE, hint="write -e @vars.yml"
                )
            result.update(load_vars_file(path, error=ConfigError, vault=vault))
        elif value[0] in "/.":
            raise ConfigError(
                f"extra vars {value[:60]!r} look like a file name",
                path=EXTRA_VARS_SOURCE,
                hint=f"put '@' before a file name: -e @{value}",
            )
        elif value[0] in "{[":
            result.update(_inline(value))
        else:
            result.update(_key_values(value))
    return result


def _inline(value: str) -> Mapping[str, Any]:
    shown = value if len(value) <= 60 else value[:57] + "..."
    try:
        data = load_text(value, EXTRA_VARS_SOURCE, ConfigError)
    except ConfigError as exc:
        raise ConfigError(
            f"extra vars {shown!r} are not valid YAML/JSON: {exc.message}",
            path=EXTRA_VARS_SOURCE,
            line=exc.line,
            hint=exc.hint or 'write -e \'{"name": "value"}\' or -e name=value',
        ) from exc
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"extra vars {shown!r} must be a mapping of name: value",
            path=EXTRA_VARS_SOURCE,
            hint='write -e \'{"name": "value"}\'',
        )
    for name in data:
        if not isinstance(name, str):
            raise ConfigError(
                f"extra vars {shown!r}: variable name {name!r} must be a string",
                path=EXTRA_VARS_SOURCE,
                hint=f"quote it: '{name}': ...",
            )
    return data


def _key_values(value: str) -> dict[str, str]:
    try:
        tokens = shlex.split(value)
    except ValueError as exc:
        raise ConfigError(
            f"cannot parse extra vars {value[:60]!r}: {exc}", path=EXTRA_VARS_SOURCE
        ) from exc
    result = {}
    for token in tokens:
        key, sep, val = token.partition("=")
        if not sep or not key.strip():
            raise ConfigError(
                f"extra vars must be name=value, got {token[:60]!r}",
                path=EXTRA_VARS_SOURCE,
                hint="write -e name=value, -e '{\"name\": 1}' or -e @file.yml",
            )
        result[key.strip()] = val
    return result
