"""What a module accepts, declared per group of modules (one file each) and gathered into
``runner.playbook.modspec.SPECS``. Imports nothing heavy: the loader reads these at load
time, before any connection."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class ModuleSpec:
    """Arguments one module accepts. ``free_form`` modules take a command line.

    ``validate`` checks what a set of names cannot (a choice, two exclusive arguments) and
    raises ValueError with a message the loader shows with file:line.
    """

    params: frozenset[str]
    free_form: bool = False
    required_one_of: tuple[tuple[str, ...], ...] = ()
    any_params: bool = False  # set_fact: any variable name
    aliases: tuple[tuple[str, str], ...] = ()
    validate: Callable[[dict[str, object]], None] | None = None


def templated(value: object) -> bool:
    """Whether an argument is a template: its value is known only per host, at run time,
    so a load-time check of its choices must leave it alone."""
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def choices(**allowed: Iterable[str]) -> Callable[[dict[str, object]], None]:
    """A validate function: each named argument, when given as plain text, is one of its
    choices.

    >>> check = choices(state=("present", "absent"))
    >>> check({"state": "present"})
    >>> check({"state": "{{ wanted }}"})
    >>> check({"state": "gone"})
    Traceback (most recent call last):
    ...
    ValueError: state must be one of: present, absent (got 'gone')
    """
    table = {key: tuple(values) for key, values in allowed.items()}

    def validate(args: dict[str, object]) -> None:
        for key, values in table.items():
            value = args.get(key)
            if value is None or templated(value):
                continue
            if str(value) not in values:
                raise ValueError(f"{key} must be one of: {', '.join(values)} (got {value!r})")

    return validate
