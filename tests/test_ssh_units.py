"""Pure parts of the SSH layer: settings precedence, jump specs, ssh args, the sudo
prompt state machine. No network."""

from __future__ import annotations

import doctest

import pytest
from hypothesis import given
from hypothesis import strategies as st

import runner.become
import runner.transport.sshopts
from runner.become import Become, BecomeSession, become_for_host, become_wrap
from runner.errors import BecomeError
from runner.transport.sshopts import (
    CLIOptions,
    Hop,
    parse_jump,
    parse_ssh_args,
    resolve_settings,
)


@pytest.mark.parametrize("module", [runner.become, runner.transport.sshopts])
def test_doctests(module):
    result = doctest.testmod(module)
    assert result.failed == 0 and result.attempted > 0


# -- precedence: command line > inventory > ssh_config > defaults ----------------------

CONFIG = {
    "hostname": "10.0.0.5",
    "port": "2201",
    "user": "cfguser",
    "identityfile": ["~/.ssh/cfg_key"],
    "proxyjump": "cfg-bastion",
    "connecttimeout": "7",
    "stricthostkeychecking": "yes",
    "userknownhostsfile": "/tmp/cfg_known /tmp/other",
    "serveraliveinterval": "15",
    "serveralivecountmax": "5",
}


def test_ssh_config_alone_decides_everything():
    s = resolve_settings("web1", {}, CLIOptions(), CONFIG)
    assert (s.address, s.port, s.user) == ("10.0.0.5", 2201, "cfguser")
    assert s.key_files == ("~/.ssh/cfg_key",) and not s.explicit_keys
    assert s.jump == (Hop("cfg-bastion"),)
    assert (s.connect_timeout, s.host_key_checking, s.known_hosts) == (
        7.0,
        "strict",
        "/tmp/cfg_known",
    )
    assert (s.keepalive, s.keepalive_count) == (15.0, 5)


def test_inventory_wins_over_ssh_config():
    inv = {
        "ansible_host": "192.168.1.1",
        "ansible_port": 22,
        "ansible_user": "invuser",
        "ansible_ssh_private_key_file": "/keys/inv",
        "runner_jump_host": "inv-bastion:2222",
        "ansible_ssh_timeout": 3,
        "ansible_ssh_common_args": "-o StrictHostKeyChecking=accept-new -o ServerAliveInterval=9",
    }
    s = resolve_settings("web1", inv, CLIOptions(), CONFIG)
    assert (s.address, s.port, s.user) == ("192.168.1.1", 22, "invuser")
    assert s.key_files == ("/keys/inv",) and s.explicit_keys
    assert s.jump == (Hop("inv-bastion", None, 2222),)
    assert (s.connect_timeout, s.host_key_checking, s.keepalive) == (3.0, "accept-new", 9.0)
    assert s.sources["user"] == "inventory" and s.sources["jump"] == "inventory"


def test_command_line_wins_over_both():
    inv = {"ansible_user": "invuser", "runner_jump_host": "inv-bastion"}
    cli = CLIOptions(
        user="cliuser",
        private_key="/keys/cli",
        jump="none",
        connect_timeout=2.5,
        host_key_checking="off",
        known_hosts="/tmp/cli_known",
        keepalive=1.0,
    )
    s = resolve_settings("web1", inv, cli, CONFIG)
    assert s.user == "cliuser" and s.key_files == ("/keys/cli",)
    assert s.jump == () and s.proxy_command is None  # -J none: no bastion at all
    assert (s.connect_timeout, s.host_key_checking, s.known_hosts, s.keepalive) == (
        2.5,
        "off",
        "/tmp/cli_known",
        1.0,
    )


def test_common_args_jump_and_proxycommand():
    s = resolve_settings("db", {"ansible_ssh_common_args": "-J ops@gw1,gw2:2200"}, CLIOptions(), {})
    assert s.jump == (Hop("gw1", "ops"), Hop("gw2", None, 2200))
    p = resolve_settings(
        "db", {"ansible_ssh_common_args": "-o 'ProxyCommand=ssh -W %h:%p gw'"}, CLIOptions(), {}
    )
    assert p.proxy_command == "ssh -W %h:%p gw" and p.jump == ()


def test_defaults_without_anything():
    s = resolve_settings("plain", {}, CLIOptions(), {})
    assert (s.address, s.port, s.host_key_checking, s.known_hosts) == (
        "plain",
        22,
        "accept-new",
        "~/.ssh/known_hosts",
    )
    assert s.keepalive == 0.0 and s.jump == ()


def test_ansible_host_key_checking_false_turns_checking_off():
    s = resolve_settings("h", {"ansible_host_key_checking": "False"}, CLIOptions(), {})
    assert s.host_key_checking == "off"


@pytest.mark.parametrize("bad", ["gw:99999", "@:22", "gw:port"])
def test_bad_jump_specs_are_errors(bad):
    with pytest.raises(ValueError):
        parse_jump(bad)


hostnames = st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z0-9]{1,8}){0,2}", fullmatch=True)
users = st.none() | st.from_regex(r"[a-z_][a-z0-9_-]{0,10}", fullmatch=True)
ports = st.none() | st.integers(1, 65535)


@given(st.lists(st.tuples(hostnames, users, ports), min_size=1, max_size=4))
def test_jump_spec_round_trips(hops):
    expected = tuple(Hop(h, u, p) for h, u, p in hops)
    spec = ",".join(str(h) for h in expected)
    assert parse_jump(spec) == expected


def test_ssh_args_first_value_wins_and_unknown_flags_are_skipped():
    assert parse_ssh_args("-4 -C -p 2200 -l admin -i /k -J gw") == (
        ("port", "2200"),
        ("user", "admin"),
        ("identityfile", "/k"),
        ("proxyjump", "gw"),
    )


# -- sudo wrapping and prompt handling ------------------------------------------------


def test_become_for_host_precedence():
    inv = {"ansible_become": True, "ansible_become_user": "pg", "ansible_become_pass": "inv"}
    assert become_for_host(inv) == Become("pg", "inv")
    assert become_for_host(inv, user="app", password="cli") == Become("app", "cli")
    assert become_for_host({"ansible_become": "no"}) is None
    assert "inv" not in repr(become_for_host(inv))


def test_password_is_never_on_the_command_line():
    cmd = become_wrap("id", "root", password=True, nonce="n1")
    assert "secret" not in cmd and "-n" not in cmd.split() and "-S" in cmd.split()


def _session(password="pw", pty=False):
    return BecomeSession(Become(None, password), "abc", pty=pty, host="h1")


def test_session_answers_prompt_once_and_hides_sudo():
    s = _session()
    prompt = b"[sudo via runner abc] password: "
    assert s.feed("stderr", prompt[:10]) == b"" and s.reply() == b""
    assert s.feed("stderr", prompt[10:]) == b""
    assert s.reply() == b"pw\n" and s.reply() == b""
    # the marker arrives split in two, with the command's first line right after it
    assert s.feed("stdout", b"BECOME-SUCC") == b""
    assert s.feed("stdout", b"ESS-abc\nhello\n") == b"hello\n"
    assert s.started and s.held_stderr() == b""
    assert s.feed("stdout", b"more") == b"more"
    s.finish(0)


def test_session_keeps_command_stderr_that_raced_the_marker():
    s = _session(password=None)
    s.feed("stderr", b"early warning\n")
    s.feed("stdout", b"BECOME-SUCCESS-abc\n")
    assert s.held_stderr() == b"early warning\n"


def test_second_prompt_is_a_wrong_password():
    s = _session()
    prompt = b"[sudo via runner abc] password: "
    s.feed("stderr", prompt)
    s.reply()
    with pytest.raises(BecomeError, match="incorrect password"):
        s.feed("stderr", b"Sorry, try again.\n" + prompt)


def test_pty_prompt_comes_on_stdout():
    s = _session(pty=True)
    s.feed("stdout", b"[sudo via runner abc] password: ")
    assert s.reply() == b"pw\n"
    assert s.feed("stdout", b"\r\nBECOME-SUCCESS-abc\r\nroot\r\n") == b"root\r\n"


def test_prompt_without_password_and_refusals():
    s = _session(password=None)
    s.feed("stderr", b"[sudo via runner abc] password: ")
    with pytest.raises(BecomeError, match="asked for a password"):
        s.reply()
    r = _session(password=None)
    r.feed("stderr", b"sudo: a password is required\n")
    with pytest.raises(BecomeError, match="a password is required"):
        r.finish(1)
    n = _session(password=None)
    n.feed("stderr", b"runner-e2e is not in the sudoers file.\n")
    with pytest.raises(BecomeError, match="not in the sudoers file"):
        n.finish(1)
