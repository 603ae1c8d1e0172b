"""Jinja2 templating in a sandbox, with undefined variables as errors.

jinja2 is imported lazily: a run whose command has no ``{{``/``{%`` never pays for it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from runner.errors import TemplateError

_MARKERS = ("{{", "{%", "{#")


def is_template(text: str) -> bool:
    """True when ``text`` contains Jinja2 syntax.

    >>> is_template("uptime"), is_template("echo {{ inventory_hostname }}")
    (False, True)
    """
    return any(marker in text for marker in _MARKERS)


@lru_cache(maxsize=1)
def environment() -> Any:
    """The one sandboxed environment (StrictUndefined: an undefined name is an error),
    with the size limits of runner.template_limits and no compile-time folding."""
    from jinja2 import ChainableUndefined, StrictUndefined
    from jinja2.compiler import CodeGenerator
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    from runner import template_limits as limits

    class Undefined(ChainableUndefined, StrictUndefined):
        """Strict when used (rendered, compared, iterated), but ``a.b is defined`` and
        ``a.b | default(x)`` work when ``a`` is undefined, as in Ansible."""

    class Generator(CodeGenerator):
        def visit_Const(self, node: Any, frame: Any) -> None:  # 1e400 is inf: not a name
            value = node.as_const(frame.eval_ctx)
            if isinstance(value, float) and not math.isfinite(value):
                self.write(f"float({str(value)!r})")
            else:
                super().visit_Const(node, frame)

        def visit_Concat(self, node: Any, frame: Any) -> None:  # ``a ~ b``: checked first
            if frame.eval_ctx.volatile:
                join = "(markup_join if context.eval_ctx.volatile else str_join)"
            else:
                join = "markup_join" if frame.eval_ctx.autoescape else "str_join"
            self.write(f"{join}(environment.check_concat((")
            for arg in node.nodes:
                self.visit(arg, frame)
                self.write(", ")
            self.write(")))")

    class Environment(ImmutableSandboxedEnvironment):
        intercepted_binops = frozenset({"*", "**", "+", "%"})
        code_generator_class = Generator

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            limits.check_binop(operator, left, right)
            return self.binop_table[operator](left, right)

        def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
            limits.check_call(__obj, args, kwargs)
            return super().call(__context, __obj, *args, **kwargs)

        def wrap_str_format(self, value: Any) -> Any:
            wrapped = super().wrap_str_format(value)
            if wrapped is None:
                return None
            fmt = value.__self__

            def checked_format(*args: Any, **kwargs: Any) -> str:
                limits.check_format(fmt, args, kwargs)
                return wrapped(*args, **kwargs)

            return checked_format

        @staticmethod
        def check_concat(parts: tuple) -> tuple:
            limits.check_concat(parts)
            return parts

    env = Environment(
        undefined=Undefined,
        keep_trailing_newline=True,
        autoescape=False,
        optimized=False,  # folding runs user expressions at compile time, unchecked
        finalize=limits.finish,
    )
    from runner.template_filters import ansible_filters, ansible_tests

    env.filters.update(ansible_filters())
    env.filters = limits.checked_filters(env.filters)
    env.tests.update(ansible_tests())
    env.tests = {name: limits.checked(test) for name, test in env.tests.items()}
    env.globals["lipsum"] = limits.lipsum
    env.globals["range"] = limits.checked_range
    return env


@lru_cache(maxsize=1)
def _limits() -> Any:
    """runner.template_limits, imported on first use (it imports jinja2)."""
    from runner import template_limits

    return template_limits


def _compile_error(exc: BaseException, where: str | None) -> TemplateError:
    if isinstance(exc, (RecursionError, MemoryError, SyntaxError)):
        return TemplateError("template too deeply nested or too large to compile", path=where)
    return TemplateError(f"template syntax error: {exc.message}", path=where)  # type: ignore[attr-defined]


@lru_cache(maxsize=256)
def _compile(source: str) -> Any:
    return environment().from_string(source)


def compile_template(source: str, *, where: str | None = None) -> Any:
    """Compile once; a syntax error becomes TemplateError (before any host runs)."""
    from jinja2 import TemplateSyntaxError

    try:
        return _compile(source)
    except (TemplateSyntaxError, RecursionError, MemoryError, SyntaxError) as exc:
        raise _compile_error(exc, where) from exc


def check_constant(source: str) -> None:
    """A template that reads no variable is rendered now, so a runaway one
    (``{{ 'a' * 10**10 }}``) is refused at load time, before any host runs.
    Only a limit is an error here; other failures wait for run time (``when`` may skip)."""
    from jinja2 import meta, nodes

    from runner.template_limits import TemplateLimitError

    env = environment()
    try:
        tree = env.parse(source)
        names = meta.find_undeclared_variables(tree)
    except Exception:  # compile_template reports syntax errors
        return
    if not names <= set(env.globals):
        return
    # CPU time is not limited: loops, macros and regexes wait for run time
    if next(tree.find_all((nodes.For, nodes.Macro, nodes.CallBlock)), None) is not None:
        return
    if any("regex" in f.name or f.name in ("match", "search") for f in
           tree.find_all((nodes.Filter, nodes.Test))):  # fmt: skip
        return
    try:
        render_value(source, {})
    except TemplateError as exc:
        if isinstance(exc.__cause__, TemplateLimitError):
            raise


def _template_error(exc: BaseException, where: str | None, what: str = "") -> TemplateError:
    """A Jinja2 (or Python) error raised while rendering -> runner's TemplateError."""
    from jinja2 import UndefinedError
    from jinja2.sandbox import SecurityError

    from runner.template_limits import TemplateLimitError

    if isinstance(exc, UndefinedError):
        return TemplateError(f"undefined variable: {exc.message}", path=where)
    if isinstance(exc, SecurityError):
        return TemplateError(f"unsafe template operation: {exc}", path=where)
    if isinstance(exc, TemplateLimitError):
        return TemplateError(f"template limit: {exc}", path=where)
    if isinstance(exc, RecursionError):
        return TemplateError(f"template error{what}: too deeply nested", path=where)
    detail = str(exc) or type(exc).__name__
    if not isinstance(exc, _JINJA_ERRORS()):
        detail = f"{type(exc).__name__}: {detail}"
    return TemplateError(f"template error{what}: {detail}", path=where)


