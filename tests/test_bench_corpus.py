"""bench/corpus.py: how its verdicts and blockers are read from the two tools' output, and
one small corpus measured end to end with the real ansible-playbook and runner."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from tests.test_vault import tool

SPEC = importlib.util.spec_from_file_location(
    "bench_corpus", Path(__file__).resolve().parent.parent / "bench" / "corpus.py"
)
assert SPEC and SPEC.loader
corpus = importlib.util.module_from_spec(SPEC)
sys.modules["bench_corpus"] = corpus
SPEC.loader.exec_module(corpus)
units = importlib.import_module("corpus_units")  # bench/, put on sys.path by corpus.py


@pytest.mark.parametrize(
    ("message", "row"),
    [
        (
            "roles/x/tasks/main.yml:3: unknown module 'service'; runner supports: assert, "
            "command, copy",
            "unknown module 'service'",
        ),
        (
            "site.yml:2: runner does not support the play keyword 'roles'",
            "play keyword 'roles' not supported",
        ),
        (
            "site.yml:9: runner does not support the task keyword 'throttle'",
            "task keyword 'throttle' not supported",
        ),
        ("/tmp/u/site.yml:4:7: cannot read /tmp/u/vars/a.yml; hint: x", "cannot read <path>"),
        ("a.yml:1: expected 3 items, got 12", "expected N items, got N"),
        (
            "roles/r/tasks/main.yml:5: template: local file 'a.j2' not found (looked in x)",
            "template: local file not found",
        ),
        (
            "t.yml:2: invalid condition 'x | success': No filter named 'success'.",
            "unknown filter 'success'",
        ),
    ],
)
def test_normalise_makes_one_row_per_gap(message: str, row: str) -> None:
    assert units.normalise(message) == row


def test_runner_verdicts() -> None:
    assert units.runner_verdict(0, "playbook: site.yml\n").accepted
    one = units.runner_verdict(
        1,
        "runner: error: site.yml:2: runner does not support the play keyword 'roles'\n"
        "  hint: instead: inline the role's tasks\n",
    )
    assert (one.accepted, one.reasons) == (False, ["play keyword 'roles' not supported"])
    several = units.runner_verdict(
        1,
        "runner: error: 3 problems in site.yml\n"
        "  site.yml:3: unknown module 'service'; runner supports: x\n"
        "  roles/a/tasks/main.yml:7: unknown module 'service'\n"
        "  roles/a/tasks/main.yml:9: runner does not support the task keyword 'throttle'\n"
        "  hint: see README\n",
    )
    assert several.reasons == [  # the "3 problems in" head is not a problem of its own
        "unknown module 'service'",
        "task keyword 'throttle' not supported",
    ]
    crash = units.runner_verdict(2, "Traceback (most recent call last):\nKeyError: 'x'\n")
    assert not crash.accepted and crash.reasons[0].startswith("runner crashed (exit 2)")


def test_ansible_verdicts() -> None:
    assert units.ansible_verdict(0, "").accepted
    missing = units.ansible_verdict(
        4,
        "[WARNING]: Error loading plugin 'community.general.pkgng': No module named "
        "'ansible_collections.community'\n[ERROR]: couldn't resolve module/action 'pkgng'.\n",
    )
    assert missing.reasons == ["needs collection community.general"]
    removed = units.ansible_verdict(
        4, "[ERROR]: 'sudo' is not a valid attribute for a Play\nOrigin: /x/site.yml:6:3\n"
    )
    assert removed.reasons == ["'sudo' is not a valid attribute for a Play"]


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def test_a_small_corpus_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Three units: plain tasks both tools accept, a role, and one that needs a collection
    (left out). Checks the figures and that every refusal comes with normalised reasons."""
    ansible = tool("ansible-playbook")
    root = tmp_path / "corpus"
    play = "- hosts: all\n  gather_facts: false\n  tasks:\n"
    write(root / "units" / "plain", {"site.yml": play + "    - debug: msg=hi\n"})
    write(
        root / "units" / "role",
        {
            "site.yml": "- hosts: all\n  gather_facts: false\n  roles: [r]\n",
            "roles/r/tasks/main.yml": "- debug: msg=from-role\n",
        },
    )
    write(
        root / "units" / "collection",
        {"site.yml": play + "    - community.general.ufw: rule=allow port=22\n"},
    )
    (root / "MANIFEST.json").write_text(json.dumps([{"unit": "plain", "repo": "me/plays"}]))
    out = tmp_path / "results.json"
    assert (
        corpus.main(["--corpus", str(root), "--ansible-playbook", ansible, "--json", str(out)]) == 0
    )
    printed = capsys.readouterr().out
    assert "Corpus: 3 units from 1 repositories" in printed
    assert "accepts 2; 1 need a collection that is not installed; 0 refused otherwise" in printed
    assert "| 1 | needs collection community.general |" in printed
    data = {u["unit"]: u for u in json.loads(out.read_text())["units"]}
    assert data["collection"]["runner"] is None
    assert data["plain"]["runner"]["accepted"] is True
    role = data["role"]["runner"]
    assert role["accepted"] or (role["reasons"] and ":" not in role["reasons"][0].split(" ")[0])
    ok = 1 + role["accepted"]
    assert f"runner play --syntax-check accepts {ok} of those 2" in printed
    # Ansible's verdicts are cached by unit content: a second run gives the same figures.
    cached = json.loads((root / ".ansible-verdicts.json").read_text())
    assert len(cached) == 3
    assert corpus.main(["--corpus", str(root), "--ansible-playbook", ansible]) == 0
    assert capsys.readouterr().out == printed


def test_kind_of_a_refusal() -> None:
    assert units.kind_of(["unknown filter 'success'", "copy: local file not found"]) == (
        "ansible-too"
    )
    assert units.kind_of(["template: local file not found", "notify: no handler named 'x'"]) == (
        "corpus"
    )
    assert units.kind_of(["unknown filter 'failed'", "unknown module 'yum'"]) == "runner"


def test_what_is_not_counted_as_runners_gap_fails_in_ansible_too(tmp_path: Path) -> None:
    """Evidence for ANSIBLE_FAILS_TOO: every example task fails under the real
    ansible-playbook 2.19 (one run, each task ignore_errors), and runner refuses each
    when the playbook loads with the reason its pattern names."""
    from runner.errors import PlaybookError
    from runner.playbook import load_playbook
    from tests.ansible_side import ansible_playbook, ansible_recap

    head = "- hosts: all\n  gather_facts: false\n  vars: {r: {changed: false}}\n  tasks:\n"
    task = "    - {}\n      ignore_errors: true\n"
    kinds = units.ANSIBLE_FAILS_TOO
    body = "".join(task.format(k.example.replace("\n", "\n    ")) for k in kinds)
    book = tmp_path / "all.yml"
    book.write_text(head + body)
    done = ansible_playbook(
        tmp_path, "-i", "localhost,", "-c", "local",
        "-e", "ansible_python_interpreter=/usr/bin/python3", str(book),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    recap = ansible_recap(done.stdout)["localhost"]
    assert (recap["ignored"], recap["failed"]) == (len(kinds), 0), done.stdout
    for n, kind in enumerate(kinds):
        one = tmp_path / f"one{n}.yml"
        one.write_text(head + task.format(kind.example.replace("\n", "\n    ")))
        with pytest.raises(PlaybookError) as info:
            load_playbook(str(one))
        reason = units.normalise(info.value.message)
        assert kind.pattern.search(reason), (kind.why, reason)
