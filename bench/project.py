"""The example project (playbooks/example: facts, roles, includes, vault, lookups, loops,
delegate_to, run_once, handlers and one bridged module) on N hosts, side by side in one
run: runner, ansible-playbook with its default ssh connection (ControlPersist), and
Ansible with Mitogen's ``mitogen_linear`` strategy.

    .venv/bin/python bench/project.py                   # 100 hosts, every column
    .venv/bin/python bench/project.py --hosts 2 --tools runner
    .venv/bin/python bench/project.py --write           # and put it in RESULTS.md

Each tool runs the project once from a clean state (every host's app_root removed), with
forks = hosts, and must end with failed=0 and unreachable=0 on every host and the same
recap as the others. Reported: wall seconds, client CPU (user+sys of the tool's process
tree from os.wait4, plus the ssh ControlPersist masters Ansible leaves behind, read from
/proc before they are ended), and peak memory (the largest summed PSS of the tree and
those masters, sampled). The Ansible columns run from .venv-bench (``make bench-deps``;
BENCH_PKGS has ansible-core and mitogen); a column whose tool is missing says so.

As root the hosts are 127.0.X.Y addresses of one sshd in a network namespace made for
the run (bench/fleet.py's Fleet); otherwise host names on one sshd on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from common import REPO, compile_runner, write_inventory  # noqa: I001
from fleet import BENCH_PYTHON, Fleet, tree_pids, why_no_netns
from sections import replace_section

PROJECT = REPO / "playbooks" / "example"
RESULTS = REPO / "bench" / "RESULTS.md"
TITLE = "## The example project: runner, ansible-playbook and Mitogen"
TOOLS = ("runner", "ansible", "mitogen")
LABELS = {
    "runner": "runner play",
    "ansible": "ansible-playbook (ssh, ControlPersist)",
    "mitogen": "ansible-playbook + Mitogen (mitogen_linear)",
}
RECAP = re.compile(
    r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)"
    r"\s+skipped=(\d+)",
    re.M,
)


@dataclass
class Result:
    wall: float = 0.0
    cpu: float = 0.0
    peak_mb: float = 0.0
    exit_code: int = 0
    recap: dict | None = None
    status: str = "ok"


def example_inventory(fleet: Fleet, count: int, hosts_root: Path) -> Path:
    """The fleet's hosts as the project wants them: the last tenth (at least one) are the
    database group, the rest web servers; each writes under its own app_root."""
    import yaml

    names, spread_inventory, _ = fleet.hosts(count)  # each host's address and port
    spread = yaml.safe_load(spread_inventory.read_text())["all"]["hosts"]
    db = max(1, count // 10)
    host_vars = {
        name: {
            **(spread.get(name) or {}),
            "app_root": str(hosts_root / name),
            "ansible_python_interpreter": "/usr/bin/python3",
        }
        for name in names
    }
    groups = {"web": names[: count - db] or names, "db": names[count - db :]}
    return write_inventory(
        fleet.root / f"example{count}.yml", fleet.server, names, groups=groups,
        host_vars=host_vars,
    )  # fmt: skip


def mitogen_strategy_dir() -> Path | None:
    """ansible_mitogen's strategy plugins in the bench venv, or None without Mitogen."""
    if not BENCH_PYTHON.exists():
        return None
    found = subprocess.run(
        [str(BENCH_PYTHON), "-c", "import ansible_mitogen, os; "
         "print(os.path.dirname(ansible_mitogen.__file__))"],
        capture_output=True, text=True,
    )  # fmt: skip
    if found.returncode != 0:
        return None
    return Path(found.stdout.strip()) / "plugins" / "strategy"


