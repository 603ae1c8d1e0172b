"""End-to-end fact gathering against the real sshd fleet, compared with ansible-core's
own ``setup`` module on the same host (ansible-core is a test dependency): the values
of the facts runner gathers equal Ansible's; the Gathering Facts task counts in the
recap as in ansible-playbook; gathering settings, subsets, filter, delegate_facts,
cacheable set_fact, and the --syntax-check warning."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ansible_ssh import ansible_ssh_env
from tests.conftest import json_records

pytestmark = pytest.mark.sshd

BIN = Path(sys.executable).parent

# Facts whose values must equal Ansible's exactly on the same host.
EXACT = [
    "distribution",
    "distribution_version",
    "distribution_major_version",
    "distribution_release",
    "distribution_file_variety",
    "distribution_file_path",
    "os_family",
    "system",
    "kernel",
    "kernel_version",
    "architecture",
    "machine",
    "userspace_bits",
    "userspace_architecture",
    "hostname",
    "fqdn",
    "nodename",
    "domain",
    "machine_id",
    "default_ipv4",
    "default_ipv6",
    "all_ipv4_addresses",
    "all_ipv6_addresses",
    "processor",
    "processor_count",
    "processor_cores",
    "processor_vcpus",
    "processor_threads_per_core",
    "processor_nproc",
    "memtotal_mb",
    "swaptotal_mb",
    "user_id",
    "user_uid",
    "user_gid",
    "user_gecos",
    "user_dir",
    "user_shell",
    "real_user_id",
    "effective_user_id",
    "real_group_id",
    "service_mgr",
    "pkg_mgr",
    "python",
    "python_version",
    "virtualization_type",
    "virtualization_role",
    "selinux",
    "lsb",
    "dns",
    "product_name",
    "system_vendor",
    "bios_vendor",
    "bios_version",
    "bios_date",
    "product_version",
    "product_serial",
    "product_uuid",
    "form_factor",
    "board_asset_tag",
    "board_serial",
    "board_version",
    "chassis_asset_tag",
    "chassis_serial",
    "chassis_vendor",
    "chassis_version",
    "apparmor",
    "fips",
    "cmdline",
    "proc_cmdline",
    "ssh_host_key_rsa_public",
    "ssh_host_key_rsa_public_keytype",
    "ssh_host_key_ecdsa_public",
    "ssh_host_key_ed25519_public",
    "ssh_host_key_ed25519_public_keytype",
]
# Same contents, in an order Ansible takes from a set or from the kernel's directory
# listing (it changes from run to run): compared sorted.
AS_SETS = ["interfaces", "virtualization_tech_guest", "virtualization_tech_host"]
# Environment variables that differ between any two SSH sessions (client port, pty,
# the shell's own bookkeeping, the locale Ansible sets for its modules).
SESSION_ENV = {"SSH_CLIENT", "SSH_CONNECTION", "SSH_TTY", "TERM", "_", "SHLVL"}


def need_ansible() -> None:
    if (BIN / "ansible").exists():
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("CI=true but ansible-core is not installed (pip install -e '.[test]')")
    pytest.skip("ansible-core not installed (pip install -e '.[test]')")


def ansible_env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "ansible-home"
    home.mkdir(exist_ok=True)
    return {
        **os.environ,
        "HOME": str(home),
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_LOCAL_TEMP": str(home / "tmp"),
        "ANSIBLE_CONFIG": str(home / "none.cfg"),
        **ansible_ssh_env(),  # one connection a host: tests/ansible_ssh.py
        "ANSIBLE_PYTHON_INTERPRETER": "auto_silent",
        "ANSIBLE_NOCOLOR": "1",
    }


def ansible_setup(inventory: Path, host: str, tmp_path: Path) -> dict:
    """ansible-core's setup on ``host``: its facts without the ansible_ prefix."""
    done = subprocess.run(
        [str(BIN / "ansible"), host, "-i", str(inventory), "-m", "setup"],
        capture_output=True, text=True, env=ansible_env(tmp_path), timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    facts = json.loads(done.stdout[done.stdout.index("{") :])["ansible_facts"]
    return {k.removeprefix("ansible_"): v for k, v in facts.items()}


def runner_facts(fleet, in_process, tmp_path: Path) -> dict[str, dict]:
    """runner's gathering (the implicit Gathering Facts task), as each host's
    ``ansible_facts`` variable, written out by a template of the play."""
    out = tmp_path / "runner-facts"
    out.mkdir()
    book = tmp_path / "facts.yml"
    book.write_text(
        "- hosts: all\n  tasks:\n    - copy:\n        content: '{{ ansible_facts | to_json }}'\n"
        f"        dest: '{out}/{{{{ inventory_hostname }}}}.json'\n"
    )
    res = in_process("play", *fleet.args(), str(book))
    assert res.exit_code == 0, res
    return {name: json.loads((out / f"{name}.json").read_text()) for name in fleet.names}


def test_facts_equal_ansible_setup_on_the_same_host(make_fleet, in_process, tmp_path):
    need_ansible()
    fleet = make_fleet(1)
    theirs = ansible_setup(fleet.inventory, "web01", tmp_path)
    ours = runner_facts(fleet, in_process, tmp_path)["web01"]
    for key in EXACT:
        assert ours.get(key, "<absent>") == theirs.get(key, "<absent>"), key
    for key in AS_SETS:
        assert sorted(ours[key]) == sorted(theirs[key]), key
    for name in theirs["interfaces"]:  # ansible_eth0, ansible_lo...
        assert ours[name] == theirs[name], name
    # Free memory and free disk space move between the two runs (other tests run on the
    # same machine): within 10% of the total; the fixed parts exactly.
    total = theirs["memtotal_mb"]
    assert abs(ours["memfree_mb"] - theirs["memfree_mb"]) <= total // 10
    assert ours["memory_mb"]["real"]["total"] == theirs["memory_mb"]["real"]["total"]
    assert ours["memory_mb"]["swap"]["total"] == theirs["memory_mb"]["swap"]["total"]
    fixed = ("mount", "device", "fstype", "options", "dump", "passno", "uuid", "block_size",
             "block_total", "size_total", "inode_total")  # fmt: skip
    by_mount = {m["mount"]: m for m in theirs["mounts"]}
    assert sorted(m["mount"] for m in ours["mounts"]) == sorted(by_mount)
    for mount in ours["mounts"]:
        other = by_mount[mount["mount"]]
        assert {k: mount.get(k) for k in fixed} == {k: other.get(k) for k in fixed}
        assert abs(mount["size_available"] - other["size_available"]) <= other["size_total"] // 10
    # The clock: the same zone; the two readings a few seconds apart.
    mine, real = ours["date_time"], theirs["date_time"]
    assert set(mine) == set(real)
    for key in ("tz", "tz_dst", "tz_offset"):
        assert mine[key] == real[key], key
    assert 0 <= int(mine["epoch"]) - int(real["epoch"]) < 300
    # The environment of the login session, less what every session changes.
    same_env = {k: v for k, v in theirs["env"].items() if k not in SESSION_ENV and "LC_" not in k}
    assert {k: ours["env"].get(k) for k in same_env} == same_env


def recap_lines(text: str) -> dict[str, dict[str, int]]:
    found = {}
    for line in text.splitlines():
        match = re.match(r"^(\S+)\s+:\s+(ok=.*)$", line.strip())
        if match:
            found[match.group(1)] = {
                k: int(v) for k, v in (p.split("=") for p in match.group(2).split())
            }
    return found


PLAY = """\
- hosts: all
  tasks:
    - name: on Debian-like hosts
      command: echo {{ ansible_distribution }}
      when: ansible_os_family == 'Debian' or ansible_os_family != 'Debian'
    - name: never
      command: 'false'
      when: ansible_facts['system'] != 'Linux' and ansible_system != 'Linux'
    - name: motd
      template:
        src: motd.j2
        dest: "{{ out }}/{{ inventory_hostname }}.motd"
"""


def test_gathering_in_the_recap_as_in_ansible_playbook(make_fleet, in_process, tmp_path):
    need_ansible()
    fleet = make_fleet(2)
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "motd.j2").write_text(
        "{{ ansible_hostname }} runs {{ ansible_distribution }} "
        "{{ ansible_distribution_version }} on {{ ansible_architecture }}\n"
    )
    book = tmp_path / "site.yml"
    book.write_text(PLAY)
    theirs_out, ours_out = tmp_path / "theirs", tmp_path / "ours"
    theirs_out.mkdir()
    ours_out.mkdir()
    done = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", str(fleet.inventory), str(book),
         "-e", f"out={theirs_out}"],
        capture_output=True, text=True, env=ansible_env(tmp_path), timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:]
    assert "TASK [Gathering Facts]" in done.stdout
    ours = in_process("play", *fleet.args(), str(book), "-e", f"out={ours_out}", "--json")
    assert ours.exit_code == 0, ours
    recap = next(r for r in json_records(ours.stdout) if r["type"] == "recap")["hosts"]
    theirs = recap_lines(done.stdout)
    for host in fleet.names:
        counts = {k: recap[host][k] for k in theirs[host]}
        assert counts == theirs[host], host  # ok=4 (Gathering Facts counts), changed=2...
        assert (ours_out / f"{host}.motd").read_text() == (theirs_out / f"{host}.motd").read_text()
    tasks = [r.get("task") for r in json_records(ours.stdout) if r["type"] == "task"]
    assert tasks[0] == "Gathering Facts"
    text = in_process("play", *fleet.args(), str(book), "-e", f"out={ours_out}")
    assert "TASK [Gathering Facts]" in text.stdout and "ok: web[01-02] (2)" in text.stdout


