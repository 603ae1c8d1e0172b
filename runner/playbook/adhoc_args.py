"""``runner run -m MODULE -a ARGS``: the module named on the command line and its
arguments, read as ``ansible -m MODULE -a ARGS`` reads them, and checked as
``runner play --syntax-check`` checks a task's, before any connection.

``ARGS`` is a JSON object (``{"path": "/tmp/x"}``) or ``key=value`` words, split as
Ansible splits them (its ``parse_kv``): words stay together inside quotes and Jinja2
blocks; in each word the escapes ``\\n``, ``\\t``, ``\\\\``, ``\\"``, ``\\xHH``,
``\\uHHHH``... are decoded, the first ``=`` not written ``\\=`` splits the key from the
value and one pair of quotes around the value is removed. The command modules (shell,
command, raw, script) take their own options out (``chdir=``, ``creates=``...) and keep
every other word as written, as their command line (``_raw_params``).
"""

from __future__ import annotations

import codecs
import json
import os
import re
from typing import Any

from runner.errors import ConfigError
from runner.playbook import modspec

# The options Ansible's parse_kv takes out of a command module's free form.
COMMAND_OPTIONS = frozenset(
    {
        "creates", "removes", "chdir", "executable", "warn", "stdin", "stdin_add_newline",
        "strip_empty_ends",
    }
)  # fmt: skip

_ESCAPE = re.compile(
    r"\\U[0-9a-fA-F]{8}|\\u[0-9a-fA-F]{4}|\\x[0-9a-fA-F]{2}|\\N\{[^}]+\}|\\[\\'\"abfnrtv]"
)
_OPEN_CLOSE = (("{{", "}}"), ("{%", "%}"), ("{#", "#}"))


def decode_escapes(text: str) -> str:
    r"""Python's string escapes in ``text`` decoded; any other backslash is kept.

    >>> decode_escapes(r"a\tb\x41\\=c \q")
    'a\tbA\\=c \\q'
    """

    def one(match: re.Match[str]) -> str:
        try:
            return codecs.decode(match.group(0), "unicode-escape")
        except UnicodeDecodeError as exc:  # \N{no such name}
            raise ValueError(f"bad escape {match.group(0)!r}") from exc

    return _ESCAPE.sub(one, text)


def split_words(text: str) -> list[tuple[str, str]]:
    """``text`` cut at spaces and newlines outside quotes and Jinja2 blocks: (word, the
    whitespace after it). A quote preceded by a backslash neither opens nor closes one;
    an unclosed quote or block is a ValueError.

    >>> split_words('a=1  b="x y" {{ c | d }}')
    [('a=1', '  '), ('b="x y"', ' '), ('{{ c | d }}', '')]
    """
    words: list[tuple[str, str]] = []
    quote: str | None = None
    depth = [0, 0, 0]
    i, n, start = 0, len(text), None
    while i < n:
        ch = text[i]
        if start is None:
            if ch in " \n":
                if words:
                    words[-1] = (words[-1][0], words[-1][1] + ch)
                i += 1
                continue
            start = i
        if quote:
            if ch == quote and text[i - 1] != "\\":
                quote = None
            i += 1
            continue
        pair = text[i : i + 2]
        opened = [k for k, (o, c) in enumerate(_OPEN_CLOSE) if pair == o]
        closed = [k for k, (o, c) in enumerate(_OPEN_CLOSE) if pair == c and depth[k]]
        if opened or closed:
            depth[(opened or closed)[0]] += 1 if opened else -1
            i += 2
            continue
        if ch in "\"'" and (i == 0 or text[i - 1] != "\\"):
            quote = ch
        elif ch in " \n" and not any(depth):
            words.append((text[start:i], ""))
            start = None
            continue
        i += 1
    if quote or any(depth):
        what = f"a {quote} quote" if quote else "a Jinja2 block"
        raise ValueError(f"{what} is not closed in {text!r}")
    if start is not None:
        words.append((text[start:], ""))
    return words


def unquote(value: str) -> str:
    """One pair of matching quotes around ``value`` removed (not an escaped last one).

    >>> unquote("'a b'"), unquote('"x\\\\"'), unquote("'a")
    ('a b', '"x\\\\"', "'a")
    """
    if len(value) > 1 and value[0] == value[-1] and value[0] in "\"'" and value[-2] != "\\":
        return value[1:-1]
    return value


