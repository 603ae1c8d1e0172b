"""The cost of a module run through runner's module bridge (Ansible's own module files on
the target's Python) against the same module under ansible-playbook, on the same local
sshd fleet in the same run.

    .venv/bin/python bench/bridge.py                 # 20 hosts, 20 forks
    .venv/bin/python bench/bridge.py --hosts 100 --forks 100 --repeat 3

Each tool runs two playbooks: one ``raw: true`` task (the connection and the play), and the
same with two bridged tasks after it: ansible-core's ``lineinfile`` (forced through the
bridge with RUNNER_BRIDGE_MODULES, should runner have its own) and ``known_hosts``. Per
task = (the second run - the first) / 2: wall seconds and client CPU (the tool's process
tree). Both must succeed on every host; the best of ``--repeat`` runs is kept.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from common import REPO, LocalFleet, Measure, compile_runner, machine, measure  # noqa: I001
from facts import ANSIBLE_PLAYBOOK, ansible_env, best, check

KEY = (
    "example.test ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBn6x7n0ylmVJvUS0HW0ZgO8wI2Al7EhTqDs6XbsPSVf"
)


def books(root: Path) -> tuple[Path, Path]:
    head = "- hosts: all\n  gather_facts: false\n  tasks:\n    - raw: 'true'\n"
    bridged = (
        "    - lineinfile: {path: '{{ out }}/{{ inventory_hostname }}.conf', line: x=1,"
        " create: true}\n"
        "    - known_hosts: {path: '{{ out }}/{{ inventory_hostname }}.kh', name: example.test,"
        f" key: '{KEY}'}}\n"
    )
    bare, full = root / "bare.yml", root / "bridged.yml"
    bare.write_text(head)
    full.write_text(head + bridged)
    return bare, full


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--forks", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    if not ANSIBLE_PLAYBOOK.exists():
        raise SystemExit(f"ansible-playbook not found next to {sys.executable}")
    compile_runner()
    root = Path(tempfile.mkdtemp(prefix="runner-bench-bridge-"))
    fleet = LocalFleet(root)
    home = root / "ansible-home"
    home.mkdir()
    print(machine())
    try:
        inv, names = fleet.inventory(args.hosts)
        known = root / "known_hosts"
        bare, bridged = books(root)
        env = ansible_env(home, root / "ansible_known_hosts")

        def runner(book: Path) -> Measure:
            out = root / "runner-out"
            out.mkdir(exist_ok=True)
            cmd = [sys.executable, "-m", "runner", "play", "-i", str(inv), "--known-hosts",
                   str(known), "-f", str(args.forks), "--json", "-e", f"out={out}", str(book)]  # fmt: skip
            return measure(cmd, {"RUNNER_BRIDGE_MODULES": "lineinfile", "RUNNER_PERSIST": "0"})

        def ansible(book: Path) -> Measure:
            out = root / "ansible-out"
            out.mkdir(exist_ok=True)
            cmd = [str(ANSIBLE_PLAYBOOK), "-i", str(inv), "-f", str(args.forks), "-e",
                   f"out={out}", str(book)]  # fmt: skip
            return measure(cmd, env)

        tools = {"runner": runner, "ansible": ansible}
        for tool in tools.values():  # warm up: host keys, page cache
            tool(bare)
        results: dict[str, dict[str, Measure]] = {}
        for name, tool in tools.items():
            for label, book in (("bare", bare), ("bridged", bridged)):
                runs = []
                for _ in range(args.repeat):
                    m = tool(book)
                    check(name, m, names)
                    runs.append((m, 0.0))
                results.setdefault(name, {})[label] = best(runs)[0]
        n = args.hosts
        print(f"\n{n} hosts, {args.forks} forks, best of {args.repeat}")
        print("| tool | playbook | wall s | client CPU s |")
        print("|---|---|---|---|")
        for name, by_label in results.items():
            for label, m in by_label.items():
                print(f"| {name} | {label} | {m.wall:.2f} | {m.cpu:.2f} |")
        print("\nPer bridged task (lineinfile, known_hosts), on all hosts")
        print("| tool | wall s per task | client CPU s per task |")
        print("|---|---|---|")
        per = {}
        for name, by_label in results.items():
            wall = (by_label["bridged"].wall - by_label["bare"].wall) / 2
            cpu = (by_label["bridged"].cpu - by_label["bare"].cpu) / 2
            per[name] = (wall, cpu)
            print(f"| {name} | {wall:.2f} | {cpu:.2f} |")
        (rw, rc), (aw, ac) = per["runner"], per["ansible"]
        if rw > 0 and rc > 0:
            print(f"\nrunner is {aw / rw:.1f}x faster per task (wall), {ac / rc:.1f}x less CPU")
    finally:
        fleet.close()
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.exit(main())
