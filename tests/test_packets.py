"""runner.transport.ssh.packets without sshd: reads served from one gulp, and several
messages sent in one write in their sequence order (a real sshd reads them in every
end-to-end test: each command's exec request and end of input go out together)."""

from __future__ import annotations

import socket

import paramiko

from runner.transport.ssh.packets import GulpingPacketizer, ReadAhead


class CountingSocket:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.recvs = 0

    def recv(self, n: int) -> bytes:
        self.recvs += 1
        return self.sock.recv(n)

    def settimeout(self, timeout: float | None) -> None:
        self.sock.settimeout(timeout)


def test_read_ahead_serves_exact_reads_from_one_recv():
    a, b = socket.socketpair()
    try:
        b.sendall(b"0123456789abcdef")
        counting = CountingSocket(a)
        ahead = ReadAhead(counting)
        assert [ahead.recv(4), ahead.recv(2), ahead.recv(100)] == [b"0123", b"45", b"6789abcdef"]
        assert counting.recvs == 1
        b.sendall(b"xyz")
        assert ahead.recv(2) == b"xy" and ahead.recv(2) == b"z"
        assert counting.recvs == 2
        ahead.settimeout(0.01)  # everything else is the socket's: its timeout too
        try:
            ahead.recv(1)
        except TimeoutError:
            pass
        else:
            raise AssertionError("no timeout")
    finally:
        a.close()
        b.close()


def test_held_writes_go_out_together_in_order():
    """Packets built while ``held`` is a list are collected, then sent as one write: the
    other end reads them back as the same packets, in the same order."""
    a, b = socket.socketpair()
    try:
        sender, reader = GulpingPacketizer(a), paramiko.Packetizer(b)
        sender.held = []
        for n in range(3):
            m = paramiko.Message()
            m.add_byte(bytes([paramiko.common.MSG_IGNORE]))
            m.add_string(f"message {n}")
            sender.send_message(m)
        assert len(sender.held) == 3
        out, sender.held = b"".join(sender.held), None
        sender.write_all(out)
        got = []
        for _ in range(3):
            _ptype, m = reader.read_message()
            got.append(m.get_text())
        assert got == ["message 0", "message 1", "message 2"]
    finally:
        a.close()
        b.close()
