"""The execution keywords end to end on real sshd, beside the real ansible-playbook:
one playbook run by each tool from the same clean state, compared by PLAY RECAP, exit
code and the files left behind.

The fleet: web01/web02 log in as root on the session sshd; db01 and app01 live on a
second sshd (``user_sshd``, another port) where db01's inventory says
``ansible_user: runner-e2e`` and app01 names no user (the play's remote_user decides);
dead01 points at a port nothing listens on. A task delegated to db01 therefore proves
where it ran: ``id -un`` and the server port in ``$SSH_CONNECTION`` are db01's.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
from pathlib import Path

import pytest
import yaml

from tests.ansible_side import ansible_playbook, ansible_recap, runner_recap, same_recap, tree

PLAYBOOK = """\
- name: keywords
  hosts: web:db:dead01
  gather_facts: false
  order: reverse_sorted
  force_handlers: true
  vars:
    proxy: {KW_PROXY: "http://proxy:3128"}
  environment: "{{ proxy }}"
  tasks:
    - name: reach
      command: "true"
      ignore_unreachable: true
    - name: delegated to the first db host
      shell: echo "$(id -un) ${SSH_CONNECTION##* }"
      delegate_to: "{{ groups['db'][0] }}"
      register: where
      when: inventory_hostname in groups['web']
    - name: written on the control node
      copy:
        content: "{{ where.stdout }}\\n"
        dest: "{{ out }}/{{ inventory_hostname }}.delegated"
      delegate_to: localhost
      when: inventory_hostname in groups['web']
    - name: environment, templated per host, on a local connection
      shell: echo "$KW_PROXY $KW_HOST" > {{ out }}/{{ inventory_hostname }}.env
      connection: local
      environment: [{KW_HOST: "{{ inventory_hostname }}"}]
    - name: one host at a time
      shell: mkdir {{ out }}/lock && sleep 0.2 && rmdir {{ out }}/lock
      connection: local
      throttle: 1
    - block:
        - name: once for all
          shell: echo ran >> {{ out }}/once.log; echo first
          register: once
          connection: local
      run_once: true
    - name: the run_once result on every host
      local_action:
        module: copy
        content: "{{ once.stdout }}\\n"
        dest: "{{ out }}/{{ inventory_hostname }}.once"
    - name: notify
      command: "true"
      changed_when: true
      notify: mark
      when: inventory_hostname in groups['web']
    - name: web01 fails after notifying
      command: /bin/false
      when: inventory_hostname == 'web01'
  handlers:
    - name: mark
      shell: echo handled > {{ out }}/{{ inventory_hostname }}.handler
      connection: local

- name: remote_user
  hosts: app01
  gather_facts: false
  remote_user: runner-e2e
  tasks:
    - command: id -un
      register: play_user
    - command: id -un
      remote_user: root
      register: task_user
    - action: copy content="{{ play_user.stdout }} {{ task_user.stdout }}" dest={{ out }}/app01.users
      delegate_to: localhost

- name: free
  hosts: web02:db01
  gather_facts: false
  strategy: free
  tasks:
    - shell: echo "{{ inventory_hostname }}" > {{ out }}/{{ inventory_hostname }}.free1
      connection: local
    - command: id -un
      register: free_user
    - copy:
        content: "{{ free_user.stdout }}\\n"
        dest: "{{ out }}/{{ inventory_hostname }}.free"
      delegate_to: localhost
"""


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_inventory(path: Path, sshd, user_sshd) -> Path:
    common = {
        "ansible_host": "127.0.0.1",
        "ansible_ssh_private_key_file": str(sshd.client_key),
        # ansible-playbook's modules run as runner-e2e too, which cannot run the venv's
        "ansible_python_interpreter": "/usr/bin/python3",
    }
    hosts = {
        "web01": {"ansible_port": sshd.port, "ansible_user": sshd.user},
        "web02": {"ansible_port": sshd.port, "ansible_user": sshd.user},
        "db01": {"ansible_port": user_sshd.port, "ansible_user": user_sshd.user},
        "app01": {"ansible_port": user_sshd.port},
        "dead01": {"ansible_port": closed_port(), "ansible_user": sshd.user},
    }
    inventory = {
        "all": {
            "vars": common,
            "hosts": hosts,
            "children": {
                "web": {"hosts": {"web01": None, "web02": None}},
                "db": {"hosts": {"db01": None}},
            },
        }
    }
    path.write_text(yaml.safe_dump(inventory, sort_keys=False))
    return path


def test_keywords_as_ansible_playbook_runs_them(sshd, user_sshd, in_process, tmp_path):
    if user_sshd is None:
        pytest.skip("needs root: a second sshd where another user logs in")
    inventory = write_inventory(tmp_path / "hosts.yml", sshd, user_sshd)
    book = tmp_path / "site.yml"
    book.write_text(PLAYBOOK.replace("runner-e2e", user_sshd.user))  # one user a shard
    theirs_out, ours_out = tmp_path / "theirs", tmp_path / "ours"
    theirs_out.mkdir()
    ours_out.mkdir()
    # Ansible's module files, for root and runner-e2e (who cannot enter tmp_path)
    remote_tmp = Path(tempfile.mkdtemp(prefix="runner-kw-"))
    remote_tmp.chmod(0o1777)
    try:
        theirs = ansible_playbook(
            tmp_path, "-i", str(inventory), str(book), "-e", f"out={theirs_out}",
            env={"ANSIBLE_REMOTE_TMP": f"{remote_tmp}/$USER"},  # $USER: on the host
        )  # fmt: skip
    finally:
        shutil.rmtree(remote_tmp, ignore_errors=True)
    ours = in_process(
        "play", "-i", str(inventory), "--known-hosts", str(tmp_path / "known_hosts"),
        str(book), "-e", f"out={ours_out}", "--json",
    )  # fmt: skip
    assert theirs.returncode == 2, theirs.stdout[-4000:]
    assert ours.exit_code == theirs.returncode, (ours.stdout[-4000:], ours.stderr)
    same_recap(runner_recap(ours.stdout), ansible_recap(theirs.stdout))
    files = tree(ours_out)
    assert files == tree(theirs_out)
    # what the comparison rests on, said outright
    assert files["web01.delegated"] == f"{user_sshd.user} {user_sshd.port}\n"
    assert files["dead01.env"] == "http://proxy:3128 dead01\n"  # went on after unreachable
    assert files["once.log"] == "ran\n" and files["web01.once"] == "first\n"
    assert "web01.handler" in files  # force_handlers: web01 failed after notifying
    assert files["app01.users"] == f"{user_sshd.user} root"
    assert files["db01.free"] == f"{user_sshd.user}\n" and files["web02.free"] == "root\n"
