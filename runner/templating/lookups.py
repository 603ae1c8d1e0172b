"""Ansible's lookups for templates: ``lookup()``, ``query()`` and ``q()``, and the plugins
they run (file, env, template, pipe, first_found, fileglob, items, list, dict,
indexed_items, sequence, subelements, nested, together, lines, vars, varnames, password).

Relative paths are looked up as Ansible does: ``files/`` (``templates/`` for template)
under the role (``role_path``) then the playbook folder (``playbook_dir``), then those
folders themselves. ``pipe`` and ``lines`` run their command on the control node through
the shell, as Ansible's do (README, Security). Loaded by sandbox.environment() (jinja2).
"""

from __future__ import annotations

import glob
import itertools
import os
import re
import secrets
import string
import subprocess
from collections.abc import Callable, Mapping
from typing import Any

from jinja2 import TemplateError, pass_context
from jinja2.runtime import missing

from runner.templating.limits import MAX_TEMPLATE_OUTPUT, TemplateLimitError, too_big


class LookupFailed(TemplateError):
    """A lookup plugin failed (file missing, command failed, bad terms)."""


def _bases(context: Any) -> list[str]:
    found = []
    for name in ("role_path", "playbook_dir"):
        value = context.resolve_or_missing(name)
        if isinstance(value, str) and value:
            found.append(value)
    return found or [os.getcwd()]


def search_paths(context: Any, subdir: str | None) -> list[str]:
    """Folders a relative lookup path is tried in, first to last (Ansible's order)."""
    out: list[str] = []
    for base in _bases(context):
        out += [os.path.join(base, subdir), base] if subdir else [base]
    return out


def find_file(context: Any, name: str, subdir: str | None) -> str | None:
    name = os.path.expanduser(str(name))
    if os.path.isabs(name):
        return name if os.path.exists(name) else None
    for folder in search_paths(context, subdir):
        candidate = os.path.join(folder, name)
        if os.path.exists(candidate):
            return os.path.abspath(candidate)
    return None


def _read(path: str) -> str:
    if os.path.getsize(path) > MAX_TEMPLATE_OUTPUT:
        too_big(f"the file {path}", os.path.getsize(path))
    with open(path, encoding="utf-8", errors="surrogateescape") as handle:
        return handle.read()


def _flatten_once(terms: Any) -> list:
    out: list = []
    for term in terms:
        if isinstance(term, (list, tuple)):
            out.extend(term)
        else:
            out.append(term)
    return out


def _listify(term: Any) -> list:
    if isinstance(term, str):
        return [term]
    if isinstance(term, Mapping):
        return [term]
    if isinstance(term, (list, tuple)):
        return list(term)
    return [term]


# -- plugins: each takes (context, terms, options) and returns a list ----------------------


def lookup_file(context: Any, terms: list, opts: dict) -> list:
    out = []
    for term in terms:
        path = find_file(context, term, "files")
        if path is None or not os.path.isfile(path):
            raise LookupFailed(f"could not locate file in lookup: {term}")
        text = _read(path)
        if opts.get("lstrip", False):
            text = text.lstrip()
        if opts.get("rstrip", True):
            text = text.rstrip()
        out.append(text)
    return out


def lookup_env(context: Any, terms: list, opts: dict) -> list:
    default = opts.get("default", "")
    return [os.environ.get(str(term), default) for term in terms]


def lookup_template(context: Any, terms: list, opts: dict) -> list:
    out = []
    for term in terms:
        path = find_file(context, term, "templates")
        if path is None or not os.path.isfile(path):
            raise LookupFailed(f"the template file {term} could not be found for the lookup")
        template = context.environment.from_string(_read(path))
        variables = dict(context.get_all())
        variables.update(opts.get("template_vars") or {})
        text = "".join(template.root_render_func(template.new_context(variables, shared=True)))
        if len(text) > MAX_TEMPLATE_OUTPUT:
            too_big("the rendered template", len(text))
        out.append(text)
    return out


def _run(context: Any, command: str) -> str:
    bases = _bases(context)
    done = subprocess.run(  # noqa: S602 - Ansible's pipe runs through the shell
        str(command), shell=True, capture_output=True, cwd=bases[-1], check=False
    )
    if done.returncode != 0:
        raise LookupFailed(f"lookup_plugin.pipe({command}) returned {done.returncode}")
    if len(done.stdout) > MAX_TEMPLATE_OUTPUT:
        too_big("the command's output", len(done.stdout))
    return done.stdout.decode("utf-8", errors="replace")


