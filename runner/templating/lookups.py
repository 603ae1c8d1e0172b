"""Ansible's lookups for templates: ``lookup()``, ``query()`` and ``q()`` (Ansible's
``wantlist`` and ``errors=``), and the items of ``with_NAME`` loops. The plugins are in
runner.templating.lookup_files and lookup_data. Loaded by sandbox.environment() (jinja2).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jinja2 import pass_context

from runner.templating.limits import TemplateLimitError
from runner.templating.lookup_data import (
    lookup_dict,
    lookup_indexed_items,
    lookup_items,
    lookup_nested,
    lookup_sequence,
    lookup_subelements,
    lookup_together,
    lookup_varnames,
    lookup_vars,
)
from runner.templating.lookup_files import (
    LookupFailed,
    lookup_env,
    lookup_file,
    lookup_fileglob,
    lookup_first_found,
    lookup_lines,
    lookup_password,
    lookup_pipe,
    lookup_template,
)
from runner.templating.lookup_names import LOOKUP_NAMES

PLUGINS: dict[str, Callable[[Any, list, dict], list]] = {
    "file": lookup_file,
    "env": lookup_env,
    "template": lookup_template,
    "pipe": lookup_pipe,
    "lines": lookup_lines,
    "first_found": lookup_first_found,
    "fileglob": lookup_fileglob,
    "items": lookup_items,
    "list": lambda context, terms, opts: list(terms),
    "dict": lookup_dict,
    "indexed_items": lookup_indexed_items,
    "sequence": lookup_sequence,
    "subelements": lookup_subelements,
    "nested": lookup_nested,
    "together": lookup_together,
    "vars": lookup_vars,
    "varnames": lookup_varnames,
    "password": lookup_password,
}


assert set(PLUGINS) == LOOKUP_NAMES, "runner.templating.lookup_names is out of date"


def loop_items(env: Any, name: str, terms: Any, variables: Any, module: str) -> list:
    """The items of a ``with_NAME`` loop: the terms as Ansible listifies them, run
    through the lookup with ``wantlist``; with_first_found looks in the module's folder."""
    template = env.from_string("")
    context = template.new_context(variables, shared=True)
    if not isinstance(terms, list):
        terms = list(terms) if isinstance(terms, tuple) else [terms]
    options: dict[str, Any] = {"wantlist": True}
    if name == "first_found":
        options["_subdir"] = "templates" if "template" in module else "files"
    return list(run_lookup(context, name, terms, options))


def run_lookup(context: Any, name: str, terms: list, kwargs: dict) -> Any:
    """Run plugin ``name`` as Ansible's ``lookup()`` does (``wantlist``, ``errors``)."""
    wantlist = kwargs.pop("wantlist", False)
    errors = kwargs.pop("errors", "strict")
    short = str(name).removeprefix("ansible.builtin.")
    plugin = PLUGINS.get(short)
    if plugin is None:
        raise LookupFailed(f"lookup plugin ({name}) not found")
    try:
        result = plugin(context, list(terms), kwargs)
    except TemplateLimitError:
        raise
    except Exception as exc:
        if errors in ("warn", "ignore"):
            return [] if wantlist else None
        raise LookupFailed(f"lookup {short!r} failed: {exc}") from exc
    if not wantlist and result:
        if len(result) == 1:
            return result[0]
        try:
            return ",".join(result)
        except TypeError:
            return result
    return result


def lookup_globals() -> dict[str, Any]:
    @pass_context
    def lookup(context: Any, name: str, *terms: Any, **kwargs: Any) -> Any:
        return run_lookup(context, name, list(terms), kwargs)

    @pass_context
    def query(context: Any, name: str, *terms: Any, **kwargs: Any) -> Any:
        kwargs["wantlist"] = True
        return run_lookup(context, name, list(terms), kwargs)

    return {"lookup": lookup, "query": query, "q": query}
