"""Fewer system calls per SSH packet: paramiko's packet layer (Packetizer) with its
reads taken in large gulps and several outgoing packets sent in one write.

On a held connection (runner.transport.ssh.held) a command costs no handshake, only its
packets, and a profile of the keeper running `echo hi` on 200 hosts put a third of its
CPU in socket send calls and a tenth in recv calls: paramiko writes every packet with its
own send (on loopback each one also runs the receiving side's TCP stack) and reads every
packet with two exact-size recv calls (its first block, then the rest).

- :class:`GulpingPacketizer` reads through :class:`ReadAhead` (one recv of up to
  64 KiB serves every packet that arrived together) and can hold back its writes so
  that :func:`send_together` sends several messages in one write.
- :func:`exec_and_eof` sends a command's ``exec`` request and the end of its input in
  one write (paramiko sends them in two, with a round trip between).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import paramiko
from paramiko.common import cMSG_CHANNEL_REQUEST
from paramiko.packet import Packetizer

READ_SIZE = 65536


class ReadAhead:
    """A socket (or a tunnel channel, or a ProxyCommand) whose ``recv(n)`` reads up to
    64 KiB at once and serves later calls from what it read. Everything else, timeouts
    and errors included, is the wrapped object's."""

    __slots__ = ("_sock", "_buf", "_pos")

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._buf = b""
        self._pos = 0

    def recv(self, n: int) -> bytes:
        buf, pos = self._buf, self._pos
        if pos < len(buf):
            out = buf[pos : pos + n]
            self._pos = pos + len(out)
            return out
        data = self._sock.recv(max(n, READ_SIZE))
        if len(data) <= n:
            self._buf, self._pos = b"", 0
            return data
        self._buf, self._pos = data, n
        return data[:n]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class GulpingPacketizer(Packetizer):
    """paramiko's Packetizer reading through ReadAhead; while ``held`` is a list, its
    writes are collected there instead of sent (see send_together)."""

    held: list[bytes] | None = None

    def __init__(self, socket: Any) -> None:
        super().__init__(ReadAhead(socket))  # type: ignore[arg-type]  # duck-typed socket

    def write_all(self, out: Any) -> None:
        if self.held is not None:
            self.held.append(out)
            return
        super().write_all(out)


def send_together(transport: paramiko.Transport, messages: Sequence[paramiko.Message]) -> None:
    """Send ``messages`` in order in one write, as paramiko's ``_send_user_message``
    sends one (waiting while keys are renegotiated; dropped when the connection is
    dead). paramiko's packet write lock (an RLock) is held throughout, so no other
    packet can come between them or overtake them; another thread's packet sent
    meanwhile (a window adjustment) joins the same write, in its sequence order."""
    packetizer = transport.packetizer
    if not isinstance(packetizer, GulpingPacketizer) or len(messages) == 1:
        for message in messages:
            transport._send_user_message(message)  # type: ignore[attr-defined]  # private
        return
    start = time.time()
    while True:  # paramiko's _send_user_message, for several messages
        transport.clear_to_send.wait(0.1)
        if not transport.is_active():
            return
        transport.clear_to_send_lock.acquire()
        if transport.clear_to_send.is_set():
            break
        transport.clear_to_send_lock.release()
        if time.time() > start + transport.clear_to_send_timeout:
            raise paramiko.SSHException("Key-exchange timed out waiting for key negotiation")
    lock = packetizer._Packetizer__write_lock  # type: ignore[attr-defined]  # private RLock
    try:
        with lock:
            packetizer.held = []
            try:
                for message in messages:
                    transport._send_message(message)  # type: ignore[attr-defined]  # private
            finally:
                out, packetizer.held = b"".join(packetizer.held), None
                if out:
                    packetizer.write_all(out)
    finally:
        transport.clear_to_send_lock.release()


def exec_and_eof(chan: paramiko.Channel, command: str) -> None:
    """``chan.exec_command(command)`` and ``chan.shutdown_write()`` in one write: the
    command gets no input. The server handles them in order, so the command starts
    with its input closed as it does with paramiko's two writes; raises as
    exec_command does when the server refuses the request."""
    if chan.closed or chan.eof_received or chan.eof_sent or not chan.active:
        raise paramiko.SSHException("the channel is not open")  # as paramiko's open_only
    message = paramiko.Message()
    message.add_byte(cMSG_CHANNEL_REQUEST)
    message.add_int(chan.remote_chanid)
    message.add_string("exec")
    message.add_boolean(True)
    message.add_string(command)
    chan._event_pending()  # type: ignore[attr-defined]  # paramiko private
    with chan.lock:
        eof = chan._send_eof()  # type: ignore[attr-defined]  # marks it sent; the message
    transport = chan.transport
    assert transport is not None  # an open channel has one
    send_together(transport, [message] if eof is None else [message, eof])
    chan._wait_for_event()  # type: ignore[attr-defined]  # the exec reply