def _split_at_equals(word: str) -> int | None:
    """Index of the first ``=`` after the first character that is not ``\\=``."""
    at = word.find("=", 1)
    while at != -1:
        if word[at - 1] != "\\":
            return at
        at = word.find("=", at + 1)
    return None


def parse_kv(text: str, options: frozenset[str] | None = None) -> dict[str, Any]:
    r"""``key=value`` words as a dict, the other words (as written) in ``_raw_params``.

    With ``options`` (a command module's own), only those keys are taken out: every
    other word, ``=`` or not, stays in the command line.

    >>> parse_kv("path=/tmp/x mode='0644' name=\"a b\"")
    {'path': '/tmp/x', 'mode': '0644', 'name': 'a b'}
    >>> parse_kv(r"content=a\nb x\=1")
    {'content': 'a\nb', '_raw_params': 'x=1'}
    >>> parse_kv("echo a=b | wc -c chdir=/srv", COMMAND_OPTIONS)
    {'chdir': '/srv', '_raw_params': 'echo a=b | wc -c'}
    """
    args: dict[str, Any] = {}
    words = split_words(text)
    lead = _extra_space(text[: len(text) - len(text.lstrip(" \n"))], last=False)
    raw: list[str] = [lead] if lead and words else []
    for index, (word, after) in enumerate(words):
        extra = _extra_space(after, last=index == len(words) - 1)
        decoded = decode_escapes(word)
        at = _split_at_equals(decoded)
        if at is None:
            raw.append((decoded.replace("\\=", "=") if "=" in decoded else word) + extra)
            continue
        key = decoded[:at].strip()
        if options is not None and key not in options:
            raw.append(word + extra)
            continue
        args[key] = unquote(decoded[at + 1 :].strip())
    if raw:
        args["_raw_params"] = _join(raw)
    return args


def _extra_space(after: str, *, last: bool) -> str:
    """The whitespace a word keeps after it in the command line, besides the one space
    that joins it to the next word: all of it on its own line; on the next word's line,
    one space less (as Ansible's split_args keeps it)."""
    if "\n" in after:
        head, _, tail = after.rpartition("\n")
        return f"{head}\n{tail if last else tail[1:]}"
    return after if last else after[1:]


def _join(words: list[str]) -> str:
    """Words joined by one space, none after a newline."""
    text = ""
    for word in words:
        text += word if not text or text.endswith("\n") else " " + word
    return text


def parse_module_args(module: str, text: str | None) -> dict[str, Any]:
    """What ``-a TEXT`` gives ``module``: a JSON object as it is, else ``key=value``
    words (a command module's free form kept as its command). ValueError when it is
    neither.

    >>> parse_module_args("file", '{"path": "/tmp/x", "state": "touch"}')
    {'path': '/tmp/x', 'state': 'touch'}
    >>> parse_module_args("shell", "echo $HOME | wc -c")
    {'_raw_params': 'echo $HOME | wc -c'}
    """
    if not text:
        return {}
    if text.startswith("{") and text.endswith("}"):
        try:
            data = json.loads(text)
        except ValueError:
            data = None  # a shell's "{ a; b; }" is a command, not JSON
        if isinstance(data, dict):
            return data
    spec = modspec.SPECS[module]
    if spec.free_form:
        return parse_kv(text, COMMAND_OPTIONS)
    args = parse_kv(text)
    raw = args.pop("_raw_params", "").strip()
    if raw and not spec.any_params:
        word = raw.split()[0]
        raise ValueError(f"{module} takes key=value arguments, got {word!r}")
    return args


def module_name(name: str, bridge: Any = None, base_dir: str = ".") -> str:
    """The module ``-m NAME`` names (``ansible.builtin.NAME`` too); with ``bridge``
    (runner.playbook.bridge.Bridge) also Ansible's modules it finds. ConfigError, before
    any connection, with the closest names and the supported ones, for any other."""
    from runner.inventory.patterns import close_names

    short = modspec.canonical_module(name)
    if bridge is not None and bridge.bridged(name, modspec.SPECS):
        from runner.playbook.bridge import INSTALL_HINT, BridgeRefusal

        try:
            found = bridge.find(name, base_dir)
        except BridgeRefusal as exc:
            raise ConfigError(f"-m {name}: {exc.message}", hint=exc.hint) from exc
        if found is not None and bridge.ansible_dir is None:
            raise ConfigError(
                f"-m {name}: needs ansible-core, which is not installed", hint=INSTALL_HINT
            )
        if found is not None:
            return short
    if short in modspec.SPECS:
        return short
    close = close_names(short, modspec.SUPPORTED_MODULES, limit=3)
    instead = modspec.INSTEAD.get(short)
    hints = [f"did you mean {' or '.join(close)}?"] if close else []
    if instead:
        hints.append(f"instead, use {_as_options(instead)}.")
    hints.append(f"runner supports: {', '.join(modspec.SUPPORTED_MODULES)}")
    raise ConfigError(f"-m {name}: unknown module", hint=" ".join(hints))


