"""Pure parts of the SSH layer: settings precedence, jump specs, ssh args, the sudo
prompt state machine. No network."""

from __future__ import annotations

import doctest

import pytest
from hypothesis import given
from hypothesis import strategies as st

import runner.become
import runner.overrides
import runner.transport.ssh.settings
import runner.transport.ssh.sshargs
from runner.become import Become, BecomeSession, become_wrap, host_become, resolve_become
from runner.config import BecomeConfig, ConnectionConfig
from runner.errors import BecomeError
from runner.models import Host
from runner.overrides import override_notices
from runner.playbook.executor import BecomeDefaults, task_become
from runner.transport.ssh.settings import (
    Hop,
    parse_jump,
    parse_ssh_args,
    resolve_settings,
)


@pytest.mark.parametrize(
    "module",
    [runner.become, runner.overrides, runner.transport.ssh.settings, runner.transport.ssh.sshargs],
)
def test_doctests(module):
    result = doctest.testmod(module)
    assert result.failed == 0 and result.attempted > 0


# -- precedence: inventory (-e included) > command line > ssh_config > defaults ---------

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
    s = resolve_settings("web1", {}, ConnectionConfig(), CONFIG)
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
    s = resolve_settings("web1", inv, ConnectionConfig(), CONFIG)
    assert (s.address, s.port, s.user) == ("192.168.1.1", 22, "invuser")
    assert s.key_files == ("/keys/inv",) and s.explicit_keys
    assert s.jump == (Hop("inv-bastion", None, 2222),)
    assert (s.connect_timeout, s.host_key_checking, s.keepalive) == (3.0, "accept-new", 9.0)
    assert s.sources["user"] == "inventory: ansible_user"
    assert s.sources["jump"] == "inventory: runner_jump_host"
    assert s.sources["host_key_checking"] == "inventory: ansible_ssh_common_args"


CLI = ConnectionConfig(
    user="cliuser",
    private_key="/keys/cli",
    jump="none",
    connect_timeout=2.5,
    host_key_checking="off",
    known_hosts="/tmp/cli_known",
    keepalive=1.0,
)


def test_command_line_wins_over_ssh_config():
    s = resolve_settings("web1", {}, CLI, CONFIG)
    assert s.user == "cliuser" and s.key_files == ("/keys/cli",) and s.explicit_keys
    assert s.jump == () and s.proxy_command is None  # -J none: no bastion at all
    assert (s.connect_timeout, s.host_key_checking, s.known_hosts, s.keepalive) == (
        2.5,
        "off",
        "/tmp/cli_known",
        1.0,
    )
    assert s.sources["user"] == "command line: -u"
    assert s.sources["key_files"] == "command line: --private-key"


def test_inventory_wins_over_the_command_line():
    """Ansible's rule: a host's connection variables beat -u, --private-key and the
    other flags, which apply to hosts whose inventory says nothing."""
    inv = {
        "ansible_user": "invuser",
        "ansible_ssh_private_key_file": "/keys/inv",
        "runner_jump_host": "inv-bastion",
        "ansible_ssh_timeout": 4,
        "ansible_host_key_checking": True,
        "runner_host_key_checking": "strict",
        "ansible_ssh_common_args": "-o UserKnownHostsFile=/tmp/inv_known -o ServerAliveInterval=9",
    }
    s = resolve_settings("web1", inv, CLI, CONFIG)
    assert (s.user, s.key_files, s.jump) == ("invuser", ("/keys/inv",), (Hop("inv-bastion"),))
    assert (s.connect_timeout, s.host_key_checking, s.known_hosts, s.keepalive) == (
        4.0,
        "strict",
        "/tmp/inv_known",
        9.0,
    )
    assert s.sources["user"] == "inventory: ansible_user"
    assert s.sources["key_files"] == "inventory: ansible_ssh_private_key_file"
    # a host key checking variable that decides nothing (True) leaves it to the flag
    t = resolve_settings("web1", {"ansible_host_key_checking": True}, CLI, CONFIG)
    assert t.host_key_checking == "off" and t.sources["host_key_checking"].startswith("command")


def test_extra_vars_are_inventory_variables():
    """-e values arrive merged into the host's variables, over the inventory's: they win
    over the command line as well (Ansible: -e ansible_user=x wins over everything)."""
    s = resolve_settings("web1", {"ansible_user": "from-e"}, CLI, CONFIG)
    assert s.user == "from-e"


def test_common_args_jump_and_proxycommand():
    s = resolve_settings(
        "db", {"ansible_ssh_common_args": "-J ops@gw1,gw2:2200"}, ConnectionConfig(), {}
    )
    assert s.jump == (Hop("gw1", "ops"), Hop("gw2", None, 2200))
    p = resolve_settings(
        "db",
        {"ansible_ssh_common_args": "-o 'ProxyCommand=ssh -W %h:%p gw'"},
        ConnectionConfig(),
        {},
    )
    assert p.proxy_command == "ssh -W %h:%p gw" and p.jump == ()


def test_defaults_without_anything():
    s = resolve_settings("plain", {}, ConnectionConfig(), {})
    assert (s.address, s.port, s.host_key_checking, s.known_hosts) == (
        "plain",
        22,
        "accept-new",
        "~/.ssh/known_hosts",
    )
    assert s.keepalive == 0.0 and s.jump == ()


def test_ansible_host_key_checking_false_turns_checking_off():
    s = resolve_settings("h", {"ansible_host_key_checking": "False"}, ConnectionConfig(), {})
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


def test_become_precedence_variables_over_keywords_over_command_line():
    inv = {"ansible_become": True, "ansible_become_user": "pg", "ansible_become_pass": "inv"}
    assert resolve_become(inv)[0] == Become("pg", "inv")
    # the variables win over -b --become-user app -K (Ansible's rule)
    become, sources = resolve_become(inv, enabled=True, user="app", password="cli")
    assert become == Become("pg", "inv")
    assert sources == {
        "enabled": "inventory: ansible_become",
        "user": "inventory: ansible_become_user",
        "password": "inventory: ansible_become_pass",
        "method": "default",  # sudo: no ansible_become_method, keyword or setting gave one
    }
    assert resolve_become({"ansible_become": "no"}, enabled=True)[0] is None
    assert resolve_become({}, enabled=True, user="app", password="cli")[0] == Become("app", "cli")
    # keywords sit between: over the command line, under the variables
    assert resolve_become({}, enabled=True, keyword=False)[0] is None
    assert resolve_become({}, user="cli", keyword=True, keyword_user="kw")[0] == Become("kw")
    assert resolve_become({"ansible_become_user": "v"}, keyword=True, keyword_user="kw")[0] == (
        Become("v")
    )
    assert "inv" not in repr(resolve_become(inv)[0])
    # run/copy/fetch and play ask the same function
    assert host_become(inv, BecomeConfig(True, "app"), "cli") == Become("pg", "inv")
    assert host_become({"ansible_become": False}, BecomeConfig(True), "cli") is None
    assert task_become({"ansible_become": False}, None, None, BecomeDefaults(True)) is None


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


# -- telling the user when the inventory overrode a flag ------------------------------


def test_override_notices_one_per_flag_and_variable_folded():
    web = [
        Host(f"web{i:02d}", {"ansible_ssh_private_key_file": "/k/inv", "ansible_become": True})
        for i in range(1, 4)
    ]
    db = [
        Host(
            "db1",
            {"ansible_become_user": "pg", "ansible_become_pass": "x", "runner_jump_host": "gw"},
        ),
        Host("db2", {"ansible_ssh_common_args": "-o ServerAliveInterval=9 -l admin"}),
        Host("ctl", {"ansible_connection": "local", "ansible_user": "me"}),  # no ssh at all
        Host("same", {"ansible_user": "ops", "ansible_ssh_timeout": "5"}),  # the flag's values
    ]
    cli = ConnectionConfig(
        user="ops", private_key="/k/cli", jump="none", connect_timeout=5, keepalive=2
    )
    texts = override_notices(web + db, cli, BecomeConfig(True, "app"), become_password=True)
    assert texts == [
        "--private-key /k/cli not used for web[01-03] (3): their inventory sets "
        "ansible_ssh_private_key_file",
        "-J none not used for db1 (1): its inventory sets runner_jump_host",
        "--become-user app not used for db1 (1): its inventory sets ansible_become_user",
        "-K not used for db1 (1): its inventory sets ansible_become_pass",
        "-u ops not used for db2 (1): its inventory sets ansible_ssh_common_args",
        "--keepalive 2 not used for db2 (1): its inventory sets ansible_ssh_common_args",
    ]
    assert "x" not in " ".join(t.split(":")[0] for t in texts)  # no password shown
    assert override_notices(web + db, ConnectionConfig(), BecomeConfig(), False) == []
