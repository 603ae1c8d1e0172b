"""End-to-end against real sshd: ``!vault`` group variables and a whole-file vaulted
host_vars file used by ``runner run`` and ``runner play``, a ``!unsafe`` value reaching
the host literally (as with ansible-playbook on the same hosts), and without the password
only the host that reads a vaulted value failing, naming it. Decrypted values appear in
no log, --json record or --out-dir file unless the command itself prints them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ansible_ssh import ansible_ssh_env
from tests.conftest import json_records
from tests.test_vault import ansible_env, encrypt_string, password_file, tool, vault

pytestmark = pytest.mark.sshd

DB_PASSWORD = "s3cret-db-7741"
HOST_TOKEN = "tok-web02-9e1"


def indent(block: str) -> str:
    return block.replace("\n", "\n  ").rstrip() + "\n"


def vault_site(fleet, tmp_path: Path, pw: Path, *, whole_file: bool = True) -> Path:
    """The fleet's inventory in a directory, with group_vars/db.yml holding a ``!vault``
    db_password (group db: web02, web03), group_vars/all.yml an ``!unsafe`` value, and
    (``whole_file``) host_vars/web02.yml encrypted whole."""
    site = tmp_path / "site"
    (site / "group_vars").mkdir(parents=True)
    (site / "host_vars").mkdir()
    inventory = fleet.inventory.read_text()
    inventory += "  children:\n    db:\n      hosts:\n        web02:\n        web03:\n"
    assert inventory.startswith("all:\n")
    (site / "hosts.yml").write_text(inventory)
    (site / "group_vars" / "db.yml").write_text(
        encrypt_string(tmp_path, DB_PASSWORD, "db_password", "--vault-password-file", str(pw))
    )
    (site / "group_vars" / "all.yml").write_text("x: RENDERED\nu: !unsafe 'lit {{ x }}'\n")
    if whole_file:
        token = site / "host_vars" / "web02.yml"
        token.write_text(f"host_token: {HOST_TOKEN}\n")
        vault(tmp_path, "encrypt", "--vault-password-file", str(pw), str(token))
    return site


def secret_free(*texts: str) -> None:
    for text in texts:
        assert DB_PASSWORD not in text and HOST_TOKEN not in text


def out_dir_text(out: Path) -> str:
    return "".join(p.read_text() for p in sorted(out.iterdir()) if p.is_file())


def test_run_uses_vaulted_vars_and_keeps_them_out_of_records(make_fleet, in_process, tmp_path):
    fleet = make_fleet(3)
    pw = password_file(tmp_path, "site-pw")
    site = vault_site(fleet, tmp_path, pw)
    out = tmp_path / "out"
    command = (
        "test \"{{ db_password | default('-') }}\" = {{ 's3cret-db-7741' if 'db' in "
        "group_names else '-' }} && test \"{{ host_token | default('-') }}\" = "
        "{{ 'tok-web02-9e1' if inventory_hostname == 'web02' else '-' }} && echo \"ok {{ u }}\""
    )
    result = in_process(
        "run", "-i", str(site), "--known-hosts", str(fleet.known_hosts), "-vv",
        "--vault-password-file", str(pw), "--json", "--out-dir", str(out), "all", command,
    )  # fmt: skip
    assert result.exit_code == 0, result
    hosts = {r["host"]: r for r in json_records(result.stdout) if r["type"] == "host"}
    assert {h: r["stdout"] for h, r in hosts.items()} == {
        h: "ok lit {{ x }}\n" for h in ("web01", "web02", "web03")
    }
    secret_free(result.stdout, result.stderr, out_dir_text(out))


def test_procs_workers_get_the_vault_passwords_on_stdin(make_fleet, cli, tmp_path):
    fleet = make_fleet(3)
    pw = password_file(tmp_path, "site-pw")
    site = vault_site(fleet, tmp_path, pw)
    command = (
        f"test \"{{{{ db_password | default('{DB_PASSWORD}') }}}}\" = {DB_PASSWORD} && "
        "echo {{ host_token | default('none') }}"
    )  # a !vault value crosses to the workers still encrypted, the password on stdin
    result = cli(
        "run", "-i", str(site), "--known-hosts", str(fleet.known_hosts), "--procs", "2",
        "--json", "all", command, env={"ANSIBLE_VAULT_PASSWORD_FILE": str(pw)},
    )  # fmt: skip
    assert result.exit_code == 0, result
    hosts = {r["host"]: r["stdout"] for r in json_records(result.stdout) if r["type"] == "host"}
    assert hosts == {"web01": "none\n", "web02": f"{HOST_TOKEN}\n", "web03": "none\n"}


PLAY = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: use the vaulted password
      command: test "{{ db_password }}" = s3cret-db-7741
      when: "'db' in group_names"
    - name: use the whole-file vaulted token
      command: test "{{ host_token }}" = tok-web02-9e1
      when: inventory_hostname == 'web02'
    - name: unsafe text reaches the host
      shell: printf '%s' '{{ u }}'
      register: printed
    - debug: msg="{{ printed.stdout }}"
"""


