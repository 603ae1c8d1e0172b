"""runner against other SSH fan-out tools on a local OpenSSH fleet, side by side.

    .venv/bin/python bench/fleet.py                      # every scenario, every tool
    .venv/bin/python bench/fleet.py --scenario echo-500 --tools runner,ansible
    make bench                                           # bench-deps, then --write

For each scenario (N hosts, F forks, a command) every tool runs once against the same
fleet and is reported with wall seconds, client CPU (user+sys of the client's whole
process tree, os.wait4) total and per host, the peak RSS of its largest process (wait4),
the peak PSS of its whole process tree (sampled from /proc), and the ratios to runner.
Every host's result is checked; a run with a wrong or missing result is marked FAILED.

As root, the fleet is one sshd inside a network namespace this script creates, every
simulated host has its own address (127.0.X.Y) and every client runs inside that
namespace (`ip netns exec` execs in place, so wait4 still measures the client). Otherwise
it falls back to one sshd on 127.0.0.1 that every host name points at.

Competitors run from .venv-bench (`make bench-deps`); tools not installed there are
listed as "not installed". Their drivers live in bench/tools/ and print one line per host.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from common import REPO, SSHServer, compile_runner, host_names, keygen, write_inventory  # noqa: I001

sys.path.insert(0, str(REPO))
from runner.testing.fleet import Netns, loopback_addresses, why_no_netns  # noqa: E402

# sshd listens with a fixed backlog of 128 (SSH_LISTEN_BACKLOG; net.core.somaxconn cannot
# raise it), so in the namespace it listens on 16 ports (sshd's maximum of listening
# sockets) and the hosts are spread over them: 16 x 128 connections can wait to be accepted.
NETNS_PORTS = [22, *range(2201, 2216)]
BENCH_VENV = REPO / ".venv-bench"
BENCH_PYTHON = BENCH_VENV / "bin" / "python"
TOOLS_DIR = REPO / "bench" / "tools"
RESULTS = REPO / "bench" / "RESULTS.md"


@dataclass(frozen=True)
class Scenario:
    name: str
    hosts: int
    forks: int
    command: str
    expected: str  # every host's stdout, stripped; exit code 0

    @property
    def title(self) -> str:
        return f"{self.hosts} hosts, `{self.command}`, {self.forks} forks"


SCENARIOS = [
    Scenario("echo-500", 500, 100, "echo hi", "hi"),
    Scenario("sleep2-200", 200, 200, "sleep 2; echo hi", "hi"),
    Scenario("echo-2000", 2000, 500, "echo hi", "hi"),
    Scenario("sleep5-1000", 1000, 1000, "sleep 5", ""),
    Scenario("echo-1", 1, 1, "echo hi", "hi"),
]


@dataclass(frozen=True)
class Tool:
    name: str
    label: str
    package: str | None  # distribution in .venv-bench; None: runs from runner's .venv
    driver: str | None  # script in bench/tools/


TOOLS = [
    Tool("runner", "runner", None, None),
    # above 1,000 hosts runner splits the run over one process per core (--procs); this
    # row is the same run held to one process, in the scenarios where the two differ
    Tool("runner-1proc", "runner --procs 1", None, None),
    Tool("floor", "gevent+paramiko floor", None, None),
    Tool("parallel-ssh", "parallel-ssh ParallelSSHClient", "parallel-ssh", "pssh_parallel.py"),
    Tool("pyinfra", "pyinfra exec", "pyinfra", "pyinfra_exec.py"),
    Tool("fabric", "Fabric ThreadingGroup", "fabric", "fabric_group.py"),
    Tool("ansible", "Ansible ad-hoc -m raw", "ansible-core", "ansible_adhoc.py"),
]


@dataclass
class Run:
    """One measured client run."""

    wall: float = 0.0
    cpu: float = 0.0  # user+sys of the client and every descendant it waited for
    max_rss_mb: float = 0.0  # largest single process in the tree (wait4 ru_maxrss)
    tree_pss_mb: float = 0.0  # peak of the summed PSS of the whole tree (sampled)
    exit_code: int = 0
    stdout: str = ""
    stderr: str = ""
    timed_out: bool = False
    bad: list[str] = field(default_factory=list)
    failure: str = ""  # one bad host and what it got, for the note under the table
    listen_overflows: int = 0  # SYNs/ACKs the server's full accept queue dropped meanwhile
    server_cpu: float = 0.0  # user+sys of sshd and every session it reaped, over the run
    status: str = "ok"  # ok | FAILED (n bad hosts) | timed out | not installed


# ---------------------------------------------------------------- measuring a process tree


def tree_pids(root: int) -> list[int]:
    """``root`` and all its descendants, from /proc/PID/task/TID/children."""
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as fh:
                    todo.extend(int(c) for c in fh.read().split())
    return pids


def tree_pss_kb(root: int) -> int:
    total = 0
    for pid in tree_pids(root):
        with contextlib.suppress(OSError, ValueError):
            with open(f"/proc/{pid}/smaps_rollup") as fh:
                for line in fh:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
    return total


def measure(cmd: list[str], env: dict, cwd: Path, timeout: float) -> Run:
    """Run ``cmd``: wall, CPU and peak RSS via os.wait4, tree PSS sampled meanwhile."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=env,
        cwd=cwd,
        start_new_session=True,
    )
    chunks: dict[str, list[bytes]] = {"out": [], "err": []}

    def drain(stream, key: str) -> None:
        for chunk in iter(lambda: stream.read(65536), b""):
            chunks[key].append(chunk)

    readers = [
        threading.Thread(target=drain, args=(proc.stdout, "out"), daemon=True),
        threading.Thread(target=drain, args=(proc.stderr, "err"), daemon=True),
    ]
    for reader in readers:
        reader.start()
    run = Run()
    peak_pss = 0
    done = threading.Event()

    def sample() -> None:  # peak PSS of the tree, while the main thread waits for the exit
        nonlocal peak_pss
        while not done.is_set():
            sweep = time.perf_counter()
            peak_pss = max(peak_pss, tree_pss_kb(proc.pid))
            done.wait(max(0.1, 2 * (time.perf_counter() - sweep)))  # keep the sampler light

    def kill() -> None:
        run.timed_out = True
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    timer = threading.Timer(timeout, kill)
    timer.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)  # exact end: the wall clock stops here
    except BaseException:  # Ctrl-C: take the whole client tree down
        kill()
        os.wait4(proc.pid, 0)
        raise
    finally:
        timer.cancel()
        done.set()
    run.wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    sampler.join(10)
    for reader in readers:
        reader.join(10)
    run.cpu = usage.ru_utime + usage.ru_stime
    run.max_rss_mb = usage.ru_maxrss / 1024
    run.tree_pss_mb = max(peak_pss / 1024, 0.0)
    run.exit_code = proc.returncode
    run.stdout = b"".join(chunks["out"]).decode(errors="replace")
    run.stderr = b"".join(chunks["err"]).decode(errors="replace")
    return run


