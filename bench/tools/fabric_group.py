"""Fabric's ThreadingGroup over the bench fleet, FORKS hosts at a time.

python bench/tools/fabric_group.py INVENTORY.json FORKS COMMAND
INVENTORY.json: {"hosts": [[name, address, port], ...], "user": ..., "key": ...}
Prints one line per host "name<TAB>exit<TAB>stdout" (exit -1: could not run it).

A ThreadingGroup starts one thread per connection for all its hosts at once and has no
pool size, so FORKS is honoured the way a Fabric user would: one group per batch of FORKS
hosts, batch after batch. Fabric's default host key policy (accept and remember) applies.
"""

import json
import sys

from fabric import Connection, ThreadingGroup
from fabric.exceptions import GroupException


class NamedConnection(Connection):
    """A Connection that keeps its inventory name: Fabric keys results by (host, user,
    port), so hosts sharing one address (the non-root fallback fleet) would collide."""

    def __init__(self, name: str, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.bench_name = name

    def _identity(self):
        return (self.bench_name, *super()._identity())


def row(name: str, result) -> str:
    if isinstance(result, BaseException):
        return f"{name}\t-1\tERROR {result!r}"
    text = result.stdout.strip().replace("\n", "\\n")
    return f"{name}\t{result.exited}\t{text}"


def main() -> None:
    spec = json.load(open(sys.argv[1]))
    forks = int(sys.argv[2])
    command = sys.argv[3]
    connect_kwargs = {"key_filename": spec["key"], "look_for_keys": False, "allow_agent": False}
    hosts = spec["hosts"]
    for start in range(0, len(hosts), forks):
        connections = [
            NamedConnection(
                name,
                address,
                user=spec["user"],
                port=port,
                connect_timeout=30,
                connect_kwargs=connect_kwargs,
            )
            for name, address, port in hosts[start : start + forks]
        ]
        group = ThreadingGroup.from_connections(connections)
        try:
            results = group.run(command, hide=True, warn=True)
        except GroupException as exc:
            results = exc.result
        for conn in connections:
            sys.stdout.write(row(conn.bench_name, results[conn]) + "\n")
        group.close()


if __name__ == "__main__":
    main()
