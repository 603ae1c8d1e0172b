"""bench/project.py: how it reads each tool's recap and keeps its own RESULTS.md
section, and one small run (2 hosts, the runner column) end to end so it does not rot."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import require_sshd

BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.fixture(scope="module")
def project():
    sys.path.insert(0, str(BENCH))  # project.py imports its neighbours common and fleet
    spec = importlib.util.spec_from_file_location("bench_project", BENCH / "project.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_project"] = module  # its dataclass looks itself up there
    spec.loader.exec_module(module)
    return module


ANSIBLE_OUT = """\
PLAY RECAP *********************************************************************
h01                        : ok=16   changed=12   unreachable=0    failed=0    skipped=1    rescued=0    ignored=0
h02                        : ok=15   changed=0    unreachable=1    failed=0    skipped=0    rescued=0    ignored=0
"""  # noqa: E501
RUNNER_OUT = (
    '{"type": "task", "name": "x"}\n'
    '{"type": "recap", "hosts": {"h01": {"ok": 16, "changed": 12, "unreachable": 0, '
    '"failed": 0, "skipped": 1}, "h02": {"ok": 15, "changed": 0, "unreachable": 1, '
    '"failed": 0, "skipped": 0}}}\n'
)


def test_both_recaps_read_the_same(project):
    theirs = project.recap_of("ansible", ANSIBLE_OUT)
    assert theirs == {"h01": (16, 12, 0, 0, 1), "h02": (15, 0, 1, 0, 0)}
    assert project.recap_of("runner", RUNNER_OUT) == theirs
    assert project.recap_of("runner", "no recap\n") == {}


def test_its_section_replaces_only_its_own(project, tmp_path, monkeypatch):
    results = tmp_path / "RESULTS.md"
    monkeypatch.setattr(project, "RESULTS", results)
    results.write_text("# Results\n\n## Other\n\nkept\n")
    project.write_section(f"{project.TITLE}\n\nfirst\n")
    project.write_section(f"{project.TITLE}\n\nsecond\n")
    assert results.read_text() == f"# Results\n\n## Other\n\nkept\n\n{project.TITLE}\n\nsecond\n"
    results.write_text(f"# Results\n\n{project.TITLE}\n\nold\n\n## Later\n\nkept\n")
    project.write_section(f"{project.TITLE}\n\nnew\n")
    assert results.read_text() == f"# Results\n\n{project.TITLE}\n\nnew\n\n## Later\n\nkept\n"


@pytest.mark.sshd
def test_two_hosts_runner_column(tmp_path):
    require_sshd()
    done = subprocess.run(
        [sys.executable, str(BENCH / "project.py"), "--hosts", "2", "--tools", "runner"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    row = next(line for line in done.stdout.splitlines() if line.startswith("| runner play"))
    cells = [c.strip() for c in row.split("|")[1:-1]]
    assert cells[1] == "ok" and float(cells[2]) > 0 and float(cells[3]) > 0, row
    assert "Load average" in done.stdout
