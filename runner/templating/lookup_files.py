"""The lookups that read the control node: file, env, template, pipe, lines, first_found,
fileglob, password; and where a relative path is looked for, as Ansible does: ``files/``
(``templates/`` for template) under the role (``role_path``) then the playbook folder
(``playbook_dir``), then those folders themselves. ``pipe`` and ``lines`` run their
command on the control node through the shell, as Ansible's do (README, Security).
Each plugin takes (context, terms, options) and returns a list.
"""

from __future__ import annotations

import glob
import os
import re
import secrets
import string
import subprocess
from collections.abc import Mapping
from typing import Any

from jinja2 import TemplateError

from runner.templating.limits import MAX_TEMPLATE_OUTPUT, too_big


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
    """Run ``command`` through the shell in the playbook folder; read at most
    MAX_TEMPLATE_OUTPUT bytes of its output (a command that prints more is stopped)."""
    bases = _bases(context)
    with subprocess.Popen(  # noqa: S602 - Ansible's pipe runs through the shell
        str(command), shell=True, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, cwd=bases[-1],
    ) as proc:  # fmt: skip
        assert proc.stdout is not None
        output = proc.stdout.read(MAX_TEMPLATE_OUTPUT + 1)
        if len(output) > MAX_TEMPLATE_OUTPUT:
            proc.kill()
            too_big("the command's output", len(output))
        code = proc.wait()
    if code != 0:
        raise LookupFailed(f"lookup_plugin.pipe({command}) returned {code}")
    return output.decode("utf-8", errors="replace")


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
            # in the folder's order, as Ansible gives them (not sorted)
            matches = [p for p in glob.glob(os.path.join(found, pattern)) if os.path.isfile(p)]
            if matches:
                out += [os.path.abspath(p) if not os.path.isabs(term) else p for p in matches]
                break
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