def ansible_playbook(fleet, site: Path, play: Path, pw: Path, tmp_path: Path) -> list[str]:
    """The debug messages of ansible-playbook run on the same hosts."""
    env = {
        **ansible_env(tmp_path),
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        **ansible_ssh_env(),  # one connection a host: tests/ansible_ssh.py
        "ANSIBLE_FORKS": "3",
    }
    done = subprocess.run(
        [tool("ansible-playbook"), "-i", str(site), str(play), "--vault-password-file", str(pw),
         "-e", f"ansible_python_interpreter={sys.executable}"],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return [json.loads(m) for m in re.findall(r'"msg": (".*")$', done.stdout, re.M)]


def test_play_with_vault_and_unsafe_matches_ansible_playbook(make_fleet, in_process, tmp_path):
    fleet = make_fleet(3)
    pw = password_file(tmp_path, "site-pw")
    site = vault_site(fleet, tmp_path, pw)
    play = tmp_path / "play.yml"
    play.write_text(PLAY)
    out = tmp_path / "out"
    result = in_process(
        "play", "-i", str(site), "--known-hosts", str(fleet.known_hosts), str(play), "-vv",
        "--vault-id", f"default@{pw}", "--json", "--out-dir", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result
    tasks = [r for r in json_records(result.stdout) if r["type"] == "task"]
    statuses = {(r["task"], r["host"]): r["status"] for r in tasks}
    assert statuses[("use the vaulted password", "web02")] == "changed"
    assert statuses[("use the vaulted password", "web01")] == "skipped"
    assert statuses[("use the whole-file vaulted token", "web02")] == "changed"
    ours = sorted(r["result"]["msg"] for r in tasks if r["module"] == "debug")
    assert ours == ["lit {{ x }}"] * 3
    assert sorted(ansible_playbook(fleet, site, play, pw, tmp_path)) == ours
    secret_free(result.stdout, result.stderr, out_dir_text(out))


def test_without_the_password_only_hosts_reading_a_vaulted_value_fail(
    make_fleet, in_process, tmp_path
):
    fleet = make_fleet(3)
    pw = password_file(tmp_path, "site-pw")
    site = vault_site(fleet, tmp_path, pw, whole_file=False)
    ssh = ["-i", str(site), "--known-hosts", str(fleet.known_hosts)]
    result = in_process("run", *ssh, "--json", "all", "echo {{ db_password | default('none') }}")
    assert result.exit_code != 0, result
    hosts = {r["host"]: r for r in json_records(result.stdout) if r["type"] == "host"}
    assert hosts["web01"]["status"] == "ok" and hosts["web01"]["stdout"] == "none\n"
    for name in ("web02", "web03"):
        assert hosts[name]["status"] == "failed"
        assert (
            "db.yml:1: variable 'db_password' is encrypted with Ansible Vault"
            in (hosts[name]["error"])
        )
        assert "--vault-password-file" in hosts[name]["error"]
    play = tmp_path / "play.yml"
    play.write_text(
        "- hosts: all\n  gather_facts: false\n  tasks:\n"
        "    - command: echo {{ db_password | default('none') }}\n"
        "    - command: echo still running\n"
    )
    result = in_process("play", *ssh, "--json", str(play))
    tasks = [r for r in json_records(result.stdout) if r["type"] == "task"]
    first, later = tasks[:3], tasks[3:]
    assert sorted((r["host"], r["status"]) for r in first) == [
        ("web01", "changed"),
        ("web02", "failed"),
        ("web03", "failed"),
    ], result
    assert [(r["host"], r["status"], r["stdout"]) for r in later] == [
        ("web01", "changed", "still running")
    ], result
    failed = [r for r in first if r["status"] == "failed"]
    assert all("variable 'db_password' is encrypted" in r["msg"] for r in failed), failed


def test_vaulted_connection_settings_are_decrypted_to_connect(make_fleet, in_process, tmp_path):
    """ansible_port and ansible_user as !vault values: decrypted to connect; without the
    password the host fails (not unreachable), naming the variable."""
    import yaml

    fleet = make_fleet(2)
    pw = password_file(tmp_path, "site-pw")
    data = yaml.safe_load(fleet.inventory.read_text())
    all_vars = data["all"]["vars"]
    port, user = all_vars.pop("ansible_port"), all_vars.pop("ansible_user")
    inventory = tmp_path / "vaulted.yml"
    text = yaml.safe_dump(data, sort_keys=False)
    for name, value in (("ansible_port", port), ("ansible_user", user)):
        block = encrypt_string(tmp_path, str(value), name, "--vault-password-file", str(pw))
        text = text.replace(
            "  vars:\n", "  vars:\n    " + block.replace("\n", "\n    ").rstrip() + "\n", 1
        )
    inventory.write_text(text)
    ssh = ["-i", str(inventory), "--known-hosts", str(fleet.known_hosts), "--json"]
    opened = in_process("run", *ssh, "-vv", "--vault-password-file", str(pw), "all", "id -un")
    assert opened.exit_code == 0, opened
    records = [r for r in json_records(opened.stdout) if r["type"] == "host"]
    assert {r["stdout"] for r in records} == {f"{user}\n"}
    locked = in_process("run", *ssh, "all", "id -un")
    records = [r for r in json_records(locked.stdout) if r["type"] == "host"]
    assert [r["status"] for r in records] == ["failed", "failed"], locked
    assert all(
        "variable 'ansible_port' is encrypted with Ansible Vault" in r["error"]
        or "variable 'ansible_user' is encrypted with Ansible Vault" in r["error"]
        for r in records
    ), records
