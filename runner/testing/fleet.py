"""Throwaway OpenSSH servers on 127.0.0.1 for tests, the demo and the benchmarks.

An ``SSHServer`` is a real ``sshd -D`` started as the current user on a free high port,
with its own ed25519 host key, a client key in a temp authorized_keys, no PAM, no DNS and
``HOME`` pointed at an empty folder (so no heavy shell start-up files run per session).
A ``fleet`` is N inventory host names pointing at one such server.

Run as a script for the demo:  python -m runner.testing.fleet demo --hosts 20
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "Netns",
    "SSHServer",
    "SilentServer",
    "ensure_local_user",
    "find_sshd",
    "free_port",
    "host_names",
    "keygen",
    "loopback_addresses",
    "netns_server",
    "processes_matching",
    "wait_until",
    "why_no_netns",
    "why_no_sshd",
    "write_inventory",
]

SSHD_CANDIDATES = ("/usr/sbin/sshd", "/usr/local/sbin/sshd", "/sbin/sshd")


def find_sshd() -> str | None:
    for path in SSHD_CANDIDATES:
        if os.access(path, os.X_OK):
            return path
    return shutil.which("sshd")


def why_no_sshd() -> str | None:
    """None when real-sshd tests can run, else the reason they cannot."""
    if find_sshd() is None:
        return "OpenSSH sshd not installed (apt-get install openssh-server)"
    if shutil.which("ssh-keygen") is None:
        return "ssh-keygen not installed (apt-get install openssh-client)"
    return None


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def keygen(path: Path, kind: str = "ed25519") -> Path:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", "runner-test", "-f", str(path)],
        check=True,
        stdin=subprocess.DEVNULL,
    )
    return path


@dataclass
class SSHServer:
    """One real sshd. ``start()`` returns once it answers with an SSH banner."""

    workdir: Path
    client_key: Path
    address: str = "127.0.0.1"
    port: int = 0
    max_startups: int = 2000
    extra_config: str = ""
    host_key: Path | None = None
    proc: subprocess.Popen | None = field(default=None, repr=False)
    netns: str | None = None
    login_user: str | None = None  # another local user that may log in (root only)

    @property
    def user(self) -> str:
        return self.login_user or getpass.getuser()

    def write_config(self) -> Path:
        self.workdir.mkdir(parents=True, exist_ok=True)
        public = self.workdir
        if self.login_user:  # sshd reads these as the login user: world-readable folder
            public = Path(tempfile.mkdtemp(prefix="runner-sshd-pub-"))
            public.chmod(0o755)
        home = public / "home"
        home.mkdir(exist_ok=True)
        if self.login_user:
            home.chmod(0o777)
        if self.host_key is None:
            self.host_key = keygen(self.workdir / "ssh_host_ed25519_key")
        auth = public / "authorized_keys"
        auth.write_text(Path(f"{self.client_key}.pub").read_text())
        auth.chmod(0o644 if self.login_user else 0o600)
        cfg = self.workdir / "sshd_config"
        cfg.write_text(
            f"""\
