"""Shared fixtures. The gevent patch comes first, as in runner.entry (habit 1): pytest
loads tests.gevent_first before anything (pyproject.toml's addopts); importing it here as
well keeps that order when the addopts are overridden (``-o addopts=``)."""

import tests.gevent_first  # noqa: F401, I001  (first: the gevent patch)

import contextlib  # noqa: E402
import fcntl  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from tests import ansible_ssh, shards  # noqa: E402

from runner.testing.fleet import (  # noqa: E402
    SSHServer,
    ensure_local_user,
    host_names,
    keygen,
    wait_until,
    why_no_sshd,
    write_inventory,
)

REPO = Path(__file__).resolve().parent.parent

# The connection keeper is on by default (60 s) outside CI: a developer's test run would
# leave a keeper behind from every test that runs `runner run`. Tests are runs without
# it, except the keeper's own (tests/test_keeper_e2e.py), which ask for it per run, each
# with its own XDG_RUNTIME_DIR and a fixture that stops its keeper.
os.environ["RUNNER_PERSIST"] = "0"

# Property tests check what holds, not how fast: on two cores shared with sshd fleets a
# generated example can take over Hypothesis's 200 ms deadline, which failed a run.
from hypothesis import HealthCheck, settings  # noqa: E402

settings.register_profile("runner", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("runner")


def pytest_collection_modifyitems(config, items):
    """Under ``RUNNER_TEST_SHARD=K/N`` (tests/shards.py, which ``make test`` uses) keep only
    the test files of shard K."""
    value = os.environ.get("RUNNER_TEST_SHARD")
    if not value:
        return
    shard, count = shards.parse(value)
    weights: dict[str, float] = {}
    shared_by_file: dict[str, set[str]] = {}
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        name = item.nodeid.split("::", 1)[0]
        defs = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {})
        shared = {f for f in fixtures if defs.get(f) and defs[f][-1].scope != "function"}
        shared_by_file.setdefault(name, set()).update(shared)
        weights[name] = weights.get(name, 0) + shards.weight(
            fixtures,
            item.path,
            getattr(item, "originalname", item.name),
            hypothesis=getattr(getattr(item, "obj", None), "is_hypothesis_test", False),
            shared=shared,
        )
    paths = {i.nodeid.split("::", 1)[0]: i.path for i in items}
    for name, shared in shared_by_file.items():
        weights[name] += shards.shared_cost(paths[name], shared)
    mine = shards.assign(weights, count)
    load = sum(w for name, w in weights.items() if mine[name] == shard)
    config.runner_shard_line = (  # shown by pytest_report_collectionfinish
        f"shard {shard}/{count}: {sum(1 for k in mine.values() if k == shard)} test files, "
        f"weight {load:.0f} of {sum(weights.values()):.0f} (tests/shards.py)"
    )
    keep = [i for i in items if mine[i.nodeid.split("::", 1)[0]] == shard]
    gone = [i for i in items if mine[i.nodeid.split("::", 1)[0]] != shard]
    if gone:
        config.hook.pytest_deselected(items=gone)
        items[:] = keep


def pytest_report_collectionfinish(config):
    """Under RUNNER_TEST_SHARD: how much of the suite this shard got."""
    return getattr(config, "runner_shard_line", [])


def require_sshd() -> None:
    """Skip (or, under CI=true, fail) when real-sshd tests cannot run here."""
    reason = why_no_sshd()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but real-sshd tests cannot run: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session", autouse=True)
def state_home(tmp_path_factory) -> Path:
    """Every run/copy/fetch/play records its outcome for --rerun in the user's state
    folder: the tests' runs (in process or not) keep theirs in a throwaway one, not in
    the home of whoever runs the tests. Tests of --rerun set their own per test."""
    path = tmp_path_factory.mktemp("xdg-state")
    os.environ["XDG_STATE_HOME"] = str(path)
    return path


@pytest.fixture(autouse=True)
def end_ansible_masters():
    """The SSH master connections a test's Ansible commands left (tests/ansible_ssh.py)
    end with the test."""
    yield
    ansible_ssh.end_masters()


@pytest.fixture(scope="session")
def ssh_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("ssh")


@pytest.fixture(scope="session")
def client_key(ssh_root) -> Path:
    require_sshd()
    return keygen(ssh_root / "client_key")