@lru_cache(maxsize=1)
def _JINJA_ERRORS() -> tuple[type, ...]:  # noqa: N802
    from jinja2 import TemplateError as JinjaTemplateError

    return (JinjaTemplateError,)


def render(source: str, variables: Mapping[str, Any], *, where: str | None = None) -> str:
    """Render ``source`` with ``variables``. Plain strings are returned untouched.

    Raises TemplateError naming the undefined variable or the failing expression.
    """
    if not is_template(source):
        return source
    template = compile_template(source, where=where)
    try:
        return run_template(template, variables)
    except TemplateError:
        raise
    except Exception as exc:  # the template's own code (1/0, re.error...): it fails alone
        raise _template_error(exc, where) from exc


# -- playbook helpers: native values, nested data, conditions ---------------------------


class LazyVars(dict):
    """Variables whose values may themselves be templates, rendered on first use.

    ``{"root": "/srv/{{ app }}", "app": "shop"}``: ``{{ root }}`` gives ``/srv/shop``, as
    in Ansible. Keys in ``unsafe`` (registered results, facts, loop items) hold data,
    never rendered again, so a ``{{`` printed by a host stays text.
    """

    def __init__(self, data: Mapping[str, Any], unsafe: frozenset[str] | set[str] = frozenset()):
        super().__init__(data)
        self._unsafe = set(unsafe)
        self._active: set[str] = set()

    def __getitem__(self, key: str) -> Any:
        try:
            value = dict.__getitem__(self, key)
        except KeyError:
            globals_ = environment().globals
            if key in globals_:
                return globals_[key]
            raise
        if key in self._unsafe or not _contains_template(value):
            return value
        if key in self._active:
            raise TemplateError(f"variable {key!r} refers to itself")
        self._active.add(key)
        try:
            value = render_value(value, self)
        finally:
            self._active.discard(key)
        dict.__setitem__(self, key, value)
        self._unsafe.add(key)
        return value

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key: object) -> bool:
        return dict.__contains__(self, key) or key in environment().globals

    def child(self, extra: Mapping[str, Any]) -> LazyVars:
        """These variables plus ``extra`` (data, never rendered): loop items, results."""
        child = LazyVars(self, self._unsafe | set(extra))
        dict.update(child, extra)
        return child