# extra settings first: for most keywords sshd keeps the first value it reads
{self.extra_config}
Port {self.port}
ListenAddress {self.address}
HostKey {self.host_key}
PidFile {self.workdir}/sshd.pid
AuthorizedKeysFile {auth}
StrictModes no
UsePAM no
UseDNS no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin yes
MaxStartups {self.max_startups}
MaxSessions 1000
MaxAuthTries 20
LoginGraceTime 30
PrintMotd no
PrintLastLog no
LogLevel ERROR
SetEnv HOME={home}
Subsystem sftp internal-sftp
"""
        )
        return cfg

    def start(self, timeout: float = 10.0) -> SSHServer:
        sshd = find_sshd()
        if sshd is None:
            raise RuntimeError(why_no_sshd())
        if os.geteuid() == 0:
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # privilege separation dir
        last_error = ""
        for _ in range(5):
            if not self.port:
                self.port = free_port(self.address) if not self.netns else 2222
            cfg = self.write_config()
            # -r: no re-exec of sshd per login (debug-only in production; here it cuts sshd's
            # CPU per login from ~22 to ~16 ms, and the server shares the client's 2 cores)
            cmd = [sshd, "-D", "-e", "-r", "-f", str(cfg)]
            if self.netns:
                cmd = ["ip", "netns", "exec", self.netns, *cmd]
            log = open(self.workdir / "sshd.log", "ab")
            self.proc = subprocess.Popen(
                cmd, stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True
            )
            log.close()
            if self._wait_ready(timeout):
                return self
            last_error = (self.workdir / "sshd.log").read_text(errors="replace")
            self.stop()
            self.port = 0
        raise RuntimeError(f"sshd did not start: {last_error[-2000:]}")

    def _wait_ready(self, timeout: float) -> bool:
        if self.netns:  # only reachable from inside the namespace: probe from there
            probe = (
                "import socket,sys,time\n"
                f"end=time.time()+{timeout}\n"
                "while time.time()<end:\n"
                "  try:\n"
                f"    s=socket.create_connection(('127.0.0.1',{self.port}),1); s.settimeout(2)\n"
                "    sys.exit(0 if s.recv(4)==b'SSH-' else 1)\n"
                "  except OSError: time.sleep(0.05)\n"
                "sys.exit(1)\n"
            )
            cmd = ["ip", "netns", "exec", self.netns, sys.executable, "-c", probe]
            return subprocess.run(cmd, check=False).returncode == 0
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                return False
            with contextlib.suppress(OSError):
                with socket.create_connection((self.address, self.port), timeout=1) as s:
                    s.settimeout(2)
                    if s.recv(64).startswith(b"SSH-"):
                        return True
            time.sleep(0.05)
        return False

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)

    def __enter__(self) -> SSHServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def wait_until(
    predicate: Callable[[], object], timeout: float = 10.0, what: str = "the condition"
) -> object:
    """Poll ``predicate`` until it returns something truthy and return that; after
    ``timeout`` seconds raise AssertionError naming ``what`` (instead of sleeping a fixed
    time and hoping)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.02)


def processes_matching(pattern: str) -> list[str]:
    """The pids of the processes whose command line matches ``pattern`` (``pgrep -f``)."""
    found = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True)
    return found.stdout.split()


def ensure_local_user(name: str = "runner-e2e") -> str:
    """Create (as root) a plain local user that may log in with a key; return its name."""
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "-M", "-d", "/nonexistent", "-s", "/bin/sh", name], check=True)
    subprocess.run(["usermod", "-p", "*", name], check=True)  # unlocked, no password
    return name


def host_names(count: int, prefix: str = "web") -> list[str]:
    width = max(2, len(str(count)))
    return [f"{prefix}{i:0{width}d}" for i in range(1, count + 1)]


def write_inventory(
    path: Path,
    server: SSHServer,
    names: list[str],
    *,
    groups: dict[str, list[str]] | None = None,
    host_vars: dict[str, dict] | None = None,
    address: str | None = None,
) -> Path:
    """An Ansible-format YAML inventory whose hosts all point at ``server``."""
    import yaml

    host_vars = host_vars or {}
    hosts = {n: dict(host_vars.get(n, {})) for n in names}
    children = {g: {"hosts": {h: None for h in members}} for g, members in (groups or {}).items()}
    inventory = {
        "all": {
            "vars": {
                "ansible_host": address or server.address,
                "ansible_port": server.port,
                "ansible_user": server.user,
                "ansible_ssh_private_key_file": str(server.client_key),
            },
            "hosts": {n: (v or None) for n, v in hosts.items()},
            **({"children": children} if children else {}),
        }
    }
    path.write_text(yaml.safe_dump(inventory, sort_keys=False))
    return path


