"""Patch gevent before pytest imports any test or runner module (habit 1).

Loaded first with ``-p tests.gevent_first`` (pyproject.toml's addopts), because the
doctests are collected from runner/ too, and tests/conftest.py applies to tests/ only:
when collection starts in runner/, a module that imports paramiko would be imported
before conftest ran, and paramiko's Transport would subclass the real threading.Thread.
A conftest.py at the repository's top level would do the same but is not allowed there.

The patch is runner.entry's (importing it is what patches), so the test process is patched
exactly as the console script is, once: entry's patch runs at its first import, here, and
later imports of runner.entry (the doctest collector's, the in-process CLI tests') find
the module in sys.modules and do nothing."""

import runner.entry  # noqa: F401  (first statement: patches at import)