@pytest.fixture(scope="session")
def sshd(ssh_root, client_key):
    """One real OpenSSH sshd on 127.0.0.1 for the whole session."""
    require_sshd()
    server = SSHServer(ssh_root / "sshd", client_key).start()
    yield server
    server.stop()


# The local user that user_sshd's logins are (and sudo_user gives a password and a sudoers
# rule): one per shard (tests/shards.py), so the shards of one run never change each
# other's user. Tests that name it use this, never the literal.
SYSTEM_USER = shards.system_user(os.environ.get("RUNNER_TEST_SHARD"))


@contextlib.contextmanager
def machine_lock(name: str = "machine"):
    """Hold an exclusive lock shared by every test process on this machine (the shards of
    ``make test``, anyone's other pytest run): for state there is one of (dpkg, users, /etc)."""
    path = Path(tempfile.gettempdir()) / f"runner-tests-{name}.lock"
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="module", autouse=True)
def machine_wide_lock(request):
    """A test file marked ``machine_wide`` runs under machine_lock(), from its first
    fixture to its last teardown: two such files never run at the same time, whichever
    shards they are on, so they need not share one."""
    module = getattr(request, "module", None)
    marked = any(
        item.get_closest_marker("machine_wide") is not None
        for item in request.session.items
        if getattr(item, "module", None) is module
    )
    if not marked:
        yield
        return
    with machine_lock():
        yield


@pytest.fixture(scope="session")
def user_sshd(ssh_root, client_key):
    """A root-run sshd where a plain (non-root) user (SYSTEM_USER) logs in, as on real
    fleets; None when the tests do not run as root. (``sshd``'s logins are root logins
    when the tests run as root: sshd runs those sessions without privilege separation.)"""
    require_sshd()
    if os.geteuid() != 0:
        yield None
        return
    with machine_lock("useradd"):  # useradd of two shards at once: /etc/passwd's lock
        user = ensure_local_user(SYSTEM_USER)
    server = SSHServer(ssh_root / "user-sshd", client_key, login_user=user)
    server.start()
    yield server
    server.stop()


BECOME_PASSWORD = "Become-pw-4711"
SUDOERS = Path(f"/etc/sudoers.d/{SYSTEM_USER}-test")


@pytest.fixture(scope="module")
def sudo_user(user_sshd):
    """SYSTEM_USER may become daemon without a password and root with its password
    (BECOME_PASSWORD); the rule is removed and the password locked again afterwards."""
    if user_sshd is None:
        pytest.skip("needs root to create a sudoers rule for a test user")
    if shutil.which("sudo") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but sudo is not installed (make sshd installs it)")
        pytest.skip("sudo not installed")
    user = user_sshd.user
    SUDOERS.write_text(
        f"Defaults:{user} !requiretty, lecture=never, timestamp_timeout=0\n"
        f"{user} ALL=(daemon) NOPASSWD: ALL\n"
        f"{user} ALL=(root) ALL\n"
    )
    SUDOERS.chmod(0o440)
    subprocess.run(["chpasswd"], input=f"{user}:{BECOME_PASSWORD}\n", text=True, check=True)
    try:
        yield user_sshd
    finally:
        SUDOERS.unlink(missing_ok=True)
        subprocess.run(["usermod", "-p", "*", user], check=True)


@dataclass
class Fleet:
    server: SSHServer
    inventory: Path
    names: list[str]
    known_hosts: Path

    def args(self) -> list[str]:
        """The CLI options that point runner at this fleet."""
        return ["-i", str(self.inventory), "--known-hosts", str(self.known_hosts)]


@pytest.fixture
def make_fleet(sshd, tmp_path):
    """make_fleet(n, groups=..., host_vars=...) -> Fleet of n host names on the test sshd."""

    def make(
        count: int = 5,
        *,
        prefix: str = "web",
        groups: dict[str, list[str]] | None = None,
        host_vars: dict[str, dict] | None = None,
        server: SSHServer | None = None,
    ) -> Fleet:
        srv = server or sshd
        names = host_names(count, prefix)
        inv = write_inventory(
            tmp_path / f"inventory-{prefix}{count}.yml",
            srv,
            names,
            groups=groups,
            host_vars=host_vars,
        )
        return Fleet(srv, inv, names, tmp_path / "known_hosts")

    return make


