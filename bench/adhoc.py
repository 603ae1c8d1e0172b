"""`runner run` against the naive gevent + paramiko floor on a local sshd fleet.

    .venv/bin/python bench/adhoc.py            # both standard scenarios
    .venv/bin/python bench/adhoc.py --hosts 500 --forks 100 --command 'echo hi'

Reports wall seconds, client CPU (user+sys) total and per host, peak RSS, and the
runner/floor ratios. Every host's output is checked; a wrong result fails the bench.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from common import REPO, LocalFleet, Measure, compile_runner, machine, measure  # noqa: I001

SCENARIOS = [(500, 100, "echo hi"), (200, 200, "sleep 2; echo hi")]


def run_runner(inv: Path, known: Path, forks: int, command: str) -> Measure:
    return measure(
        [
            sys.executable,
            "-m",
            "runner",
            "run",
            "-i",
            str(inv),
            "--known-hosts",
            str(known),
            "-f",
            str(forks),
            "--json",
            "all",
            command,
        ]
    )


def run_floor(spec: Path, forks: int, command: str) -> Measure:
    return measure(
        [sys.executable, str(REPO / "bench" / "naive_paramiko.py"), str(spec), str(forks), command]
    )


def check_runner(m: Measure, names: list[str]) -> None:
    hosts = [json.loads(line) for line in m.stdout.splitlines()]
    got = {r["host"]: r["stdout"] for r in hosts if r["type"] == "host"}
    bad = [n for n in names if got.get(n) != "hi\n"]
    if bad or m.exit_code != 0:
        raise SystemExit(f"runner gave wrong results for {len(bad)} hosts, e.g. {bad[:3]}")


def check_floor(m: Measure, names: list[str]) -> None:
    rows = dict(line.split("\t", 1) for line in m.stdout.splitlines())
    bad = [n for n in names if rows.get(n) != "0\thi"]
    if bad:
        raise SystemExit(f"floor loop gave wrong results for {len(bad)} hosts, e.g. {bad[:3]}")


def row(label: str, m: Measure, hosts: int) -> str:
    return (
        f"| {label} | {m.wall:.2f} | {m.cpu:.2f} | {m.per_host_ms(hosts):.2f} | "
        f"{m.peak_rss_mb:.0f} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int)
    parser.add_argument("--forks", type=int, default=100)
    parser.add_argument("--command", default="echo hi")
    args = parser.parse_args()
    scenarios = [(args.hosts, args.forks, args.command)] if args.hosts else SCENARIOS
    compile_runner()
    root = Path(tempfile.mkdtemp(prefix="runner-bench-"))
    fleet = LocalFleet(root)
    print(machine())
    try:
        for hosts, forks, command in scenarios:
            inv, names = fleet.inventory(hosts)
            known = root / "known_hosts"
            run_runner(inv, known, forks, "true")  # warm up: record the host key, fill caches
            floor = run_floor(root / f"inv{hosts}.json", forks, command)
            check_floor(floor, names)
            ours = run_runner(inv, known, forks, command)
            check_runner(ours, names)
            print(f"\n{hosts} hosts, {forks} forks, {command!r}")
            print("| tool | wall s | CPU s | CPU ms/host | peak RSS MB |")
            print("|---|---|---|---|---|")
            print(row("runner", ours, hosts))
            print(row("gevent+paramiko floor", floor, hosts))
            print(
                f"runner/floor: wall {ours.wall / floor.wall:.2f}x, "
                f"CPU/host {ours.cpu / floor.cpu:.2f}x, RSS {ours.peak_rss_mb / floor.peak_rss_mb:.2f}x"
            )
    finally:
        fleet.close()
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
