"""git: a checkout of a repository at a version, with the decisions of ansible-core's git
module (clone, fetch, switch, local modifications and ``force``, ``update: false``,
``clone: false``, check mode, ``depth``, ``bare``, a changed remote URL), so ``before``,
``after``, ``remote_url_changed`` and ``changed`` come out as Ansible registers them.

The target's own ``git`` does the work. One round trip reads the checkout (HEAD, status,
remote URL, head branch) and the remote's refs (``git ls-remote``, once, instead of one
call per question as Ansible's module asks); the decisions are made here; each git step
after that is one more round trip. Submodules are not handled (``recursive`` is accepted
and ignored).
"""

from __future__ import annotations

import posixpath
import shlex
from typing import Any

from runner.playbook.modules.base import (
    ModuleContext,
    ModuleFailure,
    ModuleResult,
    as_bool,
    need_str,
)
from runner.playbook.modules.gitsteps import (
    LOCALE,
    Checkout,
    Git,
    clone,
    fetch,
    has_ref,
    head_splitter,
    switch,
)
from runner.playbook.modules.gitsteps import (
    diff as git_diff,
)
from runner.playbook.modules.probe import marked_sections

_S = "@@runner-git:"

_PROBE = """d={dest}; r={remote}; u={repo}; bare={bare}
command -v {git} >/dev/null 2>&1 || {{ echo "{s}nogit"; exit 0; }}
if [ "$bare" = yes ]; then g=$d; else g=$d/.git; fi
if [ -f "$g" ]; then x=$(sed -n 's/^gitdir: //p' "$g"); case $x in /*) g=$x ;; *) g=$d/$x ;; esac; fi
refs() {{ echo "{s}refs"; {git} ls-remote "$u" 2>&1; echo "{s}refs-rc $?"; }}
[ -f "$g/config" ] || {{ refs; echo "{s}absent"; exit 0; }}
[ {update} = no ] || refs
cd "$d" || exit 1
echo "{s}head"; {git} rev-parse HEAD 2>/dev/null
[ "$bare" = yes ] || {{ echo "{s}status"; {git} status --porcelain; }}
echo "{s}url"; {git} ls-remote --get-url "$r" 2>/dev/null && echo "{s}url-ok"
echo "{s}branches"; {git} branch --no-color -a
echo "{s}headfile"; head -n1 "$g/HEAD" 2>/dev/null
echo "{s}remotehead"; head -n1 "$g/refs/remotes/$r/HEAD" 2>/dev/null
exit 0
"""


