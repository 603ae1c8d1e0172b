"""Fuzzing the playbook loader and the CLI's offline paths (hypothesis, derandomized).

Every generated playbook, ``-e`` value and ad-hoc template goes through ``runner.cli.main``
in-process (``play --syntax-check``, ``--list-tasks``, ``--list-hosts``, and ``run`` on
an inventory with no reachable host). Whatever the input: exit 0, 1 or 5, never a
traceback nor an exception out of main(), an error line naming the file, and bounded
time and memory (tracemalloc peak, under an address-space limit so that a regression
fails the test instead of the machine).

RUNNER_FUZZ_SCALE=30 RUNNER_FUZZ_SEED=7 runs a longer, different session locally.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import sys
import time
import tracemalloc

import pytest
import yaml
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from runner.cli import main
from runner.engine.command import CommandJob
from runner.errors import RunnerError
from runner.models import Host

SCALE = float(os.environ.get("RUNNER_FUZZ_SCALE", "1"))  # examples x SCALE
SEED = int(os.environ.get("RUNNER_FUZZ_SEED", "20261201"))  # fixed: the same inputs every run
# CPU seconds of one CLI call (the runaway inputs took minutes): this process's CPU time,
# not the wall clock, so a loaded machine (other suites on the same 2 cores) cannot fail it
MAX_SECONDS = 15.0
MAX_PEAK = 200 << 20  # bytes allocated at once by one CLI call (tracemalloc)


def fuzz(examples: int):
    """Hypothesis with a fixed seed and a bounded number of examples (about 25 s in all)."""
    options = settings(
        max_examples=max(1, int(examples * SCALE)),
        derandomize=False,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    return lambda test: seed(SEED)(options(test))


# -- what the playbooks are made of ---------------------------------------------------------

NAMES = ["x", "items", "nope", "inventory_hostname", "groups", "hostvars", "omit", "item",
         "cycler", "range", "lipsum", "namespace", "dict", "r"]  # fmt: skip
FILTERS = ["default", "length", "join", "map", "list", "center", "indent", "replace", "int",
           "string", "to_json", "tojson", "from_json", "from_yaml", "to_yaml", "batch", "sum",
           "flatten", "regex_replace", "b64decode", "bool", "combine", "dict2items", "first",
           "format", "truncate", "wordwrap", "mandatory", "unique", "select", "attr",
           "selectattr", "items2dict", "quote", "ternary", "round", "slice"]  # fmt: skip
BIG = st.sampled_from([10**10, 10**100, 2**70, -(10**12), 10**5000 // 10**4990])
SMALL = st.integers(-3, 300)


def _expr(depth: int = 2) -> st.SearchStrategy[str]:
    leaf = st.one_of(
        st.sampled_from(NAMES),
        SMALL.map(str),
        BIG.map(str),
        st.sampled_from(["'a'", "'%09d'", "'{:>99}'", "''", "'\\t'", "1.5", "1e308", "none"]),
        st.sampled_from(["[nope]", "{'k': nope}", "[1, 2]", "{}", "x.__class__", "().__class__"]),
    )
    if depth <= 0:
        return leaf
    inner = _expr(depth - 1)
    return st.one_of(
        leaf,
        st.tuples(
            inner, st.sampled_from(["*", "**", "+", "%", "~", "//", "-", "/", " in "]), inner
        ).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),  # fmt: skip
        st.tuples(inner, st.sampled_from(FILTERS), st.lists(inner, max_size=2)).map(
            lambda t: f"({t[0]} | {t[1]}({', '.join(t[2])}))"
        ),
        st.tuples(inner, st.sampled_from(["__class__", "a", "upper", "items"])).map(
            lambda t: f"{t[0]}.{t[1]}"
        ),
        st.tuples(
            inner, st.sampled_from(["ljust", "center", "join", "format", "expandtabs"]), inner
        ).map(lambda t: f"{t[0]}.{t[1]}({t[2]})"),  # fmt: skip
        st.lists(inner, max_size=3).map(lambda xs: f"[{', '.join(xs)}]"),
        inner.map(lambda e: f"({e} | map(attribute='__class__') | list)"),
    )


TEMPLATE = st.one_of(
    _expr().map(lambda e: "{{ " + e + " }}"),
    st.tuples(st.text(max_size=5), _expr()).map(lambda t: f"{t[0]} {{{{ {t[1]} }}}}"),
    _expr().map(lambda e: "{% for i in " + e + " %}{{ i }}{% endfor %}"),
    _expr().map(lambda e: "{% if " + e + " %}y{% endif %}"),
    st.sampled_from(
        [
            "{{",
            "}}",
            "{%",
            "{% endfor %}",
            "{{ 1 +",
            "{# x",
            "{{ (" * 120,
            "{{ " + "[" * 400 + "]" * 400 + " }}",
            "{{ 'a' * 10**10 }}",
            "{{ [nope] }}",
            "{{ x | map(attribute='__class__') | list }}",
        ]
    ),  # fmt: skip
)
SCALAR = st.one_of(
    st.none(), st.booleans(), SMALL, BIG, st.floats(allow_nan=True), st.text(max_size=8), TEMPLATE
)
MODULES = ["debug", "shell", "command", "raw", "copy", "template", "file", "set_fact", "fail",
           "assert", "pause", "fetch", "script", "ansible.builtin.debug"]  # fmt: skip
RARE_MODULES = ["synchronize", "include_tasks", "nosuch", "debug", "debug"]
TASK_KEYS = ["name", "when", "loop", "with_items", "register", "vars", "tags", "notify",
             "become", "become_user", "environment", "ignore_errors", "changed_when",
             "failed_when", "until", "retries", "delay", "timeout", "loop_control",
             "delegate_to", "run_once", "no_log", "check_mode", "args", "block", "rescue",
             "always", "any_errors_fatal"]  # fmt: skip
RARE_TASK_KEYS = ["listen", "roles", "async", "with_random_choice", "become_method", "hosts"]
PLAY_KEYS = ["name", "vars", "vars_files", "serial", "max_fail_percentage", "gather_facts",
             "become", "environment", "tags", "handlers", "any_errors_fatal"]  # fmt: skip
RARE_PLAY_KEYS = ["roles", "pre_tasks", "import_playbook", "strategy", "become_method", "x"]
ARG_KEYS = ["msg", "var", "cmd", "_raw_params", "src", "dest", "content", "path", "state",
            "that", "seconds", "chdir", "argv", "mode", "x", "cacheable"]  # fmt: skip


def _keys(common: list[str], rare: list[str]) -> st.SearchStrategy[list[str]]:
    """A few keywords, now and then one runner refuses."""
    return st.tuples(
        st.lists(st.sampled_from(common), max_size=3, unique=True),
        st.integers(0, 7).flatmap(lambda n: st.just([]) if n else st.sampled_from(rare).map(
            lambda k: [k])),
    ).map(lambda t: t[0] + [k for k in t[1] if k not in t[0]])  # fmt: skip


def _value(depth: int = 2) -> st.SearchStrategy:
    if depth <= 0:
        return SCALAR
    inner = _value(depth - 1)
    return st.one_of(
        SCALAR,
        st.lists(inner, max_size=3),
        st.dictionaries(st.sampled_from(ARG_KEYS + TASK_KEYS[:6]), inner, max_size=3),
    )


ARGS = st.one_of(
    SCALAR,
    st.dictionaries(st.sampled_from(ARG_KEYS), _value(1), max_size=3),
    st.text(max_size=20).map(lambda t: f"msg={t}"),
)


@st.composite
def task(draw, depth: int = 1) -> dict:
    out: dict = {}
    if draw(st.integers(0, 9)) < 9:
        modules = MODULES if draw(st.integers(0, 7)) else RARE_MODULES
        out[draw(st.sampled_from(modules))] = draw(ARGS)
    for key in draw(_keys(TASK_KEYS, RARE_TASK_KEYS)):
        if key in ("block", "rescue", "always") and depth > 0:
            out[key] = draw(st.lists(task(depth - 1), max_size=2))
        elif key == "vars":
            out[key] = draw(st.dictionaries(st.sampled_from(NAMES), _value(1), max_size=3))
        else:
            out[key] = draw(_value(1))
    return out


@st.composite
def play(draw) -> dict:
    out: dict = {"hosts": draw(st.sampled_from(["all", "h1", "web", "all:!h2", "", "h[1:2]"]))}
    if draw(st.integers(0, 9)) == 0:
        out["hosts"] = draw(SCALAR)
    for key in draw(_keys(PLAY_KEYS, RARE_PLAY_KEYS)):
        if key == "vars":
            out[key] = draw(st.dictionaries(st.sampled_from(NAMES), _value(1), max_size=3))
        elif key == "vars_files":
            out[key] = draw(st.sampled_from(["vars.yml", ["vars.yml"], "{{ x }}.yml", "no.yml"]))
        else:
            out[key] = draw(_value(1))
    tasks = st.lists(task(), max_size=4)
    out["tasks"] = draw(st.integers(0, 9).flatmap(lambda n: tasks if n else SCALAR))
    return out


PLAYBOOK = st.integers(0, 9).flatmap(
    lambda n: _value(1) if n == 0 else st.lists(play(), min_size=1, max_size=2)
)
EXPR = _expr()
# The classes the first fuzzing found, drawn often so the run-time test keeps them covered.
KNOWN = st.sampled_from(
    [
        "{{ [nope] }}",
        "{{ {'k': nope} }}",
        "{{ cycler }}",
        "{{ 1e308 * 10 }}",
        "{{ x | map(attribute='__class__') | list }}",
        "{{ 'a' * 10**10 }}",
        "{{ items | map(attribute='__class__') | list }}",
        "{{ [x, nope] }}",
    ]
)
MSG = st.one_of(TEMPLATE, KNOWN)


@st.composite
def runtime_task(draw) -> dict:
    """Tasks that never touch a host (debug, set_fact, assert, fail) with templates in
    their arguments and keywords: safe to run for real on a local connection."""
    module = draw(st.sampled_from(["debug", "debug", "set_fact", "assert", "fail"]))
    args = {
        "debug": st.one_of(st.fixed_dictionaries({"msg": MSG}),
                           st.fixed_dictionaries({"var": EXPR})),
        "set_fact": st.dictionaries(st.sampled_from(["x", "items", "r", "y"]), _value(1),
                                    min_size=1, max_size=2),
        "assert": st.fixed_dictionaries({"that": st.one_of(EXPR, st.lists(EXPR, max_size=2))}),
        "fail": st.fixed_dictionaries({"msg": MSG}),
    }[module]  # fmt: skip
    out: dict = {
        "name": draw(st.one_of(st.none(), TEMPLATE, st.text(max_size=5))),
        module: draw(args),
    }
    keys = st.lists(st.sampled_from(["when", "loop", "register", "vars", "ignore_errors",
                                     "changed_when", "failed_when", "no_log"]),
                    max_size=2, unique=True)  # fmt: skip
    for key in draw(keys):
        if key == "register":
            out[key] = "r"
        elif key == "vars":
            out[key] = draw(st.dictionaries(st.sampled_from(NAMES), _value(1), max_size=2))
        elif key in ("when", "changed_when", "failed_when"):
            out[key] = draw(st.one_of(EXPR, st.booleans()))
        else:
            out[key] = draw(st.one_of(TEMPLATE, _value(1)))
    return out


RUNTIME_PLAYBOOK = st.lists(
    st.fixed_dictionaries(
        {"hosts": st.just("all"), "gather_facts": st.just(False),
         "tasks": st.lists(runtime_task(), min_size=1, max_size=4)},
        optional={"vars": st.dictionaries(st.sampled_from(NAMES), _value(1), max_size=2)},
    ),
    min_size=1, max_size=2,
)  # fmt: skip
PLAIN = st.one_of(st.none(), st.booleans(), SMALL, BIG, st.text(max_size=8))
EXTRA_VARS = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(NAMES), TEMPLATE).map(lambda t: json.dumps({t[0]: t[1]})),
        st.tuples(st.sampled_from(NAMES), PLAIN).map(lambda t: f"{t[0]}={t[1]}"),
        st.sampled_from(['{"x": [1, {"y": null}]}', "{bad json", "@/nonexistent.yml", "=", "x"]),
    ),
    max_size=2,
)


def _mutate(text: str, data: st.DataObject) -> str:
    """Sometimes damage the YAML text itself (a cut, a stray character, bad indent)."""
    for _ in range(data.draw(st.integers(0, 2))):
        if not text:
            break
        at = data.draw(st.integers(0, len(text) - 1))
        piece = data.draw(st.sampled_from(["", ":", "- ", "\n  ", "{{", "&a ", "*a", "\t", "'"]))
        text = text[:at] + piece + text[at + data.draw(st.integers(0, 3)) :]
    return text


# -- the harness -----------------------------------------------------------------------------


@contextlib.contextmanager
def address_space_limit(extra: int = 2 << 30):
    """RLIMIT_AS = what the process maps now + ``extra``: a runaway allocation becomes a
    MemoryError (which the assertions catch) instead of taking the machine's memory."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as fh:
        mapped = int(fh.read().split()[0]) * resource.getpagesize()
    limit = mapped + extra if hard == resource.RLIM_INFINITY else min(hard, mapped + extra)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def call(args: list[str], codes: tuple[int, ...] = (0, 1, 5)) -> tuple[int, str, str]:
    """runner.cli.main in-process: (exit code, stdout, stderr), timed and traced."""
    out, err = io.StringIO(), io.StringIO()
    tracemalloc.start()
    started = time.process_time()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(args)
        elapsed = time.process_time() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    stderr = err.getvalue()
    assert code in codes, (args, code, stderr)
    assert "Traceback" not in stderr and "MemoryError" not in stderr, stderr
    assert "internal error" not in stderr, stderr
    assert elapsed < MAX_SECONDS, (args, elapsed)
    assert peak < MAX_PEAK, (args, peak)
    if code == 1:
        assert stderr.startswith("runner: error: "), stderr
    return code, out.getvalue(), stderr