def command(tool: str, inv: Path, forks: int, tmp: Path) -> tuple[list[str], dict[str, str]]:
    """The command line and environment of one tool's run of the project."""
    env = {**os.environ, "HOME": str(tmp / "home"), "EXAMPLE_DEPLOY_ENV": "bench"}
    env = {k: v for k, v in env.items() if not k.startswith("ANSIBLE_")}
    env["ANSIBLE_CONFIG"] = str(PROJECT / "ansible.cfg")
    if tool == "runner":
        env.update(PYTHONPATH=str(REPO), RUNNER_PERSIST="0")
        return [sys.executable, "-m", "runner", "play", "-i", str(inv), "--known-hosts",
                str(tmp / "known_hosts"), "-f", str(forks), "--json",
                str(PROJECT / "site.yml")], env  # fmt: skip
    env.update(
        ANSIBLE_HOST_KEY_CHECKING="False",
        ANSIBLE_LOCAL_TEMP=str(tmp / "ansible-tmp"),
        ANSIBLE_SSH_CONTROL_PATH_DIR=str(tmp / "cp"),
        ANSIBLE_NOCOLOR="1",
    )
    # Ansible's default ssh_args (ControlMaster=auto, ControlPersist=60s), with the run's
    # own known_hosts: ssh reads the passwd home's, not $HOME's
    env["ANSIBLE_SSH_ARGS"] = (
        f"-C -o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile={tmp}/known_hosts"
    )
    # a connection's setup may take longer than the default 10 s on a loaded machine
    # (Mitogen's starts a Python on the host and sends it its core); runner keeps its 10 s
    env["ANSIBLE_TIMEOUT"] = "60"
    if tool == "mitogen":
        strategies = mitogen_strategy_dir()
        assert strategies is not None
        env.update(ANSIBLE_STRATEGY_PLUGINS=str(strategies), ANSIBLE_STRATEGY="mitogen_linear")
    playbook = BENCH_PYTHON.with_name("ansible-playbook")
    return [str(playbook), "-i", str(inv), "-f", str(forks), str(PROJECT / "site.yml")], env


def left_behind(marker: str) -> list[int]:
    """Processes started by the run that outlived it (ssh ControlPersist masters, which
    name the run's folder in their command line)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                if marker.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                    pids.append(int(entry))
    return [p for p in pids if p != os.getpid()]


def cpu_of(pid: int) -> float:
    """user+sys of ``pid`` and the children it reaped, from /proc/PID/stat."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return sum(int(fields[i]) for i in (11, 12, 13, 14)) / os.sysconf("SC_CLK_TCK")
    return 0.0


def pss_kb(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, ValueError):
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
                    break
    return total


def measure(cmd: list[str], env: dict, tmp: Path, timeout: float) -> tuple[Result, str]:
    """One run: wall, CPU of the tree (os.wait4) and of what it left behind, peak PSS."""
    marker = str(tmp)
    start = time.perf_counter()
    log = open(tmp / "output.txt", "wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            env=env, cwd=tmp, start_new_session=True)  # fmt: skip
    log.close()
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            pids = set(tree_pids(proc.pid)) | set(left_behind(marker))
            peak = max(peak, pss_kb(sorted(pids)))
            done.wait(0.25)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    timer = threading.Timer(timeout, lambda: os.killpg(proc.pid, signal.SIGKILL))
    timer.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        timer.cancel()
        done.set()
    result = Result(wall=time.perf_counter() - start)
    sampler.join(10)
    result.cpu = usage.ru_utime + usage.ru_stime
    for pid in left_behind(marker):  # ControlPersist masters: their CPU, then end them
        result.cpu += cpu_of(pid)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    result.peak_mb = peak / 1024
    result.exit_code = os.waitstatus_to_exitcode(status)
    return result, (tmp / "output.txt").read_text(errors="replace")


def recap_of(tool: str, output: str) -> dict[str, tuple[int, ...]]:
    if tool == "runner":
        import json

        for line in output.splitlines():
            if line.startswith("{") and '"recap"' in line:
                hosts = json.loads(line)["hosts"]
                keys = ("ok", "changed", "unreachable", "failed", "skipped")
                return {h: tuple(c.get(k, 0) for k in keys) for h, c in hosts.items()}
        return {}
    return {m[1]: tuple(int(x) for x in m.groups()[1:]) for m in RECAP.finditer(output)}


def run(tool: str, fleet: Fleet, inv: Path, hosts_root: Path, forks: int) -> Result:
    if tool != "runner" and not BENCH_PYTHON.with_name("ansible-playbook").exists():
        return Result(status="not installed (make bench-deps)")
    if tool == "mitogen" and mitogen_strategy_dir() is None:
        return Result(status="not installed (mitogen in .venv-bench)")
    shutil.rmtree(hosts_root, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"run-{tool}-", dir=fleet.root))
    (tmp / "home").mkdir()
    cmd, env = command(tool, inv, forks, tmp)
    result, output = measure([*fleet.prefix, *cmd], env, tmp, timeout=1800)
    fleet.settle()
    result.recap = recap_of(tool, output)
    hosts = len(result.recap)
    bad = [h for h, c in result.recap.items() if c[2] or c[3]]
    if result.exit_code != 0 or bad or not hosts:
        result.status = f"FAILED (exit {result.exit_code}, {len(bad)} bad hosts)"
        shown = output if len(output) < 6000 else output[:3000] + "\n...\n" + output[-3000:]
        print(f"{tool}: {result.status}\n{shown}", file=sys.stderr)
    shutil.rmtree(tmp, ignore_errors=True)
    return result


