"""Ansible Vault and ``!unsafe``: data encrypted by the real ``ansible-vault`` in each test,
read by runner's loaders and keyring; behaviour compared with ansible-playbook and
ansible-inventory where runner claims to match them. Nothing here needs sshd."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from runner.config import RunConfig, Secrets
from runner.errors import InputError, VaultError
from runner.inventory import load_inventory
from runner.inventory.yaml_source import parse_yaml
from runner.jsonvalues import decode_value, encode_value
from runner.safeyaml import load_text
from runner.tagged import UnsafeText, VaultValue
from runner.vault import Keyring, crypto
from runner.vault.passwords import load_keyring
from tests.conftest import json_records, run_inprocess

BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    """The path of a real Ansible command (skip without it; fail under CI=true)."""
    path = BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if found:
        return found
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but {name} is not installed")
    pytest.skip(f"{name} is not installed")


def ansible_env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "ansible-home"
    home.mkdir(exist_ok=True)
    return {
        **os.environ,
        "HOME": str(home),
        "ANSIBLE_CONFIG": str(home / "none.cfg"),
        "ANSIBLE_LOCAL_TEMP": str(home / "tmp"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_DEPRECATION_WARNINGS": "False",
    }


def vault(tmp_path: Path, *args: str, stdin: str | None = None) -> str:
    """Run the real ansible-vault with ``args``; its stdout."""
    done = subprocess.run(
        [tool("ansible-vault"), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=ansible_env(tmp_path),
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def password_file(tmp_path: Path, text: str, name: str = "pw") -> Path:
    path = tmp_path / name
    path.write_text(text + "\n")
    return path


def encrypt_string(tmp_path: Path, plaintext: str, name: str, *vault_args: str) -> str:
    """``name: !vault |...`` as ansible-vault encrypt_string prints it."""
    return vault(tmp_path, "encrypt_string", *vault_args, "--name", name, plaintext)


def envelope_of(tagged: str) -> str:
    """The vault text inside a ``name: !vault |`` block."""
    return load_text(tagged, "x.yml")[next(iter(load_text(tagged, "x.yml")))].envelope


# -- the format ------------------------------------------------------------------------


def test_decrypts_what_ansible_vault_encrypts_1_1(tmp_path):
    pw = password_file(tmp_path, "correct horse")
    text = envelope_of(
        encrypt_string(tmp_path, "s3cret ünïcode", "x", "--vault-password-file", str(pw))
    )
    assert text.startswith("$ANSIBLE_VAULT;1.1;AES256\n")
    assert Keyring((("default", b"correct horse"),)).decrypt(text, where="x") == "s3cret ünïcode"


def test_decrypts_1_2_with_a_vault_id_and_tries_its_label_first(tmp_path):
    pw = password_file(tmp_path, "prod-pw", "prod.pw")
    text = envelope_of(encrypt_string(tmp_path, "db", "x", "--vault-id", f"prod@{pw}"))
    assert crypto.parse(text).label == "prod" and text.startswith("$ANSIBLE_VAULT;1.2;AES256;prod")
    ring = Keyring((("dev", b"dev-pw"), ("prod", b"prod-pw")))
    assert ring._candidates("prod")[0] == b"prod-pw"
    assert ring.decrypt(text, where="x") == "db"
    # the label is a hint, not a lock (Ansible's default): any password that fits works
    assert Keyring((("other", b"prod-pw"),)).decrypt(text, where="x") == "db"


def test_a_wrong_password_fails_naming_where(tmp_path):
    pw = password_file(tmp_path, "right")
    text = envelope_of(encrypt_string(tmp_path, "v", "x", "--vault-password-file", str(pw)))
    with pytest.raises(VaultError) as err:
        Keyring((("default", b"wrong"),)).decrypt(text, where="group_vars/all.yml", line=3)
    assert str(err.value) == (
        "group_vars/all.yml:3: Decryption failed (no vault secrets were found that could decrypt)"
    )


def test_what_runner_encrypts_ansible_vault_decrypts(tmp_path):
    (tmp_path / "secret.yml").write_text(crypto.encrypt(b"token: abc\n", b"pw", label="prod"))
    pw = password_file(tmp_path, "pw")
    out = vault(tmp_path, "view", "--vault-id", f"prod@{pw}", "secret.yml")
    assert out == "token: abc\n"


def test_tampered_data_is_refused():
    text = crypto.encrypt(b"x", b"pw")
    lines = text.splitlines()
    lines[1] = ("0" if lines[1][0] != "0" else "1") + lines[1][1:]
    with pytest.raises(VaultError):
        Keyring((("default", b"pw"),)).decrypt("\n".join(lines), where="x")


# -- password sources ------------------------------------------------------------------


def test_an_executable_password_file_is_a_script(tmp_path):
    script = tmp_path / "pass.sh"
    script.write_text("#!/bin/sh\necho 'from-script'\n")
    script.chmod(0o755)
    text = envelope_of(
        encrypt_string(tmp_path, "ok", "x", "--vault-password-file", str(script))
    )  # ansible-vault ran the same script
    ring = load_keyring((), [str(script)])
    assert ring.secrets == (("default", b"from-script"),)
    assert ring.decrypt(text, where="x") == "ok"


def test_a_client_script_is_asked_for_its_vault_id(tmp_path):
    seen = tmp_path / "args"
    script = tmp_path / "keyring-client.sh"
    script.write_text(f'#!/bin/sh\necho "$@" > {seen}\necho "pw-for-$2"\n')
    script.chmod(0o755)
    text = envelope_of(encrypt_string(tmp_path, "ok", "x", "--vault-id", f"prod@{script}"))
    assert seen.read_text() == "--vault-id prod\n"  # what ansible-vault passed
    seen.unlink()
    ring = load_keyring([f"prod@{script}"])
    assert seen.read_text() == "--vault-id prod\n"  # what runner passed
    assert ring.secrets == (("prod", b"pw-for-prod"),)
    assert ring.decrypt(text, where="x") == "ok"


def test_bad_password_sources_are_input_errors(tmp_path):
    empty = tmp_path / "empty"
    empty.write_text("\n")
    failing = tmp_path / "fails.sh"
    failing.write_text("#!/bin/sh\necho nope >&2\nexit 3\n")
    failing.chmod(0o755)
    cases = {
        str(tmp_path / "missing"): "the vault password file was not found",
        str(empty): "gave an empty password",
        str(failing): "exited with status 3: nope",
    }
    for path, expected in cases.items():
        with pytest.raises(InputError, match=expected):
            load_keyring((), [path])
    with pytest.raises(InputError, match="expected \\[LABEL@\\]FILE"):
        load_keyring(["@x"])
    with pytest.raises(InputError, match="no vault password was entered"):
        load_keyring(["dev@prompt"], prompt=lambda question: None)
    asked = []
    ring = load_keyring(["dev@prompt"], prompt=lambda q: asked.append(q) or "typed")
    assert asked == ["Vault password (dev)"] and ring.secrets == (("dev", b"typed"),)


# -- YAML tags -------------------------------------------------------------------------


def test_tags_make_unsafe_text_and_vault_values_with_their_line(tmp_path):
    pw = password_file(tmp_path, "pw")
    text = "a: 1\nu: !unsafe '{{ x }}'\nl: !unsafe ['{{ y }}', {k: '{{ z }}'}]\n" + encrypt_string(
        tmp_path, "v", "s", "--vault-password-file", str(pw)
    )
    data = load_text(text, "vars.yml")
    assert type(data["u"]) is UnsafeText and data["u"] == "{{ x }}"
    assert [type(data["l"][0]), type(data["l"][1]["k"])] == [UnsafeText, UnsafeText]
    assert isinstance(data["s"], VaultValue) and (data["s"].path, data["s"].line) == ("vars.yml", 4)
    assert "$ANSIBLE" not in repr(data["s"])
    with pytest.raises(InputError, match="vars.yml:1: a !vault value must be"):
        load_text("s: !vault 'not encrypted'\n", "vars.yml")


def test_the_fast_inventory_reader_leaves_tagged_values_to_the_full_one(tmp_path):
    pw = password_file(tmp_path, "pw")
    lines = [f"      h{i}: {i}" for i in range(3000)]  # big enough for the fast path
    text = "all:\n  hosts:\n    web1:\n" + "\n".join(lines) + "\n      u: !unsafe x{{ y }}\n"
    text += "      " + encrypt_string(tmp_path, "v", "s", "--vault-password-file", str(pw)).replace(
        "\n", "\n      "
    )
    data = parse_yaml(text, "inv.yml")
    host = data["all"]["hosts"]["web1"]
    assert type(host["u"]) is UnsafeText and isinstance(host["s"], VaultValue)


def test_tagged_values_cross_a_process_boundary_unchanged():
    value = {"u": [UnsafeText("{{ x }}")], "s": VaultValue("$ANSIBLE_VAULT;1.1;AES256\n31", "a", 2)}
    back = decode_value(json.loads(json.dumps(encode_value(value))))
    assert type(back["u"][0]) is UnsafeText and back["s"] == value["s"] and back["s"].line == 2


def test_secrets_never_show_and_the_config_names_only_files():
    secrets = Secrets(vault_passwords=(("prod", b"hunter2"),))
    assert "hunter2" not in repr(secrets) and "prod" in repr(secrets)
    assert Secrets.from_dict(secrets.to_dict()) == secrets
    config = RunConfig(vault_password_files=("pw.txt",), vault_ids=("prod@p",))
    assert RunConfig.from_dict(config.to_dict()) == config
    assert "hunter2" not in repr(Keyring((("prod", b"hunter2"),)))


# -- whole files -----------------------------------------------------------------------


def _site(tmp_path: Path, pw: Path) -> Path:
    """An inventory whose group_vars/all.yml is encrypted whole, and whose host var is
    a !vault value."""
    site = tmp_path / "site"
    (site / "group_vars").mkdir(parents=True)
    (site / "hosts.yml").write_text(
        "all:\n  hosts:\n    web1:\n      "
        + encrypt_string(tmp_path, "host-secret", "token", "--vault-password-file", str(pw))
        .replace("\n", "\n      ")
        .rstrip()
        + "\n      plain: !unsafe '{{ not_rendered }}'\n"
    )
    vars_file = site / "group_vars" / "all.yml"
    vars_file.write_text("group_secret: g-s3cret\n")
    vault(tmp_path, "encrypt", "--vault-password-file", str(pw), str(vars_file))
    assert vars_file.read_text().startswith("$ANSIBLE_VAULT;1.1;AES256")
    return site


def test_whole_file_vaults_are_decrypted_when_loaded(tmp_path):
    pw = password_file(tmp_path, "pw")
    site = _site(tmp_path, pw)
    ring = load_keyring((), [str(pw)])
    host = load_inventory([str(site)], vault=ring).get("web1")
    assert host is not None and host.vars["group_secret"] == "g-s3cret"
    assert isinstance(host.vars["token"], VaultValue)  # a value waits until it is read
    with pytest.raises(InputError) as err:
        load_inventory([str(site)])
    assert str(err.value).endswith(
        "group_vars/all.yml:1: this is encrypted with Ansible Vault and no vault password was given"
    )
    with pytest.raises(InputError, match="all.yml:1: Decryption failed"):
        load_inventory([str(site)], vault=Keyring((("default", b"wrong"),)))


def test_the_cli_without_a_password_stops_before_anything_runs(tmp_path):
    pw = password_file(tmp_path, "pw")
    site = _site(tmp_path, pw)
    result = run_inprocess("run", "-i", str(site), "all", "true")
    assert result.exit_code == 1, result
    assert "all.yml:1: this is encrypted with Ansible Vault" in result.stderr
    assert "--vault-password-file" in result.stderr and "Traceback" not in result.stderr
    result = run_inprocess("inventory", "-i", str(site), "--list", "--vault-password-file", "/nope")
    assert result.exit_code == 1 and "vault password file was not found" in result.stderr, result


def test_inventory_list_shows_vault_and_unsafe_values_as_ansible_inventory(tmp_path):
    pw = password_file(tmp_path, "pw")
    site = _site(tmp_path, pw)
    ours = run_inprocess("inventory", "-i", str(site), "--list", "--vault-password-file", str(pw))
    assert ours.exit_code == 0, ours
    theirs = subprocess.run(
        [tool("ansible-inventory"), "-i", str(site), "--list", "--vault-password-file", str(pw)],
        capture_output=True, text=True, env=ansible_env(tmp_path), timeout=120,
    )  # fmt: skip
    assert theirs.returncode == 0, theirs.stderr
    expected = json.loads(theirs.stdout)["_meta"]["hostvars"]["web1"]
    assert json.loads(ours.stdout)["_meta"]["hostvars"]["web1"] == expected
    assert "host-secret" not in ours.stdout and "__ansible_vault" in ours.stdout
    assert expected["plain"] == {"__ansible_unsafe": "{{ not_rendered }}"}
    env = {"ANSIBLE_VAULT_PASSWORD_FILE": str(pw)}
    yaml_out = run_inprocess("inventory", "-i", str(site), "--host", "web1", "--yaml", env=env)
    assert "token: !vault |" in yaml_out.stdout and "g-s3cret" in yaml_out.stdout, yaml_out
    # --graph --vars shows values decrypted, as ansible-inventory does (asked for: --vars)
    args = ["-i", str(site), "--graph", "--vars", "--vault-password-file", str(pw)]
    graph = run_inprocess("inventory", *args)
    theirs = subprocess.run(
        [tool("ansible-inventory"), *args], capture_output=True, text=True,
        env=ansible_env(tmp_path), timeout=120,
    )  # fmt: skip
    assert graph.stdout.strip() == theirs.stdout.strip() and "host-secret" in graph.stdout
    locked = run_inprocess("inventory", *args[:4])
    assert locked.exit_code == 1 and "this is encrypted with Ansible Vault" in locked.stderr


# -- playbooks on localhost, against ansible-playbook ----------------------------------

PLAY = """\
- hosts: all
  gather_facts: false
  vars_files: [secrets.yml, whole.yml]
  vars:
    other: RENDERED
    u: !unsafe "lit {{ other }}"
    nested: !unsafe
      a: ["{{ other }}"]
  tasks:
    - debug: msg="{{ secret }}|{{ tricky }}|{{ whole_secret }}"
    - debug: msg="{{ u }}|{{ nested.a[0] }}"
    - set_fact:
        copied: "{{ u }}"
        nested2: "{{ nested }}"
    - debug: msg="{{ copied }}|{{ nested2.a[0] }}"
    - command: echo "{{ u }} {{ secret }}"
      register: r
    - debug: msg="{{ r.stdout }}"
