"""The run's transport factory: a local transport for ``ansible_connection=local``, SSH
for everything else, all sharing one SSH context (ssh_config, keys, known_hosts,
bastions)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from runner.config import ConnectionConfig, Secrets
from runner.errors import ConfigError
from runner.models import Host
from runner.transport.base import Transport, TransportFactory

PassphrasePrompt = Callable[[str], "str | None"]


class ConnectionFactory(TransportFactory):
    """Host -> Transport for one run.

    Checks the command line's connection settings that can be checked offline (the
    private key exists, the jump spec parses) when made, so a mistake there is an input
    error before any connection. ``ask_passphrase(path)`` is asked for an encrypted
    key's passphrase at most once, in ``prepare``.
    """

    def __init__(
        self,
        connection: ConnectionConfig,
        secrets: Secrets,
        *,
        ask_passphrase: PassphrasePrompt | None = None,
    ) -> None:
        from runner.transport.ssh import SSHContext

        if connection.private_key and not os.path.isfile(
            os.path.expanduser(connection.private_key)
        ):
            raise ConfigError(f"--private-key {connection.private_key}: no such file")
        if connection.jump:
            from runner.transport.ssh.settings import parse_jump

            try:
                parse_jump(connection.jump)
            except ValueError as exc:
                raise ConfigError(f"--jump: {exc}") from exc
        self.context = SSHContext(connection, secrets, ask_passphrase=ask_passphrase)

    def __call__(self, host: Host) -> Transport:
        if host.connection == "local":
            from runner.transport.local import LocalTransport

            return LocalTransport(host)
        from runner.transport.ssh import SSHTransport

        return SSHTransport(host, self.context)

    def prepare(self, hosts: Sequence[Host]) -> None:
        self.context.prepare([h for h in hosts if h.connection != "local"])

    def close(self) -> None:
        self.context.close()
