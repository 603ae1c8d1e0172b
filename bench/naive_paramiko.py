"""The floor of this stack: the simplest gevent + paramiko fan-out loop.

python bench/naive_paramiko.py INVENTORY.json FORKS COMMAND
INVENTORY.json: {"hosts": [[name, address, port], ...], "user": ..., "key": ...}
Prints one line per host "name<TAB>exit<TAB>stdout" so the bench can check every result.
"""

from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import sys  # noqa: E402

import gevent.pool  # noqa: E402
import paramiko  # noqa: E402


def one(name, address, port, user, key, command):
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    try:
        client.connect(
            address,
            port=port,
            username=user,
            key_filename=key,
            look_for_keys=False,
            allow_agent=False,
            timeout=30,
        )
        _, stdout, stderr = client.exec_command(command)
        out = stdout.read()
        stderr.read()
        code = stdout.channel.recv_exit_status()
        return name, code, out.decode()
    except Exception as exc:  # noqa: BLE001
        return name, -1, f"ERROR {exc}"
    finally:
        client.close()


def main() -> None:
    spec = json.load(open(sys.argv[1]))
    forks = int(sys.argv[2])
    command = sys.argv[3]
    pool = gevent.pool.Pool(forks)
    jobs = [
        pool.spawn(one, n, a, p, spec["user"], spec["key"], command) for n, a, p in spec["hosts"]
    ]
    gevent.joinall(jobs)
    for job in jobs:
        name, code, out = job.value
        sys.stdout.write(f"{name}\t{code}\t{out.strip()}\n")


if __name__ == "__main__":
    main()