# ---------------------------------------------------------------- the fleet


class Fleet:
    """An sshd and, per host count, the inventory files each tool reads."""

    def __init__(self, root: Path, use_netns: bool, why_not: str = "") -> None:
        self.root = root
        self.why_not = why_not
        self.key = keygen(root / "client_key")
        self.netns: Netns | None = None
        self.prefix: list[str] = []
        if use_netns:
            self.netns = Netns().__enter__()
            self.prefix = list(self.netns.exec_prefix)
            for knob in ("net.core.somaxconn=4096", "net.ipv4.tcp_max_syn_backlog=8192"):
                subprocess.run([*self.prefix, "sysctl", "-qw", knob], check=False)
            self.server = SSHServer(
                root / "sshd",
                self.key,
                address="0.0.0.0",
                port=NETNS_PORTS[0],
                netns=self.netns.name,
                extra_config="".join(f"Port {p}\n" for p in NETNS_PORTS[1:]),
            ).start()
            self.ports = NETNS_PORTS
        else:
            self.server = SSHServer(root / "sshd", self.key).start()
            self.ports = [self.server.port]

    def describe(self) -> str:
        if self.netns:
            return (
                "one sshd inside a private network namespace made for the run, listening on "
                f"0.0.0.0 ports {self.ports[0]} and {self.ports[1]}-{self.ports[-1]} (hosts "
                "spread over them, for 16 accept queues of 128); each host has its own address "
                "127.0.X.Y and every client runs inside the namespace"
            )
        return (
            f"one sshd on 127.0.0.1:{self.server.port}; every host name points at it "
            f"(no network namespace: {self.why_not}; so no per-host addresses)"
        )

    def hosts(self, count: int) -> tuple[list[str], Path, Path]:
        """Host names, runner's YAML inventory and the drivers' JSON spec."""
        names = host_names(count, "h")
        addresses = loopback_addresses(count) if self.netns else [self.server.address] * count
        ports = [self.ports[i % len(self.ports)] for i in range(count)]
        hosts = list(zip(names, addresses, ports, strict=True))
        host_vars = {n: {"ansible_host": a, "ansible_port": p} for n, a, p in hosts}
        inv = write_inventory(
            self.root / f"inv{count}.yml", self.server, names, host_vars=host_vars
        )
        spec = {
            "hosts": [list(h) for h in hosts],
            "user": self.server.user,
            "key": str(self.key),
        }
        spec_path = self.root / f"inv{count}.json"
        spec_path.write_text(json.dumps(spec))
        return names, inv, spec_path

    def settle(self, limit: float = 30.0) -> None:
        """Wait until the last run's sshd sessions are gone, so runs do not overlap."""
        if not self.server.proc:
            return
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline and len(tree_pids(self.server.proc.pid)) > 1:
            time.sleep(0.2)

    def server_cpu(self) -> float:
        """CPU seconds sshd has spent so far: the listener's own and that of every
        connection process it reaped (which reaped their sessions' shells in turn), from
        /proc/PID/stat utime, stime, cutime and cstime."""
        if not self.server.proc:
            return 0.0
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = Path(f"/proc/{self.server.proc.pid}/stat").read_text()
            fields = stat.rsplit(")", 1)[1].split()
            ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))  # fields 14-17 of proc(5)
            return ticks / os.sysconf("SC_CLK_TCK")
        return 0.0

    def listen_overflows(self) -> int:
        """The kernel's count of connections dropped because sshd's accept queue was full
        (TcpExt ListenOverflows, read in sshd's network namespace)."""
        if not self.netns or not self.server.proc:  # outside one, others' traffic counts too
            return 0
        with contextlib.suppress(OSError, ValueError, StopIteration):
            lines = Path(f"/proc/{self.server.proc.pid}/net/netstat").read_text().splitlines()
            names, values = next(
                (a.split(), b.split())
                for a, b in zip(lines[::2], lines[1::2], strict=False)
                if a.startswith("TcpExt:")
            )
            return int(values[names.index("ListenOverflows")])
        return 0

    def close(self) -> None:
        self.server.stop()
        if self.netns:
            self.netns.__exit__(None, None, None)