def _names_a_file(stderr: str, *paths: str) -> bool:
    return any(p in stderr for p in paths) or "-e" in stderr or "extra" in stderr.lower()


@pytest.fixture(scope="module")
def guarded():
    with address_space_limit():
        yield


@pytest.mark.filterwarnings("ignore:Generating overly large repr")
@fuzz(120)
@given(book=PLAYBOOK, extra=EXTRA_VARS, mode=st.sampled_from(["syntax", "tasks", "hosts"]),
       data=st.data())  # fmt: skip
def test_fuzz_playbooks_offline(book, extra, mode, data, tmp_path_factory, guarded):
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / "site.yml"
    (folder / "vars.yml").write_text(data.draw(st.sampled_from(["x: 1\n", "- 1\n", "", "a: [\n"])))
    text = yaml.safe_dump(book, allow_unicode=True, sort_keys=False)
    if data.draw(st.integers(0, 3)) == 0:
        text = _mutate(text, data)
    path.write_text(text, encoding="utf-8")
    args = ["play", str(path)]
    for value in extra:
        args += ["-e", value]
    if mode == "syntax":
        args.append("--syntax-check")
    else:
        args += ["-i", "h1,h2,", "--list-tasks" if mode == "tasks" else "--list-hosts"]
    code, _, stderr = call(args)
    if code == 1:
        assert _names_a_file(stderr, str(folder), "/nonexistent.yml"), stderr


