"""The example project in playbooks/example (ansible.cfg, roles with defaults, vars,
handlers, templates, files and meta dependencies, group_vars beside the playbook, facts,
import_tasks and include_tasks, a vaulted value, lookups, loops, delegate_to, run_once,
a flushed handler, a bridged module) run by the real ansible-playbook and by runner on
the same sshd fleet from the same clean state: the same PLAY RECAP, exit code and files
(content and mode) left on the hosts, then the same again on a second run, which changes
nothing. And with one host given a bad variable: the same failure, recap and exit code.

One ansible-playbook run per scenario: a run of this project costs Ansible about a minute
on the loaded test machine."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from tests.ansible_side import ansible_playbook, ansible_recap, runner_recap, same_recap, tree
from tests.conftest import REPO

pytestmark = pytest.mark.sshd

PROJECT = REPO / "playbooks" / "example"
# what the project's env lookups read; set for both tools
DEPLOY_ENV = {"EXAMPLE_DEPLOY_ENV": "staging"}


def project_copy(tmp_path: Path) -> Path:
    """The project as committed, in a folder of its own."""
    folder = tmp_path / "example"
    shutil.copytree(PROJECT, folder)
    folder.chmod(0o755)
    return folder


def example_fleet(make_fleet, hosts_root: Path, bad_port_on: str | None = None):
    """Four hosts on the test sshd, three web servers and a database, each writing under
    its own ``app_root`` in ``hosts_root``; ``bad_port_on`` gets an app_port that the
    project's first check refuses."""
    names = ["node01", "node02", "node03", "node04"]
    host_vars = {
        name: {"app_root": str(hosts_root / name), "ansible_python_interpreter": "/usr/bin/python3"}
        for name in names
    }
    if bad_port_on:
        host_vars[bad_port_on]["app_port"] = "none"
    return make_fleet(
        4, prefix="node", groups={"web": names[:3], "db": names[3:]}, host_vars=host_vars
    )


def left_on_hosts(root: Path) -> dict[str, tuple[str, str]]:
    """Every file and folder under ``root``: relative path -> (text, mode)."""
    texts = tree(root)
    return {
        str(p.relative_to(root)): (texts.get(str(p.relative_to(root)), "<dir>"),
                                   oct(stat.S_IMODE(p.stat().st_mode)))
        for p in sorted(root.rglob("*"))
    }  # fmt: skip


def run_ansible(tmp_path: Path, project: Path, fleet) -> tuple[int, dict, str]:
    done = ansible_playbook(
        tmp_path, "-i", str(fleet.inventory), str(project / "site.yml"),
        env={"ANSIBLE_CONFIG": str(project / "ansible.cfg"), **DEPLOY_ENV}, timeout=900,
    )  # fmt: skip
    assert "PLAY RECAP" in done.stdout, done.stdout[-3000:] + done.stderr[-3000:]
    return done.returncode, ansible_recap(done.stdout), done.stdout


def run_runner(runner, project: Path, fleet) -> tuple[int, dict, str]:
    """``runner play site.yml`` in the project folder (``runner`` is the ``cli`` or the
    ``in_process`` fixture): ansible.cfg is found there, as ansible-playbook finds it."""
    args = ("play", *fleet.args(), "--json", "site.yml")
    if runner.__name__ == "run_cli":
        done = runner(*args, env=DEPLOY_ENV, cwd=project, timeout=300)
    else:  # in process: no cwd of its own; name the project file as ANSIBLE_CONFIG does
        config = {"ANSIBLE_CONFIG": str(project / "ansible.cfg"), **DEPLOY_ENV}
        done = runner(*args[:-1], str(project / "site.yml"), env=config, timeout=300)
    assert '"type": "recap"' in done.stdout or '"type":"recap"' in done.stdout, done
    return done.exit_code, runner_recap(done.stdout), done.stdout + done.stderr


def test_example_project_matches_ansible_playbook(
    make_fleet, cli, in_process, tmp_path, monkeypatch
):
    monkeypatch.setenv(*next(iter(DEPLOY_ENV.items())))  # the env lookup reads os.environ
    project = project_copy(tmp_path)
    hosts_root = tmp_path / "hosts"
    fleet = example_fleet(make_fleet, hosts_root)

    code, first, out = run_ansible(tmp_path, project, fleet)
    assert code == 0, out[-4000:]
    theirs = left_on_hosts(hosts_root)
    code, second, out = run_ansible(tmp_path, project, fleet)
    assert code == 0, out[-4000:]
    assert all(counts["changed"] == 0 for counts in second.values()), second
    assert left_on_hosts(hosts_root) == theirs

    shutil.rmtree(hosts_root)
    code, ours, out = run_runner(cli, project, fleet)
    assert code == 0, out[-4000:]
    same_recap(ours, first)
    assert left_on_hosts(hosts_root) == theirs
    code, ours, out = run_runner(in_process, project, fleet)
    assert code == 0, out[-4000:]
    same_recap(ours, second)
    assert left_on_hosts(hosts_root) == theirs

    # what the project is meant to show, so a change to it that hides a construct fails
    files = {path: text for path, (text, _) in theirs.items()}
    assert files["node04/etc/db.conf"].endswith("password = s3cret-db-pw\n")  # !vault
    assert theirs["node04/etc/db.conf"][1] == "0o600"
    assert "os_family = Debian" in files["node01/etc/host.ini"]  # facts
    assert "environment = staging" in files["node02/etc/web.conf"]  # env lookup
    assert files["node03/etc/motd"].startswith("Managed by the example project")  # file lookup
    assert sorted(p for p in files if "/clients/" in p) == [  # delegate_to the db host
        f"node04/clients/{name}.conf" for name in ("node01", "node02", "node03")
    ]
    assert [p for p in files if p.endswith("release-owner.txt")] == ["node01/release-owner.txt"]
    assert files["node01/log/restarts.log"] == "restarted shop\n"  # handler flushed once
    assert "db.example.test ssh-ed25519" in files["node01/etc/known_hosts"]  # bridged module


def test_a_host_with_a_bad_variable_fails_as_under_ansible(
    make_fleet, in_process, tmp_path, monkeypatch
):
    monkeypatch.setenv(*next(iter(DEPLOY_ENV.items())))  # the env lookup reads os.environ
    project = project_copy(tmp_path)
    hosts_root = tmp_path / "hosts"
    fleet = example_fleet(make_fleet, hosts_root, bad_port_on="node02")

    code, theirs, out = run_ansible(tmp_path, project, fleet)
    assert code == 2, out[-4000:]
    assert theirs["node02"]["failed"] == 1 and theirs["node01"]["failed"] == 0, theirs
    left = left_on_hosts(hosts_root)
    shutil.rmtree(hosts_root)
    ours_code, ours, out = run_runner(in_process, project, fleet)
    assert ours_code == code, out[-4000:]
    same_recap(ours, theirs)
    assert "app_port must be a port number, not none" in out
    assert left_on_hosts(hosts_root) == left
    assert not os.path.exists(hosts_root / "node02")