def sections(text: str) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The probe's answer: each ``@@runner-git:NAME [WORDS]`` line starts section NAME.

    >>> sections("@@runner-git:refs\\nabc\\tHEAD\\n@@runner-git:refs-rc 0\\n")
    ({'refs': '', 'refs-rc': '0'}, {'refs': ['abc\\tHEAD'], 'refs-rc': []})
    """
    return marked_sections(text, _S)


def unfrack(path: str | None) -> str | None:
    return None if path is None else posixpath.normpath(posixpath.expanduser(path))


def _probe(
    ctx: ModuleContext, git: str, dest: str, remote: str, repo: str, bare: bool, update: bool,
    prefix: str,
) -> Checkout:  # fmt: skip
    script = _PROBE.format(
        dest=shlex.quote(dest), remote=shlex.quote(remote), repo=shlex.quote(repo),
        bare="yes" if bare else "no", git=shlex.quote(git), s=_S,
        update="yes" if update else "no",
    )  # fmt: skip
    done = ctx.shell(LOCALE + prefix + script)
    flags, body = sections(done.stdout_text)
    if "nogit" in flags:
        raise ModuleFailure(f'Failed to find required executable "{git}" in paths')
    if done.exit_code != 0:
        raise ModuleFailure(f"cannot inspect {dest}: {done.stderr_text.strip()}")
    out = Checkout()
    if flags.get("refs-rc") == "0":
        out.refs = [(sha, ref) for sha, _, ref in (x.partition("\t") for x in body["refs"])]
    elif "refs" in body:
        out.refs_error = "\n".join(body["refs"]).strip() or "git ls-remote failed"
    if "absent" in flags:
        return out
    out.exists = True
    out.head = "\n".join(body.get("head", []))
    out.status = body.get("status", [])
    out.url = body["url"][0] if "url-ok" in flags and body.get("url") else None
    out.branches = [b.strip() for b in body.get("branches", []) if b.strip()]
    out.headfile = (body.get("headfile") or [""])[0]
    out.remotehead = (body.get("remotehead") or [""])[0]
    return out


def _remote_head(checkout: Checkout, version: str, cloning: bool, remote: str) -> str:
    """The commit ``version`` names on the remote (a commit id is returned as given)."""
    if version == "HEAD":
        if cloning:
            wanted = "HEAD"
        else:
            detached = any(
                b.startswith("* ") and ("no branch" in b or "detached" in b)
                for b in checkout.branches
            )
            line = checkout.remotehead if detached else checkout.headfile
            wanted = f"refs/heads/{head_splitter(line, remote)}"
        shas = [sha for sha, name in checkout.refs if name == wanted]
    elif has_ref(checkout, f"refs/heads/{version}"):
        shas = [sha for sha, name in checkout.refs if name == f"refs/heads/{version}"]
    elif has_ref(checkout, f"refs/tags/{version}"):
        tags = [(sha, n) for sha, n in checkout.refs if n.startswith(f"refs/tags/{version}")]
        pick = None
        for sha, name in tags:
            if name.endswith(version + "^{}"):
                pick = sha
                break
            if name.endswith(version):
                pick = sha
        shas = [pick] if pick else []
    else:
        return version
    if not shas:
        raise ModuleFailure(f"Could not determine remote revision for {version}")
    return shas[0]


def git(ctx: ModuleContext, args: dict[str, Any]) -> ModuleResult:
    repo = need_str(args, "repo") or ""
    dest = need_str(args, "dest")
    version = need_str(args, "version") or "HEAD"
    remote = need_str(args, "remote") or "origin"
    refspec = need_str(args, "refspec")
    reference = need_str(args, "reference")
    force = as_bool(args.get("force"))
    depth = int(args["depth"]) if args.get("depth") not in (None, "") else None
    update = as_bool(args.get("update", True))
    allow_clone = as_bool(args.get("clone", True))
    bare = as_bool(args.get("bare"))
    single_branch = as_bool(args.get("single_branch"))
    executable = need_str(args, "executable") or "git"
    if posixpath.expanduser(repo).startswith("/"):
        repo = "file://" + posixpath.expanduser(repo)
    if not dest and allow_clone:
        raise ModuleFailure("the destination directory must be specified unless clone=no")
    dest = posixpath.normpath(dest) if dest else ""
    prefix = _ssh_and_umask(args)
    checkout = _probe(ctx, executable, dest or ".", remote, repo, bare, update, prefix)
    run = Git(ctx, executable, dest, prefix)
    result: ModuleResult = {"changed": False, "before": None}
    warnings: list[str] = []
    url_changed: bool | None = False

    def refs_or_fail() -> None:
        if checkout.refs_error is not None:
            raise ModuleFailure(checkout.refs_error)

    if not checkout.exists:
        refs_or_fail()
        if ctx.check_mode or not allow_clone:
            result.update(changed=True, after=_remote_head(checkout, version, True, remote))
            if ctx.diff:
                result["diff"] = {"prepared": f">> Newly checked out {result['after']}"}
            return result
        branch_or_tag = has_ref(checkout, f"refs/heads/{version}") or has_ref(
            checkout, f"refs/tags/{version}"
        )
        clone(run, checkout, repo, dest, remote, version, depth, bare, reference, refspec,
               single_branch, branch_or_tag, warnings)  # fmt: skip
        local_mods = False
    elif not update:
        result["before"] = result["after"] = checkout.head
        return result
    else:
        local_mods = not bare and any(not line.startswith("??") for line in checkout.status)
        result["before"] = checkout.head
        if local_mods:
            if not force:
                raise ModuleFailure(
                    f"Local modifications exist in the destination: {dest} (force=no).",
                    before=checkout.head, changed=False,
                )  # fmt: skip
            if not ctx.check_mode:
                run.run("reset", "--hard", "HEAD")
                result.update(
                    changed=True, msg=f"Local modifications exist in the destination: {dest}"
                )
        same_url = checkout.url == repo or unfrack(checkout.url) == unfrack(repo)
        if ctx.check_mode:
            url_changed = None if checkout.url is None else (checkout.url != "" and not same_url)
            result["remote_url_changed"] = url_changed
            refs_or_fail()
            after = _remote_head(checkout, version, False, remote)
            result.update(changed=result["before"] != after or bool(url_changed), after=after)
            if ctx.diff:
                shown = git_diff(run, result["before"], after)
                if shown:
                    result["diff"] = shown
            return result
        url_changed = False
        if not same_url:
            run.run("remote", "set-url", remote, repo)
            url_changed = checkout.url is not None
        result["remote_url_changed"] = url_changed
        refs_or_fail()
        fetch(run, checkout, remote, version, depth, bare, refspec, force)
    if not bare:
        switch(run, checkout, remote, version, depth)
    result["after"] = run.rev()
    if result["before"] != result["after"] or local_mods or url_changed:
        result["changed"] = True
        if ctx.diff:
            shown = git_diff(run, result["before"], result["after"])
            if shown:
                result["diff"] = shown
    if warnings:
        result["warnings"] = warnings
    return result


def _ssh_and_umask(args: dict[str, Any]) -> str:
    """Shell words that set GIT_SSH_COMMAND (key_file, ssh_opts, accept_hostkey) and the
    umask, as Ansible's module sets them for git.

    >>> _ssh_and_umask({"key_file": "/k", "accept_hostkey": True, "umask": "022"})
    "umask 022; export GIT_SSH_COMMAND='ssh -o StrictHostKeyChecking=no -i /k -o IdentitiesOnly=yes'; "
    """
    opts = need_str(args, "ssh_opts")
    for flag, value in (
        ("accept_hostkey", "-o StrictHostKeyChecking=no"),
        ("accept_newhostkey", "-o StrictHostKeyChecking=accept-new"),
    ):
        if as_bool(args.get(flag)):
            if opts is None:
                opts = value
            elif "StrictHostKeyChecking=" not in opts:
                opts += " " + value
    key_file = need_str(args, "key_file")
    if key_file:
        opts = f"{opts or ''} -i {key_file} -o IdentitiesOnly=yes".strip()
    prefix = ""
    umask = args.get("umask")
    if umask is not None:
        if not isinstance(umask, str) or not umask.isdigit() or set(umask) - set("01234567"):
            raise ModuleFailure("umask must be defined as a quoted octal integer")
        prefix += f"umask {umask}; "
    if opts:
        prefix += f"export GIT_SSH_COMMAND={shlex.quote('ssh ' + opts)}; "
    return prefix
