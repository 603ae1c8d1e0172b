"""paramiko's Transport made cheaper per connection (LeanTransport) and the TCP tuning
around it: AES-GCM first, an immediate ACK after a global request, a slow idle poll once
connected, no name resolution for IP literals. Measured on 500-host runs; see each
docstring for the number that justified it."""

from __future__ import annotations

import ipaddress
import logging
import socket
from typing import Any

import paramiko

from runner.transport.ssh.packets import GulpingPacketizer

log = logging.getLogger(__name__)


_FILTERED_ALGORITHMS: dict[tuple[str, tuple[str, ...], tuple[str, ...]], tuple[str, ...]] = {}

# The methods overridden below are paramiko's private Transport methods (its stubs do not
# declare them): each `type: ignore[misc]` marks a call to the original.


class LeanTransport(paramiko.Transport):
    """paramiko's Transport minus three costs a profile of 500 hosts showed per
    connection: SSH_MSG_DEBUG messages (OpenSSH sends one per key option after publickey
    auth) are escaped byte by byte in Python even when nobody logs them, the preferred
    algorithm lists are re-filtered on every access (16 times per handshake), and debug
    log calls go all the way into logging. And minus one wait: see
    _parse_global_request.

    And its packets go through runner.transport.ssh.packets.GulpingPacketizer (fewer
    system calls per packet).

    Plus three things for host key checking: ``host_key_order`` (None: paramiko's order)
    is the host key algorithms to ask for, ``server_host_key_algorithms`` what the
    server offered, and ``host_key_passed`` the check its key passed last."""

    host_key_order: tuple[str, ...] | None = None
    server_host_key_algorithms: tuple[str, ...] = ()
    # what a held connection's key last passed (runner.transport.ssh.held)
    host_key_passed: tuple[object, ...] | None = None

    def __init__(self, sock: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("packetizer_class", GulpingPacketizer)  # fewer system calls
        super().__init__(sock, *args, **kwargs)

    @property
    def preferred_keys(self) -> tuple[str, ...]:
        order = self.host_key_order
        return order if order is not None else tuple(super().preferred_keys)

    def _really_parse_kex_init(self, m: paramiko.Message, ignore_first_byte: bool = False):
        parsed = super()._really_parse_kex_init(m, ignore_first_byte)  # type: ignore[misc]
        if not ignore_first_byte:  # the peer's KEXINIT (ours is re-read with its type byte)
            self.server_host_key_algorithms = tuple(parsed["server_key_algo_list"])
        return parsed

    def _parse_global_request(self, m: paramiko.Message) -> None:
        """Acknowledge at once the TCP segment that carried a global request.

        Right after authentication OpenSSH sends `hostkeys-00@openssh.com`, which wants no
        reply, so nothing carries our ACK back and the kernel delays it by 40 ms. The
        server's answer to our channel-open is a small packet that Nagle's algorithm then
        holds until that ACK: every host's first command started 43 ms late (strace of
        sshd: the confirmation written at once, our next packet read 43 ms later)."""
        super()._parse_global_request(m)  # type: ignore[misc]
        ack_now(self.sock)

    def _parse_debug(self, m: paramiko.Message) -> None:
        if log.isEnabledFor(logging.DEBUG):
            super()._parse_debug(m)  # type: ignore[misc]

    def _filter_algorithm(self, type_: str) -> tuple[str, ...]:
        # The answer depends only on these three values, so one table serves every
        # connection of the run (it has a handful of entries).
        disabled = (self.disabled_algorithms or {}).get(type_)
        key = (type_, getattr(self, "_preferred_" + type_), tuple(disabled) if disabled else ())
        try:
            return _FILTERED_ALGORITHMS[key]
        except KeyError:
            filtered = super()._filter_algorithm(type_)  # type: ignore[misc]
            _FILTERED_ALGORITHMS[key] = filtered
            return filtered

    def _log(self, level: int, msg: Any, *args: Any) -> None:
        # paramiko logs ~35 debug messages per connection; most runs log none of them
        if self.logger.isEnabledFor(level):
            super()._log(level, msg, *args)  # type: ignore[misc]


# paramiko's reader wakes up every 0.1 s on an idle socket to notice a close and send
# keepalives. After the handshake that is only overhead (1,000 hosts running `sleep 5`
# would wake it 50,000 times): close() shuts the socket, which wakes the reader at once,
# and keepalives have their own timer (jump.Keepalive).
IDLE_POLL_SECONDS = 2.0

# AES-GCM first: the AEAD cipher authenticates in C, while paramiko checks the HMAC of
# every packet of the other ciphers with a pure-Python constant-time compare (about a
# quarter of the client's CPU per host in a profile of 500 `echo hi` hosts). OpenSSH has
# offered aes128-gcm since 6.2; servers without it fall back to the usual order.
_AEAD_FIRST = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com")


def prefer_aead(transport: paramiko.Transport) -> None:
    options = transport.get_security_options()
    available = tuple(options.ciphers)
    first = tuple(c for c in _AEAD_FIRST if c in available)
    options.ciphers = first + tuple(c for c in available if c not in first)


def ack_now(sock: Any) -> None:
    """Send the ACK the kernel is holding back for this TCP socket, if it is one (a tunnel
    through a bastion or a proxy command is not; only Linux has TCP_QUICKACK)."""
    quickack = getattr(socket, "TCP_QUICKACK", None)
    setsockopt = getattr(sock, "setsockopt", None)
    if quickack is None or setsockopt is None:
        return
    try:
        setsockopt(socket.IPPROTO_TCP, quickack, 1)
    except OSError:  # closed meanwhile: nothing to acknowledge
        pass


def slow_idle_poll(transport: paramiko.Transport) -> None:
    settimeout = getattr(transport.sock, "settimeout", None)
    if settimeout is not None:
        settimeout(IDLE_POLL_SECONDS)


def invalid_host_name(address: str) -> str | None:
    """Why ``address`` cannot be looked up (None: it can). getaddrinfo encodes a name
    with IDNA first; a name that cannot be encoded (a control or bidi character, an
    empty or 64-character label) raises UnicodeError, which gevent's resolver thread
    prints as a traceback before handing it on.

    >>> invalid_host_name("web01.example.com"), invalid_host_name("10.0.0.1")
    (None, None)
    >>> print(invalid_host_name("bad\u202ename"))
    not a valid DNS name (invalid character '\u202e')
    """
    try:
        ipaddress.ip_address(address)
        return None
    except ValueError:
        pass
    try:
        address.encode("idna")
    except UnicodeError as exc:
        cause = exc.__cause__ or exc
        reason = str(cause.args[0] if cause.args else cause)
        return f"not a valid DNS name ({reason[:1].lower()}{reason[1:]})"
    return None


def connect_tcp(address: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection; an IP literal skips name resolution (under gevent, every
    getaddrinfo is a round trip through a thread pool)."""
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET
    except ValueError:
        return socket.create_connection((address, port), timeout=timeout)
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect((address, port))
    except BaseException:
        sock.close()
        raise
    return sock
