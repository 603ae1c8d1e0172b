"""git natively against ansible-core's git module through runner's module bridge, on the
real sshd fleet, from the same starting state: the same recap, the same registered
``before``/``after``/``remote_url_changed``/``changed``/``msg``/diff, the same checkouts.

The repositories are made with the real ``git`` under tmp and reached as file:// URLs (no
network). Their commits have fixed authors and dates, so the two runs' repositories have
the same commit ids and the registered values compare as they are.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.system_side import dump_task, read_registered, runner_recap
from tests.test_native_vs_bridge_e2e import MODES, compare_registered, run_native_and_bridged

pytestmark = pytest.mark.sshd

GIT_ENV = {
    "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
    "GIT_AUTHOR_DATE": "2020-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2020-01-01T00:00:00Z",
}  # fmt: skip
COMMIT = " ".join(f"{k}={v}" for k, v in GIT_ENV.items())
REGISTERED = [f"g{i}" for i in range(1, 18)]

PLAY = f"""\
- hosts: all
  gather_facts: false
  vars:
    repo: "file://{{{{ d }}}}/src"
    co: "{{{{ d }}}}/co"
  tasks:
    - git: {{repo: "{{{{ repo }}}}", dest: "{{{{ co }}}}"}}
      register: g1
      diff: true
    - git: {{repo: "{{{{ repo }}}}", dest: "{{{{ co }}}}"}}
      register: g2
    - git: {{repo: "{{{{ repo }}}}", dest: "{{{{ co }}}}", version: dev}}
      register: g3
    - git: {{repo: "{{{{ repo }}}}", dest: "{{{{ co }}}}", version: v1}}
      register: g4
    - git: {{repo: "{{{{ repo }}}}", dest: "{{{{ co }}}}", version: v1a}}
      register: g5
    - shell: cd {{{{ d }}}}/src && echo three > f && {COMMIT} git commit -qam three
      register: g6
    - git: {{repo: "{{{{ repo }}}}", dest: "{{{{ co }}}}", version: main}}
      register: g7
      diff: true
    - shell: echo local > {{{{ co }}}}/f
    - git: {{repo: "{{{{ repo }}}}", dest: "{{{{ co }}}}", version: main}}
      register: g8
      ignore_errors: true
    - git: {{repo: "{{{{ repo }}}}", dest: "{{{{ co }}}}", version: main, force: true}}
      register: g9
    - git: {{repo: "{{{{ repo }}}}", dest: "{{{{ d }}}}/co2"}}
      check_mode: true
      register: g10
    - git: {{repo: "{{{{ repo }}}}", dest: "{{{{ co }}}}", update: false}}
      register: g11
    - git: {{repo: "{{{{ repo }}}}", dest: "{{{{ d }}}}/nothere", clone: false}}
      register: g12
    - git: {{repo: "{{{{ repo }}}}", dest: "{{{{ d }}}}/shallow", version: dev, depth: 1}}
      register: g13
    - git: {{repo: "{{{{ repo }}}}", dest: "{{{{ d }}}}/bare.git", bare: true}}
      register: g14
    - git: {{repo: "file://{{{{ d }}}}/mirror.git", dest: "{{{{ co }}}}", version: main}}
      register: g15
    - git: {{repo: "file://{{{{ d }}}}/mirror.git", dest: "{{{{ co }}}}", version: dev}}
      check_mode: true
      register: g16
    - git: {{repo: "file://{{{{ d }}}}/mirror.git", dest: "{{{{ co }}}}", version: no-such-ref}}
      register: g17
      ignore_errors: true
