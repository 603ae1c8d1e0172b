"""SSH transport on paramiko. This package is the only place in runner that imports
paramiko.

Per-run state lives in one ``SSHContext`` (context.py) shared by every host's
``SSHTransport`` (transport.py): the parsed ssh_config, private keys and agent keys
(auth.Keyring), the known_hosts index per file, and the bastion connections
(jump.BastionPool). A 2,000-host run parses each of these once, not 2,000 times, and 500
hosts behind one bastion share one connection to it. Where each setting comes from, and
in which order, is in settings.py; the cheaper paramiko Transport is in lean.py.

The names below are imported on first use, so importing the pure settings module
(runner.transport.ssh.settings: the CLI's override notices) does not load paramiko: a
run served by the connection keeper never needs it in the CLI.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    # import statements, not importlib: python -X importtime (tests/test_startup.py)
    # records only these
    module: Any
    if name == "HOST_KEY_POLICIES":
        from runner import config as module
    elif name == "DEFAULT_KEY_FILES":
        from runner.transport.ssh import auth as module
    elif name in ("SSHContext", "load_ssh_config"):
        from runner.transport.ssh import context as module
    elif name in ("KnownHosts", "known_hosts_name"):
        from runner.transport.ssh import known_hosts as module
    elif name == "SSHTransport":
        from runner.transport.ssh import transport as module
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(module, name)


__all__ = [
    "HOST_KEY_POLICIES",
    "DEFAULT_KEY_FILES",
    "KnownHosts",
    "SSHContext",
    "SSHTransport",
    "known_hosts_name",
    "load_ssh_config",
]
