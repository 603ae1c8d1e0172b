"""Benchmark: load a 50,000-host inventory in 500 groups and resolve ``all``.

    .venv/bin/python bench/inventory.py [--hosts 50000] [--groups 500] [--repeat 3]

Generates one INI and one YAML inventory into a temporary directory (each host with
two inline vars, groups with vars, 500 groups under 10 parent groups), then times
``load_inventory([path])`` + ``inv.select("all")`` for each and prints the best time.
The target is under 2 seconds for each format.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from runner.inventory import load_inventory  # noqa: E402

TARGET_SECONDS = 2.0


def write_ini(path: str, hosts: int, groups: int) -> None:
    per_group = hosts // groups
    with open(path, "w", encoding="utf-8") as fh:
        for g in range(groups):
            fh.write(f"[group{g:03d}]\n")
            for h in range(per_group):
                n = g * per_group + h
                fh.write(f"host{n:05d}.example.com ansible_host=10.{n // 65536}.")
                fh.write(f"{n // 256 % 256}.{n % 256} rack={n % 40}\n")
            fh.write(f"\n[group{g:03d}:vars]\nservice=svc{g}\nport={8000 + g}\n\n")
        for p in range(10):
            fh.write(f"[parent{p}:children]\n")
            fh.writelines(f"group{g:03d}\n" for g in range(p, groups, 10))
            fh.write(f"[parent{p}:vars]\nzone=z{p}\n")
        fh.write("[all:vars]\nansible_user=deploy\n")


def write_yaml(path: str, hosts: int, groups: int) -> None:
    per_group = hosts // groups
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("all:\n  vars:\n    ansible_user: deploy\n  children:\n")
        for p in range(10):
            fh.write(f"    parent{p}:\n      vars:\n        zone: z{p}\n      children:\n")
            for g in range(p, groups, 10):
                fh.write(f"        group{g:03d}:\n          vars:\n")
                fh.write(f"            service: svc{g}\n            port: {8000 + g}\n")
                fh.write("          hosts:\n")
                for h in range(per_group):
                    n = g * per_group + h
                    fh.write(f"            host{n:05d}.example.com:\n")
                    fh.write(f"              ansible_host: 10.{n // 65536}.{n // 256 % 256}.")
                    fh.write(f"{n % 256}\n              rack: {n % 40}\n")


def measure(path: str, repeat: int, expected: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        inv = load_inventory([path])
        selected = inv.select("all")
        best = min(best, time.perf_counter() - start)
        if len(selected) != expected:
            raise SystemExit(f"{path}: expected {expected} hosts, got {len(selected)}")
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=50_000)
    parser.add_argument("--groups", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    slow = False
    with tempfile.TemporaryDirectory(prefix="runner-bench-") as tmp:
        for fmt, writer in (("ini", write_ini), ("yaml", write_yaml)):
            path = os.path.join(tmp, f"hosts.{'yml' if fmt == 'yaml' else 'ini'}")
            writer(path, args.hosts, args.groups)
            size = os.path.getsize(path) / 1e6
            seconds = measure(path, args.repeat, args.hosts)
            slow |= seconds >= TARGET_SECONDS
            print(
                f"{fmt:5s} {args.hosts} hosts / {args.groups} groups ({size:.1f} MB): "
                f"load + select('all') {seconds:.2f}s (best of {args.repeat})"
            )
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
