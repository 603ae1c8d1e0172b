"""The least CPU a gevent + paramiko client can spend per host.

python bench/lean_paramiko.py INVENTORY.json FORKS COMMAND
INVENTORY.json: {"hosts": [[name, address, port], ...], "user": ..., "key": ...}

A gevent pool of runner's own paramiko Transport (runner.transport.ssh.lean.
LeanTransport: no escaping of unlogged debug messages, algorithm lists filtered once, no
logging calls, the quick ACK after OpenSSH's hostkeys-00) with the other savings runner
makes (the key parsed once, AES-GCM first, TCP_NODELAY) and nothing else: no SSHClient,
no host-key checking, no settings, no events, no output. It times only the
connections (after the imports and a warm-up connection), and prints one JSON line:
{"hosts": N, "cpu": seconds, "user": seconds, "sys": seconds, "wall": seconds, "ok": N}.
"""

from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import resource  # noqa: E402
import socket  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent.pool  # noqa: E402
import paramiko  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from runner.transport.ssh.lean import LeanTransport  # noqa: E402

GCM = "aes128-gcm@openssh.com"


def one(address: str, port: int, user: str, key: paramiko.PKey, command: str) -> bytes:
    sock = socket.create_connection((address, port), timeout=30)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    transport = LeanTransport(sock)
    try:
        options = transport.get_security_options()
        options.ciphers = (GCM, *(c for c in options.ciphers if c != GCM))
        transport.start_client(timeout=30)
        transport.auth_publickey(user, key)
        chan = transport.open_session()
        chan.exec_command(command)
        out = b""
        while True:
            data = chan.recv(65536)
            if not data:
                break
            out += data
        chan.recv_exit_status()
        return out
    finally:
        transport.close()


def cpu() -> tuple[float, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


def main() -> None:
    spec = json.load(open(sys.argv[1]))
    forks, command = int(sys.argv[2]), sys.argv[3]
    key = paramiko.Ed25519Key.from_private_key_file(spec["key"])
    hosts = spec["hosts"]
    _, address, port = hosts[0]
    one(address, port, spec["user"], key, command)  # warm-up: first-use costs
    user0, sys0 = cpu()
    start = time.perf_counter()
    pool = gevent.pool.Pool(forks)
    jobs = [pool.spawn(one, a, p, spec["user"], key, command) for _, a, p in hosts]
    pool.join()
    wall = time.perf_counter() - start
    user1, sys1 = cpu()
    ok = sum(1 for j in jobs if j.successful() and j.value.strip() == b"hi")
    record = {
        "hosts": len(hosts),
        "cpu": user1 - user0 + sys1 - sys0,
        "user": user1 - user0,
        "sys": sys1 - sys0,
        "wall": wall,
        "ok": ok,
    }
    print(json.dumps(record))


if __name__ == "__main__":
    main()
