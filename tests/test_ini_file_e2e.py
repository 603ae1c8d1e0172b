"""A module of a real published collection through the module bridge, end to end:
``community.general.ini_file`` (from the ``ansible`` bundle's wheel, of which
``make test-deps`` unpacks only community.general and ansible.posix into .venv/ansible-collections) run by runner
and by ansible-playbook on the same sshd host from the same state: the same recap and
the same files. Without the collection the test skips; under CI=true it fails."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.ansible_side import ansible_playbook, ansible_recap, runner_recap, same_recap, tree

pytestmark = pytest.mark.sshd

PLAY = """\
- hosts: all
  gather_facts: false
  tasks:
    - community.general.ini_file:
        path: "{{ out }}/{{ inventory_hostname }}/app.ini"
        section: main
        option: port
        value: "80"
        create: true
        mode: "0640"
    - name: the same again changes nothing
      community.general.ini_file: path={{ out }}/{{ inventory_hostname }}/app.ini section=main option=port value=80
    - community.general.ini_file:
        path: "{{ out }}/{{ inventory_hostname }}/app.ini"
        section: db
        option: host
        value: db01
    - community.general.ini_file:
        path: "{{ out }}/{{ inventory_hostname }}/app.ini"
        section: main
        option: port
        state: absent
"""


def collections_path() -> Path:
    """The folder holding ansible_collections/community/general: RUNNER_TEST_COLLECTIONS,
    else the test venv's collections folder (make test-deps fills it)."""
    root = Path(
        os.environ.get("RUNNER_TEST_COLLECTIONS") or Path(sys.prefix) / "ansible-collections"
    )
    if not (root / "ansible_collections" / "community" / "general").is_dir():
        reason = f"community.general is not unpacked under {root} (make test-deps does it)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    return root


def test_community_general_ini_file_as_ansible_playbook(make_fleet, in_process, tmp_path):
    collections = collections_path()
    fleet = make_fleet(1)
    book = tmp_path / "site.yml"
    book.write_text(PLAY)
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    env = {"ANSIBLE_COLLECTIONS_PATH": str(collections)}
    res = in_process("play", *fleet.args(), "--json", "-e", f"out={ours}", str(book), env=env)
    done = ansible_playbook(
        tmp_path, "-i", str(fleet.inventory), "-e", f"out={theirs}", str(book), env=env,
        timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert res.exit_code == 0, res
    same_recap(runner_recap(res.stdout), ansible_recap(done.stdout))
    assert runner_recap(res.stdout)[fleet.names[0]]["changed"] == 3
    assert tree(ours) == tree(theirs)
    written = tree(ours)[f"{fleet.names[0]}/app.ini"]
    assert "[db]" in written and "host = db01" in written and "port" not in written
    mode = (ours / fleet.names[0] / "app.ini").stat().st_mode & 0o777
    assert mode == (theirs / fleet.names[0] / "app.ini").stat().st_mode & 0o777 == 0o640
