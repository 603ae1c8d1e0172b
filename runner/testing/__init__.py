"""The throwaway-fleet harness (real OpenSSH sshd servers on 127.0.0.1) shared by the tests,
the benchmarks and ``make demo`` (``python -m runner.testing.fleet demo``).

It ships inside the package so all three import it the same way, without reaching into
tests/. Nothing in runner's runtime imports it (tests/test_architecture.py checks that)."""
