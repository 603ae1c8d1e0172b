"""One regression test per class the fuzzer found: template size limits, Undefined and
unsafe access inside lists and dicts, JSON output of values JSON has no type for, loader
errors without file or line; then the same end to end with the real CLI and sshd."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

from runner.errors import TemplateError
from runner.output.jsonl import dumps, json_safe
from runner.templating import LazyVars, evaluate, render, render_value
from runner.templating.limits import MAX_TEMPLATE_OUTPUT, MAX_TEMPLATE_WORK
from tests.conftest import REPO, json_records

# -- limits: refused before the work, quickly, in bounded memory ---------------------------

BOMBS = [
    "{{ 'a' * 10**10 }}",
    "x {{ 'a' * 10**10 }}",
    "{{ [0] * 10**10 }}",
    "{{ 10 ** (10**6) }}",
    "{{ (2**8000) * (2**8000) }}",
    "{{ 'a' | center(10**10) }}",
    "{{ 'a\nb' | indent(10**9) }}",
    "{{ 'aaa' | replace('', 'b' * 4000000) }}",
    "{{ '%0999999999d' % 1 }}",
    "{{ '{:>9999999999}'.format(1) }}",
    "{{ 'x'.ljust(10**10) }}",
    "{{ '\t'.expandtabs(10**9) }}",
    "{{ range(1) | batch(10**9, 0) | list }}",
    "{{ {} | to_json(indent=10**9) }}",
    "{{ lipsum(10**6) }}",
    "{{ range(100000) | map('center', 4000000) | list }}",
    "{{ ' '.join(['a' * 4000000] * 100) }}",
    "{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}"
    "{% endfor %}{{ ns.s | length }}",
    "{% set ns = namespace(l=[1]) %}{% for i in range(64) %}{% set ns.l = [ns.l, ns.l] %}"
    "{% endfor %}{{ ns.l }}",
    "{% for i in range(100000) %}{{ 'a' * 1000 }}{% endfor %}",
    "{% set ns = namespace(l=1) %}{% for i in range(200) %}{% set ns.l = [ns.l] %}{% endfor %}"
    "{{ ns.l }}",
    "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
]


@pytest.mark.parametrize("source", BOMBS)
def test_runaway_templates_are_refused_quickly_in_bounded_memory(source):
    tracemalloc.start()
    started = time.process_time()  # CPU, not wall: other work on the machine does not count
    try:
        with pytest.raises(TemplateError, match="template limit"):
            render_value(source, {}, where="site.yml:3")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.process_time() - started < 10  # CPU seconds; the peak is the point
    assert peak < MAX_TEMPLATE_WORK + 4 * MAX_TEMPLATE_OUTPUT + (40 << 20)


def test_values_under_the_limits_still_work():
    assert render("{{ 'ab' * 3 }}-{{ 2 ** 10 }}-{{ '%05d' % 42 }}", {}) == "ababab-1024-00042"
    assert len(render_value("{{ 'a' * 1000000 }}", {})) == 1_000_000
    assert render_value("{{ [1, 2] * 2 + [3] }}", {}) == [1, 2, 1, 2, 3]
    assert render("{{ ', '.join(x) }} {{ x | join('+') }} {{ 'a' ~ 1 }}", {"x": ["p", "q"]}) == (
        "p, q p+q a1"
    )
    assert render("{{ '{:>4}'.format(7) }}|{{ 'x' | center(5) }}|", {}) == "   7|  x  |"


def test_constants_are_not_folded_at_compile_time():
    # folding 1e308 * 10 printed 'inf' into the generated code: NameError before
    assert render("{{ 1e308 * 10 }}", {}) == "inf"


@pytest.mark.parametrize(
    "source",
    ["{{ " + "(" * 300 + "1" + ")" * 300 + " }}", "{{ " + "[" * 3000 + "]" * 3000 + " }}"],
)
def test_deeply_nested_templates_are_template_errors(source):
    with pytest.raises(TemplateError, match="nested"):
        render(source, {})


@pytest.mark.parametrize(
    "source",
    [
        "{{ 'a' | regex_replace('(', 'x') }}",  # re.error
        "{{ 'a: [' | from_yaml }}",  # yaml's ParserError
        "{{ 'abc' | truncate(-5) }}",  # AssertionError inside Jinja2
        "{{ 2.0 ** 10000 }}",  # OverflowError
    ],
)
def test_any_error_of_an_expression_is_a_template_error(source):
    with pytest.raises(TemplateError, match="template error"):
        render_value(source, {})


# -- Undefined and unsafe values inside lists and dicts -----------------------------------


@pytest.mark.parametrize(
    "source", ["{{ [nope] }}", "echo {{ [nope] }}", "{{ {'k': nope} }}", "{{ [[1, nope]] }}"]
)
def test_undefined_inside_a_container_is_an_undefined_variable(source):
    with pytest.raises(TemplateError, match="'nope' is undefined"):
        render_value(source, {})
    with pytest.raises(TemplateError, match="'nope' is undefined"):
        render(source, LazyVars({}))


def test_unsafe_access_inside_a_container_is_refused():
    with pytest.raises(TemplateError, match="unsafe.*__class__"):
        render_value("{{ [1] | map(attribute='__class__') | list }}", {})
    with pytest.raises(TemplateError, match="unsafe.*__class__"):
        evaluate("x | map(attribute='__class__') | list", {"x": [1]})


def test_undefined_still_works_where_ansible_allows_it():
    assert render_value("{{ [nope | default(1)] }}", {}) == [1]
    assert render_value("{{ nope.a.b is defined }}", {}) is False
    assert render_value("{{ x | default([]) | length }}", {}) == 0


# -- JSON output ----------------------------------------------------------------------------


def test_json_dumps_never_fails():
    loop: list = []
    loop.append(loop)
    record = {
        "set": {2, 1},
        "bytes": b"\xffok",
        "cls": render_value("{{ cycler }}", {}),
        "nan": float("nan"),
        "loop": loop,
        "tuple_key": {(1, 2): "v"},
    }
    out = json.loads(dumps(record))
    assert out["set"] == [1, 2] and out["bytes"] == "\ufffdok" and out["nan"] == "nan"
    assert "Cycler" in out["cls"] and out["loop"] == ["<recursive>"]
    assert json_safe({"a": (1,)}) == {"a": [1]}
    assert dumps({"a": 1}) == '{"a":1}'


# -- the CLI, offline: loader errors and limits name the file and line ---------------------


def run_cli(
    *args: str, memory: int | None = None, timeout: float = 60
) -> subprocess.CompletedProcess:
    """The real CLI; ``memory`` caps its address space (RLIMIT_AS), so a regression to
    building the value shows as a failure instead of taking the machine's memory."""

    def limit() -> None:
        if memory:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    return subprocess.run(
        [sys.executable, "-m", "runner", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={
            "PYTHONPATH": str(REPO),
            "PATH": "/usr/bin:/bin",
            "HOME": "/tmp",
            "RUNNER_PERSIST": "0",
        },
        stdin=subprocess.DEVNULL,
        preexec_fn=limit,
    )


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("- hosts: all\n  tasks: []\n# a comment\n- [1, 2]\n", 4, "each play must be a mapping"),
        ("- 1\n", 1, "each play must be a mapping"),
        ("- hosts: all\n  tasks:\n    - debug:\n        msg: \"{{ 'a' * 10**10 }}\"\n", 3,
         "limit"),
        ("- hosts: all\n  tasks:\n    - debug: msg={{ 'x' | center(10**12) }}\n", 3, "limit"),
        ("- hosts: all\n  tasks:\n    - debug: msg=hi\n      when: \"'a' * 10**10\"\n", 4,
         "limit"),
        ("- hosts: all\n  tasks:\n    - debug: msg=hi\n      loop: \"{{ [0] * 10**10 }}\"\n", 4,
         "limit"),
        ("- hosts: all\n  vars:\n    x: \"{{ 'a' * 10**10 }}\"\n  tasks: []\n", 2, "limit"),
    ],
)  # fmt: skip
def test_loader_errors_name_file_and_line(tmp_path, text, line, message):
    book = write(tmp_path / "site.yml", text)
    started = time.monotonic()
    res = run_cli("play", "--syntax-check", str(book), memory=1 << 30)
    assert res.returncode == 1, res
    assert res.stderr.startswith(f"runner: error: {book}:{line}: "), res.stderr
    assert message in res.stderr and "Traceback" not in res.stderr
    assert time.monotonic() - started < 20


