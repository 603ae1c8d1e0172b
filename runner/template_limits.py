"""The limits of the Jinja2 sandbox: how big a value a template may build, and how much.

Jinja2's sandbox stops unsafe attribute access but not runaway work: ``'a' * 10**10``
allocates 10 GB, and constant expressions are even folded while the template compiles.
runner's environment (templating.environment) therefore compiles without the optimizer
(no user expression runs at compile time) and checks, before the work is done:

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
templating turns into runner's TemplateError.

Not limited: CPU time. A regex that backtracks (``regex_search('(a+)+$')``) or a loop
over a long list that prints nothing runs to its end.
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Callable
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

_SEQUENCES = (str, list, tuple, bytes)


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


def _small(values: tuple, kwargs: dict) -> bool:
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


# -- operators ----------------------------------------------------------------------------


def _int_bits(value: Any) -> int:
    return abs(value).bit_length() if type(value) is int else 0


_PERCENT = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d*)(?:\.(\*|\d*))?[hlL]?(.)", re.S)


def check_percent(fmt: str, args: Any) -> None:
    """``fmt % args``: widths and precisions are added up, ``*`` is refused."""
    total = len(fmt) + text_size(args, what="the values formatted")
    for width, precision, _ in _PERCENT.findall(fmt):
        if "*" in (width, precision):
            raise TemplateLimitError("'*' widths in % formats are not supported; write the width")
        total += int(width or 0) + int(precision or 0)
    charge(total, "the formatted text")


def check_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse ``left OP right`` before Python does the work when the result is too big."""
    if operator == "*":
        if type(left) is int and type(right) is int:
            if _int_bits(left) + _int_bits(right) > MAX_INT_BITS:
                raise TemplateLimitError(
                    f"the product would have more than {MAX_INT_BITS} bits (MAX_INT_BITS)"
                )
            return
        seq, count = (left, right) if isinstance(left, _SEQUENCES) else (right, left)
        if isinstance(seq, _SEQUENCES) and isinstance(count, int) and count > 0:
            unit = len(seq) if isinstance(seq, (str, bytes)) else text_size(seq)
            charge(unit * count, "the repeated value")
    elif operator == "**":
        ints = type(left) is int and type(right) is int and right > 0 and abs(left) > 1
        if ints and (_int_bits(left) - 1) * right > MAX_INT_BITS:
            raise TemplateLimitError(
                f"{left} ** {right} would have more than {MAX_INT_BITS} bits (MAX_INT_BITS)"
            )
    elif operator == "+":
        if isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES):
            size = len(left) + len(right)
            if size > MAX_TEMPLATE_OUTPUT:
                too_big("the sum", size)
    elif operator == "%" and isinstance(left, str):
        check_percent(left, right)


def check_concat(parts: tuple[Any, ...]) -> None:
    """``a ~ b``: the joined text."""
    total = 0
    for part in parts:
        total += text_size(part, what="the joined text")
    if total > MAX_TEMPLATE_OUTPUT:
        too_big("the joined text", total)


def check_format(fmt: str, args: tuple, kwargs: dict) -> None:
    """``'{:>10}'.format(x)``: widths in the format specs count, nested specs are refused."""
    total = len(fmt) + text_size((args, kwargs), what="the values formatted")
    try:
        fields = list(string.Formatter().parse(fmt))
    except ValueError:
        return  # Python raises the same error when it formats
    for _, _, spec, _ in fields:
        if spec and "{" in spec:
            raise TemplateLimitError("nested format specs ('{:{width}}') are not supported")
        total += sum(int(n) for n in re.findall(r"\d+", spec or ""))
    charge(total, "the formatted text")


_PADDING = frozenset({"center", "ljust", "rjust", "zfill"})


def check_call(obj: Any, args: tuple, kwargs: dict) -> None:
    """A call from a template: no input over the size limit; str methods that grow."""
    if (args or kwargs) and not _small(args, kwargs):
        text_size((args, kwargs), what="an argument")
    owner = getattr(obj, "__self__", None)
    if not isinstance(owner, str):
        return
    name = getattr(obj, "__name__", "")
    if name in _PADDING and args and isinstance(args[0], int):
        charge(args[0], f"str.{name}()")
    elif name == "expandtabs":
        size = args[0] if args and isinstance(args[0], int) else 8
        charge(len(owner) + owner.count("\t") * max(size, 0), "str.expandtabs()")
    elif name == "join" and args:
        parts = list(args[0]) if not isinstance(args[0], str) else list(args[0])
        total = len(owner) * max(len(parts) - 1, 0)
        total += sum(len(p) if isinstance(p, str) else 8 for p in parts)
        charge(total, "str.join()")
    elif name == "replace" and len(args) >= 2:
        _check_replace(owner, args[0], args[1], args[2] if len(args) > 2 else -1)


