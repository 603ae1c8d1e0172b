"""End-to-end: ``--rerun failed|unreachable|both`` against the real sshd fleet. Every
run, copy, fetch and play records each host's outcome in the user's state folder
($XDG_STATE_HOME/runner/last-run.json); the next command's ``--rerun`` selects from it,
among the hosts its pattern selects. A playbook's ``--rerun both`` is compared with the
retry file ansible-playbook writes for the same play on the same hosts."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from runner.testing.fleet import free_port, wait_until
from tests.ansible_ssh import ansible_ssh_env
from tests.conftest import REPO, Fleet, json_records, run_cli, run_inprocess

pytestmark = pytest.mark.sshd

ANSIBLE_PLAYBOOK = Path(sys.executable).with_name("ansible-playbook")
# web02 and web04 fail, web06 is unreachable (nothing listens on its port).
FAILING = "test {{ inventory_hostname }} != web02 && test {{ inventory_hostname }} != web04"
FRONT, BACK = ["web01", "web02", "web03"], ["web04", "web05", "web06"]


@pytest.fixture
def fleet(make_fleet) -> Fleet:
    return make_fleet(
        6,
        groups={"front": FRONT, "back": BACK},
        host_vars={"web06": {"ansible_port": free_port()}},
    )


def listed(stdout: str) -> list[str]:
    """The host names ``--list-hosts`` printed."""
    lines = stdout.splitlines()
    assert lines and lines[0].startswith("  hosts ("), stdout
    return [line.strip() for line in lines[1:]]


def test_rerun_selects_the_failed_the_unreachable_or_both_within_the_pattern(fleet, tmp_path):
    state = {"XDG_STATE_HOME": str(tmp_path / "state")}

    def runner(*args: str):
        return run_inprocess(*args, env=state)

    first = runner("run", *fleet.args(), "all", FAILING)
    assert first.exit_code == 6, first
    record = json.loads((tmp_path / "state" / "runner" / "last-run.json").read_text())
    assert record["hosts"] == {
        "web01": "ok",
        "web02": "failed",
        "web03": "ok",
        "web04": "failed",
        "web05": "ok",
        "web06": "unreachable",
    }
    assert record["command"] == "run" and record["summary"] == f"runner run all '{FAILING}'"
    assert record["inventories"] == [str(fleet.inventory)] and record["unfinished"] == []

    def hosts(which: str, pattern: str) -> list[str]:
        res = runner("run", *fleet.args(), "--rerun", which, "--list-hosts", pattern)
        assert res.exit_code == 0, res
        return listed(res.stdout)

    assert hosts("failed", "all") == ["web02", "web04"]
    assert hosts("unreachable", "all") == ["web06"]
    assert hosts("both", "all") == ["web02", "web04", "web06"]
    assert hosts("both", "back") == ["web04", "web06"]
    assert hosts("failed", "front:web04") == ["web02", "web04"]
    # --list-hosts connects nowhere and leaves the record alone; its notice goes to stderr
    listing = runner("run", *fleet.args(), "--rerun", "failed", "--list-hosts", "all")
    assert listed(listing.stdout) == ["web02", "web04"]
    assert listing.stderr.startswith("info: --rerun failed: the 2 hosts that failed in the last ")

    again = runner("run", *fleet.args(), "--json", "--rerun", "failed", "front", "echo fixed")
    assert again.exit_code == 0, again
    ran = [(r["host"], r["status"], r["stdout"]) for r in json_records(again.stdout)[:-1]]
    assert ran == [("web02", "ok", "fixed\n")]
    assert "info: --rerun failed: 1 of the 2 hosts that failed in the last run: runner run all" in (
        again.stderr
    )
    # The record is now that run's: web02 ok, so nothing failed last time.
    nothing = runner("run", *fleet.args(), "--rerun", "failed", "all", "true")
    assert nothing.exit_code == 1, nothing
    assert "--rerun failed: no host failed in the last run: nothing to do" in nothing.stderr
    # the hint names that run, as typed
    assert "runner run --rerun failed front 'echo fixed' (" in nothing.stderr


def test_rerun_that_leaves_no_host_of_the_pattern_is_an_input_error(fleet, tmp_path):
    state = {"XDG_STATE_HOME": str(tmp_path / "state")}
    assert run_inprocess("run", *fleet.args(), "all", FAILING, env=state).exit_code == 6
    res = run_inprocess("run", *fleet.args(), "--rerun", "unreachable", "front", "true", env=state)
    assert res.exit_code == 1, res
    assert (
        "--rerun unreachable: the one host that was unreachable in the last run (web06) "
        "is not among those the pattern 'front' selects"
    ) in res.stderr
    # the same exit code as a pattern that matches nothing
    nomatch = run_inprocess("run", *fleet.args(), "nosuchgroup", "true", env=state)
    assert nomatch.exit_code == res.exit_code
    both = run_inprocess("run", *fleet.args(), "--rerun", "both", "web01:web03", "true", env=state)
    assert both.exit_code == 1, both
    assert (
        "--rerun both: none of the 3 hosts that failed or were unreachable in the last run "
        "(web[02,04,06]) is among those the pattern 'web01:web03' selects"
    ) in both.stderr
    assert "hint: the last run: runner run all 'test" in both.stderr


def test_hosts_gone_from_the_inventory_are_named(fleet, make_fleet, tmp_path):
    state = {"XDG_STATE_HOME": str(tmp_path / "state")}
    assert run_inprocess("run", *fleet.args(), "all", FAILING, env=state).exit_code == 6
    smaller = make_fleet(3)  # web01-web03 only
    res = run_inprocess("run", *smaller.args(), "--rerun", "both", "--list-hosts", "all", env=state)
    assert res.exit_code == 0, res
    assert listed(res.stdout) == ["web02"]
    assert "warning: --rerun both: not in the inventory any more: web[04,06] (2)" in res.stderr


def test_without_a_record_or_with_a_damaged_one_nothing_runs(fleet, tmp_path):
    state_home = tmp_path / "state"
    state = {"XDG_STATE_HOME": str(state_home)}
    missing = run_inprocess("run", *fleet.args(), "--rerun", "failed", "all", "true", env=state)
    assert missing.exit_code == 1, missing
    path = state_home / "runner" / "last-run.json"
    assert f"runner: error: --rerun failed: no last run recorded ({path} does not exist)" in (
        missing.stderr
    )
    assert "Traceback" not in missing.stderr and missing.stdout == ""
    assert not path.exists()  # an input error records nothing
    path.parent.mkdir(parents=True)
    path.write_text('{\n "format": 1,\n "hosts": {oops}\n}\n')
    damaged = run_inprocess(
        "copy", *fleet.args(), "--rerun", "both", "all", __file__, "/tmp/x", env=state
    )
    assert damaged.exit_code == 1, damaged
    assert f"runner: error: {path}:3: --rerun both: not JSON" in damaged.stderr
    assert "hint: the file is runner's own record of the last run" in damaged.stderr


def test_the_record_is_private_whole_and_never_in_the_project(fleet, tmp_path):
    """A subprocess in a project folder: the record goes to the state folder (made 0700
    down from the first missing folder, the file 0600), nothing into the project, no
    temp file left behind; with XDG_STATE_HOME unset, under ~/.local/state."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "site.yml").write_text("- hosts: all\n  tasks: []\n")
    before = sorted(p.name for p in project.iterdir())
    state_home = tmp_path / "deep" / "state"
    env = {"XDG_STATE_HOME": str(state_home)}
    res = run_cli("run", *fleet.args(), "all", FAILING, env=env, cwd=project)
    assert res.exit_code == 6, res
    folder = state_home / "runner"
    assert sorted(p.name for p in folder.iterdir()) == ["last-run.json"]
    assert stat.S_IMODE((folder / "last-run.json").stat().st_mode) == 0o600
    for made in (folder, state_home, tmp_path / "deep"):
        assert stat.S_IMODE(made.stat().st_mode) == 0o700, made
    assert sorted(p.name for p in project.iterdir()) == before

    home = tmp_path / "home"
    home.mkdir()
    no_xdg = {**{k: v for k, v in os.environ.items() if k != "XDG_STATE_HOME"}}
    no_xdg.update(HOME=str(home), PYTHONPATH=str(REPO))
    proc = subprocess.run(
        [sys.executable, "-m", "runner", "run", *fleet.args(), "front", FAILING],
        cwd=project,
        env=no_xdg,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    in_home = home / ".local" / "state" / "runner" / "last-run.json"
    assert json.loads(in_home.read_text())["hosts"] == {
        "web01": "ok",
        "web02": "failed",
        "web03": "ok",
    }
    assert sorted(p.name for p in project.iterdir()) == before


def test_concurrent_runs_leave_one_whole_record(fleet, tmp_path):
    """Last writer wins: whichever run ends last, the file is its record, whole."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "XDG_STATE_HOME": str(tmp_path / "state")}
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "runner", "run", *fleet.args(), pattern, FAILING],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for pattern in ("front", "back", "front", "back")
    ]
    codes = [proc.wait(120) for proc in runs]
    assert codes == [2, 6, 2, 6], [proc.stderr.read() for proc in runs if proc.stderr]
    folder = tmp_path / "state" / "runner"
    assert sorted(p.name for p in folder.iterdir()) == ["last-run.json"]
    record = json.loads((folder / "last-run.json").read_text())
    assert sorted(record["hosts"]) in (FRONT, BACK)


def test_copy_then_rerun_failed_copies_to_the_failed_hosts_only(fleet, tmp_path):
    state = {"XDG_STATE_HOME": str(tmp_path / "state")}
    src = tmp_path / "motd"
    src.write_text("hello\n")
    dest_root = tmp_path / "dest"
    (dest_root / "web01").mkdir(parents=True)
    (dest_root / "web03").mkdir()
    dest = f"{dest_root}/{{{{ inventory_hostname }}}}/motd"  # no folder for web02: fails
    first = run_inprocess("copy", *fleet.args(), "front", str(src), dest, env=state)
    assert first.exit_code == 2, first
    (dest_root / "web02").mkdir()
    (dest_root / "web01" / "motd").unlink()
    again = run_inprocess(
        "copy", *fleet.args(), "--json", "--rerun", "failed", "all", str(src), dest, env=state
    )
    assert again.exit_code == 0, again
    assert [r["host"] for r in json_records(again.stdout)[:-1]] == ["web02"]
    assert (dest_root / "web02" / "motd").read_text() == "hello\n"
    assert not (dest_root / "web01" / "motd").exists()  # web01 was ok: not copied again
    fetched = tmp_path / "fetched"
    fetch = run_inprocess(
        "fetch", *fleet.args(), "--rerun", "both", "all", "/nonexistent/x", str(fetched), env=state
    )
    assert fetch.exit_code == 1 and "no host failed or was unreachable" in fetch.stderr, fetch


def test_interrupted_hosts_are_neither_failed_nor_unreachable(make_fleet, tmp_path, user_sshd):
    fleet = make_fleet(4, server=user_sshd)
    state = tmp_path / "state"
    marker = "43.217"
    cmd = f"case {{{{ inventory_hostname }}}} in web01) exit 3;; *) sleep {marker};; esac"
    proc = subprocess.Popen(
        [sys.executable, "-m", "runner", "run", *fleet.args(), "--json", "all", cmd],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO), "XDG_STATE_HOME": str(state)},
    )
    assert proc.stdout is not None
    first = json.loads(proc.stdout.readline())
    assert (first["host"], first["status"]) == ("web01", "failed")
    wait_until(
        lambda: len(subprocess.run(["pgrep", "-f", f"^sleep {marker}"], capture_output=True,
                                   text=True).stdout.split()) >= 3,
        30,
        "the three sleeps",
    )  # fmt: skip
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=30)
    assert proc.returncode == 130
    record = json.loads((state / "runner" / "last-run.json").read_text())
    assert record["hosts"] == {"web01": "failed"}
    assert record["unfinished"] == ["web02", "web03", "web04"]
    env = {"XDG_STATE_HOME": str(state)}
    both = run_inprocess("run", *fleet.args(), "--rerun", "both", "--list-hosts", "all", env=env)
    assert listed(both.stdout) == ["web01"], both


PLAY = f"""- hosts: all
  gather_facts: false
  tasks:
    - shell: "{FAILING}"
"""


def ansible_retry_hosts(fleet: Fleet, book: Path, tmp_path: Path) -> list[str]:
    """The host names ansible-playbook's retry file holds after running ``book``."""
    ansible = str(ANSIBLE_PLAYBOOK) if ANSIBLE_PLAYBOOK.exists() else "ansible-playbook"
    if not ANSIBLE_PLAYBOOK.exists() and shutil.which("ansible-playbook") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but ansible-playbook is not installed")
        pytest.skip("ansible-core not installed (pip install -e '.[test]')")
    home = tmp_path / "ansible-home"
    home.mkdir()
    retries = tmp_path / "retries"
    env = {
        **os.environ,
        "HOME": str(home),
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_LOCAL_TEMP": str(home / "tmp"),
        "ANSIBLE_CONFIG": str(home / "none.cfg"),
        **ansible_ssh_env(),  # one connection a host: tests/ansible_ssh.py
        "ANSIBLE_RETRY_FILES_ENABLED": "True",
        "ANSIBLE_RETRY_FILES_SAVE_PATH": str(retries),
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
    }
    done = subprocess.run(
        [ansible, "-i", str(fleet.inventory), str(book)],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 4, done.stdout + done.stderr  # ansible: 4 = unreachable
    return (retries / f"{book.stem}.retry").read_text().split()


def test_play_rerun_both_selects_the_hosts_of_ansibles_retry_file(fleet, tmp_path):
    book = tmp_path / "site.yml"
    book.write_text(PLAY)
    theirs = ansible_retry_hosts(fleet, book, tmp_path)
    assert sorted(theirs) == ["web02", "web04", "web06"]
    state = {"XDG_STATE_HOME": str(tmp_path / "state")}
    first = run_inprocess("play", *fleet.args(), str(book), env=state)
    assert first.exit_code == 6, first
    record = json.loads((tmp_path / "state" / "runner" / "last-run.json").read_text())
    assert record["command"] == "play" and record["summary"] == f"runner play {book}"
    listing = run_inprocess("play", *fleet.args(), "--rerun", "both", "--list-hosts", str(book),
                            env=state)  # fmt: skip
    assert listing.exit_code == 0, listing
    ours = [line.strip() for line in listing.stdout.split("hosts (")[1].splitlines()[1:4]]
    assert ours == sorted(theirs), listing.stdout
    # --limit narrows it further; the run's recap names only those hosts
    again = run_inprocess(
        "play", *fleet.args(), "--json", "--rerun", "failed", "--limit", "back", str(book),
        env=state,
    )  # fmt: skip
    assert again.exit_code == 2, again
    recap = [r for r in json_records(again.stdout) if r.get("type") == "recap"]
    assert recap and sorted(recap[-1]["hosts"]) == ["web04"], again.stdout


def test_a_state_folder_that_cannot_be_written_is_a_warning(fleet, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the state folder would be\n")
    res = run_inprocess(
        "run", *fleet.args(), "front", FAILING, env={"XDG_STATE_HOME": str(blocker)}
    )
    assert res.exit_code == 2, res  # the run's own exit code
    assert (
        f"warning: this run's outcome is not kept for --rerun: {blocker}/runner/last-run.json"
    ) in res.stderr
    assert blocker.read_text() == "a file where the state folder would be\n"
