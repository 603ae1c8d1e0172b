"""How the tests' real Ansible commands (ansible-playbook, ansible) reach the fleet's sshd:
one SSH login per host for the whole command (ControlMaster, ControlPersist, Ansible's own
default), each step of each task a session on it, instead of a new SSH login (key
exchange, authentication, a new sshd process) for every step.

Pipelining is left as each test sets it: it changes what a module sees (no remote_tmp made
beforehand, so a module may warn that it made one), and the tests compare those results.

Each call gets a short folder of its own for the control sockets (a socket path has room
for about 100 characters, and a pytest tmp_path is long), so no connection is shared
between tests (a master outlives its command: ControlPersist). tests/conftest.py's
``end_ansible_masters`` fixture ends the masters after every test, so none outlives the
test's sshd.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

_FOLDERS: list[Path] = []


def ansible_ssh_env() -> dict[str, str]:
    """The ANSIBLE_* settings for one Ansible command: throwaway host keys accepted and
    not recorded, one multiplexed connection per host."""
    folder = Path(tempfile.mkdtemp(prefix="rt-cp-"))
    _FOLDERS.append(folder)
    return {
        "ANSIBLE_SSH_ARGS": (
            "-o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=/dev/null"
        ),
        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(folder),
    }


def end_masters() -> None:
    """Ask every master connection started since the last call to exit, and remove its
    folder."""
    while _FOLDERS:
        folder = _FOLDERS.pop()
        for socket in folder.iterdir() if folder.is_dir() else ():
            subprocess.run(
                ["ssh", "-O", "exit", "-o", f"ControlPath={socket}", "ended-by-tests"],
                capture_output=True,
                timeout=30,
            )
        shutil.rmtree(folder, ignore_errors=True)
