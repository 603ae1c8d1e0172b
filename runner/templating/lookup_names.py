"""The names of runner's lookup plugins, for the loader (``with_NAME`` keywords) without
importing the plugins (they load jinja2). runner.templating.lookups checks the two agree."""

from __future__ import annotations

LOOKUP_NAMES = frozenset(
    {
        "file", "env", "template", "pipe", "lines", "first_found", "fileglob", "items",
        "list", "dict", "indexed_items", "sequence", "subelements", "nested", "together",
        "vars", "varnames", "password",
    }
)  # fmt: skip
WITH_KEYWORDS = frozenset(f"with_{name}" for name in LOOKUP_NAMES)
