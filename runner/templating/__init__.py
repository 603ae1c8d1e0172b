"""Jinja2 templating in a sandbox, with undefined variables as errors: the public face.

    sandbox.py   the one environment (strict, unfolded, limited) and its code generator
    limits.py    how big a value a template may build (MAX_TEMPLATE_*), and the budget
    guards.py    the checks before each operator, call, filter and test
    filters.py   Ansible's filters and tests, and ``truth``
    render.py    text templates: compile once, render, errors -> TemplateError
    values.py    playbook values: LazyVars, evaluate, render_value, condition, checks
    lookups.py   lookup()/query()/q() and with_* loop items; plugins in lookup_files.py
                 (files, commands, passwords) and lookup_data.py; names in lookup_names.py

jinja2 is imported lazily: a run whose command has no ``{{``/``{%`` never pays for it.
"""

from __future__ import annotations

from runner.templating.filters import truth
from runner.templating.render import (
    compile_template,
    environment,
    is_template,
    render,
    run_template,
)
from runner.templating.values import (
    LazyVars,
    check_constant,
    check_expression,
    condition,
    evaluate,
    render_value,
)


def loop_items(name: str, terms: object, variables: object, module: str) -> list:
    """The items of a ``with_NAME`` loop (runner.templating.lookups, loaded on use)."""
    from runner.templating.lookups import loop_items as items

    return items(environment(), name, terms, variables, module)


__all__ = [
    "LazyVars",
    "check_constant",
    "check_expression",
    "compile_template",
    "condition",
    "environment",
    "evaluate",
    "is_template",
    "loop_items",
    "render",
    "render_value",
    "run_template",
    "truth",
]
