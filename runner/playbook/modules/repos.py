"""Package repository definitions natively: ``yum_repository`` (an ini section in
REPOSDIR/FILE.repo) and ``apt_repository`` (one-line sources in apt's sources.list and
sources.list.d/*.list, found with ``apt-config``, so APT_CONFIG is honoured).

The file is read in one round trip, edited on the control node with the standard
library's configparser (as ansible-core's module does on the host, so the text written is
the same) and written back only when it changed; the diff is ansible-core's (the file's
sections dumped sorted, before and after), returned whether or not --diff was asked, as
ansible-core returns it.
"""

from __future__ import annotations

import configparser
import io
import os
import re
import shlex
from typing import Any

from runner.playbook.modules.base import (
    ModuleContext,
    ModuleFailure,
    ModuleResult,
    as_bool,
    need_str,
)
from runner.playbook.modules.remote import (
    apply_attributes,
    attributes_differ,
    read_target,
    write_target,
)

# yum_repository's arguments that are not repository options
_NOT_OPTIONS = frozenset(
    {"name", "description", "state", "reposdir", "file", "mode", "owner", "group"}
    | {"seuser", "serole", "setype", "selevel", "unsafe_writes", "attributes"}
)
YUM_BOOLS = frozenset(
    {"countme", "enabled", "enablegroups", "gpgcheck", "module_hotfixes", "keepalive"}
    | {"protect", "repo_gpgcheck", "s3_enabled", "skip_if_unavailable", "sslverify"}
    | {"ssl_check_cert_permissions", "async"}
)
_JOINED = {"baseurl": "\n", "gpgkey": "\n", "exclude": " ", "includepkgs": " "}


def _option(key: str, value: Any) -> str:
    """One option's text in the .repo file: booleans as 0/1, lists joined."""
    if key in YUM_BOOLS:
        return str(int(as_bool(value)))
    if key in _JOINED:
        items = value if isinstance(value, list) else str(value).split(",")
        return _JOINED[key].join(str(v).strip() for v in items)
    return str(value)


def _parser(text: str) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser()
    if text:
        try:
            parser.read_string(text)
        except configparser.Error as exc:
            raise ModuleFailure(f"cannot read the repo file: {exc}") from exc
    return parser


def dump_repos(parser: configparser.RawConfigParser) -> str:
    """Sections and options sorted, ``key = value``: ansible-core's diff text."""
    out = ""
    for section in sorted(parser.sections()):
        out += f"[{section}]\n"
        for key, value in sorted(parser.items(section)):
            out += f"{key} = {value}\n"
        out += "\n"
    return out


def plan_repo(text: str, args: dict[str, Any]) -> tuple[str, str, str | None]:
    """(dump before, dump after, the file's new text or None for no sections left)."""
    name = str(args["name"])
    parser = _parser(text)
    before = dump_repos(parser)
    parser.remove_section(name)
    if (need_str(args, "state") or "present") == "present":
        parser.add_section(name)
        options = {k: v for k, v in args.items() if k not in _NOT_OPTIONS and v is not None}
        if args.get("description") is not None:
            options["name"] = args["description"]
        for key, value in sorted(options.items()):
            parser.set(name, key, _option(key, value))
    after = dump_repos(parser)
    if not parser.sections():
        return before, after, None
    written = io.StringIO()
    parser.write(written)
    return before, after, written.getvalue()


