"""The pieces of bench/corpus.py that talk to the two tools: a unit and a verdict, the
clean environment each check runs in, the one runner process that checks every unit, and
how each tool's output is read into a verdict with normalised reasons (one row per gap)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

TIMEOUT = 180


@dataclass
class Unit:
    """One playbook (with what it imports) in its own folder."""

    name: str
    path: Path
    playbook: str
    repo: str = ""


@dataclass
class Verdict:
    """What one tool said of one unit: accepted, or refused with its reasons."""

    accepted: bool
    reasons: list[str] = field(default_factory=list)
    detail: str = ""  # the first error line, as printed


def clean_env(
    home: str, unit: Unit, extra: dict[str, str] | None = None, inherit: bool = True
) -> dict[str, str]:
    """The caller's environment without ANSIBLE_*/RUNNER_* settings: the unit alone decides
    (``inherit=False``: only the variables set here)."""
    env: dict[str, str] = {}
    if inherit:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "RUNNER_"))}
    env.update(
        HOME=home,
        ANSIBLE_ROLES_PATH=str(unit.path / "roles"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_LOCAL_TEMP=os.path.join(home, "tmp"),
        NO_COLOR="1",
        RUNNER_PERSIST="0",
    )
    env.update(extra or {})
    return env


def run(cmd: list[str], unit: Unit, extra_env: dict[str, str] | None = None) -> tuple[int, str]:
    with tempfile.TemporaryDirectory(prefix="corpus-home-") as home:
        try:
            proc = subprocess.run(
                cmd,
                cwd=unit.path,
                env=clean_env(home, unit, extra_env),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=TIMEOUT,
            )
        except subprocess.TimeoutExpired:
            return 124, f"timed out after {TIMEOUT} s"
    return proc.returncode, proc.stdout + proc.stderr


_COLLECTION = re.compile(r"No module named 'ansible_collections\.([\w]+)(?:\.([\w]+))?")
_PLUGIN = re.compile(r"Error loading plugin '([\w]+\.[\w]+)\.[\w.]+'")
_COLLECTION_HINT = re.compile(r"the collection '([\w]+\.[\w]+)' (?:was not found|is not installed)")


def ansible_verdict(rc: int, output: str) -> Verdict:
    """ansible-playbook's answer: accepted, "needs collection X", or its first error."""
    if rc == 0:
        return Verdict(True)
    needed = sorted(
        {m.group(1) for m in _PLUGIN.finditer(output)}
        | {m.group(1) for m in _COLLECTION_HINT.finditer(output)}
        | {f"{m.group(1)}.{m.group(2)}" for m in _COLLECTION.finditer(output) if m.group(2)}
    )
    first = next((ln.strip() for ln in output.splitlines() if "ERROR" in ln), "")
    if needed and "couldn't resolve module/action" in output:
        return Verdict(False, [f"needs collection {', '.join(needed)}"], first)
    if not first:
        lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
        first = lines[-1] if lines else f"exit {rc}"
    return Verdict(False, [normalise(first.replace("[ERROR]:", "").strip())], first)


_ERROR_LINE = re.compile(r"^runner: error: (.*)$")
_SEVERAL = re.compile(r"^\d+ problems in ")
_LOCATED = re.compile(r"^\s*(?:-\s+)?(\S+?):(\d+)(?::\d+)?: (.+)$")


def runner_verdict(rc: int, output: str) -> Verdict:
    """runner's answer: accepted, refused with one blocker per error line, or crashed.

    runner prints ``runner: error: FILE:LINE: what`` (and a hint line), or, for several
    errors at once, ``runner: error: N problems in FILES:`` and a FILE:LINE: line for
    each: each of those counts."""
    if rc == 0:
        return Verdict(True)
    lines = output.splitlines()
    reasons: list[str] = []
    detail = ""
    for i, line in enumerate(lines):
        found = _ERROR_LINE.match(line)
        if not found:
            continue
        detail = detail or line
        if not _SEVERAL.match(found.group(1)):  # "N problems in FILES:" heads the list
            reasons.append(normalise(found.group(1)))
        for follow in lines[i + 1 :]:
            if _ERROR_LINE.match(follow) or follow.lstrip().startswith("hint:"):
                break
            located = _LOCATED.match(follow)
            if located:
                reasons.append(normalise(located.group(3)))
    if rc != 1 or not reasons:
        last = next((ln for ln in reversed(lines) if ln.strip()), f"exit {rc}")
        return Verdict(False, [f"runner crashed (exit {rc}): {normalise(last)}"], last)
    return Verdict(False, list(dict.fromkeys(reasons)), detail)


