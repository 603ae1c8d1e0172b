"""Client CPU of `runner run` on 2,000 hosts with and without the live view.

    .venv/bin/python bench/live.py

The live view needs a terminal, so that run gets a pseudo-terminal; the other writes to
a pipe (no live view, the same grouped report). Three runs of each, best of each kept.
"""

import os
import pty
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from common import LocalFleet  # noqa: I001

root = Path(tempfile.mkdtemp(prefix="runner-live-"))
fleet = LocalFleet(root)
inv, names = fleet.inventory(2000)


def run(live: bool):
    cmd = [
        sys.executable,
        "-m",
        "runner",
        "run",
        "-i",
        str(inv),
        "--known-hosts",
        str(root / "kh"),
        "-f",
        "500",
        "--procs",
        "1",
        "all",
        "echo hi",
    ]
    if live:
        pid, fd = pty.fork()
        if pid == 0:
            os.environ["COLUMNS"] = "120"
            os.execv(sys.executable, cmd)
        out = b""
        while True:
            try:
                data = os.read(fd, 65536)
            except OSError:
                break
            if not data:
                break
            out += data
        _, status, ru = os.wait4(pid, 0)
    else:
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        out = p.stdout.read()
        _, status, ru = os.wait4(p.pid, 0)
    assert b"ok=2000" in out, out[-500:]
    return ru.ru_utime + ru.ru_stime


run(False)  # warm-up: record the host key
res = {True: [], False: []}
for _ in range(3):
    for live in (False, True):
        res[live].append(run(live))
print("no live view CPU s:", [f"{x:.2f}" for x in res[False]])
print("live view CPU s:   ", [f"{x:.2f}" for x in res[True]])
a, b = min(res[False]), min(res[True])
print(f"live view cost: {100 * (b - a) / a:+.1f}% of client CPU (best of 3)")
fleet.close()
shutil.rmtree(root, ignore_errors=True)
