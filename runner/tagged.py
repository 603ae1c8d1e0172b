"""Values that YAML tags make, as Ansible's loader makes them; a leaf (imports nothing).

* ``!unsafe 'text {{ x }}'`` -> :class:`UnsafeText`: a str that templating passes
  through untouched, wherever it ends up (nested in lists and dicts, copied into other
  variables).
* ``!vault |`` + an Ansible Vault text -> :class:`VaultValue`: the encrypted text and
  where it was read. It is decrypted when a template (or a connection setting) reads it,
  with the run's vault passwords (runner.vault.Keyring); until then it is never text.

>>> UnsafeText("{{ x }}") == "{{ x }}", isinstance(UnsafeText("a"), str)
(True, True)
>>> VaultValue("$ANSIBLE_VAULT;1.1;AES256\\n3936...", "group_vars/all.yml", 3)
VaultValue(<encrypted>, group_vars/all.yml:3)
"""

from __future__ import annotations

from typing import Any


class UnsafeText(str):
    """Text that is never rendered as a template (``!unsafe``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"UnsafeText({str.__repr__(self)})"

    def __reduce__(self) -> Any:
        return (UnsafeText, (str(self),))


class VaultValue:
    """One ``!vault`` value: its vault text (``envelope``), and the file and line it
    came from (for messages). Never shown: the repr says only where it is from."""

    __slots__ = ("envelope", "path", "line")

    def __init__(self, envelope: str, path: str | None = None, line: int | None = None) -> None:
        self.envelope = envelope
        self.path = path
        self.line = line

    @property
    def where(self) -> str:
        if not self.path:
            return "a !vault value"
        return f"{self.path}:{self.line}" if self.line else self.path

    def __repr__(self) -> str:
        return f"VaultValue(<encrypted>, {self.where})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, VaultValue) and other.envelope == self.envelope

    def __hash__(self) -> int:
        return hash(self.envelope)


def contains_vault(value: Any) -> bool:
    """True when ``value`` is, or holds (in lists, tuples and dicts), a VaultValue.

    >>> contains_vault({"a": [1, VaultValue("x")]}), contains_vault(["x"])
    (True, False)
    """
    todo = [value]
    while todo:
        item = todo.pop()
        if item.__class__ is VaultValue:
            return True
        if isinstance(item, dict):
            todo.extend(item.values())
        elif isinstance(item, (list, tuple)):
            todo.extend(item)
    return False


def from_json_object(pairs: list[tuple[str, Any]], path: str | None = None) -> Any:
    """A JSON object as Ansible's JSON reader takes it: ``{"__ansible_vault": TEXT}`` is
    a VaultValue, ``{"__ansible_unsafe": TEXT}`` UnsafeText (what ``ansible-inventory
    --list`` writes), anything else a dict (a ``json.loads`` object_pairs_hook).

    >>> from_json_object([("__ansible_unsafe", "{{ x }}")]), from_json_object([("a", 1)])
    (UnsafeText('{{ x }}'), {'a': 1})
    """
    if len(pairs) == 1 and isinstance(pairs[0][1], str):
        key, value = pairs[0]
        if key == "__ansible_vault":
            return VaultValue(value, path)
        if key == "__ansible_unsafe":
            return UnsafeText(value)
    return dict(pairs)


__all__ = ["UnsafeText", "VaultValue", "contains_vault", "from_json_object"]
