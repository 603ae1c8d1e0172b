"""YAML loading that remembers where every mapping and key came from.

``load_yaml(path)`` returns plain Python data whose dicts are ``LineDict``: a dict with
``.line`` (1-based line of the mapping) and ``.key_line(key)``. That is what lets
playbook errors say ``site.yml:12: unknown module 'apt'``.
"""

from __future__ import annotations

from typing import Any

import yaml

from runner.errors import PlaybookError


class LineDict(dict):
    """A dict that knows the line of its mapping and of each key."""

    line: int = 0
    key_lines: dict[str, int]

    def key_line(self, key: str) -> int:
        return getattr(self, "key_lines", {}).get(key, self.line)


class _Loader(yaml.SafeLoader):
    """SafeLoader (no arbitrary objects) whose mappings are LineDicts."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError as exc:
            raise PlaybookError(
                "a mapping key must be a string",
                line=key_node.start_mark.line + 1,
            ) from exc
        value = loader.construct_object(value_node, deep=True)
        if key in result:
            raise PlaybookError(
                f"duplicate key {key!r} (the first one would be silently ignored)",
                line=key_node.start_mark.line + 1,
            )
        result[key] = value
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def parse_yaml(text: str, path: str) -> Any:
    """Parse YAML text; errors name the file and line."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except PlaybookError as exc:
        raise PlaybookError(exc.message, path=path, line=exc.line) from exc
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or str(exc)
        raise PlaybookError(f"invalid YAML: {problem}", path=path, line=line) from exc
    except yaml.YAMLError as exc:
        raise PlaybookError(f"invalid YAML: {exc}", path=path) from exc


def load_yaml(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError as exc:
        raise PlaybookError("file not found", path=path) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise PlaybookError(f"cannot read file: {exc}", path=path) from exc
    return parse_yaml(text, path)


def line_of(data: Any, key: str | None = None, default: int | None = None) -> int | None:
    """The line of ``data`` (a LineDict) or of one of its keys."""
    if isinstance(data, LineDict):
        return data.key_line(key) if key is not None else data.line
    return default
