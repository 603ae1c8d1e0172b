"""Small fixes from issue 12, each tested where it shows: the CLI, the engine, the loader."""

from __future__ import annotations

import difflib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runner.engine import Engine
from runner.errors import ConnectError
from runner.inventory.patterns import close_names
from runner.models import CommandResult, Host
from runner.testing.fleet import free_port
from runner.transport.base import Transport
from tests.conftest import json_records, require_sshd, run_inprocess
from tests.fakes import FactoryOf, NoFiles

ROOT = Path(__file__).resolve().parent.parent
ANSIBLE_INVENTORY = Path(sys.executable).with_name("ansible-inventory")


def ansible_inventory(tmp_path: Path, *args: str) -> str:
    """The stdout of the real ``ansible-inventory ARGS`` run from the repo root, reading no
    ansible.cfg (skips when ansible-core is not installed)."""
    exe = (
        str(ANSIBLE_INVENTORY) if ANSIBLE_INVENTORY.exists() else shutil.which("ansible-inventory")
    )
    if exe is None:
        pytest.skip("ansible-core not installed (pip install -e '.[test]')")
    env = {
        **os.environ,
        "ANSIBLE_LOCALHOST_WARNING": "false",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_CONFIG": str(tmp_path / "none.cfg"),  # no such file: no config
    }
    done = subprocess.run(
        [exe, *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120, check=True
    )
    return done.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["--graph", "web", "--vars"],
        ["--graph", "--vars", "web"],
        ["--vars", "--graph", "web"],
        ["web", "--graph"],
        ["--graph", "--vars"],
    ],
    ids=" ".join,
)
def test_graph_group_in_either_order_as_ansible_inventory(args, monkeypatch, tmp_path):
    """GROUP is positional, as in ansible-inventory: before or after --vars."""
    monkeypatch.chdir(ROOT)
    full = ["-i", "inventories/site", *args]
    result = run_inprocess("inventory", *full)
    assert result.exit_code == 0, result
    assert result.stdout.rstrip("\n") == ansible_inventory(tmp_path, *full).rstrip("\n")


def test_a_group_without_graph_is_a_usage_error():
    result = run_inprocess("inventory", "-i", str(ROOT / "inventories" / "site"), "--list", "web")
    assert result.exit_code == 5
    assert "goes with --graph" in result.stderr


def test_did_you_mean_lists_the_closest_names_first(tmp_path):
    inventory = tmp_path / "hosts.ini"
    inventory.write_text("[web]\nweb[1:30]\n")
    result = run_inprocess("inventory", "-i", str(inventory), "--hosts", "webs")
    assert result.exit_code != 0
    # 'web' is closest (ratio 0.86), then web1..web9 (0.75) in natural order; web30 (0.67) is not
    assert "did you mean: web, web1, web2, web3, web4?" in result.stderr, result


@given(
    st.text(alphabet="abw0123", min_size=1, max_size=5),
    st.lists(st.text(alphabet="abw0123", min_size=1, max_size=6), max_size=30),
)
def test_close_names_are_ordered_best_first(word, names):
    found = close_names(word, names)
    ratios = [difflib.SequenceMatcher(None, name, word).ratio() for name in found]
    assert ratios == sorted(ratios, reverse=True)
    assert len(found) <= 5 and len(set(found)) == len(found)
    assert set(found) <= set(difflib.get_close_matches(word, names, n=len(names) or 1))


