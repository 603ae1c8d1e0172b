"""authorized_key natively against ansible.posix.authorized_key through runner's module
bridge, on the real sshd fleet, from the same starting state: the same recap, the same
registered keys and values, byte-for-byte the same files. The keys files live under tmp
(``path:``), for root (the fleet logs in as root here); a second native run changes
nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.posix_side import collections_env
from tests.system_side import dump_task, read_registered, runner_recap
from tests.test_native_vs_bridge_e2e import MODES, compare_registered, run_native_and_bridged

pytestmark = pytest.mark.sshd

K1 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOne one@example"
K2 = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQTwo"
K3 = 'from="127.0.0.1" ecdsa-sha2-nistp256 AAAAE2VjZHNhThree three'
REGISTERED = [f"a{i}" for i in range(1, 14)]

PLAY = f"""\
- hosts: all
  gather_facts: false
  vars:
    keys: "{{{{ d }}}}/ssh/authorized_keys"
    k1: '{K1}'
    k2: '{K2}'
    k3: '{K3}'
  tasks:
    - authorized_key: {{user: root, key: "{{{{ k1 }}}}", path: "{{{{ keys }}}}"}}
      register: a1
    - authorized_key: {{user: root, key: "{{{{ k1 }}}}", path: "{{{{ keys }}}}"}}
      register: a2
    - authorized_key:
        user: root
        path: "{{{{ keys }}}}"
        key: |
          # a comment line in the key is skipped
          {{{{ k2 }}}}
          {{{{ k3 }}}}
      register: a3
    - authorized_key:
        user: root
        path: "{{{{ keys }}}}"
        key: "{{{{ k2 }}}}"
        key_options: 'no-pty,from="127.0.0.1,::1"'
      register: a4
    - authorized_key: {{user: root, key: "{{{{ k2 }}}}", path: "{{{{ keys }}}}", key_options: 'no-pty,from="127.0.0.1,::1"'}}
      register: a5
    - authorized_key: {{user: root, key: "{{{{ k3 }}}}", path: "{{{{ keys }}}}", state: absent}}
      register: a6
    - authorized_key: {{user: root, key: "{{{{ k3 }}}}", path: "{{{{ keys }}}}", state: absent}}
      register: a7
    - authorized_key: {{user: root, key: "{{{{ k3 }}}}", path: "{{{{ keys }}}}"}}
      check_mode: true
      diff: true
      register: a8
    - authorized_key: {{user: root, key: "{{{{ k1 }}}}", path: "{{{{ keys }}}}", comment: renamed}}
      diff: true
      register: a9
    - authorized_key:
        user: root
        path: "{{{{ d }}}}/pre/authorized_keys"
        key: "{{{{ k1 }}}}\\n{{{{ k3 }}}}"
        exclusive: true
      register: a10
    - authorized_key: {{user: root, key: "{{{{ k2 }}}}", path: "{{{{ d }}}}/pre/authorized_keys", manage_dir: false}}
      register: a11
    - authorized_key: {{user: runner-no-such-user, key: "{{{{ k1 }}}}"}}
      register: a12
      ignore_errors: true
    - authorized_key: {{user: root, key: "not a key", path: "{{{{ keys }}}}"}}
      register: a13
      ignore_errors: true
""" + dump_task(REGISTERED)

KEYS = ("changed", "keyfile", "key", "path", "state", "exclusive", "key_options", "comment")
KEYS += ("manage_dir", "follow", "user", "diff")


def _seed(root: Path) -> None:
    (root / "pre").mkdir(parents=True)
    (root / "pre" / "authorized_keys").write_text(
        "# keep me? not with exclusive\nssh-rsa AAAAB3preexisting old@host\n" + K1 + "\n"
    )


def test_authorized_key_native_as_bridged(make_fleet, in_process, tmp_path):
    env = collections_env()
    fleet = make_fleet(1)
    host = fleet.names[0]
    roots = {mode: tmp_path / f"k-{mode[0]}" for mode in MODES}  # one length

    def reset(mode: str) -> dict[str, str]:
        _seed(roots[mode])
        return {"d": str(roots[mode])}

    recaps, outs = run_native_and_bridged(
        tmp_path, fleet, in_process, PLAY, reset, ("authorized_key",), probe="a1", env=env
    )
    assert recaps["native"][host]["changed"] == 9, recaps  # 8 tasks (a8 in check mode) and the dump
    assert recaps["native"][host]["ignored"] == 2, recaps
    for mode in MODES:
        path = outs[mode] / f"{host}.json"
        path.write_text(path.read_text().replace(str(roots[mode]), "D"))
    names = [n for n in REGISTERED if n not in ("a12", "a13")]
    compare_registered(outs, host, names, KEYS)
    for mode in MODES:
        failed = read_registered(outs[mode], host)
        assert failed["a12"]["failed"] and failed["a13"]["failed"], failed
        assert "invalid key specified: not a key" in failed["a13"]["msg"]
    files = {
        mode: {
            str(p.relative_to(roots[mode])): (
                p.read_bytes() if p.is_file() else None,
                oct(p.stat().st_mode),
            )
            for p in sorted(roots[mode].rglob("*"))
        }
        for mode in MODES
    }
    assert files["native"] == files["bridged"]
    text = (roots["native"] / "ssh" / "authorized_keys").read_text()
    assert 'no-pty,from="127.0.0.1,::1" ssh-rsa' in text and "renamed" in text, text
    assert "ecdsa" not in text  # a8 was check mode
    assert (roots["native"] / "pre" / "authorized_keys").read_text().startswith("ssh-ed25519")


def test_authorized_key_converged_run_changes_nothing(make_fleet, in_process, tmp_path):
    fleet = make_fleet(1)
    keys = tmp_path / "keys" / "authorized_keys"
    book = tmp_path / "play.yml"
    tasks = [
        {"authorized_key": {"user": "root", "key": f"{K1}\n{K2}", "path": str(keys),
                            "exclusive": True}},
        {"authorized_key": {"user": "root", "key": K3, "path": str(keys), "state": "absent"}},
    ]  # fmt: skip
    book.write_text(
        "- hosts: all\n  gather_facts: false\n  tasks:\n"
        + "".join(f"    - {json.dumps(t)}\n" for t in tasks)
    )
    first = in_process("play", *fleet.args(), str(book), "--json")
    assert first.exit_code == 0, first
    before = keys.read_bytes()
    assert oct(keys.stat().st_mode)[-3:] == "600" and oct(keys.parent.stat().st_mode)[-3:] == "700"
    again = in_process("play", *fleet.args(), str(book), "--json")
    assert again.exit_code == 0, again
    assert runner_recap(again.stdout)[fleet.names[0]]["changed"] == 0
    assert keys.read_bytes() == before
