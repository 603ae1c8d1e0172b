"""runner: a fast parallel remote command runner over SSH."""

__version__ = "0.1.0"
