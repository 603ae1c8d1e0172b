"""Regenerate the golden files in this directory from real Ansible.

    python3 -m venv /tmp/ansible-venv && /tmp/ansible-venv/bin/pip install ansible-core
    cd <repo root> && python3 tests/data/inventory/ansible/regen.py /tmp/ansible-venv/bin/ansible-inventory

Each line of CASES is: name, file extension, arguments. The output of
``ansible-inventory ARGS`` is saved unchanged as NAME.EXT; tests/test_inventory_golden.py
runs ``runner inventory ARGS`` and compares (JSON/YAML parsed, graphs as text).
The files here were generated with ansible-core 2.19.
"""

import os
import shlex
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def cases():
    with open(os.path.join(HERE, "CASES"), encoding="utf-8") as fh:
        for line in fh:
            if line.strip() and not line.startswith("#"):
                name, ext, args = line.split(None, 2)
                yield name, ext, shlex.split(args)


def main() -> None:
    binary = sys.argv[1] if len(sys.argv) > 1 else "ansible-inventory"
    env = dict(os.environ, ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_NOCOLOR="1")
    for name, ext, args in cases():
        out = subprocess.run([binary, *args], capture_output=True, text=True, env=env, check=True)
        with open(os.path.join(HERE, f"{name}.{ext}"), "w", encoding="utf-8") as fh:
            fh.write(out.stdout)
        print(f"{name}.{ext}")


if __name__ == "__main__":
    main()
