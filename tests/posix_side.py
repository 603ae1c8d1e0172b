"""The ansible.posix collection, for comparing runner's authorized_key, sysctl and mount
with Ansible's own (they moved out of ansible-core into ansible.posix).

ansible.posix is published on Galaxy, and on PyPI only inside the whole ``ansible``
bundle; ``make test-deps`` downloads that wheel (no dependencies) and unpacks only
ansible_collections/ansible/posix into ``.venv/ansible-collections`` (see the Makefile).
RUNNER_TEST_COLLECTIONS names another folder holding ``ansible_collections``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest


def posix_collections() -> str:
    """The folder holding ansible_collections/ansible/posix; skips (fails under CI=true)
    when there is none."""
    root = Path(
        os.environ.get("RUNNER_TEST_COLLECTIONS") or Path(sys.prefix) / "ansible-collections"
    )
    if not (root / "ansible_collections" / "ansible" / "posix").is_dir():
        reason = f"needs the ansible.posix collection in {root} (make test-deps)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return str(root)


def collections_env() -> dict[str, str]:
    """The environment that points runner's bridge at ansible.posix."""
    return {"ANSIBLE_COLLECTIONS_PATH": posix_collections()}
