"""SSH transport on paramiko. This package is the only place in runner that imports
paramiko.

Per-run state lives in one ``SSHContext`` (context.py) shared by every host's
``SSHTransport`` (transport.py): the parsed ssh_config, private keys and agent keys
(auth.Keyring), the known_hosts index per file, and the bastion connections
(jump.BastionPool). A 2,000-host run parses each of these once, not 2,000 times, and 500
hosts behind one bastion share one connection to it. Where each setting comes from, and
in which order, is in settings.py; the cheaper paramiko Transport is in lean.py.
"""

from __future__ import annotations

from runner.config import HOST_KEY_POLICIES
from runner.transport.ssh.auth import DEFAULT_KEY_FILES
from runner.transport.ssh.context import SSHContext, load_ssh_config
from runner.transport.ssh.known_hosts import KnownHosts, known_hosts_name
from runner.transport.ssh.transport import SSHTransport

__all__ = [
    "HOST_KEY_POLICIES",
    "DEFAULT_KEY_FILES",
    "KnownHosts",
    "SSHContext",
    "SSHTransport",
    "known_hosts_name",
    "load_ssh_config",
]
