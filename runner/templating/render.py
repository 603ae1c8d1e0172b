"""Text templates: tell one from plain text, compile it once, render it with variables,
and turn what Jinja2 (or the template's own code) raises into runner's TemplateError.

jinja2 and the limits load inside the functions that need them (start-up time: a command
without ``{{`` never imports jinja2); nothing here imports back into runner.templating.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from runner.errors import TemplateError, VaultError
from runner.tagged import UnsafeText
from runner.templating.sandbox import environment

_MARKERS = ("{{", "{%", "{#")


def is_template(text: str) -> bool:
    """True when ``text`` contains Jinja2 syntax (never for ``!unsafe`` text).

    >>> is_template("uptime"), is_template("echo {{ inventory_hostname }}")
    (False, True)
    >>> is_template(UnsafeText("{{ x }}"))
    False
    """
    if isinstance(text, UnsafeText):
        return False
    return any(marker in text for marker in _MARKERS)


@lru_cache(maxsize=1)
def load_limits() -> Any:
    """runner.templating.limits, imported on first use (it imports jinja2: start-up time)."""
    from runner.templating import limits

    return limits


def compile_error(exc: BaseException, where: str | None) -> TemplateError:
    """A template too deep or too big for Python's compiler, or a syntax error."""
    if isinstance(exc, (RecursionError, MemoryError, SyntaxError)):
        return TemplateError("template too deeply nested or too large to compile", path=where)
    return TemplateError(f"template syntax error: {exc.message}", path=where)  # type: ignore[attr-defined]


@lru_cache(maxsize=256)
def _compile(source: str) -> Any:
    return environment().from_string(source)


def compile_template(source: str, *, where: str | None = None) -> Any:
    """Compile once; a syntax error becomes TemplateError (before any host runs)."""
    from jinja2 import TemplateSyntaxError  # start-up time

    try:
        return _compile(source)
    except (TemplateSyntaxError, RecursionError, MemoryError, SyntaxError) as exc:
        raise compile_error(exc, where) from exc


def template_error(exc: BaseException, where: str | None, what: str = "") -> TemplateError:
    """A Jinja2 (or Python) error raised while rendering -> runner's TemplateError."""
    from jinja2 import UndefinedError  # start-up time
    from jinja2.sandbox import SecurityError

    if isinstance(exc, UndefinedError):
        return TemplateError(f"undefined variable: {exc.message}", path=where)
    if isinstance(exc, SecurityError):
        return TemplateError(f"unsafe template operation: {exc}", path=where)
    if isinstance(exc, load_limits().TemplateLimitError):
        return TemplateError(f"template limit: {exc}", path=where)
    if isinstance(exc, RecursionError):
        return TemplateError(f"template error{what}: too deeply nested", path=where)
    detail = str(exc) or type(exc).__name__
    if not isinstance(exc, _JINJA_ERRORS()):
        detail = f"{type(exc).__name__}: {detail}"
    return TemplateError(f"template error{what}: {detail}", path=where)


@lru_cache(maxsize=1)
def _JINJA_ERRORS() -> tuple[type, ...]:  # noqa: N802
    from jinja2 import TemplateError as JinjaTemplateError  # start-up time

    return (JinjaTemplateError,)


def new_context(template: Any, variables: Mapping[str, Any]) -> Any:
    """The context a compiled template runs in. Variables that render themselves when
    read (``renders_on_access``: LazyVars) are used in place, so each is rendered once
    and only if used; any other mapping is copied."""
    if getattr(variables, "renders_on_access", False):
        return template.new_context(variables, shared=True)
    return template.new_context(dict(variables))


def run_template(template: Any, variables: Mapping[str, Any]) -> str:
    """Render a compiled template; LazyVars are used in place (rendered on access).
    The text may not pass MAX_TEMPLATE_OUTPUT characters (TemplateLimitError)."""
    bounds = load_limits()
    context = new_context(template, variables)
    parts: list[str] = []
    size = 0
    most = bounds.MAX_TEMPLATE_OUTPUT
    with bounds.budget():
        for chunk in template.root_render_func(context):
            size += len(chunk)
            if size > most:
                bounds.too_big("the rendered text", size)
            parts.append(chunk)
    return "".join(parts)


def render(source: str, variables: Mapping[str, Any], *, where: str | None = None) -> str:
    """Render ``source`` with ``variables``. Plain strings are returned untouched.

    Raises TemplateError naming the undefined variable or the failing expression.
    """
    if not is_template(source):
        return source
    template = compile_template(source, where=where)
    try:
        return run_template(template, variables)
    except (TemplateError, VaultError):  # a !vault value read without its password
        raise
    except Exception as exc:  # the template's own code (1/0, re.error...): it fails alone
        raise template_error(exc, where) from exc
