"""Transports run commands on one host. Only transport/ssh.py imports paramiko."""

from runner.transport.base import OutputCapture, Transport, TransportFactory

__all__ = ["OutputCapture", "Transport", "TransportFactory"]
