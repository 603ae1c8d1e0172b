"""End-to-end: the secret variables (RUNNER_SSH_PASSWORD, RUNNER_BECOME_PASSWORD,
RUNNER_KEY_PASSPHRASE) authenticate, yet reach no child process's environment (--procs
workers, ProxyCommand, local commands, dynamic inventory scripts) and no output.

The children write their own /proc/PID/environ (and a local command its parent's: the
--procs worker) to files the test reads; a canary variable set next to the secrets proves
each file is the real environment.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

from runner.config import SECRET_VARIABLES, Secrets, child_environment, take_secrets
from runner.testing.fleet import SSHServer
from tests.conftest import BECOME_PASSWORD, REPO, json_records

KEY_PASSPHRASE = "key-pass-phrase-0815"
CANARY = ("RUNNER_TEST_CANARY", "canary-7f3a")


def secret_env() -> dict[str, str]:
    return {
        "RUNNER_SSH_PASSWORD": BECOME_PASSWORD,  # the test user's login password too
        "RUNNER_BECOME_PASSWORD": BECOME_PASSWORD,
        "RUNNER_KEY_PASSPHRASE": KEY_PASSPHRASE,
        CANARY[0]: CANARY[1],
    }


def assert_no_secret(text: str, where: str) -> None:
    for name in SECRET_VARIABLES:
        assert name not in text, f"{name} in {where}"
    for value in (BECOME_PASSWORD, KEY_PASSPHRASE):
        assert value not in text, f"a secret value in {where}"


def assert_clean_environment(path: Path) -> None:
    text = path.read_text()
    assert f"{CANARY[0]}={CANARY[1]}" in text.splitlines(), f"{path.name}: not the real environ"
    assert_no_secret(text, path.name)


# -- units ---------------------------------------------------------------------------


def test_take_secrets_empties_the_environment_and_hides_the_values():
    env = {**secret_env(), "PATH": "/bin"}
    secrets = take_secrets(env)
    assert env == {"PATH": "/bin", CANARY[0]: CANARY[1]}
    assert secrets.ssh_password == BECOME_PASSWORD and secrets.key_passphrase == KEY_PASSPHRASE
    assert_no_secret(repr(secrets) + str(secrets), "repr")
    assert child_environment({"X": "1", "RUNNER_SSH_PASSWORD": "x"}, environ=secret_env()) == {
        CANARY[0]: CANARY[1],
        "X": "1",
    }


def test_a_worker_run_carries_secrets_only_beside_the_run_never_in_it():
    from runner.config import BecomeConfig, RunConfig
    from runner.engine.command import CommandJob
    from runner.executors import Run

    secrets = Secrets("ssh-pw", BECOME_PASSWORD, KEY_PASSPHRASE)
    run = Run((), CommandJob("true"), RunConfig(become=BecomeConfig(enabled=True)))
    assert_no_secret(repr(run) + repr(secrets) + json.dumps(run.to_dict()), "a Run")
    assert "ssh-pw" not in repr(run) + repr(secrets)
    assert Secrets.from_dict(secrets.to_dict()) == secrets  # what the worker reads


# -- end to end ----------------------------------------------------------------------

RELAY = """\
import os, socket, sys, threading
with open(sys.argv[3] + f"/proxy-{os.getpid()}.env", "w") as out:
    out.write(open("/proc/self/environ").read().replace("\\0", "\\n"))
sock = socket.create_connection((sys.argv[1], int(sys.argv[2])))
def up():
    while data := os.read(0, 65536):
        sock.sendall(data)
    sock.shutdown(socket.SHUT_WR)
threading.Thread(target=up, daemon=True).start()
while data := sock.recv(65536):
    os.write(1, data)
"""


def local_probe(folder: Path) -> str:
    """A local command writing its own environ and its parent's (the --procs worker)."""
    return (
        f"tr '\\0' '\\n' < /proc/$$/environ > {folder}/local-$$.env; "
        f"tr '\\0' ' ' < /proc/$PPID/cmdline > {folder}/worker-$$.cmdline; "
        f"tr '\\0' '\\n' < /proc/$PPID/environ > {folder}/worker-$$.env; env"
    )


@pytest.fixture
def password_server(sudo_user, ssh_root, tmp_path):
    """sshd where runner-e2e logs in with its password or an encrypted key."""
    locked = tmp_path / "locked_key"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", KEY_PASSPHRASE, "-f", str(locked)], check=True
    )
    locked.chmod(0o600)
    server = SSHServer(
        Path(tempfile.mkdtemp(prefix="secrets-", dir=ssh_root)),
        locked,
        login_user=sudo_user.user,
        extra_config="PasswordAuthentication yes\n",
    ).start()
    yield server
    server.stop()


