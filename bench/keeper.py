"""The connection keeper, side by side: `echo hi` on 500 hosts as a cold runner run (the
keeper starts), the warm run right after it (every connection held), runner without the
keeper, parallel-ssh and the naive gevent + paramiko loop; one host warm, end to end; and
the keeper's memory per held connection with 1,000 held.

    .venv/bin/python bench/keeper.py            # print the section
    .venv/bin/python bench/keeper.py --write    # and put it in RESULTS.md (after marginal.py's)

Client CPU of a keeper run is the CLI's (os.wait4, its whole tree) plus what the keeper
process spent meanwhile (/proc/PID/stat utime+stime before and after). The fleet is
bench/fleet.py's (a network namespace with one address per host, as root).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import fleet as bench  # bench/fleet.py
from common import REPO, compile_runner

RESULTS = REPO / "bench" / "RESULTS.md"
HEADING = "## Connection keeper: warm runs"
PSSH = bench.TOOLS[3]
FLOOR = bench.TOOLS[2]


def keeper_pids(runtime: Path) -> list[int]:
    found = subprocess.run(
        ["pgrep", "-f", f"runner _keeper --socket {runtime}/"], capture_output=True, text=True
    )
    return [int(p) for p in found.stdout.split()]


def cpu_of(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Runner:
    """runner runs against the fleet with one runtime folder (so one keeper)."""

    def __init__(self, fleet: bench.Fleet, root: Path) -> None:
        self.fleet = fleet
        self.runtime = Path(tempfile.mkdtemp(prefix="rk-", dir="/tmp"))
        self.runtime.chmod(0o700)
        self.known = root / "keeper_known_hosts"
        self.home = root / "keeper-home"
        self.home.mkdir(exist_ok=True)

    def env(self) -> dict:
        return {
            **os.environ,
            "HOME": str(self.home),
            "PYTHONPATH": str(REPO),
            "XDG_RUNTIME_DIR": str(self.runtime),
            "RUNNER_PERSIST": "120",
        }

    def run(self, count: int, forks: int, command: str, *extra: str) -> bench.Run:
        names, inv, _spec = self.fleet.hosts(count)
        cmd = [
            *self.fleet.prefix,
            *(sys.executable, "-m", "runner", "run", "-i", str(inv), "--json"),
            *("--known-hosts", str(self.known), "-f", str(forks), *extra, "all", command),
        ]
        before = {pid: cpu_of(pid) for pid in keeper_pids(self.runtime)}
        run = bench.measure(cmd, self.env(), self.home, 900)
        after = {pid: cpu_of(pid) for pid in keeper_pids(self.runtime)}
        run.server_cpu = 0.0
        keeper_cpu = sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())
        run.cpu += keeper_cpu
        run.tree_pss_mb = keeper_cpu  # reused field: the keeper's share of run.cpu
        results = bench.parse_results(bench.TOOLS[0], run.stdout)
        expected = "hi" if command == "echo hi" else ""
        run.bad = [n for n in names if results.get(n) != (0, expected)]
        run.status = f"FAILED ({len(run.bad)} bad hosts)" if run.bad else "ok"
        if run.bad:
            print(f"  bad: {run.bad[:3]} {run.stderr[-500:]}", file=sys.stderr)
        return run

    def held_memory(self) -> tuple[int, int, int]:
        """(held connections, keeper RSS KiB, its RSS at start KiB) from keeper status."""
        done = subprocess.run(
            [sys.executable, "-m", "runner", "keeper", "status"],
            capture_output=True,
            text=True,
            env=self.env(),
        )
        held = rss = base = 0
        for line in done.stdout.splitlines():
            if "held, " in line and "keeper pid" in line:
                held = int(line.split("): ", 1)[1].split()[0])
        pids = keeper_pids(self.runtime)
        if pids:
            rss = rss_kb(pids[0])
            for line in done.stdout.splitlines():
                if "MiB at start" in line:
                    base = int(float(line.split("(", 1)[1].split()[0]) * 1024)
        return held, rss, base

    def stop(self) -> None:
        subprocess.run(
            [sys.executable, "-m", "runner", "keeper", "stop"],
            capture_output=True,
            env=self.env(),
        )
        shutil.rmtree(self.runtime, ignore_errors=True)


def row(label: str, run: bench.Run, hosts: int, cold: bench.Run | None, kept: bool = False) -> str:
    vs = f"{run.wall / cold.wall:.2f}x" if cold and cold.wall else ""
    share = f"{run.cpu - run.tree_pss_mb:.2f} + {run.tree_pss_mb:.2f}" if kept else ""
    return (
        f"| {label} | {run.status} | {run.wall:.2f} | {run.cpu:.2f} | {share} | "
        f"{1000 * run.cpu / hosts:.2f} | {vs} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=500)
    parser.add_argument("--held", type=int, default=1000, help="hosts for the memory figure")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    compile_runner()
    reason = bench.why_no_netns()
    root = Path(tempfile.mkdtemp(prefix="runner-keeper-bench-"))
    root.chmod(0o755)
    fleet = bench.Fleet(root, reason is None, reason or "")
    runner = Runner(fleet, root)
    count, forks = args.hosts, 100
    scenario = bench.Scenario(f"echo-{count}", count, forks, "echo hi", "hi")
    lines: list[str] = []
    load_before = os.getloadavg()[0]
    try:
        print(f"fleet: {fleet.describe()}", file=sys.stderr)
        runner.run(20, 20, "true", "--persist", "0")  # warm-up: page cache, bytecode
        others = {}
        for tool in (FLOOR, PSSH):
            if tool.package and tool.package not in bench.installed_versions():
                others[tool.label] = bench.Run(status="not installed")
                continue
            others[tool.label] = bench.run_tool(fleet, tool, scenario, 900)
            print(f"{tool.name}: {others[tool.label].wall:.2f} s", file=sys.stderr)
        plain = runner.run(count, forks, "echo hi", "--persist", "0")
        fleet.settle()
        cold = runner.run(count, forks, "echo hi")
        warm = runner.run(count, forks, "echo hi")
        warm2 = runner.run(count, forks, "echo hi")
        print(f"cold {cold.wall:.2f} s, warm {warm.wall:.2f} / {warm2.wall:.2f} s", file=sys.stderr)
        runner.run(1, 1, "echo hi")
        one = [runner.run(1, 1, "echo hi") for _ in range(7)]
        one_wall = statistics.median(r.wall for r in one)
        one_cpu = statistics.median(r.cpu for r in one)
        runner.run(args.held, 500, "true")
        held, rss, base = runner.held_memory()
        pids = keeper_pids(runner.runtime)
        idle_before = cpu_of(pids[0]) if pids else 0.0
        time.sleep(10)
        idle_cpu = (cpu_of(pids[0]) - idle_before) / 10 if pids else 0.0
        pssh = others.get(PSSH.label)
        lines += [
            HEADING,
            "",
            "Rerun: `.venv/bin/python bench/keeper.py --write` (part of `make bench`, after "
            "marginal.py). One fleet: " + fleet.describe() + ". Client CPU of a keeper run is "
            "the CLI's whole process tree plus the keeper's CPU over the run.",
            "",
            f"Load average (1 min) before and after: {load_before:.1f}, "
            f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores: above the core count, "
            "other work shared the cores and every figure (CPU time too) is inflated.",
            "",
            f"`echo hi` on {count} hosts, {forks} forks:",
            "",
            "| run | status | wall s | client CPU s | CLI + keeper s | CPU ms/host | "
            "wall vs cold |",
            "|---|---|--:|--:|--:|--:|--:|",
            row("runner cold (the keeper starts, connects every host)", cold, count, cold, True),
            row("**runner warm** (right after: every connection held)", warm, count, cold, True),
            row("runner warm, again", warm2, count, cold, True),
            row("runner `--persist 0` (no keeper)", plain, count, cold),
            *(row(label, run, count, cold) for label, run in others.items()),
            "",
        ]
        if pssh and pssh.cpu and pssh.status == "ok":
            lines.append(
                f"- warm client CPU per host / parallel-ssh's: "
                f"{warm.cpu / pssh.cpu:.2f}x (goal: at most 0.35x)"
            )
        lines += [
            f"- warm wall / cold wall: {warm.wall / cold.wall:.2f}x (goal: at most 0.3x)",
            f"- one host, warm, end to end (median of 7): {one_wall:.3f} s wall, "
            f"{one_cpu * 1000:.0f} ms client CPU (goal: under 0.15 s)",
            f"- memory: {held} connections held, keeper RSS {rss / 1024:.1f} MiB "
            f"({base / 1024:.1f} MiB at start): "
            f"{(rss - base) / max(held, 1):.0f} KiB per held connection (goal: at most 100 KB)",
            f"- the keeper holding them, idle: {100 * idle_cpu:.1f}% of one core "
            "(each idle held connection is polled every 30 s)",
            "",
        ]
    finally:
        runner.stop()
        fleet.close()
        shutil.rmtree(root, ignore_errors=True)
    text = "\n".join(lines)
    print(text)
    if args.write and text:
        from sections import replace_section

        replace_section(RESULTS, HEADING, text.rstrip() + "\n")
        print(f"wrote {RESULTS.relative_to(REPO)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