# ---------------------------------------------------------------- tools


def tool_command(tool: Tool, scenario: Scenario, inv: Path, spec: Path, tmp: Path) -> list[str]:
    f, cmd = str(scenario.forks), scenario.command
    if tool.name in ("runner", "runner-1proc"):
        extra = ["--procs", "1"] if tool.name == "runner-1proc" else []
        known = tmp / "known_hosts"  # fresh per run: runner's default accept-new applies
        return [
            *(sys.executable, "-m", "runner", "run", "-i", str(inv)),
            *("--known-hosts", str(known), "-f", f, "--json", *extra, *RUNNER_EXTRA_ARGS),
            *("all", cmd),
        ]
    if tool.name == "floor":
        return [sys.executable, str(REPO / "bench" / "naive_paramiko.py"), str(spec), f, cmd]
    return [str(BENCH_PYTHON), str(TOOLS_DIR / tool.driver), str(spec), f, cmd]


def tool_env(tmp: Path) -> dict:
    """A fresh HOME (no ~/.ssh, no known_hosts, no config) and Ansible's per-run dirs."""
    home = tmp / "home"
    home.mkdir()
    for sub in ("ansible-tmp", "ansible-cp"):
        (tmp / sub).mkdir()
    return {
        **os.environ,
        "HOME": str(home),
        "PYTHONPATH": str(REPO),
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_LOCAL_TEMP": str(tmp / "ansible-tmp"),
        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(tmp / "ansible-cp"),
        # one-shot runs: no ControlPersist masters left behind, unmeasured, after the run;
        # ssh reads known_hosts from the passwd home, not $HOME: give it a fresh one
        "ANSIBLE_SSH_ARGS": f"-C -o ControlMaster=no -o UserKnownHostsFile={tmp}/known_hosts",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
    }


