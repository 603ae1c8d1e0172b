"""``cd project && runner play site.yml`` decrypts with the vault password file the
project's ansible.cfg names (``vault_password_file``, or ``vault_identity_list``), as the
real ansible-playbook does in the same folder; ``runner config`` shows where the setting
came from, and --vault-password-file on the command line replaces it. Localhost only
(ansible_connection=local): nothing here needs sshd."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from tests.conftest import json_records, run_cli
from tests.test_vault import ansible_env, encrypt_string, password_file, tool

PLAY = """\
- hosts: all
  gather_facts: false
  tasks:
    - debug:
        msg: "{{ secret }}|{{ labelled }}"
"""


def _project(tmp_path: Path, cfg: str) -> tuple[Path, dict[str, str]]:
    """A project: localhost in hosts.ini, a !vault group variable under the default
    password (.vault-pass) and one under the vault id ``prod`` (.prod-pass), and ``cfg``
    as its ansible.cfg. Returns (folder, environment without any ANSIBLE_CONFIG)."""
    folder = tmp_path / "project"
    (folder / "group_vars").mkdir(parents=True)
    folder.chmod(0o755)  # ./ansible.cfg is not read from a world-writable folder
    pw = password_file(folder, "default-pw", ".vault-pass")
    prod = password_file(folder, "prod-pw", ".prod-pass")
    (folder / "group_vars" / "all.yml").write_text(
        encrypt_string(tmp_path, "s3cret", "secret", "--vault-password-file", str(pw))
        + encrypt_string(tmp_path, "p-s3cret", "labelled", "--vault-id", f"prod@{prod}")
    )
    (folder / "hosts.ini").write_text("localhost ansible_connection=local\n")
    (folder / "site.yml").write_text(PLAY)
    (folder / "ansible.cfg").write_text(cfg)
    env = {k: v for k, v in ansible_env(tmp_path).items() if k != "ANSIBLE_CONFIG"}
    return folder, {**env, "RUNNER_PERSIST": "0"}


def _ours(folder: Path, env: dict[str, str], *args: str) -> list[str]:
    res = run_cli("play", "--json", "site.yml", *args, env=env, cwd=folder)
    assert res.exit_code == 0, res
    records = json_records(res.stdout)
    return [r["result"]["msg"] for r in records if r.get("module") == "debug"]


def _theirs(folder: Path, env: dict[str, str]) -> list[str]:
    done = subprocess.run(
        [tool("ansible-playbook"), "site.yml"],
        capture_output=True, text=True, env=env, cwd=folder, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return [json.loads(m) for m in re.findall(r'"msg": (".*")$', done.stdout, re.M)]


CFG = (
    "[defaults]\n"
    "inventory = hosts.ini\n"
    "vault_password_file = .vault-pass\n"
    "vault_identity_list = prod@.prod-pass\n"
)


def test_play_in_the_project_decrypts_with_its_configured_passwords(tmp_path):
    folder, env = _project(tmp_path, CFG)
    assert _ours(folder, env) == _theirs(folder, env) == ["s3cret|p-s3cret"]
    # runner run -m (an ad-hoc module) as the real ansible in the same folder
    args = ["all", "-m", "debug", "-a", "msg={{ secret }}|{{ labelled }}"]
    adhoc = run_cli("run", "--json", *args, env=env, cwd=folder)
    assert adhoc.exit_code == 0, adhoc
    msgs = [r["result"]["msg"] for r in json_records(adhoc.stdout) if r.get("type") == "host"]
    done = subprocess.run(
        [tool("ansible"), *args], capture_output=True, text=True, env=env, cwd=folder, timeout=180
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert msgs == re.findall(r'"msg": "(.*)"$', done.stdout, re.M) == ["s3cret|p-s3cret"]
    shown = run_cli("config", "--json", env=env, cwd=folder)
    assert shown.exit_code == 0, shown
    settings = json.loads(shown.stdout)["settings"]
    cfg = folder / "ansible.cfg"
    assert settings["vault_password_file"] == {
        "value": str(folder / ".vault-pass"),
        "source": f"file: {cfg}:3 [defaults] vault_password_file",
    }
    assert settings["vault_identity_list"] == {
        "value": ["prod@.prod-pass"],
        "source": f"file: {cfg}:4 [defaults] vault_identity_list",
    }


def test_the_command_line_and_the_environment_replace_the_configured_file(tmp_path):
    # the configured file does not exist: whoever replaces it, it is never read
    cfg = "[defaults]\ninventory = hosts.ini\nvault_password_file = missing-pass\n"
    folder, env = _project(tmp_path, cfg)
    prod = ["--vault-id", "prod@.prod-pass"]
    given = _ours(folder, env, "--vault-password-file", ".vault-pass", *prod)
    assert given == ["s3cret|p-s3cret"]
    from_env = {**env, "ANSIBLE_VAULT_PASSWORD_FILE": str(folder / ".vault-pass")}
    assert _ours(folder, from_env, *prod) == ["s3cret|p-s3cret"]
    shown = run_cli("config", "--vault-password-file", ".vault-pass", env=env, cwd=folder)
    assert re.search(r"vault_password_file\s+\.vault-pass\s+command line", shown.stdout), shown
    # without a replacement the configured file is read: a missing one names the setting
    missing = run_cli("play", "site.yml", env=env, cwd=folder)
    where = f"{folder / 'ansible.cfg'}:3: [defaults] vault_password_file = {folder}/missing-pass"
    assert missing.exit_code == 1, missing
    assert f"{where}: the vault password file was not found" in missing.stderr, missing
    assert "Traceback" not in missing.stderr