def lookup_pipe(context: Any, terms: list, opts: dict) -> list:
    return [_run(context, term).rstrip() for term in terms]


def lookup_lines(context: Any, terms: list, opts: dict) -> list:
    out: list = []
    for term in terms:
        out.extend(_run(context, term).splitlines())
    return out


def _first_found_specs(terms: list, opts: dict) -> tuple[list[str], bool]:
    names: list[str] = []
    skip = bool(opts.get("skip", False))
    for term in terms:
        if isinstance(term, Mapping):
            files = term.get("files", [])
            paths = term.get("paths", [""])
            files = re.split(r"[,;]", files) if isinstance(files, str) else list(files)
            paths = re.split(r"[,:;]", paths) if isinstance(paths, str) else list(paths)
            names += [os.path.join(p, f) for p in paths for f in files]
            skip = skip or bool(term.get("skip", False))
        elif isinstance(term, (list, tuple)):
            names += [str(t) for t in term]
        else:
            names.append(str(term))
    files = opts.get("files")
    if files:
        paths = opts.get("paths") or [""]
        files = re.split(r"[,;]", files) if isinstance(files, str) else list(files)
        paths = re.split(r"[,:;]", paths) if isinstance(paths, str) else list(paths)
        names += [os.path.join(p, f) for p in paths for f in files]
    return names, skip


def lookup_first_found(context: Any, terms: list, opts: dict) -> list:
    # lookup() searches the role and playbook folders; with_first_found passes a subdir
    subdir = opts.pop("_subdir", None)
    names, skip = _first_found_specs(terms, opts)
    for name in names:
        path = find_file(context, name, subdir)
        if path is not None:
            return [path]
    if skip:
        return []
    raise LookupFailed("No file was found when using first_found.")


def lookup_fileglob(context: Any, terms: list, opts: dict) -> list:
    out: list[str] = []
    for term in terms:
        term = str(term)
        folder, pattern = os.path.split(term)
        if os.path.isabs(term):
            dirs = [folder]
        else:
            dirs = [os.path.join(d, folder) for d in search_paths(context, "files")]
        for found in dirs:
            matches = sorted(
                p for p in glob.glob(os.path.join(found, pattern)) if os.path.isfile(p)
            )
            if matches:
                out += [os.path.abspath(p) if not os.path.isabs(term) else p for p in matches]
                break
    return out


def lookup_dict(context: Any, terms: list, opts: dict) -> list:
    out = []
    for term in terms:
        if not isinstance(term, Mapping):
            raise LookupFailed(f"with_dict expects a dict, not {type(term).__name__}")
        out += [{"key": k, "value": v} for k, v in term.items()]
    return out


def lookup_indexed_items(context: Any, terms: list, opts: dict) -> list:
    return [[i, x] for i, x in enumerate(_flatten_once(terms))]


_NUM = r"(0?x?[0-9a-f]+)"  # no negative numbers in the shortcut form, as in Ansible
_SHORTCUT = re.compile(rf"^(?:{_NUM}-)?{_NUM}(?:/{_NUM})?(?::(.+))?$", re.I)


def _int(text: Any) -> int:
    """Decimal only: ansible-core 2.19 refuses the hex its documentation shows."""
    try:
        return int(str(text))
    except ValueError as exc:
        raise LookupFailed(f"sequence expects integers, not {text!r}") from exc