def parse_results(tool: Tool, stdout: str) -> dict[str, tuple[int, str]]:
    """host -> (exit code, stripped stdout), from --json (runner) or the driver lines."""
    results: dict[str, tuple[int, str]] = {}
    if tool.name in ("runner", "runner-1proc"):
        for line in stdout.splitlines():
            with contextlib.suppress(ValueError):
                record = json.loads(line)
                if record.get("type") == "host":
                    code = record.get("exit_code")
                    results[record["host"]] = (
                        -1 if code is None else code,
                        (record.get("stdout") or "").strip(),
                    )
        return results
    for line in stdout.splitlines():
        parts = line.split("\t", 2)
        if len(parts) == 3 and re.fullmatch(r"-?\d+", parts[1]):
            results[parts[0]] = (int(parts[1]), parts[2].strip())
    return results


def installed_versions() -> dict[str, str]:
    """Versions of the competitor packages in .venv-bench (empty when it is missing)."""
    if not BENCH_PYTHON.exists():
        return {}
    packages = [t.package for t in TOOLS if t.package] + ["paramiko", "ssh2-python", "gevent"]
    probe = (
        "import importlib.metadata as m, json, sys\n"
        "out = {}\n"
        "for p in sys.argv[1:]:\n"
        "    try: out[p] = m.version(p)\n"
        "    except m.PackageNotFoundError: pass\n"
        "print(json.dumps(out))\n"
    )
    proc = subprocess.run(
        [str(BENCH_PYTHON), "-c", probe, *packages], capture_output=True, text=True
    )
    return json.loads(proc.stdout) if proc.returncode == 0 else {}


def run_tool(fleet: Fleet, tool: Tool, scenario: Scenario, timeout: float) -> Run:
    names, inv, spec = fleet.hosts(scenario.hosts)
    tmp = Path(tempfile.mkdtemp(prefix=f"run-{tool.name}-", dir=fleet.root))
    try:
        cmd = [*fleet.prefix, *tool_command(tool, scenario, inv, spec, tmp)]
        overflows = fleet.listen_overflows()
        server_cpu = fleet.server_cpu()
        run = measure(cmd, tool_env(tmp), tmp, timeout)
        run.listen_overflows = fleet.listen_overflows() - overflows
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        fleet.settle()
    run.server_cpu = fleet.server_cpu() - server_cpu  # after settle: every session reaped
    results = parse_results(tool, run.stdout)
    run.bad = [n for n in names if results.get(n) != (0, scenario.expected)]
    if run.timed_out:
        run.status = f"timed out after {timeout:.0f} s"
    elif run.bad:
        run.status = f"FAILED ({len(run.bad)} bad hosts)"
        example = run.bad[0]
        run.failure = f"{example}: {str(results.get(example, 'no result'))[:160]}"
        print(
            f"  {tool.name}: {len(run.bad)} bad hosts, e.g. {example}: "
            f"{results.get(example, 'no result')!r}; stderr: {run.stderr[-600:]!r}",
            file=sys.stderr,
        )
    return run


# ---------------------------------------------------------------- reporting


def sleep_in(scenario: Scenario) -> float:
    """Seconds the scenario's command sleeps on every host (counted once: hosts overlap)."""
    return sum(float(m) for m in re.findall(r"sleep (\d+(?:\.\d+)?)", scenario.command))