""" + dump_task(REGISTERED)

KEYS = ("changed", "before", "after", "remote_url_changed", "msg", "diff", "warnings")


def _git(cwd: Path, *words: str) -> str:
    done = subprocess.run(
        ["git", *words], cwd=cwd, capture_output=True, text=True, check=True,
        env={**os.environ, **GIT_ENV},
    )  # fmt: skip
    return done.stdout.strip()


def make_source(root: Path) -> None:
    """src (main: two commits; dev: one more; tags v1 and annotated v1a) and a bare mirror."""
    src = root / "src"
    src.mkdir(parents=True)
    _git(src, "init", "-q", "-b", "main")
    (src / "f").write_text("one\n")
    _git(src, "add", "f")
    _git(src, "commit", "-qm", "one")
    _git(src, "tag", "v1")
    _git(src, "tag", "-a", "v1a", "-m", "annotated")
    (src / "f").write_text("two\n")
    _git(src, "commit", "-qam", "two")
    _git(src, "checkout", "-qb", "dev")
    (src / "g").write_text("dev\n")
    _git(src, "add", "g")
    _git(src, "commit", "-qm", "dev")
    _git(src, "checkout", "-q", "main")
    _git(root, "clone", "-q", "--bare", str(src), str(root / "mirror.git"))


def test_git_native_as_bridged(make_fleet, in_process, tmp_path):
    if shutil.which("git") is None:
        pytest.skip("needs git")
    fleet = make_fleet(1)
    host = fleet.names[0]
    roots = {mode: tmp_path / f"g-{mode[0]}" for mode in MODES}

    def reset(mode: str) -> dict[str, str]:
        make_source(roots[mode])
        return {"d": str(roots[mode])}

    recaps, outs = run_native_and_bridged(
        tmp_path, fleet, in_process, PLAY, reset, ("git",), probe="g1"
    )
    # g1 g3 g4 g6 g7 (the local edit) g9 g10 g12 g13 g14 g15 g16, the dump
    assert recaps["native"][host]["changed"] == 14, recaps
    assert recaps["native"][host]["ignored"] == 2, recaps
    for mode in MODES:
        path = outs[mode] / f"{host}.json"
        path.write_text(path.read_text().replace(str(roots[mode]), "D"))
    names = [n for n in REGISTERED if n not in ("g6", "g8", "g17")]
    native, _ = compare_registered(outs, host, names, KEYS)
    for mode in MODES:
        got = read_registered(outs[mode], host)
        assert got["g8"]["failed"] and "Local modifications exist" in got["g8"]["msg"], got["g8"]
        assert got["g17"]["failed"], got["g17"]
    assert native["g1"]["before"] is None and native["g1"]["diff"]["prepared"].startswith(
        ">> Newly"
    )
    assert native["g15"]["remote_url_changed"] is True
    assert native["g16"]["after"] == _git(roots["native"] / "mirror.git", "rev-parse", "dev")

    def state(mode: str) -> dict[str, object]:
        root = roots[mode]
        return {
            "co": (_git(root / "co", "rev-parse", "HEAD"), _git(root / "co", "status", "--porcelain"),
                   _git(root / "co", "remote", "get-url", "origin").replace(str(root), "D"),
                   (root / "co" / "f").read_text()),
            "shallow": (_git(root / "shallow", "rev-parse", "HEAD"),
                        _git(root / "shallow", "rev-list", "--count", "HEAD")),
            "bare": _git(root / "bare.git", "rev-parse", "--is-bare-repository"),
            "absent": [(root / n).exists() for n in ("co2", "nothere")],
        }  # fmt: skip

    assert state("native") == state("bridged")
    assert state("native")["absent"] == [False, False]
    assert state("native")["shallow"][1] == "1"


def test_git_converged_run_changes_nothing(make_fleet, in_process, tmp_path):
    fleet = make_fleet(1)
    make_source(tmp_path)
    book = tmp_path / "play.yml"
    book.write_text(
        "- hosts: all\n  gather_facts: false\n  tasks:\n"
        f"    - git: {{repo: 'file://{tmp_path}/src', dest: '{tmp_path}/co', version: dev}}\n"
        f"    - git: {{repo: '{tmp_path}/mirror.git', dest: '{tmp_path}/b.git', bare: true}}\n"
    )
    for changed in (2, 0):
        done = in_process("play", *fleet.args(), str(book), "--json")
        assert done.exit_code == 0, done
        assert runner_recap(done.stdout)[fleet.names[0]]["changed"] == changed
