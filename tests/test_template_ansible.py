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
    # filters
    "'1.2.10' is version('1.2.9', '>')",
    "'1.2.10' is ansible.builtin.version('1.10', 'lt')",
    "'2.0' is version('2.0.0', '==')",
    "'1.0.0-rc.1' is version('1.0.0', '<', version_type='semver')",
    "'1.0.0-alpha' is version('1.0.0-alpha.1', 'lt', version_type='semver')",
    "'1.2a1' is version('1.2', 'lt', strict=True)",
    "'3.1' is version_compare('3.0', 'ge')",
    "'abc1.2' | regex_search('[0-9.]+')",
    "'a1b22c333' | regex_findall('[0-9]+')",
    "'a.b*c' | regex_escape",
    "'a-b-c' | regex_replace('-', '+', count=1)",
    "'ABC' | regex_replace('b', 'x', ignorecase=True)",
    # backslash escapes in string literals differ (ansible-core 2.19 keeps them as
    # written, Jinja2 decodes them): multi-line text comes from variables here
    "yaml_text | from_yaml",
    "yaml_docs | from_yaml_all | list",
    "two_lines | comment('c')",
    "two_lines | comment('cblock')",
    "two_lines | comment('erlang')",
    "two_lines | comment('xml')",
    "'x' | regex_search('y')",
    "[3, 1, 3, 2, 1] | unique",
    "[1, 2] | union([2, 3])",
    "[1, 2, 3] | intersect([3, 2, 9])",
    "[1, 2, 3, 4] | difference([2, 4])",
    "[1, 2, 3] | symmetric_difference([3, 4])",
    "{'a': {'x': 1, 'l': [1]}, 'b': 1} | combine({'a': {'y': 2, 'l': [2]}}, recursive=True)",
    "{'a': {'x': 1}} | combine({'a': {'y': 2}})",
    "{'l': [1, 2]} | combine({'l': [2, 3]}, list_merge='append_rp')",
    "{'l': [1, 2]} | combine({'l': [3]}, list_merge='prepend')",
    "[{'a': 1}, {'b': 2}] | combine",
    "{'a': 1, 'b': 2} | dict2items",
    "[{'k': 'a', 'v': 1}] | items2dict(key_name='k', value_name='v')",
    "[1, 2, 3] | zip(['a', 'b']) | list",
    "[1, 2, 3] | zip_longest(['a'], fillvalue='-') | list",
    "[1, 2] | product(['a', 'b']) | list",
    "[1, 2, 3] | permutations(2) | list",
    "[1, 2, 3] | combinations(2) | list",
    "['a', 'b', 'c', 'd'] | random(seed='s1')",
    "100 | random(seed='s2')",
    "range(10) | list | shuffle(seed='s3')",
    "'hello' | hash('sha256')",
    "'hello' | checksum",
    "'hello' | ansible.builtin.hash('md5')",
    "{'b': [1, 2], 'a': 'x'} | to_json",
    "{'b': [1, 2], 'a': 'x'} | to_nice_json",
    "{'b': [1, 2], 'a': 'x', 'c': {'d': None}} | to_yaml",
    "{'b': [1, 2], 'a': 'x', 'c': {'d': None}} | to_nice_yaml",
    "{'b': [1, 2], 'a': 'x'} | to_nice_yaml(indent=2)",
    "['a', 'é'] | to_json",
    "'é' | to_nice_json",
    "{'a': 1} | to_json(indent=2, sort_keys=True)",
    "[1, 'x'] | to_yaml",
    "'plain' | to_yaml",
    "{'a': 1} | ansible.builtin.to_nice_json",
    "'{\"a\": [1, 2]}' | from_json",
    "'/a/b/c.tar.gz' | basename",
    "'/a/b/c.tar.gz' | dirname",
    "'/a/b/c.tar.gz' | splitext",
    "'/a/b/c' | relpath('/a')",
    "['/a', 'b', 'c'] | path_join",
    "'~/x' | expanduser == lookup('env', 'HOME') ~ '/x'",
    "0 | strftime('%Y-%m-%d', utc=True)",
    "('2024-03-01' | to_datetime('%Y-%m-%d') - '2024-02-01' | to_datetime('%Y-%m-%d')).days",
    "('2024-03-01 10:00:00' | to_datetime).hour",
    "1024 | human_readable",
    "10 | human_readable",
    "1572864 | human_readable",
    "2048 | human_readable(unit='K')",
    "1024 | human_readable(isbits=True)",
    "'1K' | human_to_bytes",
    "'1.5 MB' | human_to_bytes",
    "'10' | human_to_bytes(default_unit='M')",
    "'hello' | comment",
    '"it\'s" | quote',
    "'hi' | b64encode",
    "'aGk=' | b64decode",
    "'yes' | bool",
    "true | ternary('y', 'n')",
    "[1, [2, [3, [4]]]] | flatten",
    "[1, [2, [3, [4]]]] | flatten(levels=1)",
    "['a', 'b'] | map('extract', {'a': 1, 'b': 2}) | list",
    "users | subelements('groups') | map('last') | list",
    "'x' | type_debug",
    "[1] | type_debug",
    "{'a': 1} | ansible.builtin.dict2items",
    # tests
    "[1, 2] is subset([1, 2, 3])",
    "[1, 2, 3] is superset([3])",
    "[1, 2] is contains(2)",
    "'/etc' is directory",
    "'/etc/hostname' is file",
    "'/nonexistent' is exists",
    "'/' is ansible.builtin.exists",
    "'abc' is match('b')",
    "'abc' is search('b')",
    "'abc' is regex('^a.c$')",
    "'yes' is truthy",
    "'' is falsy",
    "{'failed': true} is failed",
    "{'changed': true} is ansible.builtin.changed",
    "{'skipped': true} is skipped",
    "{'failed': false} is succeeded",
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
    "yaml_text": "a: 1\nb: [x, y]\n",
    "yaml_docs": "--- 1\n--- 2\n",
    "two_lines": "a\nb",
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
