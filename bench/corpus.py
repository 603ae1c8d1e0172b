"""How much real Ansible content runner accepts: ``ansible-playbook --syntax-check``
against ``runner play --syntax-check`` on every unit of a corpus, and what blocks the rest.

    .venv/bin/python bench/corpus.py                       # the corpus in /work/corpus
    .venv/bin/python bench/corpus.py --corpus DIR --top 30
    .venv/bin/python bench/corpus.py --json out.json       # every unit's results
    .venv/bin/python bench/corpus.py --write               # and update bench/RESULTS.md

A corpus is a folder of units: each subfolder of ``DIR/units`` (or of ``DIR`` when it
has no ``units/``) holding a ``site.yml`` (or ``playbook.yml`` / ``main.yml``) is one
unit, run from its own folder with ``ANSIBLE_ROLES_PATH`` set to the unit's ``roles/``.
A role is measured by wrapping it in a two-line ``site.yml`` (``- hosts: all`` /
``roles: [NAME]``) beside a ``roles/NAME``. ``DIR/MANIFEST.json`` (optional, a list of
``{"unit": ..., "repo": ...}``) adds a table by source repository.

Only ``--syntax-check`` runs, with ``-i localhost,``, ``HOME`` in a temporary folder and
nothing else from the caller's ``ANSIBLE_*`` environment: nothing runs on any host. The
units run one after the other (the machine is shared). Ansible's verdicts are cached in
``DIR/.ansible-verdicts.json`` by unit content and ansible-core version, so a rerun after
a change to runner only runs runner (``--no-cache`` runs Ansible again).

A unit ansible-playbook refuses for a missing collection is reported as "needs
collection X" and left out of the measured set, as are units it refuses for anything
else: the figure is runner's acceptance of what Ansible itself accepts. Each refused
unit's blockers are runner's error lines, normalised (file, line and the list of what
runner supports cut off) so that the same gap in many units counts as one row; a unit
counts once per blocker however often it hits it. Exit status 1 with ``runner: error:``
is a refusal; any other non-zero exit (a traceback) is reported as ``runner crashed``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "RESULTS.md"
SECTION = "## Corpus: real playbooks and roles under --syntax-check"
PLAYBOOK_NAMES = ("site.yml", "playbook.yml", "main.yml")
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


def discover(corpus: Path) -> list[Unit]:
    """The units of a corpus, sorted by name; repos from MANIFEST.json when present."""
    base = corpus / "units" if (corpus / "units").is_dir() else corpus
    repos: dict[str, str] = {}
    manifest = corpus / "MANIFEST.json"
    if manifest.is_file():
        data = json.loads(manifest.read_text())
        entries = data.get("units", data) if isinstance(data, dict) else data
        for entry in entries:
            if isinstance(entry, dict) and "unit" in entry:
                repos.setdefault(str(entry["unit"]), str(entry.get("repo", "")))
    units = []
    for folder in sorted(p for p in base.iterdir() if p.is_dir()):
        for name in PLAYBOOK_NAMES:
            if (folder / name).is_file():
                units.append(Unit(folder.name, folder, name, repos.get(folder.name, "")))
                break
    return units


def clean_env(home: str, unit: Unit, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The caller's environment without ANSIBLE_*/RUNNER_* settings: the unit alone decides."""
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
_LOCATED = re.compile(r"^\s*(?:-\s+)?(\S+?):(\d+)(?::\d+)?: (.+)$")


def runner_verdict(rc: int, output: str) -> Verdict:
    """runner's answer: accepted, refused with one blocker per error line, or crashed.

    runner prints ``runner: error: FILE:LINE: what`` (and a hint line); when it learns to
    report several errors at once (FILE:LINE: lines under the first), each counts."""
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
    (re.compile(r"no (filter|test|lookup) named '([^']+)'"), r"unknown \1 '\2'"),
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


def digest(unit: Unit) -> str:
    """A hash of every file of the unit: Ansible's verdict holds while it is unchanged."""
    h = hashlib.sha256()
    for path in sorted(p for p in unit.path.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(unit.path)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]


def ansible_version(ansible: str) -> str:
    try:
        out = subprocess.run([ansible, "--version"], capture_output=True, text=True).stdout
    except OSError as exc:
        sys.exit(f"corpus: cannot run {ansible}: {exc}")
    return out.splitlines()[0].strip() if out else "unknown"


def measure(args: argparse.Namespace) -> dict:
    """Run both tools on every unit; the per-unit results and the versions used."""
    units = discover(args.corpus)
    if args.only:
        units = [u for u in units if any(re.search(p, u.name) for p in args.only)]
    if not units:
        sys.exit(f"corpus: no units (folders with {'/'.join(PLAYBOOK_NAMES)}) in {args.corpus}")
    version = ansible_version(args.ansible_playbook)
    cache_file = args.corpus / ".ansible-verdicts.json"
    cache: dict = {}
    if not args.no_cache and cache_file.is_file():
        cache = json.loads(cache_file.read_text())
    runner_env = {"PYTHONPATH": str(args.repo)}
    results = []
    started = time.monotonic()
    for n, unit in enumerate(units, 1):
        key = f"{unit.name}:{digest(unit)}:{version}"
        if key in cache:
            ansible = Verdict(**cache[key])
        else:
            cmd = [args.ansible_playbook, "--syntax-check", "-i", "localhost,", unit.playbook]
            ansible = ansible_verdict(*run(cmd, unit))
            cache[key] = asdict(ansible)
            cache_file.write_text(json.dumps(cache, indent=1, sort_keys=True))
        runner = None
        if ansible.accepted:
            cmd = [args.python, "-m", "runner", "play", "--syntax-check", "-i", "localhost,"]
            runner = runner_verdict(*run([*cmd, unit.playbook], unit, runner_env))
        results.append({"unit": unit.name, "repo": unit.repo, "ansible": asdict(ansible),
                        "runner": asdict(runner) if runner else None})  # fmt: skip
        if args.verbose:
            said = "-" if runner is None else ("ok" if runner.accepted else runner.reasons[0])
            print(f"[{n}/{len(units)}] {unit.name}: ansible "
                  f"{'ok' if ansible.accepted else ansible.reasons[0]}; runner {said}",
                  file=sys.stderr)  # fmt: skip
    return {"ansible": version, "repo": str(args.repo), "corpus": str(args.corpus),
            "seconds": round(time.monotonic() - started, 1), "units": results}  # fmt: skip


def pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def report(data: dict, top: int) -> str:
    """The summary, the blocker table and the per-repository table, as Markdown."""
    units = data["units"]
    accepted = [u for u in units if u["ansible"]["accepted"]]
    ok = [u for u in accepted if u["runner"]["accepted"]]
    needs = [u for u in units if u["ansible"]["reasons"][:1] and
             u["ansible"]["reasons"][0].startswith("needs collection")]  # fmt: skip
    other = len(units) - len(accepted) - len(needs)
    repos = {u["repo"] for u in units if u["repo"]}
    out = [
        f"Corpus: {len(units)} units" + (f" from {len(repos)} repositories" if repos else ""),
        f"- ansible-playbook --syntax-check ({data['ansible']}) accepts {len(accepted)}; "
        f"{len(needs)} need a collection that is not installed; {other} refused otherwise",
        f"- runner play --syntax-check accepts {len(ok)} of those {len(accepted)}: "
        f"**{pct(len(ok), len(accepted))}**",
        "",
    ]
    blockers: Counter[str] = Counter()
    for u in accepted:
        if not u["runner"]["accepted"]:
            blockers.update(set(u["runner"]["reasons"]))
    refused = len(accepted) - len(ok)
    out += [f"Top blockers ({len(blockers)} different; a refused unit counts once per blocker; "
            f"{refused} refused units):", "", "| units | % of accepted | blocker |",
            "| ---: | ---: | --- |"]  # fmt: skip
    for reason, count in blockers.most_common(top):
        out.append(f"| {count} | {pct(count, len(accepted))} | {reason.replace('|', '/')} |")
    gaps: Counter[str] = Counter()
    for u in units:
        if not u["ansible"]["accepted"]:
            gaps.update(u["ansible"]["reasons"])
    if gaps:
        out += ["", "Left out (ansible-playbook refuses them):", "", "| units | why |",
                "| ---: | --- |"]  # fmt: skip
        out += [f"| {c} | {r.replace('|', '/')} |" for r, c in gaps.most_common(top)]
    if repos:
        out += ["", "| repository | units | ansible accepts | runner accepts |",
                "| --- | ---: | ---: | ---: |"]  # fmt: skip
        for repo in sorted(repos):
            mine = [u for u in units if u["repo"] == repo]
            yes = [u for u in mine if u["ansible"]["accepted"]]
            good = sum(1 for u in yes if u["runner"]["accepted"])
            out.append(f"| {repo} | {len(mine)} | {len(yes)} | {good} |")
    return "\n".join(out) + "\n"


def write_section(text: str, data: dict) -> None:
    """Replace (or append) this benchmark's section of RESULTS.md; the others stay."""
    body = (
        f"{SECTION}\n\nRerun: `.venv/bin/python bench/corpus.py --write` (corpus: see "
        f"README, Benchmarks). Generated {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} "
        f"in {data['seconds']} s.\n\n{text}"
    )
    current = RESULTS.read_text() if RESULTS.is_file() else ""
    start = current.find(SECTION)
    if start < 0:
        RESULTS.write_text(current.rstrip("\n") + "\n\n" + body)
        return
    end = current.find("\n## ", start + len(SECTION))
    rest = current[end + 1 :] if end >= 0 else ""
    RESULTS.write_text(current[:start] + body + ("\n" + rest if rest else ""))


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus", type=Path, default=Path("/work/corpus"), help="the corpus folder")
    p.add_argument("--repo", type=Path, default=REPO, help="the runner checkout to measure")
    p.add_argument("--python", default=sys.executable, help="the Python that runs runner")
    p.add_argument(
        "--ansible-playbook",
        default=str(Path(sys.executable).with_name("ansible-playbook")),
        help="the ansible-playbook to compare with (default: beside this Python)",
    )
    p.add_argument("--top", type=int, default=20, help="rows of the blocker table")
    p.add_argument("--only", action="append", help="only units whose name matches (regex)")
    p.add_argument("--json", type=Path, help="also write every unit's results to this file")
    p.add_argument("--no-cache", action="store_true", help="run ansible-playbook again")
    p.add_argument("--write", action="store_true", help=f"update the section in {RESULTS.name}")
    p.add_argument("-v", "--verbose", action="store_true", help="one line per unit on stderr")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    args.corpus = args.corpus.resolve()
    data = measure(args)
    text = report(data, args.top)
    print(text, end="")
    if args.json:
        args.json.write_text(json.dumps(data, indent=1))
    if args.write:
        write_section(text, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