@dataclass
class CLIResult:
    exit_code: int
    stdout: str
    stderr: str

    def __repr__(self) -> str:
        return f"CLIResult(exit={self.exit_code}, stdout={self.stdout[-2000:]!r}, stderr={self.stderr[-2000:]!r})"


def hermetic_environ() -> dict[str, str]:
    """This process's environment without the ANSIBLE_* variables of whoever runs the
    tests (runner reads them as project settings); a test passes its own in ``env``."""
    return {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}


def run_cli(*args: str, env: dict | None = None, timeout: float = 120, **kw) -> CLIResult:
    """Run the real `runner` command (python -m runner) in a subprocess."""
    full_env = {**hermetic_environ(), "PYTHONPATH": str(REPO), **(env or {})}
    full_env.pop("RUNNER_INVENTORY", None) if env is None or "RUNNER_INVENTORY" not in env else None
    proc = subprocess.run(
        [sys.executable, "-m", "runner", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        **kw,
    )
    return CLIResult(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def cli():
    return run_cli


# What runner reads from os.environ rather than from Environment.environ (ssh-agent and ~
# in runner.transport.ssh; click's envvar= for -i): a run that sets them must be a process.
PROCESS_ONLY_VARIABLES = frozenset({"HOME", "SSH_AUTH_SOCK", "RUNNER_INVENTORY"})


def run_inprocess(
    *args: str, env: dict | None = None, stdin_text: str = "", timeout: float = 120
) -> CLIResult:
    """Run ``runner ARGS`` in this process through runner.cli.main with an injected
    Environment (StringIO streams, a copy of os.environ updated with ``env``; a None value
    removes a variable), as run_cli would in a subprocess, without its start-up cost.

    For tests whose point is not a process boundary (signals, start-up, the gevent patch,
    closed pipes, worker processes, ptys keep run_cli). stdin is not a terminal."""
    from gevent import Timeout

    from runner.cli import main
    from runner.cli.environment import Environment

    if PROCESS_ONLY_VARIABLES & set(env or {}):
        raise ValueError(
            f"runner reads {sorted(PROCESS_ONLY_VARIABLES)} from os.environ: use run_cli"
        )
    environ = {k: v for k, v in hermetic_environ().items() if k != "RUNNER_INVENTORY"}
    for name, value in (env or {}).items():
        if value is None:
            environ.pop(name, None)
        else:
            environ[name] = value
    environment = Environment(
        stdin=io.StringIO(stdin_text),
        stdout=io.StringIO(),
        stderr=io.StringIO(),
        environ=environ,
        stdin_isatty=lambda: False,
    )
    with Timeout(timeout, AssertionError(f"runner {' '.join(args)} ran over {timeout} s")):
        code = main(list(args), env=environment)
    return CLIResult(code, environment.stdout.getvalue(), environment.stderr.getvalue())


@pytest.fixture
def in_process():
    """run_inprocess: ``in_process("run", ...)`` -> CLIResult, like ``cli`` without a process."""
    return run_inprocess


def json_records(stdout: str) -> list[dict]:
    """The JSON Lines runner printed on stdout."""
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


@contextlib.contextmanager
def ssh_agent_holding(key: Path, home: Path):
    """A throwaway ssh-agent holding ``key``; yields the environment that points runner at
    it, with HOME at ``home`` so no default ~/.ssh key can log in instead."""
    sock = home / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)], stdout=subprocess.DEVNULL)
    try:
        wait_until(sock.exists, 5, "ssh-agent's socket")
        env = {"SSH_AUTH_SOCK": str(sock), "HOME": str(home)}
        subprocess.run(
            ["ssh-add", "-q", str(key)], env={**os.environ, **env}, check=True, capture_output=True
        )
        yield env
    finally:
        agent.terminate()
        agent.wait(5)


def inventory_without_key(fleet: Fleet, path: Path) -> Path:
    """A copy of the fleet's inventory that names no private key file."""
    path.write_text(
        fleet.inventory.read_text().replace(
            f"ansible_ssh_private_key_file: {fleet.server.client_key}", ""
        )
    )
    return path