def test_no_secret_reaches_any_child_environment(password_server, cli, tmp_path):
    server = password_server
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    dumps.chmod(0o777)
    relay = tmp_path / "relay.py"
    relay.write_text(RELAY)
    login = {
        "ansible_host": "127.0.0.1",
        "ansible_port": server.port,
        "ansible_user": server.user,
        "ansible_become": True,  # the become password comes from RUNNER_BECOME_PASSWORD
        "probe": "id -un",
    }
    key = {"ansible_ssh_private_key_file": str(server.client_key)}  # RUNNER_KEY_PASSPHRASE
    proxy = f"-o ProxyCommand='{sys.executable} {relay} %h %p {dumps}'"
    local = {"ansible_connection": "local", "probe": local_probe(dumps)}
    hosts = {
        "local1": local,
        "local2": local,
        "keyhost": {**login, **key},
        "pwhost": login,  # no key: RUNNER_SSH_PASSWORD logs in
        "proxyhost": {**login, **key, "ansible_ssh_common_args": proxy},
    }
    inventory = tmp_path / "inv.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": hosts}}))
    home = tmp_path / "home"  # no default key, no agent: only the secrets authenticate
    home.mkdir()
    out_dir = tmp_path / "out"
    res = cli(
        "run",
        "-i",
        str(inventory),
        "--known-hosts",
        str(tmp_path / "known_hosts"),
        "--procs",
        "2",
        "--json",
        "--out-dir",
        str(out_dir),
        "all",
        "{{ probe }}",
        env={**secret_env(), "HOME": str(home), "SSH_AUTH_SOCK": ""},
    )
    assert res.exit_code == 0, res
    records = {r["host"]: r for r in json_records(res.stdout) if r["type"] == "host"}
    for name in ("keyhost", "pwhost", "proxyhost"):
        assert records[name]["stdout"] == "root\n", records[name]  # all three secrets worked
    for name in ("local1", "local2"):
        assert f"{CANARY[0]}={CANARY[1]}" in records[name]["stdout"]  # `env` ran
    workers = sorted(dumps.glob("worker-*.cmdline"))
    assert len(workers) == 2
    assert all("runner _worker" in p.read_text() for p in workers)  # a --procs worker
    seen = {p.name.split("-")[0] for p in dumps.glob("*.env")}
    assert seen == {"local", "worker", "proxy"}, seen
    for path in dumps.glob("*.env"):
        assert_clean_environment(path)
    assert_no_secret(res.stdout + res.stderr, "runner's output")
    for path in out_dir.iterdir():
        assert_no_secret(path.read_text(), str(path))


def test_local_env_shows_no_secret_in_json_or_out_dir(cli, tmp_path):
    inventory = tmp_path / "inv.yml"
    inventory.write_text("all:\n  hosts:\n    localhost:\n      ansible_connection: local\n")
    out_dir = tmp_path / "out"
    res = cli(
        "run",
        "-i",
        str(inventory),
        "--json",
        "--out-dir",
        str(out_dir),
        "localhost",
        "env",
        env=secret_env(),
    )
    assert res.exit_code == 0, res
    (record,) = [r for r in json_records(res.stdout) if r["type"] == "host"]
    assert f"{CANARY[0]}={CANARY[1]}" in record["stdout"]
    assert_no_secret(res.stdout + res.stderr, "runner's output")
    files = sorted(out_dir.iterdir())
    assert {p.name for p in files} >= {"localhost.stdout", "localhost.json"}
    assert CANARY[1] in (out_dir / "localhost.stdout").read_text()
    for path in files:
        assert_no_secret(path.read_text(), str(path))


def test_dynamic_inventory_script_gets_no_secret(cli, tmp_path):
    script = tmp_path / "inv.sh"
    script.write_text(
        "#!/bin/sh\n"
        f"tr '\\0' '\\n' < /proc/$$/environ > {tmp_path}/script-$$.env\n"
        'echo \'{"all": {"hosts": ["h1"]}, "_meta": {"hostvars": {}}}\'\n'
    )
    script.chmod(0o755)
    res = cli("inventory", "-i", str(script), "--list", env=secret_env())
    assert res.exit_code == 0, res
    (dumped,) = tmp_path.glob("script-*.env")
    assert_clean_environment(dumped)


def test_a_passphrase_asked_on_the_terminal_reaches_the_workers(password_server, tmp_path):
    """No RUNNER_KEY_PASSPHRASE: the parent asks once on its terminal and the --procs
    workers get the answer in their job (they have no terminal to ask on)."""
    import fcntl
    import select
    import termios
    import time

    server = password_server
    login = {
        "ansible_host": "127.0.0.1",
        "ansible_port": server.port,
        "ansible_user": server.user,
        "ansible_ssh_private_key_file": str(server.client_key),
    }
    inventory = tmp_path / "inv.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"k1": login, "k2": login}}}))
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO), "HOME": str(home), "SSH_AUTH_SOCK": ""}
    for name in (*SECRET_VARIABLES, "RUNNER_INVENTORY"):
        env.pop(name, None)
    master, slave = os.openpty()

    def own_terminal() -> None:  # in the child: the pty becomes its controlling terminal
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "runner",
            "run",
            "-i",
            str(inventory),
            "--known-hosts",
            str(tmp_path / "kh"),
            "--procs",
            "2",
            "--json",
            "all",
            "id -un",
        ],  # fmt: skip
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=slave,
        env=env,
        preexec_fn=own_terminal,
    )
    os.close(slave)
    said = b""
    deadline = time.monotonic() + 30
    while b"Passphrase for" not in said and time.monotonic() < deadline:
        if select.select([master], [], [], 1)[0]:
            said += os.read(master, 4096)
    assert b"Passphrase for" in said, said
    os.write(master, KEY_PASSPHRASE.encode() + b"\n")
    stdout, _ = proc.communicate(timeout=60)
    os.close(master)
    assert proc.returncode == 0, stdout
    records = [r for r in json_records(stdout.decode()) if r["type"] == "host"]
    assert {(r["host"], r["stdout"]) for r in records} == {
        ("k1", f"{server.user}\n"),
        ("k2", f"{server.user}\n"),
    }
    assert KEY_PASSPHRASE not in stdout.decode()
