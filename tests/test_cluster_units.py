"""The cluster executor's pure parts: shards, zones, secrets kept back, and the stream
follower's bookkeeping (records seen twice, late results, lost and cancelled shards),
driven with records as workers write them (the Redis parts are tests/test_cluster_e2e)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runner.errors import ConfigError
from runner.events import HostFinished, HostStarted, Recorder
from runner.executors.cluster import stream
from runner.executors.cluster.follow import Follower
from runner.executors.protocol import encode_event
from runner.models import CommandResult, Host, HostResult, Status


@given(st.integers(0, 50_000), st.integers(0, 40), st.integers(1, 5000))
def test_shards_cover_every_host_once_within_the_bound(count, workers, shard_max):
    sizes = stream.shard_sizes(count, workers, shard_max)
    assert sum(sizes) == count
    assert all(1 <= s <= shard_max for s in sizes)
    assert not sizes or max(sizes) - min(sizes) <= 1
    hosts = [Host(f"h{i}") for i in range(min(count, 300))]
    pieces = stream.cut_shards(hosts, stream.shard_sizes(len(hosts), workers, shard_max))
    assert [h for piece in pieces for h in piece] == hosts


def test_bad_zone_names_are_input_errors_naming_the_host():
    with pytest.raises(ConfigError, match="host web1: runner_zone='a b'"):
        stream.hosts_by_zone([Host("web1", {"runner_zone": "a b"})])
    with pytest.raises(ConfigError, match="runner_zone=3"):
        stream.hosts_by_zone([Host("web1", {"runner_zone": 3})])


def test_every_secret_host_variable_is_kept_back():
    host = Host("a", {name: "pw" for name in stream.SECRET_HOST_VARS} | {"ansible_user": "u"})
    kept, dropped = stream.without_secrets(host)
    assert dict(kept.vars) == {"ansible_user": "u"}
    assert set(dropped) == stream.SECRET_HOST_VARS


def record(kind, shard, seq, worker="w1", **fields):
    return stream.decode_record(stream.encode_record(kind, shard, seq, worker, **fields))


def finished(host, code=0):
    status = Status.OK if code == 0 else Status.FAILED
    result = HostResult(host, status, CommandResult(code, b"out\n"), started=1.0)
    return encode_event(HostFinished(result))


def follower(shards=None):
    sink = Recorder()
    return Follower(None, "r1", shards or {0: ("a", ["h1", "h2"])}, sink), sink


def test_records_written_twice_are_applied_once():
    f, sink = follower()
    batch = [
        record("claim", 0, 1),
        record("start", 0, 2, h="h1", t=1.0),
        record("event", 0, 3, e=finished("h1")),
    ]
    for r in batch + batch:  # a batch sent again after a dropped connection
        f.apply(r)
    assert len(sink.of_type(HostStarted)) == 1
    assert [e.result.host for e in sink.of_type(HostFinished)] == ["h1"]
    assert f.results["h1"].worker == "w1"


def test_only_the_claim_holder_speaks_for_a_shard_and_refusals_are_notices():
    f, sink = follower()
    f.apply(record("claim", 0, 1, "w1"))
    f.apply(record("refused", 0, 1, "w2", by="w1"))
    f.apply(record("event", 0, 5, "w2", e=finished("h1")))
    assert "h1" not in f.results
    assert any("refused (claimed by w1)" in n.message for n in sink.events if hasattr(n, "message"))


def test_a_lost_shard_splits_into_may_have_run_and_not_started_and_stays_so():
    f, sink = follower({0: ("a", ["h1", "h2", "h3"])})
    f.apply(record("claim", 0, 1))
    f.apply(record("start", 0, 2, h="h1", t=1.0))
    f.apply(record("event", 0, 3, e=finished("h1")))
    f.apply(record("start", 0, 4, h="h2", t=1.0))
    f._lost(f.shards[0], "w1")
    assert f.finished
    assert f.results["h1"].status is Status.OK
    assert (f.results["h2"].error_kind, f.results["h2"].status) == ("lost", Status.UNREACHABLE)
    assert f.results["h2"].error == "worker w1 lost; the command may have run; not re-run"
    assert f.results["h3"].error_kind == "not_started"
    # the worker was only cut off: what it says later changes nothing
    f.apply(record("event", 0, 5, e=finished("h2")))
    f.apply(record("done", 0, 6, interrupted=[]))
    assert f.results["h2"].error_kind == "lost"
    assert len(sink.of_type(HostFinished)) == 3


def test_a_shard_fenced_by_ctrl_c_leaves_its_hosts_interrupted():
    f, _sink = follower({0: ("a", ["h1"]), 1: ("a", ["h2"])})
    f.apply(record("claim", 0, 1))
    f._cancelled(f.shards[1])
    f.apply(record("done", 0, 2, interrupted=["h1"]))
    assert f.finished and f.interrupted == ["h2", "h1"] and not f.results


def test_a_shard_that_could_not_run_fails_each_of_its_hosts():
    f, _sink = follower()
    f.apply(record("claim", 0, 1))
    f.apply(record("failed", 0, 2, error="ConfigError: bad key"))
    assert {r.status for r in f.results.values()} == {Status.FAILED}
    assert f.results["h2"].error == "worker w1: the shard could not run: ConfigError: bad key"


def test_without_the_extra_worker_and_cluster_say_how_to_install_it(tmp_path):
    """celery made unimportable (as when runner[cluster] is not installed)."""
    import subprocess
    import sys

    from tests.conftest import REPO

    inventory = tmp_path / "inv.yml"
    inventory.write_text("all:\n  hosts:\n    h1:\n      ansible_connection: local\n")
    script = (
        "import sys; sys.modules['celery'] = None\n"
        "import runner.entry\n"
        "from runner.cli import main\n"
        "print(main(['worker', '--broker', 'redis://127.0.0.1:1/0']))\n"
        f"print(main(['run', '--cluster', 'redis://127.0.0.1:1/0', '-i', {str(inventory)!r},"
        " 'all', 'true']))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
    )
    assert done.stdout.split() == ["1", "1"], done
    assert done.stderr.count("pip install 'runner[cluster]'") == 2, done.stderr
    assert "runner worker needs celery and redis" in done.stderr
    assert "Traceback" not in done.stderr


def test_play_with_cluster_is_refused_with_the_reason(in_process, tmp_path):
    book = tmp_path / "site.yml"
    book.write_text("- hosts: all\n  tasks:\n    - command: true\n")
    result = in_process("play", "--cluster", "redis://127.0.0.1:1/0", str(book))
    assert result.exit_code == 1, result
    assert "runner play --cluster is not supported yet" in result.stderr
    assert "hint: run the playbook from one node" in result.stderr


class FakeRedis:
    """The few calls the follower makes, on a dict (for its zone bookkeeping)."""

    def __init__(self) -> None:
        self.data: dict[str, object] = {}

    def scan_iter(self, match: str):
        prefix = match.rstrip("*")
        return iter([k for k in self.data if k.startswith(prefix)])

    def pipeline(self, transaction: bool = False):
        return FakePipeline(self)


class FakePipeline:
    def __init__(self, redis: FakeRedis) -> None:
        self.redis, self.calls = redis, []

    def set(self, key, value, nx=False, ex=None):
        self.calls.append(("set", key, value, nx))

    def get(self, key):
        self.calls.append(("get", key))

    def exists(self, key):
        self.calls.append(("exists", key))

    def execute(self):
        out = []
        for call in self.calls:
            if call[0] == "set":
                taken = not (call[3] and call[1] in self.redis.data)
                if taken:
                    self.redis.data[call[1]] = call[2]
                out.append(taken or None)
            elif call[0] == "get":
                out.append(self.redis.data.get(call[1]))
            else:
                out.append(int(call[1] in self.redis.data))
        return out


def test_shards_of_a_zone_left_without_workers_end_not_started_and_fenced():
    from runner.executors.cluster.follow import NO_WORKER_CLAIM, ZONE_GRACE

    redis = FakeRedis()
    redis.data[stream.worker_key("b", "wb1")] = "{}"
    sink = Recorder()
    f = Follower(redis, "r1", {0: ("a", ["h1", "h2"]), 1: ("b", ["h3"])}, sink)
    f._check_zones(0.0)  # zone a has no worker: the grace starts
    assert not f.results
    f._check_zones(ZONE_GRACE + 10)  # still none: its shard is fenced, its hosts not started
    assert {h: r.error_kind for h, r in f.results.items()} == {
        "h1": "not_started",
        "h2": "not_started",
    }
    assert f.results["h1"].error == "not started: zone a has no live worker left; not re-run"
    assert redis.data[stream.claim_key("r1", 0)] == NO_WORKER_CLAIM  # a late worker refuses it
    assert f.shards[1].open  # zone b has its worker: its shard waits
    f.apply(record("refused", 0, 1, "wa9", by=NO_WORKER_CLAIM))  # fenced on purpose: no notice
    assert not any("delivered again" in getattr(e, "message", "") for e in sink.events)