class RefusingTransport(NoFiles, Transport):
    """Every connect is refused (a transient error, as a closed port gives)."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self.connects = 0

    def connect(self) -> None:
        self.connects += 1
        raise ConnectError(
            "connection refused (127.0.0.1:2201)",
            host=self.host.name,
            hint="is sshd up?",
            transient=True,
        )

    def run(self, command, *, stdout, stderr, **kw) -> CommandResult:  # pragma: no cover
        raise AssertionError("never connected")

    def close(self) -> None:
        pass


@pytest.mark.parametrize(("retries", "said"), [(0, ""), (2, " after 3 attempts")])
def test_the_last_connect_error_says_how_many_attempts(retries, said):
    made: list[RefusingTransport] = []

    def factory(host: Host) -> RefusingTransport:
        made.append(RefusingTransport(host))
        return made[-1]

    engine = Engine(FactoryOf(factory), retries=retries, retry_delay=0.001)
    results, _ = engine.map([Host("h1")], engine.connection, lambda h, exc: exc)
    error = results["h1"]
    assert type(error) is ConnectError and error.kind == "connect" and error.transient
    assert str(error) == f"connection refused (127.0.0.1:2201){said}"
    assert error.hint == "is sshd up?" and error.host == "h1"
    assert made[0].connects == retries + 1


def test_retries_against_a_closed_port_say_the_attempts(tmp_path):
    port = free_port()  # nothing listens there
    inventory = tmp_path / "closed.yml"
    inventory.write_text(
        f"all:\n  hosts:\n    dead:\n      ansible_host: 127.0.0.1\n      ansible_port: {port}\n"
    )
    result = run_inprocess("run", "-i", str(inventory), "--json", "--retries", "2", "all", "true")
    assert result.exit_code == 4, result
    (record,) = [r for r in json_records(result.stdout) if r["type"] == "host"]
    assert record["status"] == "unreachable"
    assert f"connection refused (127.0.0.1:{port}) after 3 attempts" in record["error"], record


def _complete(env: dict[str, str]) -> subprocess.CompletedProcess:
    """``python -m runner`` (the console script's path: entry.main) with completion set."""
    full = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    return subprocess.run(
        [sys.executable, "-m", "runner"], capture_output=True, text=True, env=full, timeout=60
    )


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_script_comes_out_of_the_entry_point(shell):
    done = _complete({"_RUNNER_COMPLETE": f"{shell}_source"})
    assert done.returncode == 0, done
    assert "_runner_completion" in done.stdout and "_RUNNER_COMPLETE" in done.stdout
    if shell == "bash":
        assert "complete -o nosort -F _runner_completion runner" in done.stdout


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("runner ru", ["plain,run"]),
        (
            "runner ",
            [
                "plain,attach",
                "plain,config",
                "plain,copy",
                "plain,fetch",
                "plain,inventory",
                "plain,keeper",
                "plain,play",
                "plain,run",
                "plain,worker",
            ],
        ),
        ("runner inventory --gr", ["plain,--graph"]),  # a lazy command's own options
    ],
)
def test_bash_completion_lists_the_lazy_commands(words, expected):
    cword = str(len(words.split(" ")) - 1)
    done = _complete(
        {"_RUNNER_COMPLETE": "bash_complete", "COMP_WORDS": words, "COMP_CWORD": cword}
    )
    assert done.returncode == 0, done
    assert done.stdout.splitlines() == expected


@pytest.mark.sshd
def test_a_second_demo_changes_things_again_and_leaves_nothing(tmp_path):
    """`make demo` twice: the playbook writes into that run's own folder, so the second
    run changes as much as the first, and the folder is gone afterwards."""
    require_sshd()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp_path)}
    command = [sys.executable, "-m", "runner.testing.fleet", "demo", "--hosts", "2"]
    command += ["--playbook", "playbooks/rolling_deploy.yml"]
    for _ in range(2):
        done = subprocess.run(
            command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=240
        )
        assert done.returncode == 0, done.stderr[-2000:]
        changed = re.findall(r"changed=(\d+)", done.stdout)
        assert changed and all(int(n) > 0 for n in changed), done.stdout[-3000:]
    assert list(tmp_path.iterdir()) == []  # the demo folder was removed


def test_the_license_is_an_spdx_expression():
    """A TOML table (``license = {text = ...}``) makes setuptools >= 77 print a deprecation
    banner on every install; the SPDX string needs setuptools >= 77 to build."""
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"] == "MIT"
    assert "setuptools>=77" in project["build-system"]["requires"]
