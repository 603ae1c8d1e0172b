"""apt and package FOR REAL on this Debian machine, side by side with the real
ansible-playbook from the same starting state.

The packages are tiny dummy .deb files built by the test with ``dpkg-deb --build``
(runner-test-*), served from a local file repository (dpkg-scanpackages,
``deb [trusted=yes] file:...``) that apt reads through its own config (APT_CONFIG on the
target, set by the play's ``environment``): the machine's apt sources are never read or
changed and nothing touches the network. The packages are purged afterwards. The fleet's
one host is this machine (root logins), so the runs are serial.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.system_side import (
    dump_task,
    read_registered,
    run_side_by_side,
    runner_recap,
    same_keys,
    same_values,
)

pytestmark = pytest.mark.machine_wide  # users, dpkg or /etc: see tests/shards.py

PREFIX = "runner-test-"
REGISTERED = [f"a{i}" for i in range(1, 12)]

APT_PLAY = """\
- hosts: all
  gather_facts: false
  environment:
    APT_CONFIG: "{{ aptconf }}"
  tasks:
    - apt: {name: runner-test-alpha=1.0, update_cache: true}
      register: a1
    - apt:
        name: [runner-test-alpha, runner-test-beta]
      register: a2
    - apt: {name: runner-test-alpha, state: latest}
      register: a3
    - apt: name=runner-test-alpha state=present
      register: a4
    - apt: {deb: "{{ debfile }}"}
      register: a5
    - ansible.builtin.apt: {deb: "{{ debfile }}"}
      register: a6
    - apt: {name: runner-test-beta, state: absent, purge: true}
      register: a7
    - apt: {name: runner-test-beta, state: absent}
      register: a8
    - package: {name: runner-test-beta, state: present}
      register: a9
    - apt: {update_cache: true, cache_valid_time: 86400000}
      register: a10
    - apt: {name: runner-test-nosuch}
      register: a11
      ignore_errors: true
""" + dump_task(REGISTERED)

CONVERGED = """\
- hosts: all
  gather_facts: false
  environment:
    APT_CONFIG: "{{ aptconf }}"
  tasks:
    - apt: {name: [runner-test-alpha, runner-test-beta], state: latest}
    - apt: {deb: "{{ debfile }}"}
    - package: {name: runner-test-beta}