_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"unknown module '([^']+)'"), r"unknown module '\1'"),
    (re.compile(r"does not support the (\w+) keyword '([^']+)'"), r"\1 keyword '\2' not supported"),
    (re.compile(r"(?:keyword|key) '([^']+)' (?:is )?not supported"), r"keyword '\1' not supported"),
    (re.compile(r"unknown (filter|test|lookup)(?: plugin)? '([^']+)'"), r"unknown \1 '\2'"),
    (re.compile(r"no (filter|test|lookup) named '([^']+)'", re.I), r"unknown \1 '\2'"),
    # A file the unit names that is not there: one row whatever the file (ansible-playbook
    # --syntax-check reads neither templates nor dynamically included files).
    (re.compile(r"([\w.]+): (local|tasks|vars) file '[^']*' not found"), r"\1: \2 file not found"),
    (re.compile(r"duplicate key '([^']+)'"), r"duplicate key '\1'"),
    (re.compile(r"^([\w.]+) does not support '([^']+)'"), r"\1 does not support '\2'"),
]


def normalise(message: str) -> str:
    """One row per gap: ``site.yml:3: unknown module 'service'; runner supports: ...``
    -> ``unknown module 'service'``; other messages lose their location, paths, quoted
    values and numbers after the first clause, and are cut at 90 characters."""
    text = message.strip()
    text = re.sub(r"^(?:\S+?:\d+(?::\d+)?:\s*)+", "", text)  # FILE:LINE: prefixes
    for pattern, replacement in _RULES:
        found = pattern.search(text)
        if found:
            return found.expand(replacement)
    text = re.split(r";|\s+hint:", text, maxsplit=1)[0]
    text = re.sub(r"(?:/[\w.@+-]+)+/?", "<path>", text)
    text = re.sub(r"\b\d+\b", "N", text)
    return text[:90].rstrip()


@dataclass(frozen=True)
class NotRunners:
    """A kind of blocker that is not a gap of runner's, the pattern of its normalised
    reason, and (``example``) a task that shows it; see ``kind_of``."""

    pattern: re.Pattern[str]
    why: str
    example: str = ""


#: Constructs ansible-core 2.19 cannot run either: it accepts them at --syntax-check and
#: fails the task on the hosts; runner refuses them when the playbook loads. Each
#: ``example`` is run by tests/test_bench_corpus.py through the real ansible-playbook
#: (every one must fail there) and through runner (its reason must match the pattern).
ANSIBLE_FAILS_TOO = [
    NotRunners(
        re.compile(r"^unknown filter '(success|changed|skipped|succeeded)'$"),
        "a test used as a filter (`x | success`; removed in Ansible 2.9)",
        "debug: msg=x\n  when: r | success",
    ),
    NotRunners(
        re.compile(r"^unknown filter 'failed'$"),
        "a test used as a filter (`x | failed`; removed in Ansible 2.9)",
        "debug: msg=x\n  when: r | failed",
    ),
    NotRunners(
        re.compile(r"^(command|shell) does not support 'warn'$"),
        "command/shell `warn` (removed in ansible-core 2.14)",
        "command: echo hi\n  args:\n    warn: false",
    ),
    NotRunners(
        re.compile(r"^invalid condition .*: chunk after expression$"),
        "a condition that is not an expression (`x|bool = True`)",
        "debug: msg=x\n  when: r|bool = True",
    ),
    NotRunners(
        re.compile(r"^state must be one of: started, stopped, restarted, reloaded"),
        "service `state: running` (not one of the module's choices)",
        "service: name=nosuch state=running",
    ),
]
#: Blockers that are the corpus's: the unit names a file (or a handler, from a file or a
#: role it does not contain) that the stored index did not hold, so the fetched unit
#: cannot run in Ansible either once that task is reached. MANIFEST.json's not_fetched
#: lists each file looked for.
CORPUS_GAPS = [
    NotRunners(
        re.compile(r"^[\w.]+: (local|tasks|vars) file not found$"), "a file not in the corpus"
    ),
    NotRunners(re.compile(r"^vars_files: .* not found"), "a vars file not in the corpus"),
    NotRunners(re.compile(r"^notify: no handler named"), "a handler not in the unit"),
]


_UNKNOWN_MODULE = re.compile(r"^unknown module '([^']+)'$")


