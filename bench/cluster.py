"""The distributed path (runner run --cluster) measured on this machine: a real
redis-server, real `runner worker` processes and hosts with ``ansible_connection: local``
running ``true``.

- records/s through the run's stream (stream ids are Redis' millisecond clock),
- dispatch latency (the CLI's RunStarted to the first shard claimed),
- CPU per host added: (CLI + workers) of the cluster run minus a local run of the same
  hosts, over the hosts,
- the CLI's peak memory at --memory-hosts hosts, with a simulated worker that only
  writes records (claim, start, result, done for every host) as fast as Redis takes them.

    .venv/bin/python bench/cluster.py --hosts 20000 --workers 3 --memory-hosts 100000 --write
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from common import REPO, compile_runner, machine, measure

from runner.executors.cluster import stream as keys
from runner.executors.protocol import encode_event
from runner.testing.redis import RedisServer, make_signing_pair

RESULTS = REPO / "bench" / "CLUSTER.md"
NOTES = """
Notes:

- "records/s" of the real-worker run is bounded by its commands (hosts forking `/bin/sh`),
  not by the stream; the simulated worker's row shows the stream (Redis, one writer, the
  CLI reading and printing `--json`).
- "dispatch ms" is the run's start (RunStarted, before the tasks are sent) to the first
  shard claimed by a worker.
