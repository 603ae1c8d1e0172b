"""Run the real ansible-playbook beside runner on the same fleet and compare what matters:
the PLAY RECAP counts, the exit code and the files left behind.

One helper for every differential test, so each test file does not grow its own copy.
ansible-playbook is a test dependency (in .venv); ``tool`` skips without it and fails under
CI=true.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.ansible_ssh import ansible_ssh_env
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
    home, accepting the fleet's throwaway host keys, one SSH connection a host
    (tests/ansible_ssh.py: ended after the test)."""
    full = {
        **ansible_env(tmp_path),
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        **ansible_ssh_env(),  # one connection a host: tests/ansible_ssh.py
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


# Runs ansible-core's own modules in one Python process on the control node, each with
# its arguments given through ansible.module_utils.testing (ansible-core's unit-test
# support): the real module code, without ansible-playbook's seconds per task.
_MODULE_DRIVER = """
import contextlib, importlib, io, json, sys
from ansible.module_utils.testing import patch_module_args
out = []
for module, args in json.load(open(sys.argv[1])):
    main = importlib.import_module("ansible.modules." + module).main
    printed = io.StringIO()
    with patch_module_args(args), contextlib.redirect_stdout(printed):
        try:
            main()
        except SystemExit:
            pass
    text = printed.getvalue()
    out.append(json.loads(text[text.index("{"):]))
json.dump(out, open(sys.argv[2], "w"))
"""


def ansible_modules(tmp_path: Path, runs: list[tuple[str, dict]]) -> list[dict]:
    """What ansible-core's module returns for each (module name, arguments), run locally
    in one process (the modules act on this machine: give them paths under tmp_path)."""
    python = Path(tool("ansible-playbook")).parent / "python"
    (tmp_path / "runs.json").write_text(json.dumps(runs))
    driver = tmp_path / "driver.py"
    driver.write_text(_MODULE_DRIVER)
    home = tmp_path / "ansible-home"
    home.mkdir(exist_ok=True)
    done = subprocess.run(
        [str(python), str(driver), str(tmp_path / "runs.json"), str(tmp_path / "out.json")],
        capture_output=True, text=True, timeout=300,
        env={**ansible_env(tmp_path), "HOME": str(home)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((tmp_path / "out.json").read_text())
