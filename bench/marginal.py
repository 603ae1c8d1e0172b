"""Client CPU per host without start-up: runner, the naive loop, and the least any
gevent + paramiko client can spend.

    .venv/bin/python bench/marginal.py                  # 500 hosts, 100 forks, best of 3
    .venv/bin/python bench/marginal.py --hosts 1000 --repeat 5
    .venv/bin/python bench/marginal.py --write          # and put the table in RESULTS.md

On one sshd on 127.0.0.1. For runner and the naive loop (bench/naive_paramiko.py) the
per-host cost is (CPU of an N-host run - CPU of a 1-host run) / (N - 1), so interpreter
start-up and imports drop out; the 1-host CPU is reported on its own as start-up. The lean
loop (bench/lean_paramiko.py) times only its connections, in-process. Best of --repeat
for each figure (this machine's timings drift by +-10% from run to run). Every host's
output is checked.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from adhoc import check_floor, check_runner, run_floor, run_runner  # noqa: I001
from common import REPO, LocalFleet, compile_runner, machine, measure

RESULTS = REPO / "bench" / "RESULTS.md"
HEADING = "## Client CPU per host without start-up"


def lean(spec: Path, forks: int) -> dict:
    m = measure(
        [sys.executable, str(REPO / "bench" / "lean_paramiko.py"), str(spec), str(forks), "echo hi"]
    )
    record = json.loads(m.stdout.splitlines()[-1])
    if record["ok"] != record["hosts"]:
        raise SystemExit(f"lean loop: {record['hosts'] - record['ok']} hosts wrong")
    return record


def write_section(table: str) -> None:
    """Replace (or add) the last section of RESULTS.md, which bench/fleet.py rewrites."""
    text = RESULTS.read_text() if RESULTS.exists() else ""
    text = text.split(HEADING)[0].rstrip() + "\n\n" if text else ""
    RESULTS.write_text(
        f"{text}{HEADING}\n\n"
        "Rerun: `.venv/bin/python bench/marginal.py --write` (part of `make bench`). For runner "
        "and the naive loop, (CPU of the N-host run - CPU of a 1-host run) / (N - 1); the "
        "lean loop (bench/lean_paramiko.py: runner's LeanTransport in a bare gevent pool, no "
        "host-key checking, settings, events or output) times its connections in-process. "
        "What runner spends above the lean loop is its own per-host work; what the lean "
        "loop spends is paramiko's.\n\n"
        f"{table}"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=500)
    parser.add_argument("--forks", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--write", action="store_true", help=f"put the table in {RESULTS.name} (last section)"
    )
    args = parser.parse_args()
    compile_runner()
    root = Path(tempfile.mkdtemp(prefix="runner-marginal-"))
    fleet = LocalFleet(root)
    print(machine())
    try:
        inv1, names1 = fleet.inventory(1)
        inv, names = fleet.inventory(args.hosts)
        spec1, spec = root / "inv1.json", root / f"inv{args.hosts}.json"
        known = root / "known_hosts"
        run_runner(inv, known, args.forks, "true")  # warm-up: page cache, host key recorded
        best: dict[str, float] = {}

        def keep(name: str, value: float) -> None:
            best[name] = min(best.get(name, value), value)

        for _ in range(args.repeat):
            one = run_runner(inv1, known, 1, "echo hi")
            check_runner(one, names1)
            many = run_runner(inv, known, args.forks, "echo hi")
            check_runner(many, names)
            keep("runner start", one.cpu)
            keep("runner", (many.cpu - one.cpu) / (args.hosts - 1))
            one = run_floor(spec1, 1, "echo hi")
            check_floor(one, names1)
            many = run_floor(spec, args.forks, "echo hi")
            check_floor(many, names)
            keep("floor start", one.cpu)
            keep("floor", (many.cpu - one.cpu) / (args.hosts - 1))
            record = lean(spec, args.forks)
            keep("lean", record["cpu"] / record["hosts"])
            keep("lean user", record["user"] / record["hosts"])
            keep("lean sys", record["sys"] / record["hosts"])
        table = (
            f"{args.hosts} hosts `echo hi`, {args.forks} forks, one sshd on 127.0.0.1, "
            f"best of {args.repeat}; {machine()}\n\n"
            "| client | CPU ms per host, start-up excluded | start-up CPU ms (1 host) |\n"
            "|---|--:|--:|\n"
            f"| runner | {1000 * best['runner']:.2f} | {1000 * best['runner start']:.0f} |\n"
            f"| naive gevent + paramiko loop | {1000 * best['floor']:.2f} | "
            f"{1000 * best['floor start']:.0f} |\n"
            f"| lean loop: runner's transport alone | {1000 * best['lean']:.2f} "
            f"(user {1000 * best['lean user']:.2f}, sys {1000 * best['lean sys']:.2f}) | - |\n"
        )
        print("\n" + table)
        if args.write:
            write_section(table)
        return 0
    finally:
        fleet.close()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
