"""The cost of fact gathering per host: runner's POSIX sh script against ansible-core's
setup module, on the same local sshd fleet in the same run.

    .venv/bin/python bench/facts.py                 # 20 hosts, 20 forks
    .venv/bin/python bench/facts.py --hosts 50 --forks 50 --repeat 3

Each tool runs the same two playbooks: one play of one ``raw: true`` task that gathers
facts (Ansible's default) and the same play with ``gather_facts: false``; the
difference is what gathering costs on a connection that is made anyway. Reported: wall seconds, client CPU (the tool's process tree),
target CPU (what sshd and everything it started spent: the fact script, or Ansible's
remote Python), and the bytes runner's script sends and gets back per host. The best of
``--repeat`` runs is kept for each. Both runs must succeed on every host.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from common import REPO, LocalFleet, Measure, compile_runner, machine, measure  # noqa: I001

TICK = os.sysconf("SC_CLK_TCK")
ANSIBLE_PLAYBOOK = Path(sys.executable).with_name("ansible-playbook")


def server_cpu(pid: int) -> float:
    """sshd's CPU seconds, its own and that of every child it reaped (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / TICK


def books(root: Path) -> tuple[Path, Path]:
    gather, bare = root / "gather.yml", root / "bare.yml"
    task = "  tasks:\n    - raw: 'true'\n"  # both connect and run one command
    gather.write_text("- hosts: all\n" + task)
    bare.write_text("- hosts: all\n  gather_facts: false\n" + task)
    return gather, bare


def run_runner(inv: Path, known: Path, forks: int, book: Path) -> Measure:
    cmd = [sys.executable, "-m", "runner", "play", "-i", str(inv), "--known-hosts", str(known),
           "-f", str(forks), "--json", str(book)]  # fmt: skip
    return measure(cmd)


def ansible_env(home: Path, known: Path) -> dict[str, str]:
    return {
        "HOME": str(home),
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_LOCAL_TEMP": str(home / "tmp"),
        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(home / "cp"),
        "ANSIBLE_SSH_ARGS": f"-o ControlMaster=no -o UserKnownHostsFile={known}",
        "ANSIBLE_PYTHON_INTERPRETER": "auto_silent",
        "ANSIBLE_CONFIG": str(home / "none.cfg"),
    }


def run_ansible(inv: Path, env: dict[str, str], forks: int, book: Path) -> Measure:
    return measure([str(ANSIBLE_PLAYBOOK), "-i", str(inv), "-f", str(forks), str(book)], env)


def check(tool: str, m: Measure, names: list[str]) -> None:
    if m.exit_code != 0:
        raise SystemExit(f"{tool} failed (exit {m.exit_code}): {m.stdout[-1500:]}")
    if tool == "ansible" and "PLAY RECAP" not in m.stdout:
        raise SystemExit(f"ansible-playbook printed no recap: {m.stdout[-1500:]}")
    if tool == "ansible":
        for name in names:
            if not re.search(rf"^{name}\s+:\s+ok=\d+.*failed=0", m.stdout, re.M):
                raise SystemExit(f"ansible-playbook: no clean recap line for {name}:\n{m.stdout}")
    elif m.stdout.count('"type": "recap"') + m.stdout.count('"type":"recap"') != 1:
        raise SystemExit("runner printed no recap")


def best(runs: list[tuple[Measure, float]]) -> tuple[Measure, float]:
    return min(runs, key=lambda r: r[0].wall)


def script_bytes() -> tuple[int, int]:
    """Bytes runner sends (the script) and gets back (its output) for one host: the
    script for every subset, run here (the fleet's hosts are this machine)."""
    from runner.playbook.facts.script import SECTIONS, new_marker, script_for
    from runner.playbook.facts.subsets import READ

    marker = new_marker()
    script = script_for(set(SECTIONS) & READ, marker)
    out = subprocess.run(["sh", "-c", script], capture_output=True, check=True).stdout
    return len(script.encode()), len(out)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--forks", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    if not ANSIBLE_PLAYBOOK.exists():
        raise SystemExit(f"ansible-playbook not found next to {sys.executable}")
    compile_runner()
    root = Path(tempfile.mkdtemp(prefix="runner-bench-facts-"))
    fleet = LocalFleet(root)
    assert fleet.server.proc is not None
    sshd = fleet.server.proc.pid
    home = root / "ansible-home"
    home.mkdir()
    print(machine())
    try:
        inv, names = fleet.inventory(args.hosts)
        known = root / "known_hosts"
        gather, bare = books(root)
        env = ansible_env(home, root / "ansible_known_hosts")
        tools = {
            "runner": lambda book: run_runner(inv, known, args.forks, book),
            "ansible": lambda book: run_ansible(inv, env, args.forks, book),
        }
        for tool in tools.values():  # warm up: host keys, page cache, Ansible's discovery
            tool(bare)
        results: dict[str, dict[str, tuple[Measure, float]]] = {}
        for name, tool in tools.items():
            for label, book in (("gather", gather), ("bare", bare)):
                runs = []
                for _ in range(args.repeat):
                    before = server_cpu(sshd)
                    m = tool(book)
                    runs.append((m, server_cpu(sshd) - before))
                    check(name, m, names)
                results.setdefault(name, {})[label] = best(runs)
        sent, received = script_bytes()
        n = args.hosts
        print(f"\n{n} hosts, {args.forks} forks, best of {args.repeat}")
        print("| tool | playbook | wall s | client CPU s | target CPU s |")
        print("|---|---|---|---|---|")
        for name, by_label in results.items():
            for label, (m, target) in by_label.items():
                what = "gather_facts (default)" if label == "gather" else "gather_facts: false"
                print(f"| {name} | {what} | {m.wall:.2f} | {m.cpu:.2f} | {target:.2f} |")
        print(f"\nWhat gathering adds: to the run's wall time, and CPU per host ({n} hosts)")
        print("| tool | wall s (whole run) | client CPU ms/host | target CPU ms/host |")
        print("|---|---|---|---|")
        for name, by_label in results.items():
            (g, gt), (b, bt) = by_label["gather"], by_label["bare"]
            print(
                f"| {name} | {g.wall - b.wall:.2f} | {1000 * (g.cpu - b.cpu) / n:.1f}"
                f" | {1000 * (gt - bt) / n:.1f} |"
            )
        print(
            f"\nrunner's fact script: one command per host, {sent} bytes sent, "
            f"{received} bytes of output (all subsets, this machine)"
        )
    finally:
        fleet.close()
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.exit(main())
