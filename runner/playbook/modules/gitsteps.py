"""The git steps of runner's git module (runner.playbook.modules.gitrepo), each as
ansible-core's git module takes it: clone, fetch, switch to a version, diff. Each git
command is one round trip, in the checkout."""

from __future__ import annotations

import posixpath
import shlex
from dataclasses import dataclass, field

from runner.playbook.modules.base import ModuleContext, ModuleFailure

LOCALE = "export LANG=C LC_ALL=C LC_MESSAGES=C LC_CTYPE=C LANGUAGE=C; "


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


def head_splitter(line: str, remote: str) -> str | None:
    """The branch a HEAD file names, read as Ansible's module reads it.

    >>> head_splitter("ref: refs/heads/main", "origin"), head_splitter("ref: refs/remotes/origin/dev", "origin")
    ('main', 'dev')
    """
    if not line:
        return None
    line = line.replace(f"refs/remotes/{remote}", "", 1)
    return line.split(" ")[-1].split("/", 2)[-1].rstrip("\n")


class Git:
    """Runs git on the target, in ``dest``, each command one round trip."""

    def __init__(self, ctx: ModuleContext, git: str, dest: str, prefix: str = "") -> None:
        self.ctx, self.git, self.dest, self.prefix = ctx, git, dest, prefix

    def run(self, *words: str, cwd: str | None = None, check: bool = True, msg: str = "") -> str:
        where = cwd if cwd is not None else self.dest
        line = shlex.join([self.git, *words])
        done = self.ctx.shell(f"{LOCALE}{self.prefix}cd {shlex.quote(where)} && {line}")
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


def has_ref(checkout: Checkout, ref: str) -> bool:
    return any(name == ref for _, name in checkout.refs)


def clone(
    run: Git, checkout: Checkout, repo: str, dest: str, remote: str, version: str,
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


def fetch(
    run: Git, checkout: Checkout, remote: str, version: str, depth: int | None, bare: bool,
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
        elif has_ref(checkout, f"refs/heads/{version}"):
            if current != version:
                refspecs.append(f"+refs/heads/{version}:refs/heads/{version}")
            refspecs.append(f"+refs/heads/{version}:refs/remotes/{remote}/{version}")
        elif has_ref(checkout, f"refs/tags/{version}"):
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


def switch(run: Git, checkout: Checkout, remote: str, version: str, depth: int | None) -> None:
    """Check out ``version``: HEAD's branch reset to the remote's, a branch tracked, or a
    tag or commit detached."""
    if version == "HEAD":
        branch = run.head_branch(remote) or "HEAD"
        run.run("checkout", "--force", branch, msg=f"Failed to checkout branch {branch}")
        run.run(
            "reset", "--hard", f"{remote}/{branch}", "--", msg=f"Failed to checkout branch {branch}"
        )
        return
    if has_ref(checkout, f"refs/heads/{version}"):
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


def diff(run: Git, before: str | None, after: str) -> dict[str, str]:
    if before is None:
        return {"prepared": f">> Newly checked out {after}"}
    if before == after:
        return {}
    done = run.ctx.shell(
        f"{LOCALE}cd {shlex.quote(run.dest)} && {shlex.join([run.git, 'diff', before, after])}"
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