def lookup_sequence(context: Any, terms: list, opts: dict) -> list:
    out: list[str] = []
    for term in terms:
        spec = {"start": 1, "end": None, "count": None, "stride": 1, "format": "%d"}
        spec.update({k: v for k, v in opts.items() if k in spec})
        words = str(term).split()
        if words and "=" not in words[0]:
            match = _SHORTCUT.match(words[0])
            if not match:
                raise LookupFailed(f"can't parse arg {words[0]!r} as a sequence")
            start, end, stride, fmt = match.groups()
            spec.update({"end": end, "start": start or 1, "stride": stride or 1})
            if fmt:
                spec["format"] = fmt
            words = words[1:]
        for word in words:
            key, _, value = word.partition("=")
            if key not in spec:
                raise LookupFailed(f"unrecognized sequence argument {key!r}")
            spec[key] = value
        start, stride = _int(spec["start"]), _int(spec["stride"])
        if spec["count"] is not None:
            count = _int(spec["count"])
            end = start + count * stride - 1 if count else start - 1
            if count == 0:
                continue
        elif spec["end"] is not None:
            end = _int(spec["end"])
        else:
            raise LookupFailed("must specify count or end in with_sequence")
        if stride == 0:
            continue
        if (stride > 0 and end < start) or (stride < 0 and end > start):
            raise LookupFailed("to count backwards make stride negative")
        stop = end + (1 if stride > 0 else -1)
        if abs((stop - start) // stride) > MAX_TEMPLATE_OUTPUT:
            raise TemplateLimitError("the sequence is too long")
        out += [str(spec["format"]) % n for n in range(start, stop, stride)]
    return out


def lookup_subelements(context: Any, terms: list, opts: dict) -> list:
    if len(terms) not in (2, 3):
        raise LookupFailed("subelements lookup expects a list, a key and optional flags")
    items, key = terms[0], terms[1]
    flags = terms[2] if len(terms) == 3 else {}
    skip = isinstance(flags, Mapping) and truthy(flags.get("skip_missing", False))
    if isinstance(items, Mapping):
        items = list(items.values())
    out = []
    parts = str(key).split(".")
    for item in items:
        if not isinstance(item, Mapping):
            raise LookupFailed(f"subelements lookup expects a dictionary, got {item!r}")
        if item.get("skipped", False) is not False:
            continue
        # the item is given without the sub-list (Ansible pops it): copy the path to it
        top = outer = dict(item)
        found = True
        for part in parts[:-1]:
            inner = outer.get(part)
            if not isinstance(inner, Mapping):
                found = False
                break
            outer[part] = dict(inner)
            outer = outer[part]
        if not found or parts[-1] not in outer:
            if skip:
                continue
            raise LookupFailed(f"could not find {key!r} key in iterated item {item!r}")
        value = outer.pop(parts[-1])
        if not isinstance(value, list):
            raise LookupFailed(f"the key {key} should point to a list, got {value!r}")
        out += [[top, sub] for sub in value]
    return out


def truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("yes", "on", "1", "true", "y", "t")
    return bool(value)


def lookup_nested(context: Any, terms: list, opts: dict) -> list:
    if not terms:
        raise LookupFailed("with_nested requires at least one element in the nested list")
    lists = [_listify(t) for t in terms]
    size = 1
    for part in lists:
        size *= len(part)
    if size > MAX_TEMPLATE_OUTPUT:
        raise TemplateLimitError("the nested product is too long")
    return [_flatten_once(combo) for combo in itertools.product(*lists)]


def lookup_together(context: Any, terms: list, opts: dict) -> list:
    if not terms:
        raise LookupFailed("with_together requires at least one element in each list")
    return [list(t) for t in itertools.zip_longest(*[_listify(t) for t in terms])]


def lookup_vars(context: Any, terms: list, opts: dict) -> list:
    out = []
    for term in terms:
        value = context.resolve_or_missing(str(term))
        if value is missing:
            if "default" in opts:
                value = opts["default"]
            else:
                raise LookupFailed(f"No variable found with this name: {term}")
        out.append(value)
    return out


def lookup_varnames(context: Any, terms: list, opts: dict) -> list:
    names = sorted(set(context.get_all()), key=str)
    out: list[str] = []
    for term in terms:
        pattern = re.compile(str(term))
        out += [n for n in names if pattern.search(n)]
    return out


_CHARSETS = {
    "ascii_letters",
    "ascii_lowercase",
    "ascii_uppercase",
    "digits",
    "hexdigits",
    "octdigits",
    "punctuation",
    "printable",
    "whitespace",
}


def _password_chars(spec: Any) -> str:
    names = spec if isinstance(spec, list) else str(spec).split(",")
    chars = ""
    for name in names:
        chars += getattr(string, name) if name in _CHARSETS else str(name)
    return chars


def lookup_password(context: Any, terms: list, opts: dict) -> list:
    out = []
    for term in terms:
        words = str(term).split()
        if not words:
            raise LookupFailed("the password lookup needs a file name")
        params = dict(opts)
        for word in words[1:]:
            key, _, value = word.partition("=")
            params[key] = value
        length = int(params.get("length", 20))
        chars = _password_chars(params.get("chars", ["ascii_letters", "digits", ".,:-_"]))
        path = words[0]
        if path != "/dev/null" and not os.path.isabs(path):
            path = os.path.join(_bases(context)[-1], path)
        if path != "/dev/null" and os.path.exists(path):
            out.append(_read(path).rstrip("\n").split(" salt=")[0])
            continue
        password = "".join(secrets.choice(chars) for _ in range(length))
        if path != "/dev/null":
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(password + "\n")
            os.chmod(path, 0o600)
        out.append(password)
    return out


def lookup_items(context: Any, terms: list, opts: dict) -> list:
    return _flatten_once(terms)


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