def load_routing(ansible_playbook: str) -> dict[str, str]:
    """ansible.builtin module name -> the collection it redirects to (ini_file ->
    community.general), from the ansible_builtin_runtime.yml of the ansible-core beside
    ``ansible_playbook`` (data, not code); {} when it is not found."""
    import yaml

    venv = Path(ansible_playbook).resolve().parent.parent
    for found in sorted(venv.glob("lib/python*/site-packages/ansible/config/*_runtime.yml")):
        data = yaml.safe_load(found.read_text()) or {}
        modules = (data.get("plugin_routing") or {}).get("modules") or {}
        return {
            name: ".".join(str(e["redirect"]).split(".")[:2])
            for name, e in modules.items()
            if isinstance(e, dict) and "redirect" in e
            and not str(e["redirect"]).startswith("ansible.builtin.")
        }  # fmt: skip
    return {}


def collection_of(reason: str, routing: dict[str, str]) -> str | None:
    """The collection a module of an ``unknown module 'X'`` reason comes from, when it
    is not ansible-core's: ``community.general.zypper`` -> community.general, ``ini_file``
    -> community.general (ansible-core redirects it there); None otherwise."""
    found = _UNKNOWN_MODULE.match(reason)
    if not found:
        return None
    name = found.group(1)
    short = re.sub(r"^ansible\.(?:builtin|legacy)\.", "", name)
    if short.count(".") >= 2:
        return ".".join(short.split(".")[:2])
    return routing.get(short)


def kind_of(reasons: list[str], routing: dict[str, str] | None = None) -> str:
    """What refused a unit: ``runner`` when any reason is a gap of runner's, else
    ``ansible-too`` when any is a construct ansible-core cannot run either
    (ANSIBLE_FAILS_TOO), else ``collection`` when any is a module of a collection that
    is not installed (ansible-playbook leaves such units out when its syntax check sees
    the module; runner also reads the files Ansible includes only when the play runs),
    else ``corpus`` (only files or handlers the corpus lacks)."""
    kinds = set()
    for reason in reasons:
        if collection_of(reason, routing or {}):
            kinds.add("collection")
        elif any(k.pattern.search(reason) for k in ANSIBLE_FAILS_TOO):
            kinds.add("ansible-too")
        elif any(k.pattern.search(reason) for k in CORPUS_GAPS):
            kinds.add("corpus")
        else:
            kinds.add("runner")
    for kind in ("runner", "ansible-too", "collection", "corpus"):
        if kind in kinds:
            return kind
    return "runner"


# Runs in one child process (PYTHONPATH = the checkout under test) for every unit: the
# same code path as `python -m runner play --syntax-check` (runner.cli.main, the one
# error -> exit-code boundary) without paying Python's and runner's start-up per unit,
# which on a loaded machine is most of the time. --fresh-process runs one
# `python -m runner` per unit instead.
WORKER = r"""
import contextlib, io, json, os, sys, traceback
from gevent import monkey
monkey.patch_all()
from runner.cli import main
from runner.cli.environment import Environment
base = dict(os.environ)
for line in sys.stdin:
    job = json.loads(line)
    os.environ.clear(); os.environ.update(base); os.environ.update(job["env"])
    os.chdir(job["cwd"])
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            env = Environment(stdin=io.StringIO(""), stdout=out, stderr=err,
                              environ=dict(os.environ), cwd=job["cwd"])
            rc = main(job["argv"], env=env)
    except BaseException:
        rc, err = 99, io.StringIO(err.getvalue() + traceback.format_exc())
    print(json.dumps({"rc": rc, "output": out.getvalue() + err.getvalue()}), flush=True)
"""


class Worker:
    """One long-lived `python -c WORKER` child: a unit in, (exit code, output) out."""

    def __init__(self, python: str, repo: Path) -> None:
        self.home = tempfile.TemporaryDirectory(prefix="corpus-runner-")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "RUNNER_"))}
        env.update(PYTHONPATH=str(repo), HOME=self.home.name, RUNNER_PERSIST="0")
        self.proc = subprocess.Popen(
            [python, "-c", WORKER],
            cwd=self.home.name,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def check(self, unit: Unit) -> tuple[int, str]:
        assert self.proc.stdin and self.proc.stdout
        with tempfile.TemporaryDirectory(prefix="corpus-home-") as home:
            job = {"cwd": str(unit.path), "env": clean_env(home, unit, {}, inherit=False),
                   "argv": ["play", "--syntax-check", "-i", "localhost,", unit.playbook]}  # fmt: skip
            self.proc.stdin.write(json.dumps(job) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
        if not line:
            sys.exit(f"corpus: the runner worker died (exit {self.proc.wait()}) on {unit.name}")
        answer = json.loads(line)
        return int(answer["rc"]), str(answer["output"])

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=60)
        self.home.cleanup()