TWO_PLAYS = """\
- hosts: all
  tasks:
    - set_fact:
        tier: gold
        cacheable: true
    - set_fact:
        scratch: 1
- hosts: all
  tasks:
    - assert:
        that:
          - ansible_facts.tier == 'gold'
          - tier == 'gold'
          - ansible_facts.scratch is not defined
          - ansible_os_family is defined
"""


def test_gathering_settings_and_the_fact_cache(make_fleet, in_process, tmp_path):
    fleet = make_fleet(2)
    book = tmp_path / "two.yml"
    book.write_text(TWO_PLAYS)

    def tasks_of(env: dict) -> list[str]:
        res = in_process("play", *fleet.args(), str(book), "--json", env=env)
        assert res.exit_code == 0, res
        return [r["task"] for r in json_records(res.stdout) if r["type"] == "task"]

    # implicit: each play gathers; smart: only the first (the cache lasts for the run);
    # one record per host and task
    assert tasks_of({}).count("Gathering Facts") == 2 * 2
    assert tasks_of({"ANSIBLE_GATHERING": "smart"}).count("Gathering Facts") == 2
    # explicit: nothing is gathered, and the assert on ansible_os_family fails
    res = in_process("play", *fleet.args(), str(book), env={"ANSIBLE_GATHERING": "explicit"})
    assert res.exit_code != 0 and "Gathering Facts" not in res.stdout
    bad = in_process("play", *fleet.args(), str(book), env={"ANSIBLE_GATHERING": "sometimes"})
    assert bad.exit_code == 1 and "implicit, explicit, smart" in bad.stderr


