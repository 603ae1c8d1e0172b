"""become_method su, become_flags and become_exe on real sshd.

su asks for the *target* user's password, on a terminal only: runner gives the command
a pty and answers su's prompt. The test makes a throwaway user (runner-su) with a known
password, logs in as runner-e2e (user_sshd) and su's to it; as root (the session sshd)
su needs no password. The user is removed afterwards.
"""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import json_records

pytestmark = pytest.mark.machine_wide  # users, dpkg or /etc: see tests/shards.py

SU_USER = "runner-su"
SU_PASSWORD = "Su-pw-8128"

PLAY = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: su with the target's password
      command: id -un
      become: true
      become_method: su
      become_user: runner-su
      register: su_out
      when: inventory_hostname == 'plain'
    - name: su as root needs none
      shell: id -un
      become: true
      become_method: su
      become_user: runner-e2e
      register: root_su
      when: inventory_hostname == 'rooted'
    - name: sudo with become_flags and become_exe
      command: id -un
      become: true
      become_flags: "-H -S -n"
      become_exe: /usr/bin/sudo
      register: flagged
      when: inventory_hostname == 'rooted'
    - assert:
        that:
          - su_out.stdout == 'runner-su'
      when: inventory_hostname == 'plain'
    - assert:
        that:
          - root_su.stdout == 'runner-e2e'
          - flagged.stdout == 'root'
      when: inventory_hostname == 'rooted'
"""


@pytest.fixture
def su_user(user_sshd):
    if user_sshd is None:
        pytest.skip("needs root to create a user with a password")
    subprocess.run(["userdel", SU_USER], capture_output=True)
    subprocess.run(["useradd", "-M", "-d", "/tmp", "-s", "/bin/sh", SU_USER], check=True)
    subprocess.run(["chpasswd"], input=f"{SU_USER}:{SU_PASSWORD}\n", text=True, check=True)
    try:
        yield SU_USER
    finally:
        subprocess.run(["userdel", SU_USER], check=True)


def inventory(tmp_path, sshd, user_sshd, password: str):
    path = tmp_path / "hosts.ini"
    key = sshd.client_key
    path.write_text(
        f"plain ansible_host=127.0.0.1 ansible_port={user_sshd.port} "
        f"ansible_user={user_sshd.user} ansible_ssh_private_key_file={key} "
        f"ansible_become_password={password}\n"
        f"rooted ansible_host=127.0.0.1 ansible_port={sshd.port} ansible_user={sshd.user} "
        f"ansible_ssh_private_key_file={key}\n"
    )
    return path


def test_su_flags_and_exe(sshd, user_sshd, su_user, in_process, tmp_path):
    book = tmp_path / "su.yml"
    book.write_text(PLAY.replace("runner-e2e", user_sshd.user))  # one user a shard
    hosts = inventory(tmp_path, sshd, user_sshd, SU_PASSWORD)
    known = str(tmp_path / "known_hosts")
    done = in_process("play", "-i", str(hosts), "--known-hosts", known, str(book), "--json")
    assert done.exit_code == 0, (done.stdout[-3000:], done.stderr)
    assert SU_PASSWORD not in done.stdout + done.stderr
    recap = next(r for r in json_records(done.stdout) if r["type"] == "recap")["hosts"]
    assert recap["plain"]["ok"] == 2 and recap["rooted"]["ok"] == 3
    # a wrong password: su's refusal, said as such, and the password never shown
    hosts = inventory(tmp_path, sshd, user_sshd, "wrong-pw")
    done = in_process("play", "-i", str(hosts), "--known-hosts", known, str(book), "--json")
    assert done.exit_code == 2
    failed = [
        r for r in json_records(done.stdout) if r["type"] == "task" and r.get("status") == "failed"
    ]
    assert failed and failed[0]["host"] == "plain", failed
    assert "su: incorrect password for runner-su" in str(failed[0]), failed[0]
    assert "wrong-pw" not in done.stdout
