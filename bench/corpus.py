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

Not every refusal is a gap of runner's: a refused unit is of kind ``ansible-too`` when
its blockers are only constructs ansible-core itself fails on the hosts (a test used as a
filter, ``command`` ``warn:``; corpus_units.ANSIBLE_FAILS_TOO, each proved against the
real ansible-playbook by tests/test_bench_corpus.py), of kind ``collection`` when they
include modules of collections that are not installed (as ``ini_file``, which
ansible-core redirects to community.general; runner reads the files a play includes
dynamically, which ansible-playbook --syntax-check does not), of kind ``corpus`` when
they are only files or handlers the corpus lacks (corpus_units.CORPUS_GAPS; MANIFEST.json's
not_fetched says which and why), and of kind ``runner`` otherwise. The report gives the
plain figure and the one without those three kinds.

runner checks every unit in one child process (``runner.cli.main``, the code path of
``python -m runner play --syntax-check``, from the unit's folder with the unit's
environment), since on a loaded machine start-up is most of each check's time;
``--fresh-process`` runs one ``python -m runner`` per unit instead, as a user would.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus_units import (  # noqa: E402
    Unit,
    Verdict,
    Worker,
    ansible_verdict,
    kind_of,
    load_routing,
    run,
    runner_verdict,
)

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "RESULTS.md"
SECTION = "## Corpus: real playbooks and roles under --syntax-check"
PLAYBOOK_NAMES = ("site.yml", "playbook.yml", "main.yml")


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
    worker = None if args.fresh_process else Worker(args.python, args.repo)
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
        if ansible.accepted and worker:
            runner = runner_verdict(*worker.check(unit))
        elif ansible.accepted:
            cmd = [args.python, "-m", "runner", "play", "--syntax-check", "-i", "localhost,"]
            runner = runner_verdict(*run([*cmd, unit.playbook], unit, runner_env))
        results.append({"unit": unit.name, "repo": unit.repo, "ansible": asdict(ansible),
                        "runner": asdict(runner) if runner else None})  # fmt: skip
        if args.verbose:
            said = "-" if runner is None else ("ok" if runner.accepted else runner.reasons[0])
            print(f"[{n}/{len(units)}] {unit.name}: ansible "
                  f"{'ok' if ansible.accepted else ansible.reasons[0]}; runner {said}",
                  file=sys.stderr)  # fmt: skip
    if worker:
        worker.close()
    return {"ansible": version, "repo": str(args.repo), "corpus": str(args.corpus),
            "seconds": round(time.monotonic() - started, 1), "units": results,
            "routing": load_routing(args.ansible_playbook)}  # fmt: skip


def family(repo: str) -> str:
    """One row for a family of one-role repositories: ``geerlingguy/ansible-role-nginx``
    -> ``geerlingguy/ansible-role-*``, ``openstack/openstack-ansible-os_nova`` ->
    ``openstack/openstack-ansible-*``; other names stay as they are."""
    return re.sub(r"^([^/]+/(?:ansible-role|openstack-ansible))-.+$", r"\1-*", repo)


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
    ]
    refused = len(accepted) - len(ok)
    routing = data.get("routing") or {}
    kinds = Counter(
        kind_of(u["runner"]["reasons"], routing) for u in accepted if not u["runner"]["accepted"]
    )
    fair = len(accepted) - kinds["ansible-too"] - kinds["collection"] - kinds["corpus"]
    out += [
        f"- of the {refused} refused, {kinds['runner']} are refused for runner's gaps, "
        f"{kinds['ansible-too']} only for constructs ansible-core itself fails on the hosts "
        f"(kind `ansible-too`), {kinds['collection']} only for modules of collections that "
        f"are not installed (kind `collection`), {kinds['corpus']} only for files or "
        f"handlers the corpus lacks (kind `corpus`)",
        f"- leaving those {len(accepted) - fair} out: runner accepts {len(ok)} of {fair}: "
        f"**{pct(len(ok), fair)}**",
        "",
    ]
    blockers: Counter[str] = Counter()
    for u in accepted:
        if not u["runner"]["accepted"]:
            blockers.update(set(u["runner"]["reasons"]))
    out += [f"Top blockers ({len(blockers)} different; a refused unit counts once per blocker; "
            f"{refused} refused units):", "", "| units | % of accepted | kind | blocker |",
            "| ---: | ---: | --- | --- |"]  # fmt: skip
    for reason, count in blockers.most_common(top):
        out.append(f"| {count} | {pct(count, len(accepted))} | {kind_of([reason], routing)} "
                   f"| {reason.replace('|', '/')} |")  # fmt: skip
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
        for repo in sorted({family(r) for r in repos}):
            mine = [u for u in units if u["repo"] and family(u["repo"]) == repo]
            yes = [u for u in mine if u["ansible"]["accepted"]]
            good = sum(1 for u in yes if u["runner"]["accepted"])
            out.append(f"| {repo} | {len(mine)} | {len(yes)} | {good} |")
    return "\n".join(out) + "\n"


KINDS = """Which refusals are runner's gaps (the `kind` column):

- `ansible-too`: ansible-core 2.19 accepts these at `--syntax-check` but fails the task on
  every host: tests used as filters (`r | success`, `r | failed`; Ansible 2.9 removed them,
  2.19 says "No filter named 'success'"), `command`/`shell` `warn:` (removed in 2.14:
  "Unsupported parameters ... warn"), a condition that is not an expression
  (`x|bool = True`), `service` `state: running`. runner refuses them when the playbook
  loads, before any host changes, which is the better of the two; they are not runner
  gaps. tests/test_bench_corpus.py runs one example of each through the real
  ansible-playbook (each must fail) and through runner (each must be refused).
- `collection`: modules of collections that are not installed here (`ini_file`, `pkgng`,
  `zypper_repository`: ansible-core redirects them to community.general). ansible-playbook
  leaves a unit out as "needs collection" when its syntax check sees such a module; runner
  also reads the files a role includes with `include_tasks`, which Ansible's check does
  not, so it finds these in OS-specific branches.
- `corpus`: a template, file, task file, vars file or handler the unit names that the
  stored index of public repositories did not hold (MANIFEST.json `not_fetched` lists each,
  with the reason), or a handler another role of the real project provides. Ansible fails
  those units too once the task is reached.
- `runner`: everything else; these are the gaps to close (`yum` is being implemented).

Missing files were fetched from the same repositories (MANIFEST.json lists each with its
commit); where the index did not hold a file at the unit's commit, the stored version at
another commit was taken and that commit recorded.
"""


def write_section(text: str, data: dict) -> None:
    """Replace (or append) this benchmark's section of RESULTS.md; the others stay."""
    body = (
        f"{SECTION}\n\nRerun: `.venv/bin/python bench/corpus.py --write` (corpus: see "
        f"README, Benchmarks). Generated {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} "
        f"in {data['seconds']} s.\n\n{text}\n{KINDS}"
    )
    from sections import replace_section  # bench/, on sys.path when run as a script

    replace_section(RESULTS, SECTION, body)


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
    p.add_argument(
        "--fresh-process",
        action="store_true",
        help="one `python -m runner` per unit (default: one runner process for all units)",
    )
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
