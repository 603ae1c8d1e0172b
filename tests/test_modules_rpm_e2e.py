"""yum, dnf and package (on a dnf host) against real sshd, with a RECORDING STAND-IN for
rpm, dnf and yum.

This Debian test machine has no rpm, dnf or yum, and ``apt-get install dnf rpm`` cannot
fetch them offline; Ansible's dnf module needs python3-dnf on the target besides. So there
is no ansible-playbook run to compare with: the stand-in (tests/data/rpm_standin/rpm, a
POSIX sh script; dnf and yum are links to it) keeps a fake package database in a temp
folder and logs every call, and is put first on the target's PATH by the play's
``environment``. The expected results (``msg``, ``results``, ``rc``, ``failures``) are
ansible-core's dnf module's, read from its source (ansible/modules/dnf.py), which is also
where ansible-core sends ``yum``. Nothing machine-wide is touched.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.playbook.modules.rpmpkgs import CHECK_MODE_MSG
from tests.system_side import dump_task, read_registered, runner_recap

pytestmark = pytest.mark.sshd

STANDIN = Path(__file__).resolve().parent / "data" / "rpm_standin"
REGISTERED = [f"d{i}" for i in range(1, 15)]

AVAILABLE = """\
httpd 0 2.4.1 1.el9 x86_64
httpd 0 2.4.2 1.el9 x86_64
vim-enhanced 2 9.0 3.el9 x86_64
tree 0 1.8.0 5.el9 x86_64
mc 1 4.8.26 5.el9 x86_64
"""
INSTALLED = """\
tree 0 1.7.0 5.el9 x86_64
nano 0 5.6 1 x86_64
"""

RPM_PLAY = """\
- hosts: all
  gather_facts: false
  environment:
    PATH: "{{ bin }}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    RPM_STANDIN: "{{ db }}"
  tasks:
    - dnf: {name: httpd-2.4.1}
      register: d1
    - yum:
        name: [httpd, vim-enhanced]
        state: present
      register: d2
    - dnf: {name: httpd, state: latest}
      register: d3
    - dnf: name=httpd-2.4.1
      register: d4
    - ansible.builtin.dnf: {name: tree, state: latest, update_only: true}
      register: d5
    - yum: {name: nano, state: absent}
      register: d6
    - yum: {pkg: nano, state: removed}
      register: d7
    - package: {name: httpd, use: dnf}
      register: d8
    - dnf: {name: nosuch}
      register: d9
      ignore_errors: true
    - dnf: {update_cache: true}
      register: d10
    - dnf:
        name: mc
        enablerepo: [extras]
        disable_gpg_check: true
        update_cache: true
        install_weak_deps: false
      register: d11
    - dnf: {name: "*", state: latest}
      register: d12
    - dnf: {name: [nano, tree], state: latest, update_only: true}
      register: d13
    - dnf: {name: httpd-2.4.1, allow_downgrade: true}
      register: d14
""" + dump_task(REGISTERED)

# package with no use: the pkg_mgr fact picks the backend (dnf), as in Ansible
FACT_PLAY = """\
- hosts: all
  gather_facts: false
  environment:
    PATH: "{{ bin }}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    RPM_STANDIN: "{{ db }}"
  vars:
    ansible_facts: {pkg_mgr: yum}
  tasks:
    - package: {name: [tree, vim-enhanced], state: present}
      register: p1
    - package: {name: vim-enhanced, state: absent}
      register: p2