def busy(run: Run) -> str:
    """Client and server CPU over the machine's capacity for the run's wall time: near
    100% the run is bound by this machine's cores, and no client-side parallelism (more
    forks, --procs) can shorten it."""
    cores = os.cpu_count() or 1
    if run.wall <= 0 or run.server_cpu <= 0:
        return "–"
    return f"{100 * (run.cpu + run.server_cpu) / (run.wall * cores):.0f}%"


def table(scenario: Scenario, runs: dict[str, Run]) -> str:
    ours = runs.get("runner")
    ours = ours if ours and ours.status == "ok" else None
    lines = [
        f"### {scenario.name}: {scenario.title}",
        "",
        "| tool | result | wall s | CPU s | CPU ms/host | peak RSS MB | tree PSS MB "
        "| wall / runner | CPU / runner | RSS / runner | PSS / runner | sshd CPU s "
        "| cores busy |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for tool in TOOLS:
        if tool.name not in runs:
            continue
        run = runs[tool.name]
        if run.status != "ok":
            lines.append(f"| {tool.label} | {run.status} |" + " – |" * 11)
            continue

        def ratio(a: float, b: float | None) -> str:
            return f"{a / b:.2f}x" if b else "–"

        lines.append(
            f"| {tool.label} | ok | {run.wall:.2f} | {run.cpu:.2f} | "
            f"{1000 * run.cpu / scenario.hosts:.2f} | {run.max_rss_mb:.0f} | "
            f"{run.tree_pss_mb:.0f} | {ratio(run.wall, ours and ours.wall)} | "
            f"{ratio(run.cpu, ours and ours.cpu)} | "
            f"{ratio(run.max_rss_mb, ours and ours.max_rss_mb)} | "
            f"{ratio(run.tree_pss_mb, ours and ours.tree_pss_mb)} | "
            f"{run.server_cpu:.2f} | {busy(run)} |"
        )
    overflows = [
        f"{t.name} {runs[t.name].listen_overflows}"
        for t in TOOLS
        if t.name in runs and runs[t.name].listen_overflows
    ]
    if overflows:
        lines += ["", "accept-queue overflows: " + ", ".join(overflows)]
    failures = [
        f"{t.label}: e.g. {runs[t.name].failure}"
        for t in TOOLS
        if t.name in runs and runs[t.name].failure
    ]
    if failures:
        lines += ["", *(f"- {f}" for f in failures)]
    return "\n".join(lines)


def machine_facts(versions: dict[str, str]) -> list[str]:
    import gevent
    import paramiko

    import runner

    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    ssh = subprocess.run(["ssh", "-V"], capture_output=True, text=True).stderr.strip()
    facts = [
        f"- CPU: {model}, `nproc` = {os.cpu_count()}; kernel {platform.release()}",
        f"- Python {platform.python_version()}; runner {runner.__version__} with "
        f"gevent {gevent.__version__}, paramiko {paramiko.__version__}",
        f"- OpenSSH: {ssh} (sshd and the ssh client Ansible uses)",
    ]
    for tool in TOOLS:
        if tool.package:
            facts.append(f"- {tool.package}: {versions.get(tool.package, 'not installed')}")
    if versions:
        facts.append(
            "- in .venv-bench: "
            + ", ".join(
                f"{p} {versions[p]}" for p in ("paramiko", "ssh2-python", "gevent") if p in versions
            )
        )
    return facts


NOTES = """\
How to read these figures:

- On this 2-core machine OpenSSH's sshd spends about 17-20 ms of CPU per login on the
  same cores as the client, so for short commands wall time is bounded by the server;
  client CPU per host and memory are the figures that show the client.
- "sshd CPU s" is what the server spent on the run (sshd's own CPU and that of every
  connection and session process it reaped, from /proc/PID/stat; 10 ms ticks). "cores
  busy" is client plus server CPU over wall time x cores: near 100% the run is bound by
  this machine's cores, and no client-side parallelism (more forks, `--procs`) can
  shorten it.
- "runner --procs 1" appears in the scenarios above 1,000 hosts, where runner by default
  splits the run over one process per core: the same run held to one process.
- CPU is user+sys of the client's whole process tree (os.wait4 on the client, which
  includes every descendant it waited for: Ansible's forks and ssh processes, runner's
  --procs workers). "peak RSS" is the largest single process in that tree (ru_maxrss);
  "tree PSS" is the peak of the summed PSS of every process in the tree, sampled from
  /proc every 0.1 s or more, so a multi-process tool is not flattered by the first.
- Every host's output and exit code is checked for every tool; a run with a wrong or
  missing result is FAILED and not counted.
- runner's modules are byte-compiled before the first run, as pip does on install (the
  checkout is an editable install; under PYTHONDONTWRITEBYTECODE=1 it would otherwise
  compile its modules on every start, while every other tool loads bytecode).
- Each run gets a fresh HOME (no ~/.ssh config, no known_hosts). runner records host keys
  with its default accept-new policy into a fresh `--known-hosts`; the floor loop, Fabric
  and pyinfra accept and remember new keys (their defaults); parallel-ssh does not check
  host keys; Ansible runs with ANSIBLE_HOST_KEY_CHECKING=False.
- Ansible: `ansible all -i inv.yml -m raw -a CMD -f F`, per-run ANSIBLE_LOCAL_TEMP and
  control-path dir, and ANSIBLE_SSH_ARGS="-C -o ControlMaster=no -o UserKnownHostsFile=
  <fresh file>" (its default keeps a ControlPersist master per host alive for 60 s after
  the run, outside the measured tree; ssh reads known_hosts from the passwd home, not
  $HOME).
- sshd's listen backlog is fixed at 128, so the namespaced sshd listens on 16 ports and the
  hosts are spread over them. "accept-queue overflows" under a table counts connections the
  kernel dropped (and the client retried after a second or more) during that tool's run.
- Fabric's ThreadingGroup has no pool size: it runs in batches of F hosts.
- pyinfra `exec` runs with `--parallel F`; it does not print exit codes, so Success reads
  as exit 0.
- parallel-ssh, pyinfra, Fabric and Ansible run from .venv-bench; the drivers for pyinfra
  and Ansible wrap the CLI in a small Python process that parses its output (about 30 ms
  of CPU and one more small process in the tree).
"""


def report(
    fleet: Fleet,
    versions: dict[str, str],
    tables: list[str],
    warmup: bool,
    not_installed: list[str],
    max_run: float,
) -> str:
    parts = [
        "# Fleet benchmark: runner against other SSH fan-out tools",
        "",
        "Rerun: `make bench` (installs the competitors into .venv-bench, then runs "
        "`bench/fleet.py --write`). One scenario or a few tools: "
        "`.venv/bin/python bench/fleet.py --scenario echo-500 --tools runner,ansible`.",
        "",
        f"Generated {time.strftime('%Y-%m-%d %H:%M %Z')}. Fleet: {fleet.describe()}.",
        "Warm-up: "
        + (
            "one unmeasured 20-host run per tool before the first scenario (loads its "
            "code into the page cache); every measured run starts from a fresh known_hosts."
            if warmup
            else "none."
        ),
        "",
        "## Machine",
        "",
        *machine_facts(versions),
        "",
        NOTES,
    ]
    if max_run:
        parts += [
            f"Time cap: a tool is skipped on a scenario when its wall time per host in a "
            f"smaller scenario of this invocation projects a run over {max_run:.0f} s "
            "(scenarios run smallest first); `--max-run 0` runs everything.",
            "",
        ]
    if not_installed:
        parts += [
            f"Not installed (run `make bench-deps`): {', '.join(not_installed)}.",
            "",
        ]
    parts += ["## Results", ""]
    for t in tables:
        parts += [t, ""]
    return "\n".join(parts)


# ---------------------------------------------------------------- main

RUNNER_EXTRA_ARGS: list[str] = []  # --runner-arg


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scenario",
        action="append",
        choices=[s.name for s in SCENARIOS],
        help="run only this scenario (repeatable; default: all)",
    )
    parser.add_argument(
        "--tools", help="comma-separated subset of: " + ",".join(t.name for t in TOOLS)
    )
    parser.add_argument("--write", action="store_true", help=f"write {RESULTS.name}")
    parser.add_argument("--no-warmup", action="store_true")
    parser.add_argument(
        "--no-netns", action="store_true", help="one sshd on 127.0.0.1, as when not root"
    )
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per run")
    parser.add_argument(
        "--max-run",
        type=float,
        default=150.0,
        help="skip a tool on a scenario when its pace in a smaller scenario projects a run "
        "longer than this many seconds (0: never skip; default: %(default)s)",
    )
    parser.add_argument(
        "--runner-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra argument for runner, e.g. --runner-arg=--procs=1 (repeatable)",
    )
    args = parser.parse_args()
    RUNNER_EXTRA_ARGS.extend(args.runner_arg)

    scenarios = [s for s in SCENARIOS if not args.scenario or s.name in args.scenario]
    wanted = args.tools.split(",") if args.tools else [t.name for t in TOOLS]
    unknown = set(wanted) - {t.name for t in TOOLS}
    if unknown:
        parser.error(f"unknown tools: {', '.join(sorted(unknown))}")
    versions = installed_versions()
    compile_runner()
    tools = [t for t in TOOLS if t.name in wanted]
    not_installed = [t.name for t in tools if t.package and t.package not in versions]
    runnable = [t for t in tools if t.name not in not_installed]

    reason = "--no-netns" if args.no_netns else why_no_netns()
    use_netns = reason is None
    if not use_netns:
        print(f"no network namespace ({reason}): one sshd on 127.0.0.1", file=sys.stderr)
    root = Path(tempfile.mkdtemp(prefix="runner-fleet-bench-"))
    root.chmod(0o755)
    fleet = Fleet(root, use_netns, reason or "")
    tables = []
    try:
        print(f"fleet: {fleet.describe()}", file=sys.stderr)
        if not args.no_warmup:
            warm = Scenario("warm-up", 20, 20, "true", "")
            for tool in runnable:
                run = run_tool(fleet, tool, warm, args.timeout)
                print(f"warm-up {tool.name}: {run.status} in {run.wall:.1f} s", file=sys.stderr)
        pace: dict[str, float] = {}  # tool -> most wall seconds per host seen so far
        for scenario in sorted(scenarios, key=lambda s: s.hosts):  # cheap first: pace known
            runs: dict[str, Run] = {}
            for tool in tools:
                if tool.name == "runner-1proc" and scenario.hosts <= 1000:
                    continue  # runner uses one process there too
                projected = pace.get(tool.name, 0.0) * scenario.hosts + sleep_in(scenario)
                if tool not in runnable:
                    runs[tool.name] = Run(status="not installed")
                elif args.max_run and projected > args.max_run:
                    runs[tool.name] = Run(status=f"skipped (~{projected:.0f} s projected)")
                    print(f"{scenario.name} {tool.name}: {runs[tool.name].status}", file=sys.stderr)
                else:
                    runs[tool.name] = run = run_tool(fleet, tool, scenario, args.timeout)
                    if not run.timed_out and scenario.hosts >= 100:  # start-up cost amortised
                        pace[tool.name] = max(
                            pace.get(tool.name, 0.0),
                            (run.wall - sleep_in(scenario)) / scenario.hosts,
                        )
                    print(
                        f"{scenario.name} {tool.name}: {run.status}, {run.wall:.2f} s wall, "
                        f"{run.cpu:.2f} s CPU, {run.listen_overflows} accept-queue overflows",
                        file=sys.stderr,
                    )
            tables.append((scenarios.index(scenario), table(scenario, runs)))
            print("\n" + tables[-1][1] + "\n", file=sys.stderr, flush=True)
    finally:
        fleet.close()
        shutil.rmtree(root, ignore_errors=True)
    ordered = [text for _, text in sorted(tables)]
    text = report(fleet, versions, ordered, not args.no_warmup, not_installed, args.max_run)
    print(text)
    if args.write:
        RESULTS.write_text(text)
        print(f"wrote {RESULTS.relative_to(REPO)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