def test_setup_subset_filter_and_delegate_facts(make_fleet, in_process, tmp_path):
    fleet = make_fleet(1)
    book = tmp_path / "setup.yml"
    book.write_text("""\
- hosts: all
  gather_facts: false
  tasks:
    - setup:
        gather_subset: ['!all']
        filter: ['ansible_distribution*', 'os_family']
      register: some
    - setup:
        filter: ansible_hostname
      delegate_to: localhost
      delegate_facts: true
    - assert:
        that:
          - some.ansible_facts.ansible_distribution is defined
          - some.ansible_facts.ansible_os_family is defined
          - some.ansible_facts.ansible_kernel is not defined
          - some.ansible_facts.gather_subset == ['!all']
          - ansible_distribution_major_version | int > 0
          - ansible_facts.os_family == ansible_os_family
          - hostvars['localhost'].ansible_facts.hostname == hostvars['localhost'].ansible_hostname
          - ansible_facts.hostname is not defined
""")
    res = in_process("play", *fleet.args(), str(book))
    assert res.exit_code == 0, res
    book.write_text("- hosts: all\n  gather_subset: [hardwre]\n  tasks: []\n")
    bad = in_process("play", *fleet.args(), str(book))
    assert bad.exit_code == 1 and "setup.yml:2: Bad subset 'hardwre'" in bad.stderr


