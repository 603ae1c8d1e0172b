"""Shared benchmark plumbing: a measured child process and a local sshd fleet."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

# Every benchmark here measures cold runs: the connection keeper (on by default) would make
# each runner run after the first a warm one. bench/keeper.py turns it on for its runs.
os.environ["RUNNER_PERSIST"] = "0"

from runner.testing.fleet import SSHServer, host_names, keygen, write_inventory  # noqa: E402


def compile_runner() -> None:
    """Byte-compile runner's modules, as pip does when it installs a package.

    The checkout is an editable install, and a shell with PYTHONDONTWRITEBYTECODE=1 (this
    machine's sessions have it) would otherwise compile runner's ~45 modules from source
    on every run, about 60 ms of each one, while the other tools load their bytecode."""
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(REPO / "runner")],
        check=True,
        stdout=subprocess.DEVNULL,
    )


@dataclass
class Measure:
    wall: float
    cpu: float  # user+sys of the child (and the children it waited for)
    peak_rss_mb: float
    exit_code: int
    stdout: str

    def per_host_ms(self, hosts: int) -> float:
        return 1000 * self.cpu / max(1, hosts)


def measure(cmd: list[str], env: dict | None = None) -> Measure:
    """Run ``cmd``; wall time, CPU and peak RSS of that process tree (os.wait4)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
    )
    out_chunks = []
    # read stdout while it runs so the pipe never blocks the child
    assert proc.stdout is not None
    for chunk in iter(lambda: proc.stdout.read(65536), b""):
        out_chunks.append(chunk)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.stderr:
        err = proc.stderr.read()
        if proc.returncode not in (0,):
            sys.stderr.write(err.decode(errors="replace")[-2000:])
    return Measure(
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        peak_rss_mb=usage.ru_maxrss / 1024,
        exit_code=proc.returncode,
        stdout=b"".join(out_chunks).decode(errors="replace"),
    )


class LocalFleet:
    """One lean sshd on 127.0.0.1 and N host names pointing at it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.key = keygen(root / "client_key")
        self.server = SSHServer(root / "sshd", self.key).start()

    def inventory(self, count: int) -> tuple[Path, list[str]]:
        names = host_names(count, "h")
        path = write_inventory(self.root / f"inv{count}.yml", self.server, names)
        spec = {
            "hosts": [[n, self.server.address, self.server.port] for n in names],
            "user": self.server.user,
            "key": str(self.key),
        }
        (self.root / f"inv{count}.json").write_text(json.dumps(spec))
        return path, names

    def close(self) -> None:
        self.server.stop()


def machine() -> str:
    try:
        ssh = subprocess.run(["ssh", "-V"], capture_output=True, text=True).stderr.strip()
    except OSError:
        ssh = "ssh: not found"
    import gevent
    import paramiko

    return (
        f"{platform.node()} {platform.machine()} {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, gevent {gevent.__version__}, "
        f"paramiko {paramiko.__version__}, {ssh}"
    )