@pytest.mark.filterwarnings("ignore:Generating overly large repr")
@fuzz(40)
@given(book=RUNTIME_PLAYBOOK, extra=EXTRA_VARS, as_json=st.booleans())
def test_fuzz_playbooks_run_locally(book, extra, as_json, tmp_path_factory, guarded):
    """Run for real (local connection; debug, set_fact, assert, fail only: nothing is
    executed): a bad value fails its task on its host, never the run (exit 0, 1 or 2),
    and the engine never reports an internal error."""
    path = tmp_path_factory.mktemp("run") / "site.yml"
    path.write_text(yaml.safe_dump(book, allow_unicode=True, sort_keys=False), encoding="utf-8")
    args = ["play", str(path), "-i", "h1,h2,", "-e", "ansible_connection=local"]
    for value in extra:
        args += ["-e", value]
    if as_json:
        args.append("--json")
    code, stdout, stderr = call(args, codes=(0, 1, 2))
    assert "internal error" not in stdout and "Traceback" not in stdout
    if as_json and code != 1:
        assert [json.loads(line) for line in stdout.splitlines()][-1]["type"] == "recap"


@fuzz(100)
@given(command=TEMPLATE, value=SCALAR)
def test_fuzz_adhoc_templates_offline(command, value, guarded):
    """`runner run`'s command template: compiled before anything connects (a pattern that
    matches nothing stops the CLI there), then rendered per host as the engine does; it
    either gives text or raises RunnerError (the host fails), bounded as above."""
    code, _, stderr = call(["run", "-i", "h1,h2,", "nomatch", command])
    assert code in (1, 5), stderr
    host = Host("h1", {"x": value, "items": [value]}, ("all", "web"))
    tracemalloc.start()
    started = time.process_time()
    try:
        job = CommandJob(command)
        job.check([host])
        text = job.render(host, {"r": value})
        assert isinstance(text, str)
    except RunnerError as exc:
        assert "MemoryError" not in str(exc), exc
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert time.process_time() - started < MAX_SECONDS
    assert peak < MAX_PEAK


def test_the_harness_can_fail(guarded):
    """A call that allocates past MAX_PEAK fails the peak assertion."""
    tracemalloc.start()
    try:
        block = bytearray(MAX_PEAK + 1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    del block
    assert peak > MAX_PEAK
    with pytest.raises(MemoryError), address_space_limit(64 << 20):
        bytearray(256 << 20)
    assert sys.getrecursionlimit() >= 1000