def test_vars_file_that_is_not_a_mapping_names_its_line(tmp_path):
    write(tmp_path / "vars.yml", "# values\n\n- a\n- b\n")
    book = write(tmp_path / "site.yml", "- hosts: all\n  vars_files: [vars.yml]\n  tasks: []\n")
    res = run_cli("play", "--syntax-check", str(book))
    assert res.returncode == 1, res
    assert res.stderr.startswith(f"runner: error: {tmp_path / 'vars.yml'}:3: a vars file must")
    assert f"{book}:2" in res.stderr


def test_import_loop_names_file_and_line(tmp_path):
    write(tmp_path / "a.yml", "- import_playbook: b.yml\n")
    write(tmp_path / "b.yml", "- hosts: all\n  tasks: []\n- import_playbook: a.yml\n")
    res = run_cli("play", "--syntax-check", str(tmp_path / "a.yml"))
    assert res.returncode == 1, res
    assert f"{tmp_path / 'b.yml'}:3: import_playbook 'a.yml'" in res.stderr


def test_adhoc_runaway_command_is_refused_before_connecting(tmp_path):
    started = time.monotonic()
    res = run_cli("run", "-i", "localhost,", "-e", "ansible_connection=local", "all",
                  "echo {{ 'a' * 10**10 }}", memory=1 << 30)  # fmt: skip
    assert res.returncode == 1, res
    assert res.stderr.startswith("runner: error: COMMAND: template limit"), res.stderr
    assert time.monotonic() - started < 20


