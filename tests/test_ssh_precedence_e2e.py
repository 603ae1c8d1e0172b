"""End-to-end: the one precedence rule (inventory > command line > ssh_config > defaults),
compared with real Ansible in the same test, the notice when an inventory variable beats
a flag the user typed, and ``runner inventory --host H --connection``."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from runner.testing.fleet import keygen, write_inventory
from tests.ansible_ssh import ansible_ssh_env
from tests.conftest import json_records

pytestmark = pytest.mark.sshd

ANSIBLE = Path(sys.executable).with_name("ansible")


def ansible_whoami(inventory: Path, tmp_path: Path, *args: str) -> dict[str, str]:
    """host -> the user `ansible all -m raw -a whoami ARGS` ran as (real Ansible)."""
    if not ANSIBLE.exists() and shutil.which("ansible") is None:
        pytest.skip("ansible-core not installed (pip install -e '.[test]')")
    home = tmp_path / "ansible-home"
    home.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "HOME": str(home),
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_LOCAL_TEMP": str(home / "tmp"),
        "ANSIBLE_CONFIG": str(home / "none.cfg"),
        **ansible_ssh_env(),  # one connection a host: tests/ansible_ssh.py
    }
    exe = str(ANSIBLE) if ANSIBLE.exists() else "ansible"
    done = subprocess.run(
        [exe, "all", "-o", "-i", str(inventory), "-m", "raw", "-a", "whoami", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    # one line per host: "a | CHANGED | rc=0 | (stdout) ...\r\nroot\r\n (stderr) ..."
    # (raw runs in a pty: sshd's "Could not chdir" line comes first on stdout)
    found = {}
    for line in done.stdout.splitlines():
        name, _, rest = line.partition(" | ")
        ok = re.search(r"\| rc=0 \| \(stdout\) (.*?)(?: \(stderr\)|$)", line)
        lines = [p.strip() for p in ok.group(1).split("\\r\\n") if p.strip()] if ok else []
        found[name] = lines[-1] if lines else rest
    return found


def runner_whoami(cli, inventory: Path, tmp_path: Path, *args: str):
    res = cli(
        "run", "-i", str(inventory), "--known-hosts", str(tmp_path / "kh"), *args,
        "--json", "all", "whoami",
    )  # fmt: skip
    records = [r for r in json_records(res.stdout) if r.get("type") == "host"]
    users = {r["host"]: r.get("stdout", "").strip() for r in records}
    return res, users


def two_users_inventory(server, path: Path, *, vars_a: dict, vars_b: dict | None = None):
    """Hosts a and b on ``server`` (where root and runner-e2e both log in)."""
    return write_inventory(path, server, ["a", "b"], host_vars={"a": vars_a, "b": vars_b or {}})


def without_all_user(inventory: Path, user: str) -> Path:
    inventory.write_text(inventory.read_text().replace(f"ansible_user: {user}", ""))
    return inventory


def test_inventory_user_beats_dash_u_as_in_ansible(user_sshd, cli, tmp_path):
    """a sets ansible_user=runner-e2e, b sets none; -u root: a logs in as runner-e2e and b
    as root, in Ansible and in runner; runner says so once, on stderr."""
    if user_sshd is None:
        pytest.skip("needs root: two local users log in")
    inv = two_users_inventory(user_sshd, tmp_path / "inv.yml", vars_a={"ansible_user": "X"})
    inv = without_all_user(inv, user_sshd.user)
    inv.write_text(inv.read_text().replace("ansible_user: X", f"ansible_user: {user_sshd.user}"))
    expected = {"a": user_sshd.user, "b": "root"}
    assert ansible_whoami(inv, tmp_path, "-u", "root") == expected
    res, users = runner_whoami(cli, inv, tmp_path, "-u", "root")
    assert res.exit_code == 0, res
    assert users == expected
    notice = "-u root not used for a (1): its inventory sets ansible_user"
    assert res.stderr.count(notice) == 1, res.stderr
    # -e is an inventory variable above all the others: it wins over both, in both
    extra = ("-u", "root", "-e", f"ansible_user={user_sshd.user}")
    assert ansible_whoami(inv, tmp_path, *extra) == {"a": user_sshd.user, "b": user_sshd.user}
    res, users = runner_whoami(cli, inv, tmp_path, *extra)
    assert users == {"a": user_sshd.user, "b": user_sshd.user}, res


def test_inventory_key_beats_private_key_as_in_ansible(sshd, cli, tmp_path):
    """The inventory names the authorized key; --private-key names one sshd does not
    know: the inventory's key logs in, in Ansible and in runner."""
    stranger = keygen(tmp_path / "stranger_key")
    inv = write_inventory(tmp_path / "inv.yml", sshd, ["a"])
    assert ansible_whoami(inv, tmp_path, "--private-key", str(stranger)) == {"a": sshd.user}
    res, users = runner_whoami(cli, inv, tmp_path, "--private-key", str(stranger))
    assert res.exit_code == 0, res
    assert users == {"a": sshd.user}
    assert "--private-key" in res.stderr and "ansible_ssh_private_key_file" in res.stderr


