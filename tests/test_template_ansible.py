"""runner's templating against real Ansible's: the same expressions, rendered by one
ansible-playbook run (localhost, connection local) and by runner.templating.evaluate, must
give the same JSON values. Lookup files live in a temp project (files/, templates/)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from runner.errors import TemplateError
from runner.templating import evaluate

ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"

# each expression is rendered by both; JSON values are compared
EXPRESSIONS = [
    # lookup / query / q
    "lookup('file', 'hello.txt')",
    "lookup('ansible.builtin.file', 'hello.txt', 'other.txt')",
    "query('file', 'hello.txt')",
    "lookup('file', 'hello.txt', rstrip=False)",
    "lookup('file', 'missing.txt', errors='ignore')",
    "query('file', 'missing.txt', errors='ignore')",
    "lookup('env', 'RUNNER_TEST_ENV')",
    "lookup('env', 'RUNNER_TEST_UNSET', default='dflt')",
    "lookup('env', 'RUNNER_TEST_ENV', 'RUNNER_TEST_UNSET')",
    "lookup('template', 'greet.j2')",
    "lookup('pipe', 'echo one; echo two')",
    "lookup('pipe', 'cat files/hello.txt')",
    "q('lines', 'printf \"a\\nb\\nc\\n\"')",
    "lookup('first_found', ['nope.txt', 'other.txt', 'hello.txt']) | basename",
    "q('first_found', {'files': ['nope.txt'], 'skip': True})",
    "q('first_found', {'files': 'x.txt,other.txt', 'paths': ['files']}) | map('basename') | list",
    "q('fileglob', '*.txt') | map('basename') | sort | list",
    "lookup('fileglob', 'nothing*.conf')",
    "q('items', [1, [2, 3]], 4)",
    "lookup('items', [1, 2], [3])",
    "lookup('items', 'a', 'b')",
    "lookup('items', 'a')",
    "q('list', [1, 2])",
    "q('list', 1, 2)",
    "lookup('list', 'a', 'b')",
    "q('dict', {'a': 1, 'b': 2})",
    "lookup('dict', {'a': 1})",
    "q('indexed_items', ['a', 'b'])",
    "q('sequence', '1-5')",
    "lookup('sequence', 'start=0 end=10 stride=3')",
    "q('sequence', 'start=4 count=3 format=host%02d')",
    "q('sequence', '2-10/2')",
    "q('sequence', '4:host%02d')",
    "q('sequence', 'start=0x0f00 count=4 format=%04x')",
    "q('sequence', 'start=5 end=1')",
    "q('sequence', 'count=0')",
    "lookup('first_found', 'files/other.txt') | basename",
    "q('subelements', nested, 'a.b')",
    "q('sequence', 'end=3', 'start=8 end=9')",
    "q('subelements', users, 'groups')",
    "q('subelements', users, 'keys', {'skip_missing': True})",
    "q('nested', [1, 2], ['a', 'b'])",
    "q('nested', ['x'], [1, 2], ['p', 'q'])",
    "q('together', [1, 2, 3], ['a', 'b'])",
    "lookup('vars', 'app')",
    "lookup('vars', 'nope_var', default='d')",
    "q('vars', 'app', 'listen_port')",
    "q('varnames', '^app') | sort",
    "lookup('password', '/dev/null length=12') | length",
    "lookup('password', '/dev/null length=8 chars=digits') is match('^[0-9]{8}$')",
]


def _project(tmp_path: Path) -> Path:
    (tmp_path / "files").mkdir()
    (tmp_path / "templates").mkdir()
    (tmp_path / "files" / "hello.txt").write_text("hello world\n\n")
    (tmp_path / "files" / "other.txt").write_text("other\n")
    (tmp_path / "templates" / "greet.j2").write_text("hi {{ app }} on {{ listen_port }}\n")
    return tmp_path


VARIABLES = {
    "app": "shop",
    "app_port": 80,
    "listen_port": 8080,
    "nested": [{"n": 1, "a": {"b": [1, 2], "c": 3}}],
    "users": [
        {"name": "alice", "groups": ["wheel", "dev"], "keys": ["k1"]},
        {"name": "bob", "groups": ["dev"]},
    ],
}


FAILED = "<the expression failed>"


def _runner_value(expr: str, variables: dict) -> object:
    try:
        return evaluate(expr, variables)
    except TemplateError:
        return FAILED


def _runner_values(project: Path) -> list:
    variables = dict(VARIABLES, playbook_dir=str(project))
    return [_runner_value(expr, variables) for expr in EXPRESSIONS]


def _ansible_values(project: Path) -> list:
    out = project / "out.json"
    count = len(EXPRESSIONS)
    tasks: list[dict] = [
        {"set_fact": {f"r{i}": "{{ " + expr + " }}"}, "ignore_errors": True}
        for i, expr in enumerate(EXPRESSIONS)
    ]
    gathered = ", ".join(f"r{i} | default({FAILED!r})" for i in range(count))
    tasks.append({"copy": {"dest": str(out), "content": "{{ [" + gathered + "] | to_json }}"}})
    playbook = [
        {
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "vars": VARIABLES,
            "tasks": tasks,
        }
    ]
    (project / "play.yml").write_text(yaml.safe_dump(playbook))
    env = dict(os.environ, ANSIBLE_LOCALHOST_WARNING="False", ANSIBLE_NOCOLOR="1")
    env["ANSIBLE_INVENTORY_UNPARSED_WARNING"] = "False"
    done = subprocess.run(
        [
            str(ANSIBLE_PLAYBOOK),
            "-i",
            "localhost,",
            "-e",
            f"ansible_python_interpreter={sys.executable}",
            "play.yml",
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(out.read_text())


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.setenv("RUNNER_TEST_ENV", "from-env")
    monkeypatch.delenv("RUNNER_TEST_UNSET", raising=False)
    monkeypatch.chdir(tmp_path)
    return _project(tmp_path)


def test_expressions_render_as_ansible_renders_them(project):
    if not ANSIBLE_PLAYBOOK.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("ansible-playbook is needed under CI")
        pytest.skip("ansible-playbook is not installed")
    ours = json.loads(json.dumps(_runner_values(project)))
    theirs = _ansible_values(project)
    mismatched = [
        (expr, mine, real)
        for expr, mine, real in zip(EXPRESSIONS, ours, theirs, strict=True)
        if mine != real
    ]
    assert not mismatched, "\n".join(f"{e}: runner {m!r} ansible {r!r}" for e, m, r in mismatched)