# -- at run time: a failure on one host is data --------------------------------------------

THREE_TASKS = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: first
      shell: echo one
    - name: second
      debug:
        msg: "{VALUE}"
    - name: third
      shell: echo three {{ inventory_hostname }}
"""


def _play(fleet, tmp_path, cli, value: str):
    book = write(tmp_path / "site.yml", THREE_TASKS.replace("{VALUE}", value))
    return cli("play", *fleet.args(), "--json", str(book))


@pytest.mark.sshd
@pytest.mark.parametrize(
    ("value", "host_vars", "error"),
    [
        ("{{ [only_on_web01] }}", {"web01": {"only_on_web01": 1}}, "'only_on_web01' is undefined"),
        ("{{ numbers | map(attribute='__class__') | list }}",
         {"web01": {"numbers": []}, "web02": {"numbers": [1]}, "web03": {"numbers": [2]}},
         "unsafe template operation"),
    ],
)  # fmt: skip
def test_bad_value_fails_that_task_on_that_host_and_the_run_goes_on(
    make_fleet, cli, tmp_path, value, host_vars, error
):
    fleet = make_fleet(3, host_vars=host_vars)
    res = _play(fleet, tmp_path, cli, value)
    assert res.exit_code == 2, res
    assert "Traceback" not in res.stderr
    recs = json_records(res.stdout)
    second = {r["host"]: r for r in recs if r.get("task") == "second"}
    assert second["web01"]["status"] == "ok"
    for host in ("web02", "web03"):
        assert second[host]["status"] == "failed" and error in second[host]["msg"], second[host]
        assert "site.yml:6" in second[host]["msg"]
    third = {r["host"]: r for r in recs if r.get("task") == "third"}
    assert set(third) == {"web01"} and third["web01"]["stdout"] == "three web01"
    recap = [r for r in recs if r["type"] == "recap"][0]["hosts"]
    assert recap["web01"]["ok"] == 3 and recap["web01"]["failed"] == 0
    assert recap["web02"]["ok"] == 1 and recap["web02"]["failed"] == 1


@pytest.mark.sshd
def test_adhoc_undefined_inside_a_list_fails_the_host(make_fleet, cli):
    fleet = make_fleet(2, host_vars={"web01": {"nope": "here"}})
    res = cli("run", *fleet.args(), "--json", "all", "echo {{ [nope] }}")
    assert res.exit_code == 2, res
    recs = {r["host"]: r for r in json_records(res.stdout) if r["type"] == "host"}
    assert recs["web01"]["status"] == "ok" and recs["web01"]["stdout"] == "[here]\n"
    assert recs["web02"]["status"] == "failed" and "undefined" in recs["web02"]["error"]
    assert "[Undefined]" not in res.stdout


@pytest.mark.sshd
def test_json_and_out_dir_take_values_json_has_no_type_for(make_fleet, cli, tmp_path):
    fleet = make_fleet(1)
    book = write(tmp_path / "site.yml", "- hosts: all\n  gather_facts: false\n  tasks:\n"
                 "    - debug: {msg: '{{ cycler }}'}\n    - debug: {msg: '{{ 1e308 * 10 }}'}\n")  # fmt: skip
    res = cli("play", *fleet.args(), "--json", "--out-dir", str(tmp_path / "out"), str(book))
    assert res.exit_code == 0, res
    msgs = [r["msg"] for r in json_records(res.stdout) if r["type"] == "task"]
    assert "Cycler" in msgs[0] and msgs[1] == "inf"
    lines = (tmp_path / "out" / "web01.json").read_text().splitlines()
    assert len(lines) == 2 and all(json.loads(line) for line in lines)


# -- the same on a fake fleet: which task fails, on which host ----------------------------


@pytest.mark.parametrize(
    "body",
    ["{{ 1 / 0 }}", "{{ [nope] }}", "{{ 'a' * 10**10 }}", "{% for x in 5 %}{% endfor %}"],
)
def test_template_module_errors_fail_the_task_not_the_engine(tmp_path, body):
    from runner.models import Status
    from tests.fakes import FakeFleet, run_playbook

    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "app.conf.j2").write_text(f"line\n{body}\n")
    fleet = FakeFleet(["a", "b"])
    text = ("- hosts: all\n  tasks:\n    - template: {src: app.conf.j2, dest: /etc/app.conf}\n"
            "    - debug: msg=after\n")  # fmt: skip
    summary, recorder = run_playbook(fleet, text, tmp_path)
    outcomes = [
        o for e in recorder.events if type(e).__name__ == "TaskFinished" for o in e.outcomes
    ]
    failed = [o for o in outcomes if o.status is Status.FAILED]
    assert len(failed) == 2, outcomes
    assert all("app.conf.j2" in o.message and "internal error" not in o.message for o in failed)
    assert summary.any_failed


def test_undefined_in_a_list_fails_only_the_hosts_without_it(tmp_path):
    from runner.models import Status
    from tests.fakes import FakeFleet, run_playbook

    fleet = FakeFleet(["a", "b", "c"], host_vars={"a": {"nope": 1}})
    text = ("- hosts: all\n  tasks:\n    - debug: msg=one\n"
            "    - debug:\n        msg: \"{{ [nope] }}\"\n    - debug: msg=three\n")  # fmt: skip
    summary, recorder = run_playbook(fleet, text, tmp_path)
    by_task = {}
    for event in recorder.events:
        if type(event).__name__ == "TaskFinished":
            by_task.setdefault(len(by_task), {o.host: o for o in event.outcomes})
    assert by_task[1]["a"].result["msg"] == [1]
    assert (
        by_task[1]["b"].status is Status.FAILED and "'nope' is undefined" in by_task[1]["b"].message
    )
    assert set(by_task[2]) == {"a"}


def test_infinite_literals_compile():
    assert render("{{ 1e400 }} {{ -1e400 }}", {}) == "inf -inf"


def test_numbers_that_are_not_finite_fail_the_task(tmp_path):
    from runner.models import Status
    from tests.fakes import FakeFleet, run_playbook

    fleet = FakeFleet(["a"])
    text = ("- hosts: all\n  tasks:\n"
            "    - {pause: {seconds: nan}, ignore_errors: true}\n"
            "    - {debug: msg=a, register: r, until: r is failed, retries: '{{ 1e400 }}'}\n")  # fmt: skip
    _, recorder = run_playbook(fleet, text, tmp_path)
    outcomes = [
        o for e in recorder.events if type(e).__name__ == "TaskFinished" for o in e.outcomes
    ]
    assert outcomes[0].ignored and "finite number" in outcomes[0].message
    assert outcomes[1].status is Status.FAILED and "finite number" in outcomes[1].message
    assert not any("internal error" in o.message for o in outcomes)


def test_load_time_check_leaves_regexes_to_run_time(tmp_path):
    """CPU time is not limited, so --syntax-check does not run regexes (nor loops, macros):
    this one backtracks for minutes."""
    book = write(tmp_path / "site.yml", "- hosts: all\n  tasks:\n    - debug:\n        msg: "
                 "\"{{ ('a' * 32 ~ '!') | regex_search('(a+)+$') }}\"\n")  # fmt: skip
    started = time.monotonic()
    res = run_cli("play", "--syntax-check", str(book), timeout=60)
    assert res.returncode == 0, res
    assert time.monotonic() - started < 20
