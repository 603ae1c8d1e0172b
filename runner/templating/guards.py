"""The checks the sandbox runs before the work is done: operators, ``str.format`` and the
str methods that grow, every call, filter and test, range() and lipsum(). What they
refuse, and the limits they count against, are in runner.templating.limits.
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Callable
from typing import Any

from jinja2.sandbox import safe_range
from jinja2.utils import generate_lorem_ipsum

from runner.templating.limits import (
    MAX_INDENT,
    MAX_INT_BITS,
    MAX_TEMPLATE_OUTPUT,
    TemplateLimitError,
    charge,
    charge_range,
    is_small,
    text_size,
    too_big,
)

_SEQUENCES = (str, list, tuple, bytes)


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
    if (args or kwargs) and not is_small(args, kwargs):
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
        if not is_small(inputs, kwargs):
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
    numbers = safe_range(*args)
    charge_range(len(numbers))
    return numbers


def lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:  # noqa: A002
    """Jinja2's lipsum global, with the sizes capped (n <= 100 paragraphs, max <= 1,000)."""
    if _int(n) > 100 or _int(max) > 1000 or _int(min) > 1000:
        raise TemplateLimitError("lipsum() is limited to 100 paragraphs of 1,000 words")
    return generate_lorem_ipsum(n, html, min, max)