"""


def _playbook(tmp_path: Path, pw: Path) -> Path:
    (tmp_path / "secrets.yml").write_text(
        encrypt_string(tmp_path, "s3cret", "secret", "--vault-password-file", str(pw))
        + encrypt_string(tmp_path, "{{ other }}", "tricky", "--vault-password-file", str(pw))
    )
    (tmp_path / "whole.yml").write_text("whole_secret: w-s3cret\n")
    vault(tmp_path, "encrypt", "--vault-password-file", str(pw), "whole.yml")
    play = tmp_path / "play.yml"
    play.write_text(PLAY)
    return play


def test_playbook_vault_and_unsafe_match_ansible_playbook(tmp_path):
    pw = password_file(tmp_path, "pw")
    play = _playbook(tmp_path, pw)
    import re

    done = subprocess.run(
        [tool("ansible-playbook"), "-i", "localhost,", "-c", "local", str(play),
         "--vault-password-file", str(pw)],
        capture_output=True, text=True, env=ansible_env(tmp_path), timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    theirs = [json.loads(m) for m in re.findall(r'"msg": (".*")$', done.stdout, re.M)]
    res = run_inprocess(
        "play", "-i", "localhost,", "-e", "ansible_connection=local", "--json", str(play),
        "--vault-id", f"default@{pw}",
    )  # fmt: skip
    assert res.exit_code == 0, res
    ours = [
        r["result"]["msg"]
        for r in json_records(res.stdout)
        if r.get("type") == "task" and r.get("module") == "debug"
    ]
    assert (
        ours
        == theirs
        == [
            "s3cret|{{ other }}|w-s3cret",
            "lit {{ other }}|{{ other }}",
            "lit {{ other }}|{{ other }}",
            "lit {{ other }} s3cret",
        ]
    )


def test_without_a_password_only_the_tasks_reading_a_vault_value_fail(tmp_path):
    pw = password_file(tmp_path, "pw")
    (tmp_path / "secrets.yml").write_text(
        encrypt_string(tmp_path, "s3cret", "db_password", "--vault-password-file", str(pw))
    )
    play = tmp_path / "play.yml"
    play.write_text(
        "- hosts: all\n  gather_facts: false\n  vars_files: [secrets.yml]\n  tasks:\n"
        "    - debug: msg=before\n"
        "    - debug: var=db_password\n      ignore_errors: true\n"
        "    - debug: msg=after\n"
    )
    res = run_inprocess(
        "play", "-i", "localhost,", "-e", "ansible_connection=local", "--json", str(play)
    )
    records = [r for r in json_records(res.stdout) if r.get("type") == "task"]
    assert [r["status"] for r in records] == ["ok", "failed", "ok"], res
    assert records[1]["ignored"] is True
    assert records[1]["msg"].startswith(
        f"{tmp_path / 'secrets.yml'}:1: variable 'db_password' is encrypted with Ansible Vault"
        " and no vault password was given: give the vault password with --vault-password-file"
    )


# -- settings read straight from a host's variables --------------------------------------


def test_vaulted_passwords_in_the_inventory_are_decrypted_for_ssh_and_sudo():
    from runner.become import host_become
    from runner.config import BecomeConfig, ConnectionConfig
    from runner.models import Host
    from runner.transport.ssh.context import SSHContext
    from runner.transport.ssh.transport import _inventory_password

    ssh = VaultValue(crypto.encrypt(b"ssh-pw", b"k"), "hosts.yml", 4)
    sudo = VaultValue(crypto.encrypt(b"sudo-pw", b"k"), "hosts.yml", 5)
    host = Host("web1", {"ansible_password": ssh, "ansible_become_password": sudo})
    context = SSHContext(
        ConnectionConfig(ssh_config="none"), Secrets(vault_passwords=(("default", b"k"),))
    )
    assert _inventory_password(host, context) == "ssh-pw"
    become = host_become(context.vault.revealing(host.vars), BecomeConfig(enabled=True), None)
    assert become is not None and become.password == "sudo-pw"
    locked = SSHContext(ConnectionConfig(ssh_config="none"), Secrets())
    with pytest.raises(VaultError, match="hosts.yml:4: variable 'ansible_password' is encrypted"):
        _inventory_password(host, locked)


def test_an_encrypted_extra_vars_file_is_decrypted(tmp_path):
    from runner.inventory.extravars import parse_extra_vars

    pw = password_file(tmp_path, "pw")
    extra = tmp_path / "extra.yml"
    extra.write_text(crypto.encrypt(b"release: 42\n", b"pw"))
    assert parse_extra_vars([f"@{extra}"], load_keyring((), [str(pw)])) == {"release": 42}
    with pytest.raises(InputError, match="extra.yml:1: this is encrypted with Ansible Vault"):
        parse_extra_vars([f"@{extra}"])
    res = run_inprocess(
        "inventory", "-i", "web1,", "--host", "web1", "-e", f"@{extra}",
        "--vault-password-file", str(pw),
    )  # fmt: skip
    assert res.exit_code == 0 and json.loads(res.stdout)["release"] == 42, res


@pytest.mark.parametrize(
    "kind, name, text",
    [
        ("ini", "hosts", "[web]\nweb1 ansible_connection=local marker=ini-ok\n"),
        ("yaml", "hosts.yml", "all:\n  hosts:\n    web1:\n      marker: yaml-ok\n"),
        ("playbook", "site.yml", "- hosts: all\n  gather_facts: false\n  tasks:\n"
         "    - debug: msg=playbook-ok\n"),
    ],
)  # fmt: skip
def test_encrypted_inventories_and_playbooks_are_read_with_the_password(tmp_path, kind, name, text):
    pw = password_file(tmp_path, "pw")
    path = tmp_path / name
    path.write_text(text)
    vault(tmp_path, "encrypt", "--vault-password-file", str(pw), name)
    if kind == "playbook":
        args = ["play", "-i", "web1,", "-e", "ansible_connection=local", "--json", str(path)]
    else:
        args = ["inventory", "-i", str(path), "--host", "web1"]
    opened = run_inprocess(*args, "--vault-password-file", str(pw))
    assert opened.exit_code == 0 and f"{kind}-ok" in opened.stdout, opened
    locked = run_inprocess(*args)
    assert locked.exit_code == 1, locked
    assert f"{name}:1: this is encrypted with Ansible Vault and no vault password" in locked.stderr
    wrong = run_inprocess(*args, "--vault-id", f"prod@{password_file(tmp_path, 'x', 'bad')}")
    assert wrong.exit_code == 1 and f"{name}:1: Decryption failed" in wrong.stderr, wrong


def test_ask_vault_pass_without_a_terminal_says_what_to_use_instead():
    res = run_inprocess("inventory", "-i", "web1,", "--list", "--ask-vault-pass")
    assert res.exit_code == 1, res
    assert "Vault password requested but stdin is not a terminal" in res.stderr
    assert "--vault-password-file" in res.stderr


def test_inventory_connection_view_decrypts_vaulted_settings(tmp_path):
    pw = password_file(tmp_path, "pw")
    block = encrypt_string(tmp_path, "2299", "ansible_port", "--vault-password-file", str(pw))
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        "all:\n  hosts:\n    web1:\n      " + block.replace("\n", "\n      ").rstrip() + "\n"
    )
    args = ["inventory", "-i", str(inventory), "--host", "web1", "--connection", "--json"]
    shown = run_inprocess(*args, "--ssh-config", "none", "--vault-password-file", str(pw))
    assert shown.exit_code == 0, shown
    assert json.loads(shown.stdout)["settings"]["port"] == {
        "value": 2299,
        "source": "inventory: ansible_port",
    }
    locked = run_inprocess(*args, "--ssh-config", "none")
    assert locked.exit_code == 1, locked
    assert "hosts.yml:4: variable 'ansible_port' is encrypted with Ansible Vault" in locked.stderr


def test_tagged_json_from_an_inventory_script_is_read_as_ansible_reads_it(tmp_path):
    """A script printing what ``ansible-inventory --list`` wrote: {"__ansible_vault": ...}
    and {"__ansible_unsafe": ...} are a vaulted value and unsafe text again."""
    pw = password_file(tmp_path, "pw")
    site = _site(tmp_path, pw)
    listed = tmp_path / "listed.json"
    ours = run_inprocess("inventory", "-i", str(site), "--list", "--vault-password-file", str(pw))
    listed.write_text(ours.stdout)
    script = tmp_path / "inventory.sh"
    script.write_text(f"#!/bin/sh\ncat {listed}\n")
    script.chmod(0o755)
    again = run_inprocess("inventory", "-i", str(script), "--list")
    theirs = subprocess.run(
        [tool("ansible-inventory"), "-i", str(script), "--list"],
        capture_output=True, text=True, env=ansible_env(tmp_path), timeout=120,
    )  # fmt: skip
    assert theirs.returncode == 0, theirs.stderr
    expected = json.loads(theirs.stdout)["_meta"]["hostvars"]["web1"]
    assert json.loads(again.stdout)["_meta"]["hostvars"]["web1"] == expected
    assert expected["token"]["__ansible_vault"].startswith("$ANSIBLE_VAULT;1.1;AES256")
    res = run_inprocess(
        "run", "-i", str(script), "-e", "ansible_connection=local", "--vault-password-file",
        str(pw), "all", "echo {{ token }} {{ plain }}",
    )  # fmt: skip
    assert res.exit_code == 0 and "host-secret {{ not_rendered }}" in res.stdout, res