def test_syntax_check_warns_where_facts_are_read_without_gathering(in_process, tmp_path):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "motd.j2").write_text("hello\n{{ ansible_fqdn }}\n")
    book = tmp_path / "quiet.yml"
    book.write_text("""\
- hosts: all
  gather_facts: false
  tasks:
    - debug:
        msg: "{{ ansible_facts['os_family'] }}"
      when: ansible_distribution == 'Debian'
    - template:
        src: motd.j2
        dest: /tmp/motd
    - debug:
        msg: "{{ ansible_user }} {{ inventory_hostname }}"
- hosts: all
  tasks:
    - debug:
        var: ansible_os_family
""")
    res = in_process("play", "--syntax-check", str(book))
    assert res.exit_code == 0, res
    warnings = [line for line in res.stderr.splitlines() if line.startswith("[WARNING]")]
    assert any(f"{book}:4: reads the fact ansible_facts" in w for w in warnings), warnings
    assert any(f"{book}:4: reads the fact ansible_distribution" in w for w in warnings)
    assert any(
        f"{tmp_path}/templates/motd.j2:2: reads the fact ansible_fqdn" in w for w in warnings
    )
    assert all("gather_facts: false" in w for w in warnings)
    # connection variables are no facts, and the second play gathers
    assert not any("ansible_user" in w or ":14:" in w for w in warnings), warnings
    assert len(warnings) == 3
    # gathering=explicit: a play without gather_facts: true gathers nothing either
    explicit = in_process(
        "play", "--syntax-check", str(book), env={"ANSIBLE_GATHERING": "explicit"}
    )
    assert any(
        f"{book}:14: reads the fact ansible_os_family" in w for w in explicit.stderr.splitlines()
    )


def test_gathering_with_only_sh_and_coreutils_on_path(make_fleet, in_process, tmp_path):
    """The fact script needs sh and a few POSIX tools, never Python: with a PATH that
    holds only those, the facts are there all the same."""
    fleet = make_fleet(1)
    bindir = tmp_path / "tools"
    bindir.mkdir()
    for tool in ("sh", "cat", "uname", "id", "getent", "date", "grep", "stat", "env", "tr",
                 "readlink", "basename", "getconf", "ip", "nproc", "tail"):  # fmt: skip
        found = shutil.which(tool)
        if found:
            (bindir / tool).symlink_to(found)
    book = tmp_path / "tools.yml"
    out = tmp_path / "facts.json"
    book.write_text(
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - setup:\n"
        f"      environment:\n        PATH: {bindir}\n"
        "    - copy:\n        content: '{{ ansible_facts | to_json }}'\n"
        f"        dest: {out}\n"
    )
    res = in_process("play", *fleet.args(), str(book))
    assert res.exit_code == 0, res
    facts = json.loads(out.read_text())
    assert facts["os_family"] and facts["distribution_version"] and facts["fqdn"]
    assert facts["default_ipv4"]["address"] and facts["memtotal_mb"] > 0
    assert facts["processor_vcpus"] >= 1 and facts["mounts"] and facts["user_id"]