def yum_repository(ctx: ModuleContext, args: dict[str, Any]) -> ModuleResult:
    name = need_str(args, "name") or ""
    state = need_str(args, "state") or "present"
    if state not in ("present", "absent"):
        raise ModuleFailure(f"state must be one of: present, absent (got {state!r})")
    if state == "present":
        if args.get("description") is None:
            raise ModuleFailure(
                "state is present but all of the following are missing: description"
            )
        if all(args.get(k) is None for k in ("baseurl", "mirrorlist", "metalink")):
            raise ModuleFailure(
                "state is present but any of the following are missing: baseurl, mirrorlist, "
                "metalink"
            )
    reposdir = need_str(args, "reposdir") or "/etc/yum.repos.d"
    dest = os.path.join(reposdir, f"{need_str(args, 'file') or name}.repo")
    target = read_target(ctx, dest)
    if target.kind == "noparent":
        raise ModuleFailure(f"Repo directory '{reposdir}' does not exist.")
    if target.kind == "directory":
        raise ModuleFailure(f"{dest} is a directory")
    text = (target.content or b"").decode("utf-8", "replace")
    before, after, new = plan_repo(text, args)
    changed = before != after
    diff = {"before_header": dest, "before": before, "after_header": dest, "after": after}
    result: ModuleResult = {"repo": name, "state": state, "diff": diff}
    if changed and not ctx.check_mode:
        if new is None:
            done = ctx.shell(f"rm -f -- {shlex.quote(dest)}", env=False)
            if done.exit_code != 0:
                raise ModuleFailure(f"Cannot remove empty repo file {dest}.")
            return {**result, "changed": True}
        write_target(ctx, target, new.encode(), args)
        return {**result, "changed": True}
    if target.kind != "file" or new is None:
        return {**result, "changed": changed}
    if ctx.check_mode:
        return {**result, "changed": changed or attributes_differ(target.stat(), args)}
    return {**result, "changed": apply_attributes(ctx, target.real, target.stat(), args)}


# --- apt_repository: one-line sources in sources.list and sources.list.d/*.list ---

SOURCE_TYPES = ("deb", "deb-src")
_APT_MARK = "@@aptsrc:"
_APT_PROBE = f"""eval "$(apt-config shell L Dir::Etc::sourcelist/f D Dir::Etc::sourceparts/d)"
D=${{D%/}}; echo "{_APT_MARK}dir $D"; echo "{_APT_MARK}default $L"
for f in "$L" "$D"/*.list; do
  [ -f "$f" ] || continue
  echo "{_APT_MARK}file $f"; [ -L "$f" ] && echo "{_APT_MARK}link $(readlink -- "$f")"
  echo "{_APT_MARK}text"; cat -- "$f"; echo; echo "{_APT_MARK}end"
done"""

Line = tuple[bool, bool, str, str]  # valid, enabled, source, comment


def parse_source(line: str) -> Line:
    """One sources.list line: whether it is a source, whether it is enabled (not
    commented out), the source with its whitespace folded, and its comment.

    >>> parse_source("# deb  http://x/ stable main # old one")
    (True, False, 'deb http://x/ stable main', 'old one')
    """
    text = line.strip()
    enabled = not text.startswith("#")
    if not enabled:
        text = text[1:]
    cut = text.find("#")
    comment = ""
    if cut > 0:
        comment, text = text[cut + 1 :].strip(), text[:cut]
    source = text.strip()
    words = source.split()
    valid = bool(words) and words[0] in SOURCE_TYPES
    return valid, enabled, " ".join(words) if valid else source, comment


def dump_sources(lines: list[Line]) -> str:
    return "".join(
        ("" if enabled else "# ") + source + (f" # {comment}" if comment else "") + "\n"
        for _, enabled, source, comment in lines
    )


def suggest_filename(source: str, filename: str | None) -> str:
    """The file a new source goes to, as ansible-core names it.

    >>> suggest_filename("deb [arch=amd64] https://u:p@dl.example.com/linux/ stable main", None)
    'dl_example_com_linux.list'
    """
    if filename is not None:
        return f"{filename}.list"
    text = re.sub(r"\[[^\]]+\]", "", source)
    text = re.sub(r"\w+://", "", text)
    parts = [part for part in text.split() if part not in SOURCE_TYPES]
    first = parts[0].split("@", 1)[-1] if parts else ""
    return "_".join(re.sub("[^a-zA-Z0-9]", " ", first).split()) + ".list"