def load_average() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def report(results: dict[str, Result], args: argparse.Namespace, fleet: Fleet, loads) -> str:
    base = results.get("runner")
    lines = [
        TITLE, "",
        f"Rerun: `.venv/bin/python bench/project.py --hosts {args.hosts} --write`. "
        f"playbooks/example on {args.hosts} hosts, forks {args.hosts}, each tool once from "
        f"a clean state; {fleet.describe()}.", "",
        f"Load average (1, 5, 15 min) before: {loads[0]}; after: {loads[1]}; "
        f"{os.cpu_count()} cores. The machine was shared with other work: every figure, "
        "CPU time too, is inflated, and the ratios are what to read.", "",
        "| tool | status | wall s | client CPU s | peak memory MiB (PSS) | wall vs runner "
        "| CPU vs runner |",
        "|---|---|--:|--:|--:|--:|--:|",
    ]  # fmt: skip
    for tool, r in results.items():
        ratio = cpu = ""
        if base and base.wall and r.wall:
            ratio, cpu = f"{r.wall / base.wall:.1f}x", f"{r.cpu / base.cpu:.1f}x"
        figures = f"{r.wall:.1f} | {r.cpu:.1f} | {r.peak_mb:.0f}" if r.wall else " | | "
        lines.append(f"| {LABELS[tool]} | {r.status} | {figures} | {ratio} | {cpu} |")
    recaps = {t: r.recap for t, r in results.items() if r.recap}
    first = next(iter(recaps), None)
    differ = [t for t, r in recaps.items() if first and r != recaps[first]]
    verdict = f"{', '.join(differ)} DIFFER from {first}'s" if differ else "identical"
    lines += ["", f"- recaps ({', '.join(recaps)}): {verdict}"]
    lines.append("- goal: runner at least 10x faster than ansible-playbook, 3x than Mitogen")
    return "\n".join(lines) + "\n"


def write_section(text: str) -> None:
    """Put this bench's section in RESULTS.md, replacing its previous one only."""
    replace_section(RESULTS, TITLE, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args(argv)
    tools = [t for t in args.tools.split(",") if t]
    unknown = set(tools) - set(TOOLS)
    if unknown:
        parser.error(f"unknown tools {sorted(unknown)}; choose from {', '.join(TOOLS)}")
    compile_runner()
    root = Path(tempfile.mkdtemp(prefix="runner-bench-project-"))
    why_not = why_no_netns()
    fleet = Fleet(root, use_netns=why_not is None, why_not=why_not or "")
    loads = [load_average()]
    try:
        hosts_root = root / "hosts"
        inv = example_inventory(fleet, args.hosts, hosts_root)
        results = {t: run(t, fleet, inv, hosts_root, args.hosts) for t in tools}
    finally:
        fleet.close()
        shutil.rmtree(root, ignore_errors=True)
    loads.append(load_average())
    text = report(results, args, fleet, loads)
    print(text)
    if args.write:
        write_section(text)
        print(f"wrote {RESULTS.relative_to(REPO)}", file=sys.stderr)
    return 0 if all(r.status == "ok" for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
