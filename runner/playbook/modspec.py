"""What each supported module accepts, and parsing of free-form ``key=value`` arguments.

Checked at load time, so a typo in an argument is reported with file:line before any
host is contacted.
"""

from __future__ import annotations

from runner.errors import PlaybookError
from runner.playbook.specs import ModuleSpec
from runner.playbook.specs import files as _files
from runner.playbook.specs import net as net_specs
from runner.playbook.specs import packaging as packaging_specs
from runner.playbook.specs import variables as variables_specs
from runner.playbook.specs.hostconfig import HOSTCONFIG_SPECS
from runner.playbook.specs.system import SYSTEM_SPECS

_COMMAND_OPTS = frozenset(
    {"chdir", "creates", "removes", "stdin", "stdin_add_newline", "cmd", "strip_empty_ends"}
)

SPECS: dict[str, ModuleSpec] = {
    "shell": ModuleSpec(_COMMAND_OPTS | {"executable", "_raw_params"}, free_form=True),
    "command": ModuleSpec(_COMMAND_OPTS | {"argv", "_raw_params"}, free_form=True),
    "raw": ModuleSpec(frozenset({"_raw_params", "executable"}), free_form=True),
    "script": ModuleSpec(
        frozenset({"_raw_params", "cmd", "chdir", "creates", "removes", "executable"}),
        free_form=True,
    ),
    "fetch": ModuleSpec(
        frozenset({"src", "dest", "flat", "fail_on_missing"}),
        required_one_of=(("src",), ("dest",)),
    ),
    "debug": ModuleSpec(frozenset({"msg", "var", "verbosity"})),
    "include_tasks": ModuleSpec(frozenset({"file"}), required_one_of=(("file",),)),
    "set_fact": ModuleSpec(frozenset({"cacheable"}), any_params=True),
    "fail": ModuleSpec(frozenset({"msg"})),
    "assert": ModuleSpec(
        frozenset({"that", "fail_msg", "msg", "success_msg", "quiet"}),
        required_one_of=(("that",),),
    ),
    "pause": ModuleSpec(frozenset({"seconds", "minutes"})),
    "meta": ModuleSpec(frozenset({"_raw_params"}), free_form=True),
    "setup": ModuleSpec(frozenset({"gather_subset", "filter", "gather_timeout", "fact_path"})),
    # runner.playbook.modules.inventory_changes; add_host: any other key is a host variable
    "group_by": ModuleSpec(frozenset({"key", "parents"}), required_one_of=(("key",),)),
    "add_host": ModuleSpec(
        frozenset({"name", "hostname", "host", "groups", "group", "groupname"}),
        any_params=True,
        required_one_of=(("name", "hostname", "host"),),
    ),
}

# Each group of modules declares its arguments in runner/playbook/specs/<group>.py;
# add one update line here per group.
SPECS.update(_files.SPECS)
SPECS.update(variables_specs.SPECS)
SPECS.update(SYSTEM_SPECS)
SPECS.update(net_specs.SPECS)
SPECS.update(HOSTCONFIG_SPECS)
SPECS.update(packaging_specs.SPECS)

SUPPORTED_MODULES = tuple(sorted(SPECS))

# Where a module of the same purpose exists, say which one to use instead.
INSTEAD = {
    "synchronize": "command: rsync ... with delegate_to: localhost",
    "win_shell": "nothing: runner manages POSIX hosts over SSH only",
}

_FQCN_PREFIXES = ("ansible.builtin.", "ansible.legacy.")


def canonical_module(name: str) -> str:
    """``ansible.builtin.shell`` -> ``shell``."""
    for prefix in _FQCN_PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def unknown_module_error(name: str, path: str, line: int | None) -> PlaybookError:
    short = canonical_module(name)
    instead = INSTEAD.get(short)
    hint = f"use {instead}" if instead else None
    return PlaybookError(
        f"unknown module {name!r}; runner supports: {', '.join(SUPPORTED_MODULES)}",
        path=path,
        line=line,
        hint=hint,
    )


