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
from dataclasses import dataclass, field
from typing import Any

from runner.playbook.modules.base import (
    ModuleContext,
    ModuleFailure,
    ModuleResult,
    as_bool,
    need_str,
)

_S = "@@runner-git:"
_LOCALE = "export LANG=C LC_ALL=C LC_MESSAGES=C LC_CTYPE=C LANGUAGE=C; "

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


@dataclass
class Checkout:
    """What the probe found: the remote's refs and, when there is one, the checkout."""

    refs: list[tuple[str, str]] = field(default_factory=list)  # (sha, ref name)
    exists: bool = False
    head: str = ""
    status: list[str] = field(default_factory=list)
    url: str | None = None
    branches: list[str] = field(default_factory=list)
    headfile: str = ""
    remotehead: str = ""
    refs_error: str | None = None  # git ls-remote failed: what it said


def sections(text: str) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The probe's answer: each ``@@runner-git:NAME [WORDS]`` line starts section NAME
    (its WORDS in the first dict), the lines after it are its body (the second).

    >>> sections("@@runner-git:refs\\nabc\\tHEAD\\n@@runner-git:refs-rc 0\\n")
    ({'refs': '', 'refs-rc': '0'}, {'refs': ['abc\\tHEAD'], 'refs-rc': []})
    """
    flags: dict[str, str] = {}
    body: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if line.startswith(_S):
            current, _, rest = line[len(_S) :].partition(" ")
            flags[current] = rest
            body[current] = []
        elif current is not None:
            body[current].append(line)
    return flags, body


def head_splitter(line: str, remote: str) -> str | None:
    """The branch a HEAD file names, read as Ansible's module reads it.

    >>> head_splitter("ref: refs/heads/main", "origin"), head_splitter("ref: refs/remotes/origin/dev", "origin")
    ('main', 'dev')
    """
    if not line:
        return None
    line = line.replace(f"refs/remotes/{remote}", "", 1)
    return line.split(" ")[-1].split("/", 2)[-1].rstrip("\n")


def unfrack(path: str | None) -> str | None:
    return None if path is None else posixpath.normpath(posixpath.expanduser(path))


class _Git:
    """Runs git on the target, in ``dest``, each command one round trip."""

    def __init__(self, ctx: ModuleContext, git: str, dest: str, prefix: str = "") -> None:
        self.ctx, self.git, self.dest, self.prefix = ctx, git, dest, prefix

    def run(self, *words: str, cwd: str | None = None, check: bool = True, msg: str = "") -> str:
        where = cwd if cwd is not None else self.dest
        line = shlex.join([self.git, *words])
        done = self.ctx.shell(f"{_LOCALE}{self.prefix}cd {shlex.quote(where)} && {line}")
        if check and done.exit_code != 0:
            raise ModuleFailure(
                msg or done.stderr_text.rstrip() or f"{line} failed",
                cmd=line, rc=done.exit_code, stdout=done.stdout_text, stderr=done.stderr_text,
            )  # fmt: skip
        return done.stdout_text

    def rev(self) -> str:
        return self.run("rev-parse", "HEAD", check=False).rstrip("\n")

    def local_branch(self, name: str) -> bool:
        lines = [b.strip() for b in self.run("branch", "--no-color", "-a").splitlines()]
        return name in lines or f"* {name}" in lines

    def head_branch(self, remote: str, bare: bool = False) -> str | None:
        """HEAD's branch; when detached, the remote's HEAD branch (Ansible's rule)."""
        repo_path = self.dest if bare else posixpath.join(self.dest, ".git")
        branches = self.run("branch", "--no-color", "-a").splitlines()
        detached = any(
            b.strip().startswith("* ")
            and any(w in b for w in ("no branch", "detached from", "detached at"))
            for b in branches
        )
        name = f"refs/remotes/{remote}/HEAD" if detached else "HEAD"
        done = self.ctx.shell(f"head -n1 {shlex.quote(posixpath.join(repo_path, name))}")
        return head_splitter(done.stdout_text, remote)


def _probe(
    ctx: ModuleContext, git: str, dest: str, remote: str, repo: str, bare: bool, update: bool,
    prefix: str,
) -> Checkout:  # fmt: skip
    script = _PROBE.format(
        dest=shlex.quote(dest), remote=shlex.quote(remote), repo=shlex.quote(repo),
        bare="yes" if bare else "no", git=shlex.quote(git), s=_S,
        update="yes" if update else "no",
    )  # fmt: skip
    done = ctx.shell(_LOCALE + prefix + script)
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


def _has_ref(checkout: Checkout, ref: str) -> bool:
    return any(name == ref for _, name in checkout.refs)


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
    elif _has_ref(checkout, f"refs/heads/{version}"):
        shas = [sha for sha, name in checkout.refs if name == f"refs/heads/{version}"]
    elif _has_ref(checkout, f"refs/tags/{version}"):
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
    run = _Git(ctx, executable, dest, prefix)
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
        branch_or_tag = _has_ref(checkout, f"refs/heads/{version}") or _has_ref(
            checkout, f"refs/tags/{version}"
        )
        _clone(run, checkout, repo, dest, remote, version, depth, bare, reference, refspec,
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
                diff = _diff(run, result["before"], after)
                if diff:
                    result["diff"] = diff
            return result
        url_changed = False
        if not same_url:
            run.run("remote", "set-url", remote, repo)
            url_changed = checkout.url is not None
        result["remote_url_changed"] = url_changed
        refs_or_fail()
        _fetch(run, checkout, remote, version, depth, bare, refspec, force)
    if not bare:
        _switch(run, checkout, remote, version, depth)
    result["after"] = run.rev()
    if result["before"] != result["after"] or local_mods or url_changed:
        result["changed"] = True
        if ctx.diff:
            diff = _diff(run, result["before"], result["after"])
            if diff:
                result["diff"] = diff
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


def _clone(
    run: _Git, checkout: Checkout, repo: str, dest: str, remote: str, version: str,
    depth: int | None, bare: bool, reference: str | None, refspec: str | None,
    single_branch: bool, branch_or_tag: bool, warnings: list[str],
) -> None:  # fmt: skip
    parent = posixpath.dirname(dest) or "."
    run.ctx.shell(f"mkdir -p -- {shlex.quote(parent)}")
    cmd = ["clone", "--bare"] if bare else ["clone", "--origin", remote]
    if depth:
        if version == "HEAD" or refspec:
            cmd += ["--depth", str(depth)]
        elif branch_or_tag:
            cmd += ["--depth", str(depth), "--branch", version]
        else:
            warnings.append(
                "Ignoring depth argument. Shallow clones are only available for HEAD, "
                "branches, tags or in combination with refspec."
            )
    if reference:
        cmd += ["--reference", reference]
    if single_branch:
        cmd.append("--single-branch")
        if branch_or_tag:
            cmd += ["--branch", version]
    run.run(*cmd, repo, dest, cwd=parent)
    if bare and remote != "origin":
        run.run("remote", "add", remote, repo)
    if refspec:
        run.run("fetch", *(["--depth", str(depth)] if depth else []), remote, refspec)


def _fetch(
    run: _Git, checkout: Checkout, remote: str, version: str, depth: int | None, bare: bool,
    refspec: str | None, force: bool,
) -> None:  # fmt: skip
    """Ansible's fetch: the refs a shallow checkout needs, else everything and the tags."""
    refspecs: list[str] = []
    cmd = ["fetch"]
    if depth:
        current = run.head_branch(remote)
        if refspec:
            refspecs.append(refspec)
        elif version == "HEAD":
            refspecs.append(current or "HEAD")
        elif _has_ref(checkout, f"refs/heads/{version}"):
            if current != version:
                refspecs.append(f"+refs/heads/{version}:refs/heads/{version}")
            refspecs.append(f"+refs/heads/{version}:refs/remotes/{remote}/{version}")
        elif _has_ref(checkout, f"refs/tags/{version}"):
            refspecs.append(f"+refs/tags/{version}:refs/tags/{version}")
        if refspecs:
            cmd += ["--depth", str(depth)]
    if not depth or not refspecs:
        if bare:
            refspecs = ["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"]
        else:
            cmd.append("--tags")
        if refspec:
            refspecs.append(refspec)
    if force:
        cmd.append("--force")
    try:
        run.run(*cmd, remote, *refspecs)
    except ModuleFailure as exc:
        out, err = exc.extra.get("stdout", ""), exc.extra.get("stderr", "")
        raise ModuleFailure(f"Failed to download remote objects and refs: {out} {err}") from exc


def _switch(run: _Git, checkout: Checkout, remote: str, version: str, depth: int | None) -> None:
    """Check out ``version``: HEAD's branch reset to the remote's, a branch tracked, or a
    tag or commit detached."""
    if version == "HEAD":
        branch = run.head_branch(remote) or "HEAD"
        run.run("checkout", "--force", branch, msg=f"Failed to checkout branch {branch}")
        run.run(
            "reset", "--hard", f"{remote}/{branch}", "--", msg=f"Failed to checkout branch {branch}"
        )
        return
    if _has_ref(checkout, f"refs/heads/{version}"):
        if depth and not run.local_branch(version):
            run.run("fetch", f"--depth={depth}", remote,
                    f"+refs/heads/{version}:refs/remotes/{remote}/{version}")  # fmt: skip
        if not run.local_branch(version):
            run.run("checkout", "--track", "-b", version, f"{remote}/{version}",
                    msg=f"Failed to checkout {version}")  # fmt: skip
        else:
            run.run("checkout", "--force", version, msg=f"Failed to checkout branch {version}")
            run.run("reset", "--hard", f"{remote}/{version}", msg=f"Failed to checkout {version}")
        return
    run.run("checkout", "--force", version, msg=f"Failed to checkout {version}")


def _diff(run: _Git, before: str | None, after: str) -> dict[str, str]:
    if before is None:
        return {"prepared": f">> Newly checked out {after}"}
    if before == after:
        return {}
    done = run.ctx.shell(
        f"{_LOCALE}cd {shlex.quote(run.dest)} && {shlex.join([run.git, 'diff', before, after])}"
    )
    if done.exit_code == 0 and done.stdout_text:
        return {"prepared": done.stdout_text}
    if done.exit_code == 0:
        return {"prepared": f">> No visual differences between {before} and {after}"}
    if done.stderr_text:
        return {
            "prepared": f">> Failed to get proper diff between {before} and {after}:\n>> {done.stderr_text}"
        }
    return {"prepared": f">> Failed to get proper diff between {before} and {after}"}