"""


def inventory(path: Path, count: int, zone: str) -> Path:
    lines = [
        "all:",
        "  vars:",
        "    ansible_connection: local",
        f"    runner_zone: {zone}",
        "  hosts:",
    ]
    width = len(str(count))
    lines += [f"    h{i:0{width}d}:" for i in range(1, count + 1)]
    path.write_text("\n".join(lines) + "\n")
    return path


def cpu_of(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / ticks


def latest_run(client) -> dict:
    metas = [json.loads(client.get(k)) for k in client.scan_iter(match="runner:run:*:meta")]
    return max(metas, key=lambda m: m["started"])


def stream_figures(client, run: dict) -> dict:
    entries = client.xrange(keys.stream_key(run["run_id"]))
    millis = [int(e[0].split(b"-")[0]) for e in entries]
    claims = [int(e[0].split(b"-")[0]) for e in entries if b'"k":"claim"' in e[1][b"r"]]
    span = (max(millis) - min(millis)) / 1000 if millis else 0.0
    return {
        "records": len(entries),
        "records_per_s": len(entries) / span if span else 0.0,
        "dispatch_latency_ms": min(claims) - run["started"] * 1000 if claims else None,
    }


def start_workers(root: Path, url: str, certs: Path, count: int, zone: str):
    procs = []
    for i in range(count):
        log = open(root / f"w{i}.log", "wb")
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "runner",
                    "worker",
                    "--broker",
                    url,
                    "--zone",
                    zone,
                    "--name",
                    f"w{i}",
                    "-c",
                    "2",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, "PYTHONPATH": str(REPO), "RUNNER_CLUSTER_CERTS": str(certs)},
            )
        )
    return procs


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.1)


class SimulatedWorker(threading.Thread):
    """Takes the shards of every run in ``zone`` and writes their records, no command."""

    def __init__(self, client, zone: str) -> None:
        super().__init__(daemon=True)
        self.client, self.zone, self.stop = client, zone, False

    def run(self) -> None:
        from runner.events import HostFinished
        from runner.models import CommandResult, HostResult, Status

        done: set[str] = set()
        while not self.stop:
            self.client.set(keys.worker_key(self.zone, "sim"), json.dumps({"active": 0}), ex=5)
            for key in self.client.scan_iter(match="runner:run:*:meta"):
                meta = json.loads(self.client.get(key))
                if meta["run_id"] in done:
                    continue
                done.add(meta["run_id"])
                run_id, stream = meta["run_id"], keys.stream_key(meta["run_id"])
                for number, (_zone, hosts) in meta["shards"].items():
                    n = int(number)
                    self.client.set(keys.claim_key(run_id, n), "sim", ex=600)
                    self.client.set(keys.lease_key(run_id, n), "sim", ex=600)
                    seq = 1
                    pipe = self.client.pipeline(transaction=False)
                    pipe.xadd(stream, {"r": keys.encode_record("claim", n, seq, "sim")})
                    for host in hosts:
                        now = time.time()
                        result = HostResult(host, Status.OK, CommandResult(0, b""), started=now)
                        pipe.xadd(
                            stream,
                            {"r": keys.encode_record("start", n, seq + 1, "sim", h=host, t=now)},
                        )
                        pipe.xadd(
                            stream,
                            {
                                "r": keys.encode_record(
                                    "event", n, seq + 2, "sim", e=encode_event(HostFinished(result))
                                )
                            },
                        )
                        seq += 2
                        if len(pipe) >= 3000:
                            pipe.execute()
                    pipe.xadd(
                        stream, {"r": keys.encode_record("done", n, seq + 1, "sim", interrupted=[])}
                    )
                    pipe.execute()
            time.sleep(0.2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--memory-hosts", type=int, default=100_000)
    parser.add_argument("--write", action="store_true", help=f"write {RESULTS.name}")
    args = parser.parse_args()
    compile_runner()
    root = Path(tempfile.mkdtemp(prefix="runner-bench-cluster-"))
    server = RedisServer(root / "redis").start()
    client = server.client()
    key, cert = make_signing_pair(root / "sign")
    certs = root / "certs"
    certs.mkdir()
    (certs / "runner.pem").write_bytes(cert.read_bytes())
    env = {"RUNNER_CLUSTER_KEY": str(key), "RUNNER_CLUSTER_CERT": str(cert)}
    rows = []
    workers = []
    try:
        workers = start_workers(root, server.url, certs, args.workers, "bench")
        wait_for(
            lambda: len(list(client.scan_iter(match="runner:worker:bench:*"))) == args.workers,
            120,
            "the workers",
        )

        def pair(count: int):
            inv = inventory(root / f"local{count}.yml", count, "bench")
            run = [sys.executable, "-m", "runner", "run", "-i", str(inv), "all", "true", "--json"]
            local = measure(run)
            before = sum(cpu_of(p.pid) for p in workers)
            remote = measure([*run[:4], "--cluster", server.url, *run[4:]], env)
            wait_for(
                lambda: all(
                    not json.loads(client.get(k))["active"]
                    for k in client.scan_iter(match="runner:worker:bench:*")
                ),
                60,
                "idle",
            )
            worker_cpu = sum(cpu_of(p.pid) for p in workers) - before
            return run, local, remote, worker_cpu, stream_figures(client, latest_run(client))

        small = 10
        _, local_s, remote_s, worker_s, _ = pair(small)
        run, local, remote, worker_cpu, figures = pair(args.hosts)
        extra_small = remote_s.cpu + worker_s - local_s.cpu
        extra = remote.cpu + worker_cpu - local.cpu
        added = (extra - extra_small) / (args.hosts - small) * 1000
        fixed = extra_small
        rows.append(
            (
                "local run",
                args.hosts,
                local.wall,
                local.cpu,
                local.peak_rss_mb,
                "",
                "",
                local.exit_code,
            )
        )
        rows.append(
            (
                f"--cluster, {args.workers} workers",
                args.hosts,
                remote.wall,
                remote.cpu + worker_cpu,
                remote.peak_rss_mb,
                f"{figures['records_per_s']:.0f}",
                f"{figures['dispatch_latency_ms']:.0f}",
                remote.exit_code,
            )
        )
        for p in workers:
            p.terminate()
        for p in workers:
            p.wait(60)
        workers = []
        sim = SimulatedWorker(server.client(), "sim")
        sim.start()
        big = inventory(root / "big.yml", args.memory_hosts, "sim")
        memory = measure(
            [*run[:4], "--cluster", server.url, "-i", str(big), "all", "true", "--json"], env
        )
        sim.stop = True
        client.delete(keys.queue_name("sim"))
        # what the same CLI holds before any run: the inventory of those hosts, loaded
        baseline = measure([*run[:4], "-i", str(big), "all", "--list-hosts"])
        rows.append(
            (
                "inventory alone (--list-hosts)",
                args.memory_hosts,
                baseline.wall,
                baseline.cpu,
                baseline.peak_rss_mb,
                "",
                "",
                baseline.exit_code,
            )
        )
        figures_big = stream_figures(client, latest_run(client))
        rows.append(
            (
                "--cluster, simulated worker",
                args.memory_hosts,
                memory.wall,
                memory.cpu,
                memory.peak_rss_mb,
                f"{figures_big['records_per_s']:.0f}",
                "",
                memory.exit_code,
            )
        )
    finally:
        for p in workers:
            p.kill()
        server.stop()
    table = [
        "| run | hosts | wall s | CPU s (CLI + workers) | CLI peak RSS MB | records/s | dispatch ms | exit |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, hosts, wall, cpu, rss, rate, latency, code in rows:
        table.append(
            f"| {name} | {hosts:,} | {wall:.1f} | {cpu:.1f} | {rss:.0f} | {rate} | {latency} | {code} |"
        )
    text = "\n".join(table) + (
        f"\n\nCPU per host added by the cluster path (CLI + workers, over a local run; the "
        f"slope between {small} and {args.hosts:,} hosts): {added:.3f} ms; fixed cost of a "
        f"cluster run (start-up, dispatch, workers' idle polling): {fixed:.1f} s CPU\n"
    )
    print(text)
    if args.write:
        RESULTS.write_text(
            "# Cluster benchmark: runner run --cluster\n\n"
            f"Generated {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by "
            f"`bench/cluster.py --hosts {args.hosts} --workers {args.workers} "
            f"--memory-hosts {args.memory_hosts} --write` on {machine()}; load average "
            f"{os.getloadavg()[0]:.1f} at the end.\n\n" + text + NOTES
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
