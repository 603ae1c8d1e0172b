"""Templates as values, for playbooks: lazy variables, native-typed expressions, nested
data, conditions, and the load-time checks of expressions and constant templates.

jinja2 loads inside the functions that need it (start-up time, not a cycle).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from runner.errors import TemplateError, VaultError
from runner.tagged import UnsafeText, VaultValue, contains_vault
from runner.templating.filters import truth
from runner.templating.render import (
    compile_error,
    environment,
    is_template,
    load_limits,
    new_context,
    render,
    template_error,
)
from runner.vault import Keyring


class LazyVars(dict):
    """Variables whose values may themselves be templates, rendered on first use.

    ``{"root": "/srv/{{ app }}", "app": "shop"}``: ``{{ root }}`` gives ``/srv/shop``, as
    in Ansible. Keys in ``unsafe`` (registered results, facts, loop items) hold data,
    never rendered again, so a ``{{`` printed by a host stays text; so is ``!unsafe``
    text (runner.tagged.UnsafeText), wherever it is. ``!vault`` values are decrypted
    with ``vault`` (a runner.vault.Keyring) when read; without a password that fits,
    reading one fails naming the variable (runner.errors.VaultError).
    """

    renders_on_access = True  # a template uses these in place (render.new_context)

    def __init__(
        self,
        data: Mapping[str, Any],
        unsafe: frozenset[str] | set[str] = frozenset(),
        vault: Keyring | None = None,
        *,
        literal: bool = False,
    ):
        super().__init__(data)
        self._unsafe = set(unsafe)
        self._active: set[str] = set()
        self.vault = vault if vault is not None else getattr(data, "vault", None)
        self.literal = literal  # values are used as they are: only !vault ones opened

    def __getitem__(self, key: str) -> Any:
        try:
            value = dict.__getitem__(self, key)
        except KeyError:
            globals_ = environment().globals
            if key in globals_:
                return globals_[key]
            raise
        if key in self._unsafe:  # data (magic, facts, results): never a template or a vault
            return value
        if contains_vault(value):
            value = _keyring(self.vault).reveal(value, key)
            dict.__setitem__(self, key, value)
        if self.literal or not _contains_template(value):
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
        child = LazyVars(self, self._unsafe | set(extra), self.vault, literal=self.literal)
        dict.update(child, extra)
        return child


def _keyring(vault: Keyring | None) -> Keyring:
    return vault if vault is not None else Keyring()


def _contains_template(value: Any) -> bool:
    if isinstance(value, str):
        return is_template(value)
    if isinstance(value, Mapping):
        return any(_contains_template(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_contains_template(v) for v in value)
    return False


_SINGLE_EXPRESSION = re.compile(r"^\s*\{\{(.*?)\}\}\s*$", re.S)
# render_value: only a string that is exactly one expression keeps a native type;
# "{{ x }}\n" is text and keeps its newline (Ansible's native rendering agrees)
_EXACT_EXPRESSION = re.compile(r"\A\{\{(.*?)\}\}\Z", re.S)


@lru_cache(maxsize=1024)
def _compile_expression(source: str) -> Any:
    return environment().compile_expression(source, undefined_to_none=False)


def check_expression(source: str) -> None:
    """Compile a bare expression (a ``when``...); TemplateError with Jinja2's message."""
    from jinja2 import TemplateSyntaxError  # start-up time

    try:
        _compile_expression(source)
    except TemplateSyntaxError as exc:
        raise TemplateError(exc.message or "syntax error") from exc
    except (RecursionError, MemoryError, SyntaxError) as exc:
        raise compile_error(exc, None) from exc


_SIDE_EFFECTS = frozenset({"lookup", "query", "q"})


def check_constant(source: str) -> None:
    """A template that reads no variable is rendered now, so a runaway one
    (``{{ 'a' * 10**10 }}``) is refused at load time, before any host runs.
    Only a limit is an error here; other failures wait for run time (``when`` may skip)."""
    from jinja2 import meta, nodes  # start-up time

    env = environment()
    try:
        tree = env.parse(source)
        names = meta.find_undeclared_variables(tree)
    except Exception:  # compile_template reports syntax errors
        return
    if not names <= set(env.globals):
        return
    if any(node.name in _SIDE_EFFECTS for node in tree.find_all(nodes.Name)):
        return  # lookups read files, run commands and write password files: at run time
    # CPU time is not limited: loops, macros and regexes wait for run time
    if next(tree.find_all((nodes.For, nodes.Macro, nodes.CallBlock)), None) is not None:
        return
    if any("regex" in f.name or f.name in ("match", "search") for f in
           tree.find_all((nodes.Filter, nodes.Test))):  # fmt: skip
        return
    try:
        render_value(source, {})
    except TemplateError as exc:
        if isinstance(exc.__cause__, load_limits().TemplateLimitError):
            raise


def evaluate(expression: str, variables: Mapping[str, Any], *, where: str | None = None) -> Any:
    """Evaluate one Jinja2 expression (no braces) to a native Python value.

    >>> evaluate("result.rc == 0", {"result": {"rc": 0}})
    True
    >>> evaluate("items | length", {"items": [1, 2]})
    2
    """
    from jinja2 import TemplateSyntaxError  # start-up time

    bounds = load_limits()
    try:
        compiled = _compile_expression(expression)
    except TemplateSyntaxError as exc:
        raise TemplateError(
            f"expression syntax error in {expression!r}: {exc.message}", path=where
        ) from exc
    except (RecursionError, MemoryError, SyntaxError) as exc:
        raise compile_error(exc, where) from exc
    try:
        with bounds.budget():
            context = new_context(compiled._template, variables)
            for _ in compiled._template.root_render_func(context):
                pass
            return bounds.finish(context.vars["result"])
    except (TemplateError, VaultError):
        raise
    except Exception as exc:  # the template's own code (1/0, re.error...): it fails alone
        raise template_error(exc, where, f" in {expression!r}") from exc


def render_value(value: Any, variables: Mapping[str, Any], *, where: str | None = None) -> Any:
    """Render every string inside nested lists/dicts.

    A string that is exactly one ``{{ expression }}`` keeps the expression's native
    type, as in Ansible (``loop: "{{ packages }}"`` is a list, ``"{{ 3 + 4 }}"`` is 7).

    >>> render_value({"a": ["{{ x }}", "n={{ x }}", "{{ x }}\\n", "{{ x }}\\n\\n"]}, {"x": 7})
    {'a': [7, 'n=7', 7, '7\\n\\n']}
    >>> render_value("{{ 'a' }}\\n", {})
    'a\\n'
    >>> render_value([UnsafeText("{{ x }}")], {"x": 7})
    [UnsafeText('{{ x }}')]
    """
    if isinstance(value, UnsafeText):
        return value
    if value.__class__ is VaultValue:  # written in place (a module argument): decrypted
        return _keyring(getattr(variables, "vault", None)).reveal(value, "(a !vault value)")
    if isinstance(value, str):
        # Jinja2 drops one last newline, so "{{ x }}\n" is one expression too (Ansible
        # then gives a text result its newline back: ``content: "{{ port }}\n"`` is 8080)
        one_newline = value.endswith("\n") and not value.endswith("\n\n")
        match = _EXACT_EXPRESSION.match(value[:-1] if one_newline else value)
        if match and "{{" not in match.group(1) and "}}" not in match.group(1):
            out = evaluate(match.group(1).strip(), variables, where=where)
            if one_newline and isinstance(out, str) and not out.endswith("\n"):
                out = out + "\n"
            return out
        return render(value, variables, where=where)
    if isinstance(value, Mapping):
        return {k: render_value(v, variables, where=where) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [render_value(v, variables, where=where) for v in value]
    return value


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
