"""Ansible's ad-hoc `-m raw` over the bench fleet (ansible-core, system OpenSSH client).

python bench/tools/ansible_adhoc.py INVENTORY.json FORKS COMMAND
INVENTORY.json: {"hosts": [[name, address, port], ...], "user": ..., "key": ...}
Prints one line per host "name<TAB>exit<TAB>stdout" (exit -1: unreachable or unparsed).

Runs `ansible all -i inv.yml -m raw -a COMMAND -f FORKS` as a child (its whole process
tree is measured) and parses Ansible's default ad-hoc output (the `minimal` callback):

    web01 | CHANGED | rc=0 >>
    hi
    Connection to 127.0.1.1 closed.
    <blank line>
    web02 | UNREACHABLE! => {...}

The JSON callback lives in the ansible.posix collection, not in ansible-core, and -o / -t
are deprecated, so the default output is what we read. `raw` runs ssh with -tt, so the
remote stderr and ssh's own "Connection to X closed." notice arrive in the same stream;
the notices are dropped. The caller sets ANSIBLE_HOST_KEY_CHECKING=False, a per-run
ANSIBLE_LOCAL_TEMP and control-path dir, and HOME at a fresh folder.
"""

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HEADER = re.compile(r"^(\S+) \| ([A-Z!]+)(?: \| rc=(-?\d+) >>| => )")
SSH_NOTICE = re.compile(
    r"^(Connection to \S+ closed\.|Shared connection to \S+ closed\.|Warning: )"
)


def write_inventory(path: Path, spec: dict) -> None:
    lines = [
        "all:",
        "  vars:",
        f"    ansible_user: {json.dumps(spec['user'])}",
        f"    ansible_ssh_private_key_file: {json.dumps(spec['key'])}",
        "  hosts:",
    ]
    for name, address, port in spec["hosts"]:
        lines.append(f"    {name}: {{ansible_host: {address}, ansible_port: {port}}}")
    path.write_text("\n".join(lines) + "\n")


def parse(text: str) -> dict[str, tuple[int, str]]:
    """host -> (exit, stdout) from Ansible's minimal ad-hoc output."""
    results: dict[str, tuple[int, str]] = {}
    host, code, body = None, -1, []

    def flush() -> None:
        if host is not None and host not in results:
            kept = [line for line in body if not SSH_NOTICE.match(line)]
            results[host] = (code, "\\n".join(kept).strip())

    for raw in text.splitlines():
        line = raw.rstrip("\r")
        match = HEADER.match(line)
        if match:
            flush()
            host = match.group(1)
            code = int(match.group(3)) if match.group(3) is not None else -1
            body = [] if match.group(3) is not None else [line]
        elif host is not None and line == "":
            flush()
            host = None
        elif host is not None:
            body.append(line)
    flush()
    return results


def main() -> None:
    spec = json.load(open(sys.argv[1]))
    forks = sys.argv[2]
    command = sys.argv[3]
    ansible = Path(sys.executable).parent / "ansible"
    with tempfile.TemporaryDirectory(prefix="bench-ansible-") as tmp:
        inventory = Path(tmp) / "inv.yml"
        write_inventory(inventory, spec)
        cmd = [str(ansible), "all", "-i", str(inventory), "-m", "raw", "-a", command, "-f", forks]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=os.environ)
    results = parse(proc.stdout)
    for name, _, _ in spec["hosts"]:
        code, out = results.get(name, (-1, "ERROR no result in ansible's output"))
        sys.stdout.write(f"{name}\t{code}\t{out}\n")
    if proc.returncode not in (0, 2, 4):  # 2: some hosts failed, 4: some unreachable
        sys.stderr.write(proc.stderr[-2000:])


if __name__ == "__main__":
    main()
