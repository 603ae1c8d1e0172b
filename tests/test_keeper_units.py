"""The keeper's pieces without sshd: the store of held connections, the runtime folder's
checks, the executor choice and the persist setting."""

from __future__ import annotations

import os

import pytest

from runner.cli.persist import persist_seconds
from runner.errors import ConfigError
from runner.executors.keeper.paths import KeeperUnavailable, private_dir, runtime_dir, socket_path
from runner.executors.keeper.pool import Pool


class FakeConnection:
    def __init__(self, active: bool = True) -> None:
        self.active = active
        self.closed = 0

    def is_active(self) -> bool:
        return self.active

    def close(self) -> None:
        self.closed += 1
        self.active = False


def test_a_held_connection_serves_one_host_at_a_time():
    pool = Pool()
    one, two = FakeConnection(), FakeConnection()
    pool.give("k", one, "u@a:22", "web1", 60)
    pool.give("k", two, "u@a:22", "web2", 60)
    taken = {id(pool.take("k")), id(pool.take("k"))}
    assert taken == {id(one), id(two)}
    assert pool.take("k") is None
    assert pool.take("other") is None


def test_reap_closes_what_expired_or_the_server_closed():
    pool = Pool()
    fresh, old, dead = FakeConnection(), FakeConnection(), FakeConnection()
    pool.give("a", fresh, "u@a:22", "web1", 60)
    pool.give("b", old, "u@b:22", "web2", 1)
    pool.give("c", dead, "u@c:22", "web3", 60)
    dead.active = False
    gate = FakeConnection()
    pool.keep_bastion("gw", gate, "bastion u@gw:22", 1)
    import time

    remaining = pool.reap(time.monotonic() + 2)
    assert remaining == 1
    assert (fresh.closed, old.closed, dead.closed, gate.closed) == (0, 1, 1, 1)
    assert pool.take("a") is fresh
    assert [r["host"] for r in pool.listing()] == []


def test_a_replaced_bastion_closes_the_old_one_and_close_all_closes_everything():
    pool = Pool()
    first, second, host = FakeConnection(), FakeConnection(), FakeConnection()
    pool.keep_bastion("gw", first, "bastion u@gw:22", 60)
    pool.keep_bastion("gw", first, "bastion u@gw:22", 60)  # refreshed: stays open
    assert first.closed == 0
    pool.keep_bastion("gw", second, "bastion u@gw:22", 60)
    assert first.closed == 1 and pool.bastion("gw") is second
    pool.give("h", host, "u@h:22", "web1", 60)
    assert [r["kind"] for r in pool.listing()] == ["bastion", "host"]
    pool.close_all()
    assert (second.closed, host.closed) == (1, 1)
    assert pool.count() == 0


def test_the_runtime_folder_must_be_private_and_ours(tmp_path):
    env = {"XDG_RUNTIME_DIR": str(tmp_path)}
    assert runtime_dir(env) == str(tmp_path / "runner")
    assert runtime_dir({}) == f"/tmp/runner-{os.getuid()}"
    assert runtime_dir({"XDG_RUNTIME_DIR": "relative"}) == f"/tmp/runner-{os.getuid()}"
    path = socket_path(env)
    assert os.path.dirname(path) == str(tmp_path / "runner")
    assert (tmp_path / "runner").stat().st_mode & 0o777 == 0o700
    (tmp_path / "runner").chmod(0o750)
    with pytest.raises(KeeperUnavailable, match="open to others"):
        socket_path(env)
    open_dir = tmp_path / "link-target"
    open_dir.mkdir(mode=0o700)
    (tmp_path / "link").symlink_to(open_dir)
    with pytest.raises(KeeperUnavailable, match="not a folder"):
        private_dir(str(tmp_path / "link"))
    if os.geteuid() == 0:
        theirs = tmp_path / "theirs"
        theirs.mkdir(mode=0o700)
        os.chown(theirs, 65534, 65534)
        with pytest.raises(KeeperUnavailable, match="belongs to uid 65534"):
            private_dir(str(theirs))


def test_a_socket_path_too_long_for_unix_sockets_is_refused(tmp_path):
    deep = tmp_path / ("x" * 120)
    deep.mkdir()
    with pytest.raises(KeeperUnavailable, match="too long"):
        socket_path({"XDG_RUNTIME_DIR": str(deep)})