def _check_replace(text: Any, old: Any, new: Any, count: Any = -1) -> None:
    if not (isinstance(text, str) and isinstance(old, str) and isinstance(new, str)):
        return
    hits = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    charge(len(text) + hits * max(len(new) - len(old), 0), "the replaced text")


# -- filters and tests --------------------------------------------------------------------


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return default


def _grow_checks() -> dict[str, Callable[..., None]]:
    """Filter name -> check(value, *args, **kwargs) run before filters that grow."""

    def center(value: Any, width: Any = 80, *_: Any) -> None:
        charge(_int(width), "center()")

    def indent(value: Any, width: Any = 4, *_: Any, **__: Any) -> None:
        lines = str(value).count("\n") + 1
        unit = len(width) if isinstance(width, str) else _int(width)
        charge(len(str(value)) + lines * max(unit, 0), "indent()")

    def replace(value: Any, old: Any = "", new: Any = "", count: Any = None) -> None:
        _check_replace(str(value), old, new, -1 if count is None else count)

    def wordwrap(value: Any, width: Any = 79, _b: Any = True, wrapstring: Any = None, *_: Any,
                 **kwargs: Any) -> None:  # fmt: skip
        wrap = kwargs.get("wrapstring", wrapstring)
        if isinstance(wrap, str):
            text = str(value)
            charge(len(text) + (len(text) // max(_int(width, 1), 1) + 1) * len(wrap), "wordwrap()")

    def fill(value: Any, count: Any = 0, fill_with: Any = None, *_: Any) -> None:
        if _int(count) > MAX_TEMPLATE_OUTPUT:
            too_big("the batches", _int(count))

    def dumps(value: Any, indent: Any = None, *_: Any, **kwargs: Any) -> None:
        indent = kwargs.get("indent", indent)
        if indent is not None and _int(indent, MAX_INDENT + 1) > MAX_INDENT:
            raise TemplateLimitError(f"indent must be at most {MAX_INDENT} (MAX_INDENT)")

    def fmt(value: Any, *args: Any, **kwargs: Any) -> None:
        check_percent(str(value), kwargs or args)

    def joined(value: Any, d: Any = "", *_: Any, **__: Any) -> None:
        if isinstance(value, (list, tuple, set, frozenset)):
            charge(text_size(value) + len(str(d)) * len(value), "the joined text")

    def summed(value: Any, *_: Any, **__: Any) -> None:
        if isinstance(value, (list, tuple)):
            charge(text_size(value), "the sum")

    return {
        "center": center,
        "indent": indent,
        "replace": replace,
        "wordwrap": wordwrap,
        "batch": fill,
        "slice": fill,
        "tojson": dumps,
        "to_json": dumps,
        "to_nice_json": dumps,
        "to_yaml": dumps,
        "to_nice_yaml": dumps,
        "format": fmt,
        "join": joined,
        "sum": summed,
        "flatten": summed,
    }


def checked(func: Callable[..., Any], grow: Callable[..., None] | None = None) -> Callable:
    """``func`` (a filter or test) whose inputs are checked first (see the module doc)."""
    skip = 1 if getattr(func, "jinja_pass_arg", None) is not None else 0

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        inputs = args[skip:]
        if not _small(inputs, kwargs):
            text_size((inputs, kwargs), what="a filter's input")
        if grow is not None and inputs:
            if hasattr(inputs[0], "__next__"):  # a generator (map, select...): read it once
                inputs = (list(inputs[0]), *inputs[1:])
                args = (*args[:skip], *inputs)
                text_size(inputs[0], what="a filter's input")
            grow(*inputs, **kwargs)
        return func(*args, **kwargs)

    return wrapper


def checked_filters(filters: dict[str, Callable]) -> dict[str, Callable]:
    grows = _grow_checks()
    return {name: checked(func, grows.get(name)) for name, func in filters.items()}


def checked_range(*args: Any) -> range:
    """The sandbox's range() (at most 100,000 numbers), counted against
    MAX_TEMPLATE_RANGE for the whole render: nested loops stop early, not after 10**10
    turns."""
    from jinja2.sandbox import safe_range

    numbers = safe_range(*args)
    left = _BUDGET.get()
    if left is not None:
        left[1] -= len(numbers)
        if left[1] < 0:
            raise TemplateLimitError(
                f"range() gave more than {MAX_TEMPLATE_RANGE:,} numbers in this template "
                "(MAX_TEMPLATE_RANGE)"
            )
    return numbers


def lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:  # noqa: A002
    """Jinja2's lipsum global, with the sizes capped (n <= 100 paragraphs, max <= 1,000)."""
    from jinja2.utils import generate_lorem_ipsum

    if _int(n) > 100 or _int(max) > 1000 or _int(min) > 1000:
        raise TemplateLimitError("lipsum() is limited to 100 paragraphs of 1,000 words")
    return generate_lorem_ipsum(n, html, min, max)
