"""The one safe YAML loader: inventories, variables files, ``-e`` values and playbooks.

Like ``yaml.safe_load`` (libyaml when available), plus what untrusted input needs.
Every problem is an :class:`runner.errors.InputError` (of the class the caller names)
with the file and 1-based line:

* control characters and other characters YAML forbids, found before parsing;
* values that fail to construct (``2001-13-45``, ``!!bool maybe``, ``!!int nope``);
* integers longer than ``MAX_INT_DIGITS`` digits (Python refuses to print them);
* duplicate keys in a mapping, naming both lines (keys brought in by ``<<`` merges
  may be replaced, as YAML intends);
* Ansible's tags: ``!unsafe`` text becomes :class:`runner.tagged.UnsafeText` (never
  templated), ``!vault`` text a :class:`runner.tagged.VaultValue` (decrypted when read);
  a whole file encrypted with Ansible Vault is decrypted first with the run's keyring
  (``vault``), or refused by name when there is none;
* nesting deeper than ``MAX_DEPTH`` collections, aliases that refer to their own
  anchor (``&a [*a]``), and aliases that expand the document beyond ``MAX_ALIAS_NODES``
  nodes (a "billion laughs" bomb), all measured on the node graph before constructing.

>>> load_text("a: 1\\nb: [x, 2001-12-14]\\n", "v.yml")
{'a': 1, 'b': ['x', datetime.date(2001, 12, 14)]}
>>> load_text("a: 1\\na: 2\\n", "v.yml")
Traceback (most recent call last):
runner.errors.InputError: v.yml:2: duplicate key 'a' (first on line 1)
>>> load_text("when: 2001-13-45\\n", "v.yml")
Traceback (most recent call last):
runner.errors.InputError: v.yml:1: invalid timestamp '2001-13-45': month must be in 1..12
>>> load_text("a: &x [*x]\\n", "v.yml")
Traceback (most recent call last):
runner.errors.InputError: v.yml:1: an alias refers to the collection that contains it
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, ScalarNode, SequenceNode
from yaml.resolver import Resolver

from runner.errors import InputError, VaultError
from runner.tagged import UnsafeText, VaultValue
from runner.vault.crypto import is_vault
from runner.vault.keyring import Keyring
from runner.yamlgraph import MAX_ALIAS_NODES, MAX_DEPTH, check_graph, check_tree_depth, deep_line

__all__ = [
    "LineDict",
    "load_text",
    "open_vaulted",
    "check_depth",
    "MAX_DEPTH",
    "MAX_ALIAS_NODES",
    "MAX_INT_DIGITS",
]

MAX_INT_DIGITS = 4300  # Python's default limit for turning an int into text

_INT_BOUND = 10**MAX_INT_DIGITS
# What the YAML reader refuses (PyYAML's Reader.NON_PRINTABLE), surrogates included.
_NON_PRINTABLE = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)
_MERGE_TAG = "tag:yaml.org,2002:merge"
_EXPECTED = {
    "bool": "true/false, yes/no or on/off",
    "int": "an integer",
    "float": "a number",
    "timestamp": "a date (2001-12-14) or a time (2001-12-14 21:59:43.10 -5)",
    "binary": "base64 text",
}

try:
    from yaml.cyaml import CParser as _Parser  # type: ignore[attr-defined]  # stubs don't re-export it
except ImportError:  # pragma: no cover - PyYAML without libyaml
    from yaml.composer import Composer
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Parser(Reader, Scanner, Parser, Composer):  # type: ignore[no-redef]
        def __init__(self, stream: str) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)
            Composer.__init__(self)


class LineDict(dict):
    """A dict that knows the line of its mapping and of each key."""

    line: int = 0
    key_lines: dict[Any, int]

    def key_line(self, key: Any) -> int:
        return getattr(self, "key_lines", {}).get(key, self.line)


def check_printable(text: str, path: str, error: type[InputError] = InputError) -> None:
    """Refuse the characters YAML forbids (NUL, other control characters, surrogates)."""
    found = _NON_PRINTABLE.search(text)
    if found is not None:
        where = found.start()
        line = text.count("\n", 0, where) + 1
        column = where - (text.rfind("\n", 0, where) + 1) + 1
        raise error(
            f"control character U+{ord(found.group()):04X} at column {column} is not allowed",
            path=path,
            line=line,
            hint='remove it, or write it as an escape in a double-quoted string: "\\x07"',
        )


def check_depth(
    data: Any, path: str, error: type[InputError] = InputError, max_depth: int = MAX_DEPTH
) -> None:
    """Refuse data (already built, e.g. from JSON) nested deeper than ``MAX_DEPTH``.

    >>> check_depth({"a": [[1]]}, "x.json")
    >>> check_depth([[[[]]]], "x.json", max_depth=3)
    Traceback (most recent call last):
    runner.errors.InputError: x.json: data is nested deeper than 3 levels
    """
    todo = [(data, 1)]
    while todo:
        value, depth = todo.pop()
        if depth > max_depth:
            raise error(f"data is nested deeper than {max_depth} levels", path=path)
        if isinstance(value, dict):
            todo.extend((v, depth + 1) for v in value.values() if isinstance(v, (dict, list)))
        elif isinstance(value, list):
            todo.extend((v, depth + 1) for v in value if isinstance(v, (dict, list)))


class _Constructor(SafeConstructor):
    """SafeConstructor that refuses duplicate keys, huge ints and failing scalars."""

    path: str
    error: type[InputError]
    lines: bool

    def fail(self, message: str, node: yaml.Node, hint: str | None = None) -> InputError:
        return self.error(message, path=self.path, line=node.start_mark.line + 1, hint=hint)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (yaml.YAMLError, InputError):
            raise
        except Exception as exc:  # a constructor choked on the text: say where and why
            raise self._scalar_error(node, exc) from exc

    def _scalar_error(self, node: yaml.Node, exc: Exception) -> InputError:
        kind = node.tag.rsplit(":", 1)[-1]
        value = node.value if isinstance(node.value, str) else ""
        shown = repr(value if len(value) <= 40 else value[:40] + "...")
        if kind == "int" and len(value) > MAX_INT_DIGITS:
            detail = f"more than {MAX_INT_DIGITS} digits"
        elif kind == "timestamp" and isinstance(exc, ValueError) and str(exc):
            detail = str(exc)  # datetime says which field is out of range
        else:
            detail = f"expected {_EXPECTED.get(kind, 'a valid ' + kind)}"
        return self.fail(
            f"invalid {kind} {shown}: {detail}",
            node,
            hint=f"quote it to keep it as text: '{value[:40]}'" if value else None,
        )

    def construct_yaml_int(self, node: ScalarNode) -> int:
        value = super().construct_yaml_int(node)
        if not -_INT_BOUND < value < _INT_BOUND:
            raise self.fail(f"integer with more than {MAX_INT_DIGITS} digits", node)
        return value

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict[Any, Any]:
        if not isinstance(node, MappingNode):
            raise ConstructorError(
                None,
                None,
                f"expected a mapping node, but found {getattr(node, 'id', 'node')}",
                node.start_mark,
            )
        mapping: dict[Any, Any] = LineDict() if self.lines else {}
        self._fill_mapping(mapping, node, deep)
        return mapping

    def construct_yaml_map(self, node: MappingNode):
        data: dict[Any, Any] = LineDict() if self.lines else {}
        yield data
        self._fill_mapping(data, node, False)

    def _fill_mapping(self, mapping: dict[Any, Any], node: MappingNode, deep: bool) -> None:
        own = {id(key) for key, _ in node.value if key.tag != _MERGE_TAG}
        self.flatten_mapping(node)
        key_lines: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                first = key_lines.get(key)
            except TypeError:
                raise self.fail(
                    f"a mapping key must be a string, not a {type(key).__name__}", key_node
                ) from None
            if id(key_node) in own:
                if first is not None:
                    raise self.fail(
                        f"duplicate key {key!r} (first on line {first})",
                        key_node,
                        hint="remove one of them: the first would be silently ignored",
                    )
                key_lines[key] = key_node.start_mark.line + 1
            mapping[key] = self.construct_object(value_node, deep=deep)
        if self.lines:
            mapping.line = node.start_mark.line + 1  # type: ignore[attr-defined]
            mapping.key_lines = key_lines  # type: ignore[attr-defined]

    def construct_vault(self, node: yaml.Node) -> Any:
        """``!vault |`` + a vault text: kept encrypted, with where it was read."""
        if not isinstance(node, ScalarNode) or not is_vault(node.value):
            raise self.fail(
                "a !vault value must be the text 'ansible-vault encrypt_string' printed",
                node,
                hint="it starts with $ANSIBLE_VAULT;1.1;AES256 on the line after '!vault |'",
            )
        return VaultValue(node.value, self.path, node.start_mark.line + 1)

    def construct_unsafe(self, node: yaml.Node) -> Any:
        """``!unsafe``: text never templated (in a list or mapping: all the text in it)."""
        if isinstance(node, ScalarNode):
            return UnsafeText(self.construct_scalar(node))
        if isinstance(node, SequenceNode):
            return [_unsafe(self.construct_object(n, deep=True)) for n in node.value]
        return _unsafe(self.construct_mapping(node, deep=True))


def _unsafe(value: Any) -> Any:
    if isinstance(value, str):
        return UnsafeText(value)
    if isinstance(value, dict):
        for key, item in value.items():
            value[key] = _unsafe(item)
        return value
    if isinstance(value, list):
        return [_unsafe(v) for v in value]
    return value


# the stubs bind add_constructor to yaml's own Loader classes; any constructor subclass works
_Constructor.add_constructor("!vault", _Constructor.construct_vault)  # type: ignore[type-var]
_Constructor.add_constructor("!unsafe", _Constructor.construct_unsafe)  # type: ignore[type-var]
_Constructor.add_constructor("tag:yaml.org,2002:int", _Constructor.construct_yaml_int)  # type: ignore[type-var]
_Constructor.add_constructor("tag:yaml.org,2002:map", _Constructor.construct_yaml_map)  # type: ignore[type-var]


class _Loader(_Parser, _Constructor, Resolver):
    def __init__(self, text: str, path: str, error: type[InputError], lines: bool) -> None:
        _Parser.__init__(self, text)
        _Constructor.__init__(self)
        Resolver.__init__(self)
        self.path, self.error, self.lines = path, error, lines


def open_vaulted(
    text: str, path: str, error: type[InputError] = InputError, vault: Keyring | None = None
) -> str:
    """``text``, decrypted with ``vault`` when the whole file is encrypted with Ansible
    Vault (it starts ``$ANSIBLE_VAULT;``); without a keyring such a file is refused by
    name, rather than read as text and refused for its shape.

    >>> open_vaulted("a: 1\\n", "vars.yml")
    'a: 1\\n'
    >>> open_vaulted("$ANSIBLE_VAULT;1.1;AES256\\n6638...\\n", "group_vars/all.yml")
    Traceback (most recent call last):
    runner.errors.InputError: group_vars/all.yml:1: this is encrypted with Ansible Vault and no vault password was given
    """
    if not is_vault(text):
        return text
    line = text.count("\n", 0, text.index("$ANSIBLE_VAULT;")) + 1
    try:
        return (vault or Keyring()).decrypt(text, where=path, line=line)
    except VaultError as exc:
        raise error(exc.message, path=path, line=line, hint=exc.hint) from exc


def load_text(
    text: str,
    path: str,
    error: type[InputError] = InputError,
    *,
    lines: bool = False,
    vault: Keyring | None = None,
) -> Any:
    """Parse one YAML document safely; with ``lines`` every mapping is a :class:`LineDict`.
    A whole file encrypted with Ansible Vault is decrypted with ``vault`` first."""
    text = open_vaulted(text, path, error, vault)
    check_printable(text, path, error)
    loader = _Loader(text, path, error, lines)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if "&" in text:  # anchors, so maybe aliases: the full measure
            check_graph(node, path, error)
        else:
            check_tree_depth(node, path, error)
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or str(exc)
        context = f" ({exc.context})" if exc.context and exc.problem else ""
        raise error(
            f"invalid YAML: {problem}{context}",
            path=path,
            line=mark.line + 1 if mark is not None else None,
            hint="check the indentation and quoting around this line",
        ) from exc
    except yaml.YAMLError as exc:
        raise error(f"invalid YAML: {exc}", path=path) from exc
    except RecursionError as exc:
        raise error(
            f"data is nested deeper than {MAX_DEPTH} levels",
            path=path,
            line=deep_line(text),
            hint="flatten the structure",
        ) from exc
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - a constructor failed outside construct_object
        raise error(f"cannot read this YAML: {type(exc).__name__}: {exc}"[:300], path=path) from exc
    finally:
        loader.dispose()
