"""End-to-end: what the hardening work found. A host name that cannot be looked up is an
unreachable host with a plain message (no traceback from gevent's resolver thread), and
ssh_config ``Match exec`` works under gevent."""

from __future__ import annotations

import json

import pytest

from runner.testing.fleet import free_port
from tests.conftest import json_records

pytestmark = pytest.mark.sshd


def host_records(res) -> dict[str, dict]:
    return {r["host"]: r for r in json_records(res.stdout) if r.get("type") == "host"}


@pytest.mark.parametrize("name", ["bad\u202ename", "a..b", "x" * 64 + ".example"])
def test_a_name_that_cannot_be_looked_up_is_unreachable_without_a_traceback(cli, tmp_path, name):
    inv = tmp_path / "inv.yml"
    inv.write_text(f'all:\n  hosts:\n    "{name}": {{}}\n    ok: {{ansible_connection: local}}\n')
    res = cli("run", "-i", str(inv), "--known-hosts", str(tmp_path / "kh"), "--json", "all", "true")
    assert res.exit_code == 4, res
    records = host_records(res)
    assert records["ok"]["status"] == "ok"
    bad = records[name]
    assert bad["status"] == "unreachable", bad
    assert "not a valid DNS name" in bad["error"] and "internal error" not in bad["error"]
    assert "Traceback" not in res.stderr and "UnicodeError" not in res.stderr


def test_match_exec_works_under_gevent(sshd, cli, tmp_path):
    """The exec commands run (in order, %h expanded, no secret in their environment) and
    decide which blocks apply: the true one gives the port, the false one would break it."""
    ran = tmp_path / "ran"
    config = tmp_path / "ssh_config"
    config.write_text(
        f'Match exec "touch {ran}; test %h = 127.0.0.1 && test -z \\"$RUNNER_SSH_PASSWORD\\""\n'
        f"    Port {sshd.port}\n    User {sshd.user}\n"
        f'Match exec "false"\n    Port {free_port()}\n'
        f'Match !exec "true" host 127.0.0.1\n    User nobody-at-all\n'
    )
    res = cli(
        "run", "-i", "127.0.0.1,", "-F", str(config), "--private-key", str(sshd.client_key),
        "--known-hosts", str(tmp_path / "kh"), "--json", "all", "whoami",
        env={"RUNNER_SSH_PASSWORD": "not-for-children"},
    )  # fmt: skip
    assert res.exit_code == 0, res
    assert host_records(res)["127.0.0.1"]["stdout"] == f"{sshd.user}\n"
    assert ran.exists()
    assert "Traceback" not in res.stderr and "BlockingIOError" not in res.stderr


def test_match_exec_that_fails_or_cannot_run_does_not_match(cli, tmp_path):
    config = tmp_path / "ssh_config"
    config.write_text(
        'Match exec "exit 3"\n    Port 1\nMatch exec "/nonexistent/cmd"\n    Port 2\n'
    )
    res = cli("inventory", "-i", "h1,", "-F", str(config), "--host", "h1", "--connection", "--json")
    assert res.exit_code == 0, res
    assert json.loads(res.stdout)["settings"]["port"] == {"value": 22, "source": "default"}
    assert "Traceback" not in res.stderr