def why_no_netns() -> str | None:
    """None when this process can make network namespaces (root + iproute2)."""
    if os.geteuid() != 0:
        return "needs root to create a network namespace"
    if shutil.which("ip") is None:
        return "needs iproute2 ('ip') to create a network namespace"
    return None


class Netns:
    """A private network namespace with only loopback up: inside it, an sshd listening on
    0.0.0.0 answers on every 127.X.Y.Z address, so each test host gets its own address and
    nothing outside the namespace can reach it."""

    def __init__(self) -> None:
        self.name = f"runner-test-{os.getpid()}-{int(time.time() * 1000) % 100000}"

    def __enter__(self) -> Netns:
        subprocess.run(["ip", "netns", "add", self.name], check=True)
        self.exec_prefix = ["ip", "netns", "exec", self.name]
        subprocess.run([*self.exec_prefix, "ip", "link", "set", "lo", "up"], check=True)
        return self

    def __exit__(self, *exc: object) -> None:
        subprocess.run(["ip", "netns", "del", self.name], check=False)


def netns_server(netns: Netns, workdir: Path, client_key: Path, port: int = 22) -> SSHServer:
    """An sshd inside ``netns`` on 0.0.0.0:port (reachable only from inside it)."""
    server = SSHServer(workdir, client_key, address="0.0.0.0", port=port, netns=netns.name)
    return server.start()


def loopback_addresses(count: int) -> list[str]:
    """127.0.1.1, 127.0.1.2, ... : one distinct loopback address per simulated host."""
    out = []
    for i in range(count):
        out.append(f"127.0.{1 + i // 250}.{1 + i % 250}")
    return out


class SilentServer:
    """Accepts TCP connections and never says a word: an SSH client must time out."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(512)
        self.port = self.sock.getsockname()[1]

    def close(self) -> None:
        self.sock.close()


def demo(args: argparse.Namespace) -> int:
    """Start a fleet, run runner on it the way an operator would, tear it down."""
    reason = why_no_sshd()
    if reason:
        print(f"make demo needs OpenSSH's sshd: {reason}", file=sys.stderr)
        return 1
    root = Path(tempfile.mkdtemp(prefix="runner-demo-"))
    try:
        key = keygen(root / "client_key")
        with SSHServer(root / "sshd", key) as server:
            names = host_names(args.hosts)
            half = len(names) // 2
            inv = write_inventory(
                root / "inventory.yml",
                server,
                names,
                groups={"web": names[:half], "db": names[half:]},
            )
            known = root / "known_hosts"
            runner = [sys.executable, "-m", "runner"]
            common = ["-i", str(inv), "--known-hosts", str(known)]
            steps = [
                [*runner, "run", *common, "all", "uname -s; echo 'hello from runner'"],
                [
                    *runner,
                    "run",
                    *common,
                    "all",
                    "sleep 0.$((RANDOM % 9)); test $((RANDOM % 4)) -ne 0 && echo ok || "
                    "{ echo 'disk almost full' >&2; exit 3; }",
                ],
                [*runner, "run", *common, "--stream", "db", "echo {{ inventory_hostname }} up"],
            ]
            # deploy_root in this run's folder: /tmp/runner-demo/HOST outlived a demo
            deploy_root = json.dumps({"deploy_root": f"{root}/deploy/{{{{ inventory_hostname }}}}"})
            for playbook in args.playbook or []:
                steps.append([*runner, "play", *common, "-e", deploy_root, playbook])
            for cmd in steps:
                shown = " ".join(c if " " not in c else repr(c) for c in cmd[3:])
                print(f"\n$ runner {shown}", flush=True)
                subprocess.run(cmd)
        return 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("demo", help="run runner on a throwaway local sshd fleet")
    d.add_argument("--hosts", type=int, default=20)
    d.add_argument("--playbook", action="append")
    args = parser.parse_args(argv)
    return demo(args)


if __name__ == "__main__":
    sys.exit(main())