@pytest.mark.parametrize("text", ["soon", "-1", "inf", "nan"])
def test_runner_persist_must_be_seconds(text, tmp_path):
    from runner.project.settings import resolve_project_settings

    environ = {"HOME": str(tmp_path), "RUNNER_PERSIST": text}
    with pytest.raises(ConfigError, match="RUNNER_PERSIST = .*: expected seconds"):
        resolve_project_settings({}, environ, str(tmp_path), str(tmp_path))
    (tmp_path / "ansible.cfg").write_text(f"[runner]\npersist = {text}\n")
    with pytest.raises(ConfigError, match="persist = .*: expected seconds") as bad:
        resolve_project_settings({}, {"HOME": str(tmp_path)}, str(tmp_path), str(tmp_path))
    assert bad.value.line == 2


def test_persist_from_the_project_config(tmp_path):
    from runner.project.settings import resolve_project_settings

    (tmp_path / "ansible.cfg").write_text("[runner]\npersist = 5\n")
    settings = resolve_project_settings({}, {"HOME": str(tmp_path)}, str(tmp_path), str(tmp_path))
    assert persist_seconds(settings["persist"], {"CI": "true"}) == 5.0
    assert settings.values["persist"].source.startswith("file: ")


def test_an_explicit_procs_or_persist_0_runs_without_the_keeper():
    from runner.cli.environment import Environment
    from runner.cli.execute import choose_executor
    from runner.config import RunConfig
    from runner.executors.inprocess import InProcessExecutor
    from runner.executors.keeper.client import KeeperExecutor
    from runner.executors.procs import ProcsExecutor
    from runner.models import Host

    env = Environment(environ={})
    hosts = [Host("web1"), Host("db1", {"ansible_connection": "local"})]
    local = [Host("localhost", {"ansible_connection": "local"})]

    def chosen(config: RunConfig, on: list[Host], **kw: bool) -> type:
        return type(choose_executor(env, config, on, **kw))

    assert chosen(RunConfig(persist=60), hosts) is KeeperExecutor
    assert chosen(RunConfig(persist=60), hosts, playbook=True) is KeeperExecutor
    assert chosen(RunConfig(persist=60), local) is InProcessExecutor  # nothing to keep
    assert chosen(RunConfig(persist=0), hosts) is InProcessExecutor
    assert chosen(RunConfig(persist=60, procs=2), hosts) is ProcsExecutor
    assert chosen(RunConfig(persist=60, procs=1), hosts) is KeeperExecutor


def test_events_are_written_in_batches_and_in_order_with_the_other_records():
    """Events gather for a moment and go out in one write; a record sent with ``send``
    (``done``) goes out at once, after every event before it."""
    import socket

    from runner.events import Notice
    from runner.executors.keeper.wire import decode_any_event
    from runner.executors.keeper.writer import Writer
    from runner.executors.protocol import decode_line, record

    ours, theirs = socket.socketpair()
    writes: list[int] = []

    class CountingSocket:
        def sendall(self, data: bytes) -> None:
            writes.append(len(data))
            ours.sendall(data)

    writer = Writer(CountingSocket())  # type: ignore[arg-type]
    try:
        for n in range(5):
            writer.handle(Notice(f"event {n}"))
        writer.send(record("done"))
        theirs.settimeout(10)
        received = b""
        while received.count(b"\n") < 6:
            received += theirs.recv(65536)
    finally:
        writer.close()
        ours.close()
        theirs.close()
    lines = [decode_line(line) for line in received.splitlines()]
    assert [r["type"] for r in lines] == ["event"] * 5 + ["done"]
    assert [decode_any_event(r["event"]).message for r in lines[:5]] == [  # type: ignore[attr-defined]
        f"event {n}" for n in range(5)
    ]
    assert len(writes) == 1  # the five events and done: one write


def test_a_known_hosts_version_changes_with_its_contents_and_what_the_run_records(tmp_path):
    """A held connection's key is checked again only when this version changed
    (runner.transport.ssh.held._host_key_holds)."""
    import paramiko

    from runner.transport.ssh.known_hosts import KnownHosts, KnownHostsFiles

    path = tmp_path / "known_hosts"
    key = paramiko.Ed25519Key.from_private_key_file(str(_ed25519_key(tmp_path / "host_key")))
    path.write_text("")
    first, again = KnownHosts(str(path)), KnownHosts(str(path))
    assert first.version() == again.version()
    before = KnownHostsFiles(first).version()
    first.record("[127.0.0.2]:2222", key)  # accept-new, during a run
    assert KnownHostsFiles(first).version() != before
    assert KnownHosts(str(path)).version() not in (again.version(), first.version())


def _ed25519_key(path):
    import subprocess

    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path
