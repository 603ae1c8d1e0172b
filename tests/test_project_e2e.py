"""``cd project && runner run web uptime`` against real sshd, with nothing on the command
line but the pattern and the command: the inventory, remote user, key, forks and host
key policy come from the project's ansible.cfg, and the real ``ansible web -a uptime``
run in the same folder selects the same hosts and succeeds on them too."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from tests.conftest import json_records, run_cli

pytestmark = pytest.mark.sshd

ANSIBLE = Path(sys.executable).with_name("ansible")


def ansible_exe() -> str:
    exe = str(ANSIBLE) if ANSIBLE.exists() else shutil.which("ansible")
    if exe is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but ansible-core is not installed")
        pytest.skip("ansible-core not installed (pip install -e '.[test]')")
    return exe


@pytest.fixture
def project(sshd, tmp_path):
    """A project folder: an INI inventory that names only addresses and ports, a key
    next to it, and an ansible.cfg that says the rest. Returns (folder, environ)."""
    folder = tmp_path / "project"
    (folder / "keys").mkdir(parents=True)
    folder.chmod(0o755)
    key = folder / "keys" / "id_ed25519"
    shutil.copy(sshd.client_key, key)
    key.chmod(0o600)
    hosts = "\n".join(
        f"{name} ansible_host={sshd.address} ansible_port={sshd.port}"
        for name in ("web01", "web02", "web03")
    )
    (folder / "hosts.ini").write_text(
        f"[web]\n{hosts}\n\n[db]\ndb01 ansible_host={sshd.address} ansible_port={sshd.port}\n"
    )
    known = tmp_path / "known_hosts"
    (folder / "ansible.cfg").write_text(
        "[defaults]\n"
        "inventory = hosts.ini\n"
        f"remote_user = {sshd.user}\n"
        "private_key_file = keys/id_ed25519\n"
        "forks = 2\n"
        "host_key_checking = False\n"
        f"interpreter_python = {sys.executable}\n"
        "\n"
        "[ssh_connection]\n"
        f"ssh_args = -o ControlMaster=no -o UserKnownHostsFile={known}\n"
    )
    home = tmp_path / "home"
    home.mkdir()
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "RUNNER_"))}
    environ.update(HOME=str(home), ANSIBLE_NOCOLOR="1")
    return folder, environ


def runner_in(folder: Path, environ: dict, *args: str):
    return run_cli(*args, env=environ, cwd=folder)


def test_runner_run_in_the_project_is_ansible_in_the_project(project):
    folder, environ = project
    import subprocess

    theirs = subprocess.run(
        [ansible_exe(), "web", "-a", "uptime", "-o"],
        capture_output=True, text=True, env=environ, cwd=folder, timeout=180,
    )  # fmt: skip
    assert theirs.returncode == 0, theirs.stdout + theirs.stderr
    their_hosts = sorted(
        line.split(" | ")[0] for line in theirs.stdout.splitlines() if " | " in line
    )
    assert all(" | CHANGED | rc=0 | " in line for line in theirs.stdout.splitlines() if line)

    ours = runner_in(folder, environ, "run", "--json", "web", "uptime")
    assert ours.exit_code == 0, ours
    hosts = [r for r in json_records(ours.stdout) if r["type"] == "host"]
    assert sorted(r["host"] for r in hosts) == their_hosts == ["web01", "web02", "web03"]
    assert all(r["status"] == "ok" and "load average" in r["stdout"] for r in hosts)
    # ssh options runner has no use for are said once; host key checking is off, as asked
    assert ours.stderr.count("ssh options runner does not use were ignored") == 1, ours
    assert "-o ControlMaster=no" in ours.stderr and "host key checking is off" in ours.stderr

    # --list-hosts prints what ansible's does, with no -i on either side
    listed = subprocess.run(
        [ansible_exe(), "web:db", "--list-hosts"],
        capture_output=True, text=True, env=environ, cwd=folder, timeout=120,
    )  # fmt: skip
    ours = runner_in(folder, environ, "run", "web:db", "--list-hosts")
    assert ours.exit_code == 0, ours
    assert ours.stdout == listed.stdout


def test_runner_config_in_the_project_names_the_file_and_lines(project):
    folder, environ = project
    cfg = folder / "ansible.cfg"
    res = runner_in(folder, environ, "config", "--json")
    assert res.exit_code == 0, res
    data = json.loads(res.stdout)
    assert (data["config_file"], data["found_via"]) == (str(cfg), "./ansible.cfg")
    got = {name: (e["value"], e["source"]) for name, e in data["settings"].items()}
    assert got["inventory"] == ([str(folder / "hosts.ini")], f"file: {cfg}:2 [defaults] inventory")
    assert got["private_key_file"][0] == str(folder / "keys" / "id_ed25519")
    assert got["forks"] == (2, f"file: {cfg}:5 [defaults] forks")
    assert got["host_key_checking"] == ("off", f"file: {cfg}:6 [defaults] host_key_checking")
    assert got["known_hosts"][1].endswith("[ssh_connection] ssh_args (-o UserKnownHostsFile=" +
                                          got["known_hosts"][0] + ")")  # fmt: skip
    # the environment beats the file, the command line beats both
    env = {**environ, "ANSIBLE_FORKS": "9"}
    data = json.loads(runner_in(folder, env, "config", "--json", "-u", "ops").stdout)
    assert data["settings"]["forks"] == {"value": 9, "source": "env: ANSIBLE_FORKS"}
    assert data["settings"]["remote_user"] == {"value": "ops", "source": "command line: -u"}
    # a host's connection settings say where each came from
    res = runner_in(folder, environ, "inventory", "--host", "web01", "--connection", "--json")
    assert res.exit_code == 0, res
    shown = json.loads(res.stdout)["settings"]
    assert shown["user"]["source"] == f"file: {cfg}:3 [defaults] remote_user"
    assert shown["port"]["source"] == "inventory: ansible_port"


def test_the_project_file_is_read_from_a_world_writable_folder_only_when_named(project):
    folder, environ = project
    folder.chmod(0o777)
    try:
        res = runner_in(folder, environ, "run", "web", "--list-hosts")
        assert res.exit_code == 1, res  # no inventory: no host 'web'
        assert "world-writable" in res.stderr
        named = {**environ, "ANSIBLE_CONFIG": str(folder / "ansible.cfg")}
        res = runner_in(folder, named, "run", "web", "--list-hosts")
        assert res.exit_code == 0 and "hosts (3)" in res.stdout, res
        assert "world-writable" not in res.stderr
    finally:
        folder.chmod(0o755)