def _as_options(instead: str) -> str:
    """A playbook-syntax suggestion as -m/-a options.

    >>> _as_options("shell: apt-get install -y ..."), _as_options("command: 'true'")
    ("-m shell -a 'apt-get install -y ...'", "-m command -a 'true'")
    >>> _as_options("template or copy with the whole file")
    'template or copy with the whole file'
    """
    match = re.fullmatch(r"(\w+): (.+)", instead)
    if match is None:
        return instead
    module, args = match.groups()
    quoted = args if args[:1] == args[-1:] == "'" else f"'{args}'"
    return f"-m {module} -a {quoted}"


def module_args(
    module: str, text: str | None, base_dir: str = ".", bridge: Any = None
) -> dict[str, Any]:
    """``-a TEXT`` for ``module``, checked as a playbook task's arguments are (unknown
    or missing arguments, bad values, local files that are not there, template syntax):
    a ConfigError naming ``-a`` and the argument, before any connection. A module of
    the ``bridge`` checks its own arguments on the host, as in Ansible."""
    from runner.errors import TemplateError
    from runner.templating import check_constant, compile_template, is_template

    if bridge is not None and bridge.bridged(module, modspec.SPECS):
        try:
            args = _bridge_args(text)
        except ValueError as exc:
            raise ConfigError(f"-a {text!r}: {exc}") from exc
        found = bridge.find(module, base_dir)
        problem = bridge.unsupported(found, args) if found is not None else None
        if problem:
            raise ConfigError(f"-a {text!r}: {problem}")
    else:
        try:
            args = parse_module_args(module, text)
            if module in ("command", "shell") and isinstance(args.get("argv"), str):
                raise ValueError("argv must be a list")
            modspec.check_args(module, args)
        except ValueError as exc:
            hint = None if "accepts:" in str(exc) else _args_hint(module)
            raise ConfigError(f"-a {text!r}: {exc}", hint=hint) from exc
        _check_local_file(module, args, base_dir)
    for key, value in args.items():
        for text_value in _strings(value):
            if not is_template(text_value):
                continue
            try:
                compile_template(text_value)
                check_constant(text_value)
            except TemplateError as exc:
                raise ConfigError(f"-a {key}: {exc.message}") from exc
    return args


def _bridge_args(text: str | None) -> dict[str, Any]:
    """An Ansible module's ``-a``: a JSON object, else ``key=value`` words (the others
    kept in ``_raw_params``, as Ansible's parse_kv keeps them)."""
    if not text:
        return {}
    if text.startswith("{") and text.endswith("}"):
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if isinstance(data, dict):
            return data
    return parse_kv(text)


def _args_hint(module: str) -> str:
    spec = modspec.SPECS[module]
    accepted = ", ".join(sorted(p for p in spec.params if not p.startswith("_")))
    if spec.free_form:
        return f"-a 'COMMAND' for {module}, with options {accepted}"
    if spec.any_params:
        return f"-a 'NAME=VALUE ...' for {module}"
    return f"-a 'key=value ...' or a JSON object; {module} accepts: {accepted}"


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _check_local_file(module: str, args: dict[str, Any], base_dir: str) -> None:
    """copy's and template's src and script's file are read here: they must exist
    (unless their names are templates, rendered per host)."""
    from runner.playbook.localfiles import resolve_local, search_dirs
    from runner.templating import is_template

    src: Any = None
    if module in ("copy", "template") and args.get("remote_src") in (None, False):
        src = args.get("src")
    elif module == "script":
        words = str(args.get("cmd") or args.get("_raw_params") or "").split()
        src = words[0] if words else None
    if not isinstance(src, str) or is_template(src):
        return
    found = resolve_local(src, base_dir, module)
    if found is None:
        looked = ", ".join(search_dirs(base_dir, module))
        raise ConfigError(f"-a: {module}: local file {src!r} not found (looked in {looked})")
    if module != "copy" and os.path.isdir(found):
        raise ConfigError(f"-a: {module}: {src!r} is a directory; {module} takes a file")
