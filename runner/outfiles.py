"""Where ``--out-dir`` keeps each host's full output. Pure; used by engine and output."""

from __future__ import annotations

import os

from runner.errors import ConfigError


def safe_host_filename(host: str) -> str:
    """A file name for a host name: path separators and NUL replaced, dot-names refused.

    >>> safe_host_filename("web01.example.com"), safe_host_filename("a/b")
    ('web01.example.com', 'a_b')
    """
    name = host.replace("/", "_").replace("\0", "_")
    if name in ("", ".", ".."):
        raise ConfigError(
            f"host name {host!r} cannot be used as a file name in --out-dir",
            hint="rename the host in the inventory, or run without --out-dir",
        )
    return name


def out_paths(directory: str, host: str) -> tuple[str, str, str]:
    """(stdout, stderr, json) paths for ``host`` under ``directory``."""
    stem = os.path.join(directory, safe_host_filename(host))
    return f"{stem}.stdout", f"{stem}.stderr", f"{stem}.json"