def _read_sources(text: str) -> tuple[str, str, dict[str, list[Line]], dict[str, str]]:
    folder, default = "", ""
    files: dict[str, list[Line]] = {}
    links: dict[str, str] = {}
    current = None
    for block in text.split(_APT_MARK)[1:]:
        head, _, rest = block.partition("\n")
        word, _, value = head.partition(" ")
        if word == "dir":
            folder = value
        elif word == "default":
            default = value
        elif word == "file":
            current = value
        elif word == "link" and current:
            links[current] = value
        elif word == "text" and current:
            body = rest[:-1] if rest.endswith("\n") else rest  # the echo after cat
            files[current] = [parse_source(x) for x in body.splitlines(keepends=True)]
    return folder, default, files, links


def apt_repository(ctx: ModuleContext, args: dict[str, Any]) -> ModuleResult:
    repo = need_str(args, "repo") or ""
    state = need_str(args, "state") or "present"
    if not repo:
        raise ModuleFailure("Please set argument 'repo' to a non-empty value")
    if repo.startswith("ppa:"):
        raise ModuleFailure("runner's apt_repository adds deb lines, not PPAs (ppa:...)")
    valid, enabled, source, _ = parse_source(repo)
    if not valid or not enabled:
        raise ModuleFailure(f"Invalid repository string: {repo.strip().lstrip('#')}")
    probe = ctx.shell(_APT_PROBE, limit=16 << 20)
    if probe.exit_code != 0:
        raise ModuleFailure(f"cannot read the apt sources: {probe.stderr_text.strip()}")
    folder, default, files, links = _read_sources(probe.stdout_text)
    before = {name: dump_sources(lines) for name, lines in files.items() if lines}
    after_files = {name: list(lines) for name, lines in files.items()}
    new_files = set()
    if state == "present":
        found = False
        for lines in after_files.values():
            for n, (ok, _on, src, comment) in enumerate(lines):
                if ok and src == source:
                    lines[n] = (ok, True, src, comment)
                    found = True
        if not found:
            name = suggest_filename(source, need_str(args, "filename"))
            path = name if "/" in name else os.path.normpath(os.path.join(folder, name))
            after_files.setdefault(path, []).append((True, True, source, ""))
            new_files.add(path)
    else:
        for name, lines in after_files.items():
            after_files[name] = [x for x in lines if not (x[0] and x[1] and x[2] == source)]
    after = {name: dump_sources(lines) for name, lines in after_files.items() if lines}
    changed = before != after
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    result: ModuleResult = {
        "changed": changed, "repo": repo, "state": state,
        "sources_added": added, "sources_removed": removed, "diff": [],
    }  # fmt: skip
    if changed and ctx.diff:
        result["diff"] = [
            {"before": before.get(f, ""), "after": after.get(f, ""),
             "before_header": f if f in before else "/dev/null",
             "after_header": f if f in after else "/dev/null"}
            for f in sorted(set(added) | set(removed))
        ]  # fmt: skip
    if not changed or ctx.check_mode:
        return result
    for name in sorted(set(before) | set(after)):
        if before.get(name) == after.get(name):
            continue
        if name not in after:
            ctx.shell(f"rm -f -- {shlex.quote(name)}", env=False)
            continue
        real = links.get(name, name)
        if "/" not in real:
            real = os.path.join(os.path.dirname(name), real)
        target = read_target(ctx, real)
        mode = args.get("mode") if name in new_files else None
        write_target(ctx, target, after[name].encode(), {"mode": mode})
    if as_bool(args.get("update_cache", True)):
        done = ctx.shell("DEBIAN_FRONTEND=noninteractive LC_ALL=C apt-get update -q")
        if done.exit_code != 0:
            raise ModuleFailure(f"Failed to update apt cache: {done.stderr_text.strip()}")
    return result