def split_free_form(text: str) -> list[tuple[int, int]]:
    """Spans (start, end) of whitespace-separated words, keeping quoted parts and
    ``{{ ... }}`` together.

    >>> s = 'echo "a b" {{ x | y }} k=v'
    >>> [s[a:b] for a, b in split_free_form(s)]
    ['echo', '"a b"', '{{ x | y }}', 'k=v']
    """
    spans: list[tuple[int, int]] = []
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            break
        start = i
        quote = None
        depth = 0
        while i < n:
            ch = text[i]
            if quote:
                if ch == "\\" and quote == '"':
                    i += 2
                    continue
                if ch == quote:
                    quote = None
            elif text.startswith(("{{", "{%"), i):
                depth += 1
                i += 2
                continue
            elif depth and text.startswith(("}}", "%}"), i):
                depth -= 1
                i += 2
                continue
            elif ch in "\"'":
                quote = ch
            elif ch.isspace() and not depth:
                break
            i += 1
        spans.append((start, i))
    return spans


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def parse_free_form(module: str, text: str) -> dict[str, object]:
    """Split a module's free-form string into arguments.

    For command-like modules only their own options (``chdir=``, ``creates=``...) are
    taken out; the rest, untouched, is ``_raw_params``. For other modules every word
    must be ``key=value``.

    >>> parse_free_form("shell", "echo hi > /tmp/x chdir=/srv")
    {'chdir': '/srv', '_raw_params': 'echo hi > /tmp/x'}
    >>> parse_free_form("copy", "src=a.txt dest='/tmp/b c'")
    {'src': 'a.txt', 'dest': '/tmp/b c'}
    """
    spec = SPECS[module]
    args: dict[str, object] = {}
    if spec.free_form:
        keep: list[tuple[int, int]] = []
        for start, end in split_free_form(text):
            word = text[start:end]
            key, eq, value = word.partition("=")
            if eq and key in spec.params and key not in ("_raw_params", "cmd", "argv"):
                args[key] = _unquote(value)
            else:
                keep.append((start, end))
        if len(keep) == len(split_free_form(text)):
            raw = text
        else:
            raw = " ".join(text[a:b] for a, b in keep)
        args["_raw_params"] = raw.strip("\n") if "\n" in raw.strip() else raw.strip()
        return args
    for start, end in split_free_form(text):
        word = text[start:end]
        key, eq, value = word.partition("=")
        if not eq:
            raise ValueError(f"expected key=value arguments, got {word!r}")
        args[key] = _unquote(value)
    return args


def check_args(module: str, args: dict[str, object]) -> dict[str, object]:
    """Validate (and normalise aliases of) a module's arguments; raise ValueError."""
    spec = SPECS[module]
    for alias, target in spec.aliases:
        if alias in args:
            if target in args:
                raise ValueError(f"give either {alias!r} or {target!r}, not both")
            args[target] = args.pop(alias)
    if not spec.any_params:
        unknown = sorted(k for k in args if k not in spec.params)
        if unknown:
            allowed = ", ".join(sorted(p for p in spec.params if not p.startswith("_")))
            raise ValueError(
                f"{module} does not support {', '.join(map(repr, unknown))}; "
                f"it accepts: {allowed or 'a free-form command'}"
            )
    for group in spec.required_one_of:
        if not any(args.get(k) is not None for k in group):
            raise ValueError(f"{module} needs {' or '.join(map(repr, group))}")
    if spec.free_form and module not in ("raw", "include_vars"):
        has_cmd = any(args.get(k) not in (None, "") for k in ("_raw_params", "cmd", "argv"))
        if not has_cmd:
            raise ValueError(f"{module} needs a command")
    if module == "raw" and not args.get("_raw_params"):
        raise ValueError("raw needs a command")
    if module == "copy" and args.get("src") is not None and args.get("content") is not None:
        raise ValueError("copy takes either 'src' or 'content', not both")
    if module == "debug" and args.get("msg") is not None and args.get("var") is not None:
        raise ValueError("debug takes either 'msg' or 'var', not both")
    if spec.validate is not None:
        spec.validate(args)
    return args
