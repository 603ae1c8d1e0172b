"""The limits of the Jinja2 sandbox: how big a value a template may build, and how much.

Jinja2's sandbox stops unsafe attribute access but not runaway work: ``'a' * 10**10``
allocates 10 GB, and constant expressions are even folded while the template compiles.
runner's environment (runner.templating.sandbox) therefore compiles without the optimizer
(no user expression runs at compile time) and checks, before the work is done
(runner.templating.guards):

- ``*``, ``+``, ``%`` and ``**`` (the sandbox's intercepted operators), ``~``,
  ``str.format`` and the str methods that pad or join;
- every filter, test and call: no input bigger than MAX_TEMPLATE_OUTPUT (as text), and
  the filters that grow their input (center, indent, replace, join, batch, sum...) check
  the size of their result first;
- every value a template produces, text or native: at most MAX_TEMPLATE_OUTPUT
  characters, no Undefined hidden in a list or dict (``{{ [nope] }}`` is an undefined
  variable, not the text ``[Undefined]``).

Values that grow by repetition also count against MAX_TEMPLATE_WORK for the whole render,
and range() against MAX_TEMPLATE_RANGE; values nest at most MAX_TEMPLATE_DEPTH levels.
A limit that is hit raises TemplateLimitError (a Jinja2 TemplateRuntimeError), which
runner.templating turns into runner's TemplateError.

Not limited: CPU time. A regex that backtracks (``regex_search('(a+)+$')``) or a loop
over a long list that prints nothing runs to its end.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from jinja2 import Undefined
from jinja2.exceptions import TemplateRuntimeError

MAX_TEMPLATE_OUTPUT = 4 << 20  # characters (or list items): one value or one rendered text
MAX_TEMPLATE_WORK = 64 << 20  # characters built by repetition and padding in one render
MAX_INT_BITS = 8192  # an integer result of * or ** (about 2,466 decimal digits)
MAX_INDENT = 64  # to_json/to_yaml/tojson indent
MAX_TEMPLATE_DEPTH = 100  # levels of lists and dicts in a value a template handles
MAX_TEMPLATE_RANGE = 1_000_000  # numbers all range() calls of one render give, together


class TemplateLimitError(TemplateRuntimeError):
    """A template would build a value over one of the limits above."""


def too_big(what: str, size: int, limit: int = MAX_TEMPLATE_OUTPUT, name: str = "") -> None:
    raise TemplateLimitError(
        f"{what} would be {size:,} characters or items; the limit is {limit:,} "
        f"({name or 'MAX_TEMPLATE_OUTPUT'})"
    )


# -- the work budget of one render -------------------------------------------------------

_BUDGET: ContextVar[list[int] | None] = ContextVar("runner_template_budget", default=None)


class budget:
    """``with budget():`` around a render; nested renders (lazy variables) share it."""

    __slots__ = ("_token",)

    def __enter__(self) -> None:
        fresh = [MAX_TEMPLATE_WORK, MAX_TEMPLATE_RANGE]
        self._token = _BUDGET.set(fresh) if _BUDGET.get() is None else None

    def __exit__(self, *exc: object) -> None:
        if self._token is not None:
            _BUDGET.reset(self._token)


def charge(size: int, what: str) -> None:
    """A value of ``size`` is about to be built: refuse it over the limits."""
    if size > MAX_TEMPLATE_OUTPUT:
        too_big(what, size)
    left = _BUDGET.get()
    if left is not None:
        left[0] -= size
        if left[0] < 0:
            too_big(f"{what} (in all)", MAX_TEMPLATE_WORK - left[0], MAX_TEMPLATE_WORK,
                    "MAX_TEMPLATE_WORK")  # fmt: skip


def charge_range(count: int) -> None:
    """range() is about to give ``count`` numbers: refuse them past MAX_TEMPLATE_RANGE."""
    left = _BUDGET.get()
    if left is not None:
        left[1] -= count
        if left[1] < 0:
            raise TemplateLimitError(
                f"range() gave more than {MAX_TEMPLATE_RANGE:,} numbers in this template "
                "(MAX_TEMPLATE_RANGE)"
            )


# -- the size of a value as text, and Undefined anywhere in it ---------------------------


def text_size(
    value: Any, limit: int = MAX_TEMPLATE_OUTPUT, what: str = "the value", strict: bool = False
) -> int:
    """About how many characters ``str(value)`` has, walking lists, tuples, sets and dicts;
    a list that holds the same list twice counts it twice, as str() prints it, but is
    walked once. With ``strict`` an Undefined inside raises its error. Raises
    TemplateLimitError past ``limit``, past MAX_TEMPLATE_DEPTH levels, or on a loop."""
    size = _size(value, {}, 0, limit, strict)
    if size > limit:
        too_big(what, size, limit)
    return size


_CONTAINERS = (list, tuple, set, frozenset, dict)
_SCALARS = frozenset({int, float, bool, type(None)})


def is_small(values: tuple, kwargs: dict) -> bool:
    """True when every value is a scalar or a short string: nothing to walk (fast path)."""
    for value in (*values, *kwargs.values()) if kwargs else values:
        kind = type(value)
        if kind is str:
            if len(value) > MAX_TEMPLATE_OUTPUT:
                return False
        elif kind not in _SCALARS and not isinstance(value, Undefined):
            return False
    return True


def _size(item: Any, memo: dict[int, int], depth: int, limit: int, strict: bool) -> int:
    kind = type(item)
    if kind is str:
        return len(item)
    if kind is int:
        return (item.bit_length() >> 1) + 1 if abs(item) > 0xFFFFFFFF else 4
    if kind in (float, bool) or item is None:
        return 4
    if kind in _CONTAINERS:
        key = id(item)
        known = memo.get(key)
        if known is not None:
            return known
        if depth >= MAX_TEMPLATE_DEPTH:
            raise TemplateLimitError(
                f"the value is nested more than {MAX_TEMPLATE_DEPTH} levels deep "
                "(MAX_TEMPLATE_DEPTH)"
            )
        memo[key] = limit + 1  # while we are inside it: a loop back to it is too big
        if kind is dict:
            total = 2 + 4 * len(item)
            children: Any = (*item.keys(), *item.values()) if total <= limit else ()
        else:
            total = 2 + 2 * len(item)
            children = item if total <= limit else ()
        for child in children:
            kind = type(child)
            if kind is str:
                total += len(child)
            elif kind in _SCALARS and (kind is not int or -0xFFFFFFFF < child < 0xFFFFFFFF):
                total += 4
            else:
                total += _size(child, memo, depth + 1, limit, strict)
            if total > limit:
                break
        memo[key] = total
        return total
    if isinstance(item, Undefined):
        if strict:
            item._fail_with_undefined_error()
        return 8
    if isinstance(item, (str, bytes)):
        return len(item)
    return 8


def finish(value: Any) -> Any:
    """The check on every value a template gives back (native or printed)."""
    kind = type(value)
    if kind is str:
        if len(value) > MAX_TEMPLATE_OUTPUT:
            too_big("the result", len(value))
        return value
    if kind in (bool, float) or value is None:
        return value
    text_size(value, what="the result", strict=True)
    return value