""" + dump_task(["p1", "p2"])


def _db(tmp_path: Path, name: str) -> Path:
    db = tmp_path / name
    db.mkdir()
    (db / "available").write_text(AVAILABLE)
    (db / "installed").write_text(INSTALLED)
    return db


def _installed(db: Path) -> list[str]:
    return sorted((db / "installed").read_text().splitlines())


def _play(in_process, fleet, tmp_path: Path, play: str, db: Path, out: Path, *extra: str):
    book = tmp_path / f"{out.name}.yml"
    book.write_text(play)
    out.mkdir()
    res = in_process(
        "play", *fleet.args(), str(book), "--json", *extra,
        "-e", f"bin={STANDIN}", "-e", f"db={db}", "-e", f"out={out}",
    )  # fmt: skip
    assert res.exit_code in (0, 2), res
    return runner_recap(res.stdout)[fleet.names[0]], read_registered(out, fleet.names[0])


def test_dnf_and_yum_with_the_rpm_standin(make_fleet, in_process, tmp_path):
    fleet = make_fleet(1)
    db = _db(tmp_path, "db")
    recap, regs = _play(in_process, fleet, tmp_path, RPM_PLAY, db, tmp_path / "out")
    nothing = {"changed": False, "msg": "Nothing to do", "results": [], "rc": 0}

    def answer(name: str) -> dict:
        return {k: regs[name].get(k) for k in ("changed", "msg", "results", "rc")}

    assert answer("d1") == {
        "changed": True, "msg": "", "rc": 0, "results": ["Installed: httpd-2.4.1-1.el9.x86_64"],
    }  # fmt: skip
    assert answer("d2")["results"] == ["Installed: vim-enhanced-2:9.0-3.el9.x86_64"]
    assert answer("d3")["results"] == ["Installed: httpd-2.4.2-1.el9.x86_64"]
    assert answer("d4") == nothing  # a newer httpd is installed, no allow_downgrade
    assert answer("d5")["results"] == ["Installed: tree-1.8.0-5.el9.x86_64"]
    assert answer("d6") == {
        "changed": True, "msg": "", "rc": 0, "results": ["Removed: nano-5.6-1.x86_64"],
    }  # fmt: skip
    assert answer("d7") == {**nothing, "results": ["No match for argument: nano"]}
    assert answer("d8") == nothing
    assert regs["d9"]["failed"] is True and regs["d9"]["rc"] == 1
    assert regs["d9"]["msg"] == "Failed to install some of the specified packages"
    assert regs["d9"]["failures"] == ["No package nosuch available."]
    assert regs["d9"]["results"] == []
    assert answer("d10") == {"changed": False, "msg": "Cache updated", "results": [], "rc": 0}
    assert answer("d11")["results"] == ["Installed: mc-1:4.8.26-5.el9.x86_64"]
    assert answer("d12") == nothing  # everything installed is the newest offered
    assert answer("d13") == {
        **nothing,
        "results": ["Packages providing nano not installed due to update_only specified"],
    }
    assert answer("d14")["results"] == ["Installed: httpd-2.4.1-1.el9.x86_64"]  # a downgrade
    assert recap["changed"] == 8 and recap["failed"] == 0 and recap["ignored"] == 1, recap
    assert _installed(db) == [
        "httpd 0 2.4.1 1.el9 x86_64",
        "mc 1 4.8.26 5.el9 x86_64",
        "tree 0 1.8.0 5.el9 x86_64",
        "vim-enhanced 2 9.0 3.el9 x86_64",
    ]
    calls = (db / "calls").read_text().splitlines()
    mc = [c for c in calls if c.startswith("dnf -y") and c.endswith(" install mc")]
    assert len(mc) == 1, calls
    for option in ("--enablerepo=extras", "--nogpgcheck", "--setopt=install_weak_deps=False"):
        assert option in mc[0], mc
    assert any(c.startswith("dnf -q -y") and c.endswith("makecache") for c in calls), calls
    assert not any(c.startswith("yum ") for c in calls), calls  # dnf first, as ansible-core

    # a second run changes only what the play itself undoes: d3 upgrades httpd again and
    # d14 downgrades it again; the rest is already as asked
    again, regs2 = _play(in_process, fleet, tmp_path, RPM_PLAY, db, tmp_path / "again")
    changed = [n for n in REGISTERED if regs2[n].get("changed")]
    assert changed == ["d3", "d14"], changed
    assert _installed(db)[0] == "httpd 0 2.4.1 1.el9 x86_64"


def test_dnf_check_mode_changes_nothing(make_fleet, in_process, tmp_path):
    fleet = make_fleet(1)
    db = _db(tmp_path, "db")
    before = (db / "installed").read_text()
    play = RPM_PLAY.replace("      copy:\n", "      check_mode: false\n      copy:\n")
    recap, regs = _play(in_process, fleet, tmp_path, play, db, tmp_path / "out", "--check")
    assert (db / "installed").read_text() == before
    assert regs["d1"]["changed"] is True and regs["d1"]["msg"] == CHECK_MODE_MSG
    assert regs["d1"]["results"] == ["Installed: httpd-2.4.1-1.el9.x86_64"]  # as listed
    assert regs["d5"]["results"] == ["Installed: tree-1.8.0-5.el9.x86_64"]
    assert regs["d6"]["results"] == ["Removed: nano-5.6-1.x86_64"]
    assert regs["d9"]["failures"] == ["No package nosuch available."]
    assert regs["d12"]["changed"] is True  # tree would be upgraded
    calls = (db / "calls").read_text().splitlines()
    assert not [c for c in calls if " -y " in c and "makecache" not in c], calls


def test_package_picks_dnf_from_the_pkg_mgr_fact(make_fleet, in_process, tmp_path):
    fleet = make_fleet(1)
    db = _db(tmp_path, "db")
    recap, regs = _play(in_process, fleet, tmp_path, FACT_PLAY, db, tmp_path / "out")
    assert regs["p1"]["results"] == ["Installed: vim-enhanced-2:9.0-3.el9.x86_64"]
    assert regs["p2"]["results"] == ["Removed: vim-enhanced-2:9.0-3.el9.x86_64"]
    assert _installed(db) == sorted(INSTALLED.splitlines())