"""


def _why_not() -> str | None:
    for tool in ("dpkg-deb", "dpkg-scanpackages", "apt-get", "dpkg-query"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if os.geteuid() != 0:
        return "installing packages needs root"
    return None


def _build_deb(folder: Path, name: str, version: str) -> Path:
    root = folder / f"build-{name}-{version}"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(
        f"Package: {name}\nVersion: {version}\nArchitecture: all\n"
        "Maintainer: runner tests <tests@example.invalid>\n"
        f"Description: a dummy package of runner's tests\n"
    )
    doc = root / "usr" / "share" / "doc" / name
    doc.mkdir(parents=True)
    (doc / "version").write_text(version + "\n")
    deb = folder / f"{name}_{version}_all.deb"
    subprocess.run(
        ["dpkg-deb", "--build", "--root-owner-group", str(root), str(deb)],
        check=True,
        capture_output=True,
    )
    return deb


def _installed() -> dict[str, str]:
    out = subprocess.run(
        ["dpkg-query", "-W", "-f=${Package} ${Status} ${Version}\n", f"{PREFIX}*"],
        capture_output=True,
        text=True,
    ).stdout
    found = {}
    for line in out.splitlines():
        name, *status, version = line.split(" ")
        if " ".join(status).endswith(" installed"):
            found[name] = version
    return found


def _purge() -> None:
    names = subprocess.run(
        ["dpkg-query", "-W", "-f=${Package}\n", f"{PREFIX}*"], capture_output=True, text=True
    ).stdout.split()
    if names:
        subprocess.run(["dpkg", "--purge", *names], capture_output=True, check=False)


@pytest.fixture
def apt_repo(tmp_path):
    """A file repository with runner-test-alpha 1.0 and 1.1 and runner-test-beta 1.0, an
    apt config that reads only it, and a runner-test-gamma .deb outside it."""
    reason = _why_not()
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but the apt tests cannot run: {reason}")
        pytest.skip(reason)
    repo = tmp_path / "repo"
    repo.mkdir()
    for name, version in (("alpha", "1.0"), ("alpha", "1.1"), ("beta", "1.0")):
        _build_deb(repo, PREFIX + name, version)
    packages = subprocess.run(
        ["dpkg-scanpackages", "--multiversion", ".", "/dev/null"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    (repo / "Packages").write_text(packages)
    debfile = _build_deb(tmp_path, PREFIX + "gamma", "2.0")
    apt_dir = tmp_path / "apt"
    for sub in ("lists/partial", "cache/archives/partial", "parts"):
        (apt_dir / sub).mkdir(parents=True)
    (apt_dir / "sources.list").write_text(f"deb [trusted=yes] file:{repo} ./\n")
    conf = apt_dir / "apt.conf"
    conf.write_text(
        f'Dir::Etc::SourceList "{apt_dir}/sources.list";\n'
        f'Dir::Etc::SourceParts "{apt_dir}/parts";\n'
        f'Dir::State::Lists "{apt_dir}/lists";\n'
        f'Dir::Cache "{apt_dir}/cache";\n'
        'APT::Sandbox::User "root";\n'
        'Acquire::Languages "none";\n'
    )
    _purge()
    yield {"aptconf": str(conf), "debfile": str(debfile)}
    _purge()


def _apt_update(conf: str) -> None:
    subprocess.run(
        ["apt-get", "update", "-q"],
        env={**os.environ, "APT_CONFIG": conf},
        capture_output=True,
        check=True,
    )


def test_apt_and_package_install_remove_as_in_ansible(make_fleet, in_process, tmp_path, apt_repo):
    fleet = make_fleet(1)
    host = fleet.names[0]
    ends: dict[str, dict[str, str]] = {}

    def reset(side: str) -> dict[str, str]:
        if side == "ansible":
            ends["runner"] = _installed()
        _purge()
        return dict(apt_repo)

    # Ansible's apt module needs python3-apt: the system's python has it
    ours, mine, _, out_r, out_a = run_side_by_side(
        tmp_path,
        fleet,
        in_process,
        APT_PLAY,
        reset,
        ansible_env={"ANSIBLE_PYTHON_INTERPRETER": "/usr/bin/python3"},
    )
    ends["ansible"] = _installed()
    assert (
        ends["runner"]
        == ends["ansible"]
        == {
            "runner-test-alpha": "1.1",
            "runner-test-beta": "1.0",
            "runner-test-gamma": "2.0",
        }
    )
    assert mine[host]["changed"] == 7 and mine[host]["ignored"] == 1, mine
    regs_r, regs_a = read_registered(out_r, host), read_registered(out_a, host)
    for name in REGISTERED:
        if name != "a11":  # the failure's message is apt's own wording
            same_keys(regs_r[name], regs_a[name], name)
        same_values(
            regs_r[name], regs_a[name], ("changed", "cache_updated", "cache_update_time"), name
        )
    assert "Setting up runner-test-alpha (1.0)" in regs_r["a1"]["stdout"]

    args = ["-e", f"aptconf={apt_repo['aptconf']}", "-e", f"debfile={apt_repo['debfile']}"]
    converged = tmp_path / "converged.yml"
    converged.write_text(CONVERGED)
    again = in_process("play", *fleet.args(), str(converged), "--json", *args)
    assert runner_recap(again.stdout)[host]["changed"] == 0, again

    _purge()
    _apt_update(apt_repo["aptconf"])
    check = in_process(
        "play",
        *fleet.args(),
        str(tmp_path / "play.yml"),
        "--json",
        "--check",
        *args,
        "-e",
        f"out={out_r}",
    )
    assert runner_recap(check.stdout)[host]["changed"] >= 5, check
    assert _installed() == {}
