"""parallel-ssh's ParallelSSHClient (libssh2 via ssh2-python) over the bench fleet.

python bench/tools/pssh_parallel.py INVENTORY.json FORKS COMMAND
INVENTORY.json: {"hosts": [[name, address, port], ...], "user": ..., "key": ...}
Prints one line per host "name<TAB>exit<TAB>stdout" (exit -1: could not run it).
parallel-ssh does not check host keys, so there is no known_hosts to manage.
"""

import json
import sys

from pssh.clients import ParallelSSHClient
from pssh.config import HostConfig


def main() -> None:
    spec = json.load(open(sys.argv[1]))
    forks = int(sys.argv[2])
    command = sys.argv[3]
    names = [name for name, _, _ in spec["hosts"]]
    client = ParallelSSHClient(
        [address for _, address, _ in spec["hosts"]],
        host_config=[
            HostConfig(user=spec["user"], port=port, private_key=spec["key"])
            for _, _, port in spec["hosts"]
        ],
        user=spec["user"],
        pkey=spec["key"],
        pool_size=forks,
        allow_agent=False,
        identity_auth=False,
        timeout=30,
    )
    output = client.run_command(command, stop_on_errors=False)
    client.join(output)
    for name, host_out in zip(names, output, strict=True):
        if host_out.exception is not None:
            sys.stdout.write(f"{name}\t-1\tERROR {host_out.exception!r}\n")
            continue
        text = "\n".join(host_out.stdout).strip().replace("\n", "\\n")
        sys.stdout.write(f"{name}\t{host_out.exit_code}\t{text}\n")


if __name__ == "__main__":
    main()
