"""RunConfig is one frozen value that round-trips through JSON; Secrets never show."""

from __future__ import annotations

import dataclasses
import datetime
import io
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runner.cli.environment import Environment
from runner.cli.options import build_config
from runner.config import (
    BecomeConfig,
    ConnectionConfig,
    OutputConfig,
    ProjectConfig,
    RunConfig,
    Secrets,
)
from runner.errors import ConfigError
from runner.jsonvalues import decode_value, encode_value

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text()
    | st.binary(max_size=20)
    | st.dates()
    | st.datetimes()
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=5) | st.integers(), inner, max_size=4)
        | st.frozensets(st.integers() | st.text(max_size=3), max_size=3)
    ),
    max_leaves=20,
)


@given(VALUES)
def test_variables_survive_the_trip_through_json(value):
    data = json.loads(json.dumps(encode_value(value)))
    decoded = decode_value(data)
    assert decoded == (set(value) if isinstance(value, frozenset) else value)


def test_non_finite_floats_and_tuples_come_back_as_python_has_them():
    value = {"inf": float("inf"), "t": (1, 2)}
    assert decode_value(json.loads(json.dumps(encode_value(value)))) == {
        "inf": float("inf"),
        "t": [1, 2],  # YAML has no tuples; Ansible reads them as lists too
    }


def test_a_full_run_config_round_trips_through_json():
    config = RunConfig(
        inventories=("inv/hosts.yml", "more.ini"),
        extra_vars={"release": "1.2", "when": datetime.date(2026, 12, 1), "n": [1, {2: "x"}]},
        connection=ConnectionConfig(
            user="deploy",
            private_key="~/.ssh/id_ed25519",
            ssh_config="none",
            known_hosts="kh",
            host_key_checking="strict",
            jump="ops@gw:2222",
            connect_timeout=3.5,
            keepalive=15.0,
            proxy_command="ssh -W %h:%p gw",
            ask_pass=True,
            origins={"user": "file: /p/ansible.cfg:3 [defaults] remote_user"},
        ),
        become=BecomeConfig(enabled=True, user="postgres", ask_password=True),
        output=OutputConfig(mode="json", out_dir="out", junit="r.xml", max_output=10, verbose=2),
        forks=37,
        procs=3,
        retries=2,
        command_timeout=9.0,
        project=ProjectConfig(
            config_file="/p/ansible.cfg",
            roles_path=("/p/roles",),
            gathering="explicit",
            gather_subset=("min",),
            vault_password_file="/p/.vault-pass",
        ),
    )
    text = json.dumps(config.to_dict())
    back = RunConfig.from_dict(json.loads(text))
    assert back == config
    assert back.connection.origins == config.connection.origins  # not compared by ==
    assert json.loads(text)["version"] == 1


def test_another_version_or_shape_is_refused_clearly():
    data = RunConfig().to_dict()
    with pytest.raises(ConfigError, match="version 2 is not 1"):
        RunConfig.from_dict({**data, "version": 2})
    with pytest.raises(ConfigError, match="malformed run configuration"):
        RunConfig.from_dict({**data, "connection": {"no_such_setting": 1}})


def test_the_config_is_frozen_and_checks_its_values():
    config = RunConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.forks = 3  # type: ignore[misc]
    with pytest.raises(ConfigError):
        ConnectionConfig(host_key_checking="maybe")
    with pytest.raises(ConfigError):
        OutputConfig(mode="xml")
    with pytest.raises(ConfigError):
        RunConfig(forks=0)


def test_secrets_are_never_shown_and_never_part_of_the_config():
    secrets = Secrets(ssh_password="pw-1", become_password="pw-2", key_passphrase="pw-3")
    shown = repr(secrets) + str(secrets)
    assert "pw-" not in shown and "<set>" in shown
    assert "pw-" not in json.dumps(RunConfig().to_dict())
    assert {f.name for f in dataclasses.fields(RunConfig)}.isdisjoint(
        {"password", "ssh_password", "become_password", "key_passphrase"}
    )


def test_the_command_line_is_read_in_one_place(tmp_path):
    params = {
        "inventories": ("a.yml",),
        "extra_vars": ("x=1",),
        "user": "ops",
        "private_key": None,
        "host_key_checking": "off",
        "become": True,
        "become_user": "app",
        "json_lines": True,
        "stream": False,
        "out_dir": "o",
        "forks": 5,
        "timeout": 2.0,
        "retries": 1,
        "verbose": 1,
    }
    home = tmp_path / "home"
    home.mkdir()
    env = Environment(environ={"HOME": str(home)}, cwd=str(tmp_path), stderr=io.StringIO())
    config = build_config(params, env)
    assert config.inventories == ("a.yml",) and dict(config.extra_vars) == {"x": "1"}
    assert config.connection.user == "ops" and config.connection.host_key_checking == "off"
    assert config.become == BecomeConfig(enabled=True, user="app")
    assert (config.output.mode, config.output.out_dir, config.output.verbose) == ("json", "o", 1)
    assert (config.forks, config.command_timeout, config.retries) == (5, 2.0, 1)
