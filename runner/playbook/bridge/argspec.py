"""The argument names a module accepts, read from its ``AnsibleModule(argument_spec=...)``
with ``ast`` when that is a literal (most modules): a misspelt argument is then an error
at load time, with file and line, instead of a failure on every host. When the spec is
built at run time (``url_argument_spec()``, ``spec.update(...)``), nothing is checked
here: the module checks its arguments on the host, as in Ansible."""

from __future__ import annotations

import ast

#: What ``add_file_common_args=True`` adds (ansible-core's FILE_COMMON_ARGUMENTS).
FILE_COMMON = frozenset(
    {"mode", "owner", "group", "seuser", "serole", "selevel", "setype", "attributes", "attr",
     "unsafe_writes"}
)  # fmt: skip


def _call_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _strings(node: ast.expr) -> list[str] | None:
    if isinstance(node, (ast.List, ast.Tuple)) and all(
        isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts
    ):
        return [str(e.value) for e in node.elts if isinstance(e, ast.Constant)]
    return None


def _pairs(node: ast.expr | None) -> list[tuple[str | None, ast.expr]] | None:
    """(key, value) of a ``dict(k=v)`` call or ``{"k": v}`` literal (key None: a
    ``**spread`` or a key that is not a string); None for anything else."""
    if isinstance(node, ast.Call) and _call_name(node.func) == "dict" and not node.args:
        return [(k.arg, k.value) for k in node.keywords]
    if isinstance(node, ast.Dict):
        return [
            (k.value if isinstance(k, ast.Constant) and isinstance(k.value, str) else None, v)
            for k, v in zip(node.keys, node.values, strict=True)
        ]
    return None


def _option_aliases(node: ast.expr) -> list[str] | None:
    """The aliases of one option's spec (``dict(type='str', aliases=['x'])``); None when
    the spec is not a literal."""
    items = _pairs(node)
    if items is None:
        return None
    aliases: list[str] = []
    for key, value in items:
        if key is None:
            return None  # **spread
        if key == "aliases":
            found = _strings(value)
            if found is None:
                return None
            aliases += found
    return aliases


def _spec_names(node: ast.expr | None) -> set[str] | None:
    pairs = _pairs(node)
    if pairs is None:
        return None
    names: set[str] = set()
    for key, value in pairs:
        aliases = _option_aliases(value)
        if key is None or aliases is None:
            return None
        names.update([key, *aliases])
    return names


def accepted_names(source: bytes) -> frozenset[str] | None:
    """Every argument name (aliases too) of the module in ``source``, or None when its
    argument_spec is not a literal.

    >>> accepted_names(b"m = AnsibleModule(argument_spec=dict(path=dict(aliases=['dest'])), add_file_common_args=True)") >= {"path", "dest", "mode"}
    True
    >>> accepted_names(b"spec = url_argument_spec(); m = AnsibleModule(argument_spec=spec)") is None
    True
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    calls = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and _call_name(n.func) == "AnsibleModule"
    ]
    if len(calls) != 1:
        return None
    call = calls[0]
    keywords = {k.arg: k.value for k in call.keywords}
    if None in keywords:
        return None  # AnsibleModule(**kwargs)
    spec = keywords.get("argument_spec", call.args[0] if call.args else None)
    if isinstance(spec, ast.Name):
        spec = _only_assignment(tree, spec.id)
    names = _spec_names(spec)
    if names is None:
        return None
    common = keywords.get("add_file_common_args")
    if common is not None:
        if not isinstance(common, ast.Constant):
            return None
        if common.value:
            names |= FILE_COMMON
    return frozenset(names)


def _only_assignment(tree: ast.Module, name: str) -> ast.expr | None:
    """The value of the one assignment to ``name``, when nothing else changes it."""
    values = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            values.append(node.value)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id == name:
                return None  # spec.update(...), spec.pop(...)
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
            if node.value.id == name and isinstance(node.ctx, ast.Store):
                return None
        elif (
            isinstance(node, ast.AugAssign)
            and isinstance(node.target, ast.Name)
            and node.target.id == name
        ):
            return None
    return values[0] if len(values) == 1 else None