def _contains_template(value: Any) -> bool:
    if isinstance(value, str):
        return is_template(value)
    if isinstance(value, Mapping):
        return any(_contains_template(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_contains_template(v) for v in value)
    return False


def run_template(template: Any, variables: Mapping[str, Any]) -> str:
    """Render a compiled template; LazyVars are used in place (rendered on access).
    The text may not pass MAX_TEMPLATE_OUTPUT characters (TemplateLimitError)."""
    limits = _limits()
    if isinstance(variables, LazyVars):
        context = template.new_context(variables, shared=True)
    else:
        context = template.new_context(dict(variables))
    parts: list[str] = []
    size = 0
    most = limits.MAX_TEMPLATE_OUTPUT
    with limits.budget():
        for chunk in template.root_render_func(context):
            size += len(chunk)
            if size > most:
                limits.too_big("the rendered text", size)
            parts.append(chunk)
    return "".join(parts)


_SINGLE_EXPRESSION = re.compile(r"^\s*\{\{(.*?)\}\}\s*$", re.S)
# render_value: only a string that is exactly one expression keeps a native type;
# "{{ x }}\n" is text and keeps its newline (Ansible's native rendering agrees)
_EXACT_EXPRESSION = re.compile(r"\A\{\{(.*?)\}\}\Z", re.S)


@lru_cache(maxsize=1024)
def _compile_expression(source: str) -> Any:
    return environment().compile_expression(source, undefined_to_none=False)


def check_expression(source: str) -> None:
    """Compile a bare expression (a ``when``...); TemplateError with Jinja2's message."""
    from jinja2 import TemplateSyntaxError

    try:
        _compile_expression(source)
    except TemplateSyntaxError as exc:
        raise TemplateError(exc.message or "syntax error") from exc
    except (RecursionError, MemoryError, SyntaxError) as exc:
        raise _compile_error(exc, None) from exc


def evaluate(expression: str, variables: Mapping[str, Any], *, where: str | None = None) -> Any:
    """Evaluate one Jinja2 expression (no braces) to a native Python value.

    >>> evaluate("result.rc == 0", {"result": {"rc": 0}})
    True
    >>> evaluate("items | length", {"items": [1, 2]})
    2
    """
    from jinja2 import TemplateSyntaxError

    limits = _limits()
    try:
        compiled = _compile_expression(expression)
    except TemplateSyntaxError as exc:
        raise TemplateError(
            f"expression syntax error in {expression!r}: {exc.message}", path=where
        ) from exc
    except (RecursionError, MemoryError, SyntaxError) as exc:
        raise _compile_error(exc, where) from exc
    try:
        with limits.budget():
            if isinstance(variables, LazyVars):
                context = compiled._template.new_context(variables, shared=True)
            else:
                context = compiled._template.new_context(dict(variables))
            for _ in compiled._template.root_render_func(context):
                pass
            return limits.finish(context.vars["result"])
    except TemplateError:
        raise
    except Exception as exc:  # the template's own code (1/0, re.error...): it fails alone
        raise _template_error(exc, where, f" in {expression!r}") from exc


def render_value(value: Any, variables: Mapping[str, Any], *, where: str | None = None) -> Any:
    """Render every string inside nested lists/dicts.

    A string that is exactly one ``{{ expression }}`` keeps the expression's native
    type, as in Ansible (``loop: "{{ packages }}"`` is a list, ``"{{ 3 + 4 }}"`` is 7).

    >>> render_value({"a": ["{{ x }}", "n={{ x }}", "{{ x }}\\n"]}, {"x": 7})
    {'a': [7, 'n=7', '7\\n']}
    """
    if isinstance(value, str):
        match = _EXACT_EXPRESSION.match(value)
        if match and "{{" not in match.group(1) and "}}" not in match.group(1):
            return evaluate(match.group(1).strip(), variables, where=where)
        return render(value, variables, where=where)
    if isinstance(value, Mapping):
        return {k: render_value(v, variables, where=where) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [render_value(v, variables, where=where) for v in value]
    return value


def truth(value: Any) -> bool:
    """Ansible's idea of true: ``"yes"``, ``"on"``, ``"1"``, ``"true"`` (any case) are
    true and ``"no"``, ``"off"``, ``"0"``, ``"false"``, ``""`` are false; other values
    use Python truthiness.

    >>> truth("False"), truth("yes"), truth([]), truth(1)
    (False, True, False, True)
    """
    if isinstance(value, str):
        lowered = value.strip().lower()
        return lowered not in ("no", "off", "0", "false", "n", "f", "", "none")
    return bool(value)


def condition(expression: Any, variables: Mapping[str, Any], *, where: str | None = None) -> bool:
    """Evaluate a ``when``/``changed_when``/``failed_when``/``until`` condition.

    A list means every condition must hold. Booleans are taken as they are; a string is
    a bare Jinja2 expression (a single ``{{ }}`` around it is tolerated, as Ansible does).

    >>> condition(["x > 1", "y is defined"], {"x": 2, "y": 0})
    True
    """
    if isinstance(expression, (list, tuple)):
        return all(condition(e, variables, where=where) for e in expression)
    if isinstance(expression, bool) or expression is None:
        return bool(expression)
    if not isinstance(expression, str):
        return truth(expression)
    text = expression.strip()
    match = _SINGLE_EXPRESSION.match(text)
    if match and "{{" not in match.group(1):
        text = match.group(1).strip()
    return truth(evaluate(text, variables, where=where))
