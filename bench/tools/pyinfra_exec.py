"""pyinfra's ad-hoc `exec` over the bench fleet.

python bench/tools/pyinfra_exec.py INVENTORY.json FORKS COMMAND
INVENTORY.json: {"hosts": [[name, address, port], ...], "user": ..., "key": ...}
Prints one line per host "name<TAB>exit<TAB>stdout" (exit -1: no result).

Runs `pyinfra inventory.py exec --parallel FORKS --ssh-user U --ssh-key K -y -- COMMAND`
as a child (its whole process tree is measured) and parses what it prints (on stderr):

    [web01] hi                        <- a line of the command's output
        [web01] Success               <- the command exited 0
        [web01] Error: executed 0 commands
        [web02] Could not connect (...)

pyinfra does not print the exit code, so a host reads 0 on Success and 1 on Error. Its
default host key policy (accept new keys into ~/.ssh/known_hosts) applies; the caller
points HOME at a fresh folder, and ~/.ssh is created here because pyinfra needs it.
"""

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

OUTPUT = re.compile(r"^\[(\S+)\] (.*)$")
STATUS = re.compile(r"^    \[(\S+)\] (Success|Error|Could not connect)")


def write_inventory(path: Path, spec: dict) -> None:
    rows = [
        f"    ({name!r}, {{'ssh_hostname': {address!r}, 'ssh_port': {port}}}),"
        for name, address, port in spec["hosts"]
    ]
    path.write_text("hosts = [\n" + "\n".join(rows) + "\n]\n")


def parse(text: str) -> dict[str, tuple[int, str]]:
    """host -> (exit, stdout) from pyinfra's exec output."""
    output: dict[str, list[str]] = {}
    status: dict[str, int] = {}
    for line in text.splitlines():
        match = STATUS.match(line)
        if match:
            status.setdefault(match.group(1), 0 if match.group(2) == "Success" else 1)
            continue
        match = OUTPUT.match(line)
        if match:
            output.setdefault(match.group(1), []).append(match.group(2))
    return {host: (code, "\\n".join(output.get(host, [])).strip()) for host, code in status.items()}


def main() -> None:
    spec = json.load(open(sys.argv[1]))
    forks = sys.argv[2]
    command = sys.argv[3]
    pyinfra = Path(sys.executable).parent / "pyinfra"
    (Path(os.environ["HOME"]) / ".ssh").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-pyinfra-") as tmp:
        inventory = Path(tmp) / "inventory.py"
        write_inventory(inventory, spec)
        cmd = [
            str(pyinfra),
            str(inventory),
            "exec",
            "--parallel",
            forks,
            "--ssh-user",
            spec["user"],
            "--ssh-key",
            spec["key"],
            "-y",
            "--",
            command,
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp, env=os.environ)
    results = parse(proc.stdout + "\n" + proc.stderr)
    for name, _, _ in spec["hosts"]:
        code, out = results.get(name, (-1, "ERROR no result in pyinfra's output"))
        sys.stdout.write(f"{name}\t{code}\t{out}\n")
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-2000:])


if __name__ == "__main__":
    main()