def test_inventory_become_beats_dash_b_as_in_ansible(sudo_user, cli, tmp_path):
    """a sets ansible_become=false; -b --become-user daemon: a runs as runner-e2e, b as
    daemon, in Ansible and in runner (run used to let -b win)."""
    inv = two_users_inventory(sudo_user, tmp_path / "inv.yml", vars_a={"ansible_become": False})
    flags = ("-b", "--become-user", "daemon")
    expected = {"a": sudo_user.user, "b": "daemon"}
    assert ansible_whoami(inv, tmp_path, *flags) == expected
    res, users = runner_whoami(cli, inv, tmp_path, *flags)
    assert res.exit_code == 0, res
    assert users == expected
    assert res.stderr.count("-b not used for a (1): its inventory sets ansible_become") == 1


def test_notice_is_folded_and_said_once(make_fleet, cli):
    """20 hosts whose inventory sets ansible_user (the fleet's), -u given: one line."""
    fleet = make_fleet(20)
    res = cli("run", *fleet.args(), "-u", "nobody", "all", "true")
    assert res.exit_code == 0, res
    line = "-u nobody not used for web[01-20] (20): their inventory sets ansible_user"
    assert res.stderr.count(line) == 1, res.stderr
    quiet = cli("run", *fleet.args(), "all", "true")
    assert "not used" not in quiet.stderr


def test_play_says_it_too(make_fleet, cli, tmp_path):
    fleet = make_fleet(3)
    book = tmp_path / "book.yml"
    book.write_text("- hosts: all\n  gather_facts: false\n  tasks:\n    - command: whoami\n")
    res = cli("play", *fleet.args(), "-u", "nobody", str(book))
    assert res.exit_code == 0, res
    assert res.stderr.count("-u nobody not used for web[01-03] (3)") == 1, res.stderr


# -- runner inventory --host H --connection -------------------------------------------


def test_connection_view_names_every_source(cli, tmp_path):
    config = tmp_path / "ssh_config"
    config.write_text("Host web*\n    User cfguser\n    ConnectTimeout 7\n    Port 2201\n")
    inv = tmp_path / "inv.yml"
    inv.write_text(
        "all:\n  vars:\n    ansible_become: true\n  hosts:\n"
        "    web01:\n      ansible_user: deploy\n      ansible_become_password: s3cret\n"
        "    web02: {}\n"
    )
    base = ["inventory", "-i", str(inv), "-F", str(config), "--connection"]
    res = cli(*base, "--host", "web01", "-u", "root", "-J", "gw", "-e", "ansible_port=2222")
    assert res.exit_code == 0, res
    rows = {line.split()[0]: line.split(None, 2)[1:] for line in res.stdout.splitlines()[1:]}
    assert res.stdout.splitlines()[0] == "web01"
    assert rows["user"] == ["deploy", "inventory: ansible_user"]
    assert rows["port"] == ["2222", "extra vars (-e): ansible_port"]
    assert rows["jump"] == ["gw", "command line: -J"]
    assert rows["connect_timeout"] == ["7.0", "ssh_config: ConnectTimeout"]
    assert rows["host_key_checking"] == ["accept-new", "default"]
    assert rows["become"] == ["yes", "inventory: ansible_become"]
    assert rows["become_password"] == ["set", "inventory: ansible_become_password"]
    assert "s3cret" not in res.stdout
    as_json = cli(*base, "--host", "web02", "-u", "root", "--json")
    assert as_json.exit_code == 0, as_json
    settings = json.loads(as_json.stdout)["settings"]
    assert settings["user"] == {"value": "root", "source": "command line: -u"}
    assert settings["port"] == {"value": 2201, "source": "ssh_config: Port"}
    missing = cli(*base, "--host", "nope")
    assert missing.exit_code == 1 and "not in the inventory" in missing.stderr
    alone = cli("inventory", "-i", str(inv), "--list", "--connection")
    assert alone.exit_code == 5 and "--connection goes with --host" in alone.stderr
