"""Run the real ansible-playbook beside runner on the same fleet and compare what matters:
the PLAY RECAP counts, the exit code and the files left behind.

One helper for every differential test, so each test file does not grow its own copy.
ansible-playbook is a test dependency (in .venv); ``tool`` skips without it and fails under
CI=true.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.conftest import json_records
from tests.test_facts_e2e import recap_lines
from tests.test_vault import ansible_env, tool


def ansible_playbook(
    tmp_path: Path,
    *args: str,
    forks: int = 10,
    env: dict[str, str] | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess:
    """The real ansible-playbook with ``args``, isolated from the machine's ansible.cfg and
    home, accepting the fleet's throwaway host keys, without ControlPersist (each test's
    sshd goes away with the test)."""
    full = {
        **ansible_env(tmp_path),
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(tmp_path / "cp"),
        "ANSIBLE_SSH_ARGS": "-o ControlMaster=no -o UserKnownHostsFile=/dev/null",
        "ANSIBLE_FORKS": str(forks),
        **(env or {}),
    }
    return subprocess.run(
        [tool("ansible-playbook"), *args], capture_output=True, text=True, env=full, timeout=timeout
    )


def ansible_recap(stdout: str) -> dict[str, dict[str, int]]:
    """host -> {ok, changed, unreachable, failed, skipped, rescued, ignored} from Ansible's
    PLAY RECAP."""
    return recap_lines(stdout)


def runner_recap(stdout: str) -> dict[str, dict[str, int]]:
    """The same counts from runner's ``--json`` output."""
    return next(r for r in json_records(stdout) if r["type"] == "recap")["hosts"]


def same_recap(ours: dict[str, dict[str, int]], theirs: dict[str, dict[str, int]]) -> None:
    """Assert each host Ansible reports has the same counts under runner."""
    assert set(theirs) <= set(ours), (sorted(ours), sorted(theirs))
    for host, counts in theirs.items():
        mine = {k: ours[host].get(k, 0) for k in counts}
        assert mine == counts, (host, mine, counts)


def tree(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (relative path -> text), to compare what each tool left."""
    return {
        str(p.relative_to(folder)): p.read_text(errors="replace")
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }
