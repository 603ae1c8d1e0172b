"""runner run --cluster end to end: a real redis-server (password, free port) and three
real `runner worker` processes (zones a, b, b) as this module's subprocesses, against the
real sshd fleet. One Redis and one set of workers for the whole module."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from runner.testing.fleet import (
    free_port,
    host_names,
    processes_matching,
    wait_until,
    write_inventory,
)
from runner.testing.redis import RedisServer, make_signing_pair, why_no_redis
from tests.conftest import REPO, json_records, run_cli

LEASE = "3"


def require_redis() -> None:
    reason = why_no_redis()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but the cluster tests cannot run: {reason}")
    pytest.skip(reason)


class Workers:
    """The module's `runner worker` processes, by name."""

    def __init__(self, root: Path, url: str, certs: Path) -> None:
        self.root, self.url, self.certs = root, url, certs
        self.procs: dict[str, subprocess.Popen] = {}
        self.zones: dict[str, str] = {}

    def start(self, name: str, zone: str) -> subprocess.Popen:
        log = open(self.root / f"{name}.log", "ab")
        env = {**os.environ, "PYTHONPATH": str(REPO), "RUNNER_CLUSTER_CERTS": str(self.certs)}
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "runner",
                "worker",
                "--broker",
                self.url,
                "--zone",
                zone,
                "--name",
                name,
                "-c",
                "2",
                "--lease",
                LEASE,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
        )
        log.close()
        self.procs[name], self.zones[name] = proc, zone
        return proc

    def log(self, name: str) -> str:
        return (self.root / f"{name}.log").read_text(errors="replace")

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, sshd):
    require_redis()
    root = tmp_path_factory.mktemp("cluster")
    server = RedisServer(root / "redis").start()
    key, cert = make_signing_pair(root / "sign")
    certs = root / "certs"
    certs.mkdir()
    (certs / "runner.pem").write_bytes(cert.read_bytes())
    workers = Workers(root, server.url, certs)
    client = server.client()
    try:
        for name, zone in (("wa1", "a"), ("wb1", "b"), ("wb2", "b")):
            workers.start(name, zone)
        for name, zone in workers.zones.items():
            wait_until(
                lambda n=name, z=zone: client.exists(f"runner:worker:{z}:{n}"),
                60,
                f"worker {name} ready",
            )
        yield Cluster(root, server, workers, client, key, cert, sshd)
    finally:
        workers.stop()
        server.stop()


class Cluster:
    def __init__(self, root, server, workers, client, key, cert, sshd) -> None:
        self.root, self.server, self.workers, self.client = root, server, workers, client
        self.key, self.cert, self.sshd = key, cert, sshd
        self.known_hosts = root / "known_hosts"
        self.count = 0

    def env(self, **extra: str) -> dict[str, str]:
        return {"RUNNER_CLUSTER_KEY": str(self.key), "RUNNER_CLUSTER_CERT": str(self.cert), **extra}

    def inventory(self, zones: dict[str, str], host_vars: dict | None = None, server=None) -> Path:
        """Hosts on the fleet's sshd (or ``server``), each in its zone."""
        self.count += 1
        host_vars = host_vars or {}
        hv = {h: {"runner_zone": z, **host_vars.get(h, {})} for h, z in zones.items()}
        return write_inventory(
            self.root / f"inv{self.count}.yml", server or self.sshd, list(zones), host_vars=hv
        )

    def args(self, inventory: Path) -> list[str]:
        return ["-i", str(inventory), "--known-hosts", str(self.known_hosts)]

    def run(self, inventory: Path, *args: str, env: dict | None = None):
        return run_cli(
            "run",
            "--cluster",
            self.server.url,
            *self.args(inventory),
            *args,
            env=self.env(**(env or {})),
            timeout=90,
        )

    def popen(self, inventory: Path, *args: str, env: dict | None = None) -> subprocess.Popen:
        full = {**os.environ, "PYTHONPATH": str(REPO), **self.env(**(env or {}))}
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "runner",
                "run",
                "--cluster",
                self.server.url,
                *self.args(inventory),
                *args,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env=full,
            text=True,
        )

    def busy(self) -> int:
        """Shards the workers say they are running."""
        values = [self.client.get(k) for k in self.client.scan_iter(match="runner:worker:*")]
        return sum(json.loads(v)["active"] for v in values if v)


def comparable(record: dict) -> dict:
    return {k: v for k, v in record.items() if k not in ("started", "duration", "worker")}


def markers(folder: Path) -> dict[str, int]:
    return {p.name: len(p.read_text().splitlines()) for p in folder.glob("*")}


# -- 1, 2: the same records and exit code as a local run; zones respected -----------------


def test_cluster_run_matches_local_run_and_respects_zones(cluster):
    names = host_names(10, "c")
    zones = {h: ("a" if i % 2 else "b") for i, h in enumerate(names)}
    closed = free_port()
    inventory = cluster.inventory(zones, {names[3]: {"ansible_port": closed}})
    command = "echo {{ inventory_hostname }}; test {{ inventory_hostname }} != c05 || exit 3"
    local = run_cli("run", *cluster.args(inventory), "all", command, "--json", timeout=90)
    remote = cluster.run(inventory, "all", command, "--json")
    assert local.exit_code == remote.exit_code == 6, (local, remote)
    mine = [r for r in json_records(remote.stdout) if r["type"] == "host"]
    theirs = [r for r in json_records(local.stdout) if r["type"] == "host"]
    key = lambda r: r["host"]  # noqa: E731
    assert sorted(map(comparable, mine), key=key) == sorted(map(comparable, theirs), key=key)
    assert len(mine) == 10
    statuses = {r["host"]: r["status"] for r in mine}
    assert statuses["c04"] == "unreachable" and statuses["c05"] == "failed"
    summary = [r for r in json_records(remote.stdout) if r["type"] == "summary"][0]
    assert {k: summary[k] for k in ("hosts", "ok", "failed", "unreachable")} == {
        "hosts": 10,
        "ok": 8,
        "failed": 1,
        "unreachable": 1,
    }
    # 2. every host ran on a worker of its zone
    for record in mine:
        assert cluster.workers.zones[record["worker"]] == zones[record["host"]], record
    # a second viewer after the run: the same records and exit code
    run_id = re.search(r"cluster run (\w+):", remote.stderr).group(1)
    seen = run_cli("attach", run_id, "--json", env={"RUNNER_CLUSTER": cluster.server.url})
    assert seen.exit_code == 6, seen
    again = [r for r in json_records(seen.stdout) if r["type"] == "host"]
    assert sorted(again, key=key) == sorted(mine, key=key)


def test_stream_and_out_dir_match_a_local_run(cluster, tmp_path):
    names = host_names(4, "o")
    inventory = cluster.inventory({h: ("a" if i % 2 else "b") for i, h in enumerate(names)})
    command = "echo one {{ inventory_hostname }}; echo two >&2; exit {{ '3' if inventory_hostname == 'o02' else '0' }}"
    local = run_cli(
        "run",
        *cluster.args(inventory),
        "all",
        command,
        "--stream",
        "--out-dir",
        str(tmp_path / "local"),
        timeout=90,
    )
    remote = cluster.run(
        inventory, "all", command, "--stream", "--out-dir", str(tmp_path / "remote")
    )
    assert local.exit_code == remote.exit_code == 2, (local, remote)
    lines = lambda out: sorted(re.findall(r"(?m)^o\d+ [|!] .*$", out))  # noqa: E731
    assert lines(remote.stdout) == lines(local.stdout) and len(lines(local.stdout)) >= 8
    for name in names:
        for suffix in (".stdout", ".stderr"):
            mine = (tmp_path / "remote" / f"{name}{suffix}").read_bytes()
            assert mine == (tmp_path / "local" / f"{name}{suffix}").read_bytes()


def test_worker_is_patched_before_paramiko(cluster):
    for name, zone in cluster.workers.zones.items():
        info = json.loads(cluster.client.get(f"runner:worker:{zone}:{name}"))
        assert info["patched"] is True and info["paramiko_before_patch"] is False, info
        assert info["pool"] == "gevent"


# -- 3: streaming ------------------------------------------------------------------------


def test_first_record_reaches_the_cli_before_any_shard_ends(cluster, tmp_path):
    names = host_names(4, "s")
    inventory = cluster.inventory({h: "a" for h in names})
    flag = tmp_path / "go"
    command = (
        f"test {{{{ inventory_hostname }}}} = s01 || while [ ! -e {flag} ]; do sleep 0.05; done"
    )
    proc = cluster.popen(inventory, "all", command, "--json")
    try:
        assert proc.stdout is not None
        first = json.loads(proc.stdout.readline())  # every shard has a host waiting for flag
        assert first["host"] == "s01" and first["status"] == "ok"
        assert not flag.exists()
        flag.touch()
        out, err = proc.communicate(timeout=60)
    finally:
        flag.touch()
        proc.kill() if proc.poll() is None else None
    assert proc.returncode == 0, err
    assert sorted(r["host"] for r in json_records(out) if r["type"] == "host") == names[1:]


# -- 4: a Redis connection blip under the CLI --------------------------------------------


def test_redis_blip_under_the_cli_loses_and_duplicates_nothing(cluster, tmp_path):
    names = host_names(8, "k")
    inventory = cluster.inventory({h: ("a" if i < 4 else "b") for i, h in enumerate(names)})
    flag = tmp_path / "go"
    command = f"echo {{{{ inventory_hostname }}}}; while [ ! -e {flag} ]; do sleep 0.05; done"
    proc = cluster.popen(inventory, "all", command, "--json")
    try:

        def cli_connection() -> list[int]:
            return [
                c["id"]
                for c in cluster.client.client_list()
                if c.get("name", "").startswith("runner-cli-")
            ]

        killed = 0
        for _ in range(3):
            for client_id in wait_until(cli_connection, 60, "the CLI's Redis connection"):
                killed += cluster.client.client_kill_filter(_id=client_id)
        assert killed >= 3  # three times the CLI's connection went away mid-run
        flag.touch()
        out, err = proc.communicate(timeout=60)
    finally:
        flag.touch()
        proc.kill() if proc.poll() is None else None
    assert proc.returncode == 0, err
    hosts = [r["host"] for r in json_records(out) if r["type"] == "host"]
    assert sorted(hosts) == names, (out, err)  # each once
    assert all(r["stdout"] == r["host"] + "\n" for r in json_records(out) if r["type"] == "host")
    # (redis-py reconnects by itself for a short blip; runner's own retry, with its
    # "lost the connection to Redis" warning, takes over when that fails)


# -- the CLI dies: the workers finish, attach shows the run ------------------------------


def test_attach_after_the_cli_died_shows_the_whole_run(cluster, tmp_path):
    folder, flag = tmp_path / "marks", tmp_path / "go"
    folder.mkdir()
    names = host_names(4, "d")
    inventory = cluster.inventory({h: ("a" if i % 2 else "b") for i, h in enumerate(names)})
    before = set(cluster.client.scan_iter(match="runner:run:*:meta"))
    proc = cluster.popen(inventory, "all", counting(folder, flag), "--json")
    try:
        wait_until(lambda: len(markers(folder)) == 4, 60, "four hosts started")
        proc.kill()  # the CLI dies; its run goes on
        proc.wait()
    finally:
        flag.touch()
        proc.kill() if proc.poll() is None else None
    (meta_key,) = set(cluster.client.scan_iter(match="runner:run:*:meta")) - before
    run_id = meta_key.decode().split(":")[2]
    seen = run_cli("attach", run_id, "--json", env={"RUNNER_CLUSTER": cluster.server.url})
    assert seen.exit_code == 0, seen
    records = [r for r in json_records(seen.stdout) if r["type"] == "host"]
    assert sorted(r["host"] for r in records) == names
    assert all(r["status"] == "ok" and r["stdout"] == "done\n" for r in records), records
    assert set(markers(folder).values()) == {1}


# -- 5: a worker killed mid-shard --------------------------------------------------------


def counting(folder: Path, flag: Path) -> str:
    """Each host appends a line to its marker file, then waits for ``flag``."""
    return (
        f"echo run >> {folder}/{{{{ inventory_hostname }}}}; "
        f"while [ ! -e {flag} ]; do sleep 0.05; done; echo done"
    )


def test_sigkill_of_a_worker_splits_its_hosts_into_lost_and_not_started(cluster, tmp_path):
    folder, flag = tmp_path / "marks", tmp_path / "go"
    folder.mkdir()
    names = host_names(8, "x")
    inventory = cluster.inventory({h: "b" for h in names})
    # 8 hosts, 2 workers: 4 shards of 2 hosts, one host at a time (-f 1): each of the two
    # workers holds two shards, each with one host running and one waiting
    proc = cluster.popen(inventory, "all", counting(folder, flag), "--json", "-f", "1")
    try:
        wait_until(lambda: len(markers(folder)) == 4, 60, "four hosts started")
        victim = cluster.workers.procs["wb1"]
        victim.kill()
        victim.wait()
        out, err = "", ""
        # the CLI ends the lost shards once their lease expired; then the others finish
        wait_until(lambda: cluster.client.exists("runner:worker:b:wb1") == 0, 30, "wb1 gone")
        flag.touch()
        out, err = proc.communicate(timeout=60)
    finally:
        flag.touch()
        proc.kill() if proc.poll() is None else None
    records = {r["host"]: r for r in json_records(out) if r["type"] == "host"}
    assert sorted(records) == names, err
    lost = [r for r in records.values() if r["error_kind"] == "lost"]
    never = [r for r in records.values() if r["error_kind"] == "not_started"]
    ok = [r for r in records.values() if r["status"] == "ok"]
    assert len(lost) == 2 and len(never) == 2 and len(ok) == 4, records
    assert all(r["worker"] == "wb1" and r["status"] == "unreachable" for r in lost + never)
    assert lost[0]["error"] == "worker wb1 lost; the command may have run; not re-run"
    assert all(r["worker"] == "wb2" for r in ok)
    assert proc.returncode == 4
    assert set(markers(folder).values()) == {1}  # 6 ran once: 4 ok, 2 lost
    assert {h for h in markers(folder)} == {r["host"] for r in lost + ok}
    # the worker comes back: nothing of the old run is run again, and it works
    cluster.workers.start("wb1", "b")
    wait_until(lambda: cluster.client.exists("runner:worker:b:wb1"), 60, "wb1 back")
    again = cluster.run(
        cluster.inventory({"y01": "b", "y02": "b", "y03": "b", "y04": "b"}), "all", "true", "--json"
    )
    assert again.exit_code == 0, again
    assert {r["worker"] for r in json_records(again.stdout) if r["type"] == "host"} <= {
        "wb1",
        "wb2",
    }
    assert set(markers(folder).values()) == {1}
    assert len(markers(folder)) == 6


# -- 6: Ctrl-C -------------------------------------------------------------------------


def test_sigint_to_the_cli_ends_remote_commands_and_exits_130(cluster, user_sshd):
    marker = f"{os.getpid() % 1000}.{free_port() % 1000 + 1000}"
    names = host_names(6, "i")
    # a plain user's sshd honours "signal" requests (as on real fleets), so the ended
    # commands can be seen to end
    inventory = cluster.inventory({h: "a" for h in names}, server=user_sshd or cluster.sshd)
    # one host a shard: the worker runs two, four wait in the queue
    proc = cluster.popen(
        inventory,
        "all",
        f"echo started; sleep {marker}",
        "--json",
        env={"RUNNER_CLUSTER_SHARD_MAX": "1"},
    )
    try:
        wait_until(
            lambda: len(processes_matching(f"^sleep {marker}")) == 2, 60, "two remote commands"
        )
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill() if proc.poll() is None else None
    assert proc.returncode == 130, err
    summary = [r for r in json_records(out) if r["type"] == "summary"][0]
    assert summary["hosts"] == 6 and len(summary["interrupted"]) == 6, summary
    wait_until(lambda: cluster.busy() == 0, 10, "no worker busy")
    if user_sshd is not None:
        wait_until(
            lambda: not processes_matching(f"^sleep {marker}"), 10, "the remote commands to end"
        )
    assert not list(cluster.client.scan_iter(match="runner:run:*:lease"))
    # the fenced shards are still delivered: each is refused by its claim, none runs
    wait_until(lambda: cluster.client.llen("runner.zone.a") == 0, 30, "the queue drained")
    wait_until(lambda: cluster.busy() == 0, 10, "no worker busy")
    assert not processes_matching(f"^sleep {marker}")


# -- 7: a zone without a worker --------------------------------------------------------


def test_zone_without_a_worker_is_an_input_error_before_dispatch(cluster, tmp_path, in_process):
    inventory = cluster.inventory({"z01": "a", "z02": "nowhere"})
    command = f"touch {tmp_path}/ran-{{{{ inventory_hostname }}}}"
    result = in_process(
        "run",
        "--cluster",
        cluster.server.url,
        *cluster.args(inventory),
        "all",
        command,
        env=cluster.env(),
    )
    assert result.exit_code == 1, result
    assert "zone 'nowhere' has no live worker" in result.stderr
    assert "Traceback" not in result.stderr
    assert list(tmp_path.glob("ran-*")) == []
    assert cluster.client.llen("runner.zone.a") == 0


# -- 8: no secret in Redis; unsigned and pickled messages refused ----------------------


def test_no_password_reaches_redis_and_unsigned_messages_are_refused(cluster, tmp_path):
    import gevent

    seen: list[str] = []

    def watch() -> None:
        with cluster.server.client().monitor() as monitor:
            for command in monitor.listen():
                seen.append(command["command"])

    watcher = gevent.spawn(watch)
    try:
        inventory = cluster.inventory(
            {"p01": "a", "p02": "b"}, {"p01": {"ansible_become_password": "Host-pw-0815"}}
        )
        result = cluster.run(
            inventory, "all", "true", "--json", env={"RUNNER_BECOME_PASSWORD": "Cli-pw-4711"}
        )
        assert result.exit_code == 0, result
    finally:
        gevent.sleep(0.2)
        watcher.kill()
    assert any("XADD" in c for c in seen) and any("LPUSH" in c or "RPUSH" in c for c in seen)
    text = "\n".join(_decoded(c) for c in seen)
    assert "p01" in text  # the messages are readable here
    for secret in ("Host-pw-0815", "Cli-pw-4711", cluster.server.password):
        assert secret not in text
    assert "not sent to the workers" in result.stderr
    # unsigned JSON, pickle and a foreign signature: refused, nothing runs
    other_key, other_cert = make_signing_pair(tmp_path / "other", "intruder")
    script = REFUSED_SENDER.format(
        url=cluster.server.url, flag=tmp_path / "pwned", key=other_key, cert=other_cert
    )
    subprocess.run(
        [sys.executable, "-c", script],
        check=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    wait_until(
        lambda: cluster.workers.log("wa1").count("Refusing to deserialize") >= 2,
        30,
        "the worker refusing the unsigned messages",
    )
    wait_until(
        lambda: (
            "intruder" in cluster.workers.log("wa1")
            or cluster.workers.log("wa1").count("Unable to deserialize") >= 1
        ),
        30,
        "the worker refusing the foreign signature",
    )
    assert not (tmp_path / "pwned").exists()
    assert not list(cluster.client.scan_iter(match="runner:run:evil*"))


REFUSED_SENDER = """
from celery import Celery
from runner.executors.cluster.stream import shard_payload
payload = shard_payload("evil", 0, "a", {{"hosts": [{{"name": "e", "vars": {{"ansible_connection": "local"}}, "groups": []}}],
    "job": {{"kind": "command", "command": "touch {flag}"}}, "config": {{}}}})
app = Celery("intruder", broker="{url}")
for serializer in ("json", "pickle"):
    app.send_task("runner.shard", args=[payload], queue="runner.zone.a", serializer=serializer)
from runner.executors.cluster.app import Signing, make_app
signed = make_app("{url}", signing=Signing("{key}", "{cert}"), worker=False)
signed.send_task("runner.shard", args=[payload], queue="runner.zone.a")
"""


def _decoded(command: str) -> str:
    """A MONITOR line with the base64 bodies of kombu messages decoded (twice: the
    message body, then the signed envelope inside it)."""
    import base64
    import re

    out = [command]
    for blob in re.findall(r"[A-Za-z0-9+/=]{40,}", command):
        for _ in range(3):
            try:
                blob = base64.b64decode(blob).decode("latin-1")
            except ValueError:
                break
            out.append(blob)
            found = re.findall(r"[A-Za-z0-9+/=]{40,}", blob)
            if not found:
                break
            blob = max(found, key=len)
    return "\n".join(out)


# -- 9: SIGTERM lets the shard finish --------------------------------------------------


def test_sigterm_to_a_worker_lets_its_shard_finish(cluster, tmp_path):
    folder, flag = tmp_path / "marks", tmp_path / "go"
    folder.mkdir()
    project_cfg = tmp_path / "ansible.cfg"  # the shard bound from the project's file
    project_cfg.write_text("[runner]\ncluster_shard_max = 3\n")
    names = host_names(3, "t")
    inventory = cluster.inventory({h: "a" for h in names})
    proc = cluster.popen(
        inventory,
        "all",
        counting(folder, flag),
        "--json",
        "-f",
        "1",
        env={"ANSIBLE_CONFIG": str(project_cfg)},
    )
    try:
        wait_until(lambda: len(markers(folder)) >= 1, 60, "a host started")
        worker = cluster.workers.procs["wa1"]
        worker.send_signal(signal.SIGTERM)
        wait_until(
            lambda: cluster.client.exists("runner:worker:a:wa1") == 0, 30, "wa1 leaving the zone"
        )
        flag.touch()
        out, err = proc.communicate(timeout=60)
        worker.wait(30)
    finally:
        flag.touch()
        proc.kill() if proc.poll() is None else None
    records = [r for r in json_records(out) if r["type"] == "host"]
    assert proc.returncode == 0, err
    assert sorted(r["host"] for r in records) == names
    assert all(r["status"] == "ok" and r["worker"] == "wa1" for r in records)
    assert worker.returncode == 0  # the last test of the module: wa1 stays stopped
