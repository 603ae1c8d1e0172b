"""The project's ansible.cfg and the ANSIBLE_*/RUNNER_* variables: where the file is
found, how it is read, the one precedence rule, and the errors, each naming the file
and the line. What claims to read the file as Ansible does is compared with the real
``ansible-config dump`` on the same file and environment."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from runner.cli.environment import Environment
from runner.cli.options import build_config
from runner.errors import ConfigError
from runner.project.cfgfile import SYSTEM_CONFIG, find_config_file
from runner.project.settings import resolve_project_settings
from tests.conftest import run_cli, run_inprocess

ANSIBLE_CONFIG_TOOL = Path(sys.executable).with_name("ansible-config")


@pytest.fixture
def project(tmp_path):
    """(project folder, HOME), both empty, the project not world-writable."""
    folder, home = tmp_path / "project", tmp_path / "home"
    folder.mkdir()
    home.mkdir()
    folder.chmod(0o755)
    return folder, home


def touch(*paths: Path) -> None:
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")


def settings_in(folder: Path, home: Path, env: dict | None = None, **params):
    environ = {"HOME": str(home), **(env or {})}
    return resolve_project_settings(params, environ, str(folder), str(home))


# -- where the file is found --------------------------------------------------------------


def test_discovery_follows_ansibles_order(project, tmp_path):
    folder, home = project
    if os.path.exists(SYSTEM_CONFIG):
        pytest.skip(f"{SYSTEM_CONFIG} exists on this machine")
    environ = {"HOME": str(home)}
    assert find_config_file(environ, str(folder), str(home)).path is None
    (home / ".ansible.cfg").write_text("[defaults]\n")
    assert find_config_file(environ, str(folder), str(home)).via == "~/.ansible.cfg"
    (folder / "ansible.cfg").write_text("[defaults]\n")
    found = find_config_file(environ, str(folder), str(home))
    assert (found.path, found.via) == (str(folder / "ansible.cfg"), "./ansible.cfg")
    named = tmp_path / "named.cfg"
    named.write_text("[defaults]\n")
    found = find_config_file({**environ, "ANSIBLE_CONFIG": str(named)}, str(folder), str(home))
    assert (found.path, found.via) == (str(named), "ANSIBLE_CONFIG")
    # a folder: its ansible.cfg; a file that does not exist: the search goes on, as Ansible's
    other = tmp_path / "other"
    other.mkdir()
    (other / "ansible.cfg").write_text("[defaults]\n")
    env = {**environ, "ANSIBLE_CONFIG": str(other)}
    assert find_config_file(env, str(folder), str(home)).path == str(other / "ansible.cfg")
    env = {**environ, "ANSIBLE_CONFIG": str(tmp_path / "missing.cfg")}
    assert find_config_file(env, str(folder), str(home)).via == "./ansible.cfg"
    # ANSIBLE_CONFIG relative to the current folder, ~ from the HOME given (not the process's)
    env = {**environ, "ANSIBLE_CONFIG": "~/.ansible.cfg"}
    assert find_config_file(env, str(folder), str(home)).path == str(home / ".ansible.cfg")


def test_a_world_writable_folder_is_no_config_source(project):
    folder, home = project
    (folder / "ansible.cfg").write_text("[defaults]\nforks = 3\n")
    folder.chmod(0o777)
    settings = settings_in(folder, home)
    assert settings.config_file is None and settings["forks"] == 100
    assert len(settings.notices) == 1 and "world-writable" in settings.notices[0]
    # named by ANSIBLE_CONFIG it is read, and nothing is said (as Ansible)
    named = settings_in(folder, home, {"ANSIBLE_CONFIG": str(folder / "ansible.cfg")})
    assert named["forks"] == 3 and named.notices == ()


def test_world_writable_folder_warning_matches_ansible(project):
    folder, home = project
    (folder / "ansible.cfg").write_text("[defaults]\nforks = 3\n")
    folder.chmod(0o777)
    theirs = ansible_config_dump(folder, home, {})
    assert "world writable directory" in theirs["stderr"]
    assert "DEFAULT_FORKS" not in theirs and theirs["CONFIG_FILE"][0] is None
    ours = settings_in(folder, home)
    assert ours.values["forks"].source == "default"


# -- how it is read -----------------------------------------------------------------------


def test_comments_case_continuations_defaults_and_quotes(project):
    folder, home = project
    (folder / "ansible.cfg").write_text(
        "# a comment\n"
        "; another\n"
        "[DEFAULT]\n"
        "become_user = fromdefault\n"
        "host_key_checking = False\n"
        "[defaults]\n"
        "Remote_User = 'deploy'   ; inline comment\n"
        "FORKS: 12\n"
        "roles_path = roles\n"
        "    :more_roles\n"
        "gather_subset = network, 'virtual'\n"
        "vault_password_file = $VAULT_DIR/pass\n"
        "[privilege_escalation]\n"
        "become = Yes\n"
        "[runner]\n"  # takes none of [DEFAULT]'s keys: False is no runner policy
    )
    s = settings_in(folder, home, {"VAULT_DIR": "/secrets"})
    assert s["remote_user"] == "deploy" and s["forks"] == 12
    assert s["roles_path"] == (str(folder / "roles"), str(folder / "more_roles"))
    assert s["gather_subset"] == ("network", "virtual")
    assert s["vault_password_file"] == "/secrets/pass"
    assert s["become"] is True and s["become_user"] == "fromdefault"
    assert s.values["host_key_checking"].key == "[defaults] host_key_checking"
    assert s["host_key_checking"] == "off"
    assert s.values["forks"].source == f"file: {folder / 'ansible.cfg'}:8 [defaults] forks"
    assert s.values["become_user"].line == 4  # where [DEFAULT] says it


def test_paths_from_the_file_start_at_its_folder_and_from_variables_at_the_cwd(project, tmp_path):
    folder, home = project
    cfg = tmp_path / "elsewhere" / "ansible.cfg"
    cfg.parent.mkdir()
    cfg.write_text(
        "[defaults]\ninventory = hosts.ini, ../inv/more.yml\nprivate_key_file = ~/k/id\n"
    )
    touch(cfg.parent / "hosts.ini", tmp_path / "inv/more.yml", folder / "a", folder / "b")
    s = settings_in(folder, home, {"ANSIBLE_CONFIG": str(cfg)})
    assert s["inventory"] == (str(cfg.parent / "hosts.ini"), str(tmp_path / "inv/more.yml"))
    assert s["private_key_file"] == str(home / "k/id")
    s = settings_in(folder, home, {"ANSIBLE_CONFIG": str(cfg), "ANSIBLE_INVENTORY": "a,b"})
    assert s["inventory"] == (str(folder / "a"), str(folder / "b"))
    assert s.values["inventory"].source == "env: ANSIBLE_INVENTORY"


# -- the one precedence rule ----------------------------------------------------------------


def test_command_line_beats_environment_beats_file_beats_default(project):
    folder, home = project
    (folder / "ansible.cfg").write_text(
        "[defaults]\nforks = 3\nremote_user = filer\ninventory = f.ini\n[runner]\nretries = 4\n"
    )
    touch(folder / "f.ini")
    s = settings_in(folder, home)
    assert (s["forks"], s["remote_user"], s["retries"]) == (3, "filer", 4)
    env = {"ANSIBLE_FORKS": "5", "ANSIBLE_REMOTE_USER": "envy", "RUNNER_RETRIES": "6"}
    s = settings_in(folder, home, env)
    assert (s["forks"], s["remote_user"], s["retries"]) == (5, "envy", 6)
    assert s.values["retries"].source == "env: RUNNER_RETRIES"
    s = settings_in(folder, home, env, forks=9, user="typed", retries=0, become=False)
    assert (s["forks"], s["remote_user"], s["retries"]) == (9, "typed", 0)
    assert s.values["forks"].source == "command line: -f"
    assert s.values["become"].source == "default"  # a flag not typed is no value
    # RUNNER_INVENTORY (whitespace-separated, as given) beats ANSIBLE_INVENTORY
    s = settings_in(folder, home, {"RUNNER_INVENTORY": "a b", "ANSIBLE_INVENTORY": "c"})
    assert s["inventory"] == ("a", "b")
    s = settings_in(folder, home, inventories=("x.yml",))
    assert s["inventory"] == ("x.yml",)
    # an empty variable is no value
    assert settings_in(folder, home, {"ANSIBLE_FORKS": ""})["forks"] == 3


def test_host_key_checking_from_ansibles_boolean_and_runners_policy(project):
    folder, home = project
    cfg = folder / "ansible.cfg"
    cfg.write_text("[defaults]\nhost_key_checking = False\n")
    assert settings_in(folder, home)["host_key_checking"] == "off"
    cfg.write_text("[defaults]\nhost_key_checking = True\n")
    assert settings_in(folder, home)["host_key_checking"] is None  # ssh_config, accept-new
    cfg.write_text("[defaults]\nhost_key_checking = False\n[runner]\nhost_key_checking = strict\n")
    assert settings_in(folder, home)["host_key_checking"] == "strict"
    env = {"ANSIBLE_HOST_KEY_CHECKING": "no"}
    assert settings_in(folder, home, env)["host_key_checking"] == "off"
    env = {"ANSIBLE_HOST_KEY_CHECKING": "no", "RUNNER_HOST_KEY_CHECKING": "accept-new"}
    assert settings_in(folder, home, env)["host_key_checking"] == "accept-new"


def test_ssh_args_options_map_onto_runners_and_the_rest_is_one_notice(project):
    folder, home = project
    (folder / "ansible.cfg").write_text(
        "[ssh_connection]\n"
        "ssh_args = -C -o ControlMaster=auto -o ControlPersist=60s -J ops@gw:2222\n"
        "ssh_common_args = -o ServerAliveInterval=7 -o StrictHostKeyChecking=yes "
        "-o UserKnownHostsFile=/kh -o 'ProxyCommand=nc %h %p' -F x\n"
    )
    s = settings_in(folder, home)
    assert s["jump"] == "ops@gw:2222" and s["keepalive"] == 7.0
    assert s["host_key_checking"] == "strict" and s["known_hosts"] == "/kh"
    assert s["proxy_command"] == "nc %h %p"
    assert s.values["jump"].source.endswith("[ssh_connection] ssh_args (-J ops@gw:2222)")
    [notice] = s.notices
    assert "-C, -o ControlMaster=auto, -o ControlPersist=60s (file: " in notice
    assert "-F, x (file: " in notice
    # a setting named for itself at the same level wins; the environment beats the file
    (folder / "ansible.cfg").write_text(
        "[ssh_connection]\nssh_args = -J filegw\n[runner]\njump = ownjump\n"
    )
    assert settings_in(folder, home)["jump"] == "ownjump"
    assert settings_in(folder, home, {"ANSIBLE_SSH_ARGS": "-J envgw"})["jump"] == "envgw"
    assert settings_in(folder, home, {"ANSIBLE_SSH_ARGS": "-J envgw"}, jump="cli")["jump"] == "cli"


def test_the_run_config_carries_the_project_defaults_and_their_origins(project):
    folder, home = project
    cfg = folder / "ansible.cfg"
    cfg.write_text(
        "[defaults]\nremote_user = deploy\ntimeout = 4\nforks = 8\ncollections_path = c\n"
        "gathering = explicit\nask_pass = yes\n"
        "[privilege_escalation]\nbecome = true\nbecome_user = app\nbecome_ask_pass = true\n"
    )
    env = Environment(environ={"HOME": str(home)}, cwd=str(folder), stderr=io.StringIO())
    config = build_config({"verbose": 0}, env)
    assert (config.connection.user, config.connection.connect_timeout) == ("deploy", 4.0)
    assert config.connection.origins["user"] == f"file: {cfg}:2 [defaults] remote_user"
    assert config.connection.ask_pass and config.become.ask_password
    assert (config.become.enabled, config.become.user, config.forks) == (True, "app", 8)
    assert config.project.collections_path == (str(folder / "c"),)
    assert config.project.gathering == "explicit" and config.project.config_file == str(cfg)
    typed = build_config({"user": "ops", "forks": 2}, env)
    assert typed.connection.user == "ops" and "user" not in typed.connection.origins


def test_a_host_shows_the_file_as_the_source_of_its_user(project):
    from runner.models import Host
    from runner.overrides import override_notices
    from runner.transport.ssh.settings import resolve_settings

    folder, home = project
    (folder / "ansible.cfg").write_text("[defaults]\nremote_user = deploy\n")
    env = Environment(environ={"HOME": str(home)}, cwd=str(folder), stderr=io.StringIO())
    config = build_config({}, env)
    settings = resolve_settings("web1", {}, config.connection, {})
    assert settings.user == "deploy"
    assert settings.sources["user"].endswith("ansible.cfg:2 [defaults] remote_user")
    # a project default that a host's inventory overrides is no surprise worth a notice
    hosts = [Host("web1", {"ansible_user": "root"})]
    assert override_notices(hosts, config.connection, config.become) == []


# -- errors name the file and the line ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("[defaults]\n\nforks = many\n", 3, "[defaults] forks = 'many': expected a whole number"),
        ("[defaults]\nforks = 1.5\n", 2, "expected a whole number"),
        ("[defaults]\nforks = 0\n", 2, "expected a whole number of at least 1"),
        ("[defaults]\nhost_key_checking = ture\n", 2, "expected a boolean"),
        ("[defaults]\ngathering = always\n", 2, "expected one of implicit, explicit, smart"),
        ("forks = 3\n", 1, "expected a [section] header"),
        ("[defaults]\nforks = 3\nforks = 4\n", 3, "[defaults] sets 'forks' twice"),
        ("[defaults]\n[x]\n[defaults]\n", 3, "section [defaults] appears twice"),
        ("[defaults]\nthis is no setting\n", 2, "expected 'key = value'"),
        ("[runner]\nforkz = 3\n", 2, "[runner] forkz: not a runner setting"),
        ("[runner]\nkeepalive = -1\n", 2, "expected a number of seconds above 0"),
        ("[runner]\njump = a:bad\n", 2, "expected [USER@]HOST[:PORT]"),
        ("[ssh_connection]\nssh_args = -o 'Proxy\n", 2, "cannot parse ssh arguments"),
        ("[ssh_connection]\nssh_args = -o ServerAliveInterval=x\n", 2, "number of seconds"),
        ("[runner]\ncluster = http://:pw@h/0\n", 2, "'http://:***@h/0': expected a Redis URL"),
        ("[runner]\ncluster_shard_max = 0\n", 2, "at least 1"),
        (
            "[privilege_escalation]\nbecome = yes\nbecome_method = su\n",
            3,
            "runner escalates with sudo only",
        ),
    ],
)
def test_a_bad_file_is_an_input_error_naming_file_and_line(project, text, line, message):
    folder, home = project
    cfg = folder / "ansible.cfg"
    cfg.write_text(text)
    env = Environment(environ={"HOME": str(home)}, cwd=str(folder), stderr=io.StringIO())
    with pytest.raises(ConfigError) as caught:
        build_config({}, env)
    assert str(caught.value).startswith(f"{cfg}:{line}: "), str(caught.value)
    assert message in str(caught.value)


def test_an_inventory_the_project_names_must_exist(project):
    folder, home = project
    cfg = folder / "ansible.cfg"
    cfg.write_text("[defaults]\n\ninventory = hosts.ini\n")
    with pytest.raises(ConfigError) as caught:
        settings_in(folder, home)
    assert str(caught.value) == (
        f"{cfg}:3: [defaults] inventory: the inventory {folder / 'hosts.ini'} does not exist"
    )
    with pytest.raises(ConfigError, match="ANSIBLE_INVENTORY: the inventory .*/nope does not"):
        settings_in(folder, home, {"ANSIBLE_INVENTORY": "nope"})
    # typed, or in RUNNER_INVENTORY (host lists too), the inventory loader judges it
    assert settings_in(folder, home, {"RUNNER_INVENTORY": "w1,w2,"})["inventory"] == ("w1,w2,",)
    assert settings_in(folder, home, inventories=("x",))["inventory"] == ("x",)


def test_unknown_ansible_keys_are_ignored_and_so_is_another_become_method_without_become(
    project,
):
    folder, home = project
    (folder / "ansible.cfg").write_text(
        "[defaults]\ninterpreter_python = auto\nnocows = 1\n"
        "[privilege_escalation]\nbecome_method = su\n[galaxy]\nserver = x\n"
    )
    assert settings_in(folder, home)["become_method"] == "su"


def test_other_unreadable_files_and_variables(project, tmp_path):
    folder, home = project
    bad = tmp_path / "latin1.cfg"
    bad.write_bytes(b"[defaults]\nremote_user = j\xf6rg\n")
    with pytest.raises(ConfigError, match=r"latin1.cfg:2: not UTF-8"):
        settings_in(folder, home, {"ANSIBLE_CONFIG": str(bad)})
    conf = tmp_path / "ansible.conf"
    conf.write_text("[defaults]\n")
    with pytest.raises(ConfigError, match="unsupported configuration file extension"):
        settings_in(folder, home, {"ANSIBLE_CONFIG": str(conf)})
    (folder / "ansible.cfg").mkdir()  # exists, readable, but no file
    with pytest.raises(ConfigError, match="cannot read the config file"):
        settings_in(folder, home)
    with pytest.raises(ConfigError, match="ANSIBLE_TIMEOUT = 'soon': expected a whole number"):
        settings_in(tmp_path, home, {"ANSIBLE_TIMEOUT": "soon"})


# -- runner config ------------------------------------------------------------------------


def test_runner_config_shows_every_setting_and_its_source(project):
    folder, home = project
    cfg = folder / "ansible.cfg"
    cfg.write_text("[defaults]\nremote_user = deploy\n[runner]\nprocs = 2\n")
    env = {"ANSIBLE_CONFIG": str(cfg), "ANSIBLE_FORKS": "11"}
    res = run_inprocess("config", "--json", "--connect-timeout", "3", env=env)
    assert res.exit_code == 0, res
    data = json.loads(res.stdout)
    assert data["config_file"] == str(cfg) and data["found_via"] == "ANSIBLE_CONFIG"
    got = {name: (e["value"], e["source"]) for name, e in data["settings"].items()}
    assert got["remote_user"] == ("deploy", f"file: {cfg}:2 [defaults] remote_user")
    assert got["procs"] == (2, f"file: {cfg}:4 [runner] procs")
    assert got["forks"] == (11, "env: ANSIBLE_FORKS")
    assert got["timeout"] == (3.0, "command line: --connect-timeout")
    assert got["become"] == (False, "default")
    text = run_inprocess("config", env=env)
    assert text.exit_code == 0, text
    assert text.stdout.startswith(f"config file: {cfg} (found as ANSIBLE_CONFIG)\n")
    line = next(x for x in text.stdout.splitlines() if x.split()[0] == "remote_user")
    assert line.split() == ["remote_user", "deploy", "file:", f"{cfg}:2", "[defaults]",
                            "remote_user"]  # fmt: skip
    bad = run_inprocess("config", env={"ANSIBLE_CONFIG": str(cfg), "ANSIBLE_FORKS": "x"})
    assert bad.exit_code == 1 and "ANSIBLE_FORKS = 'x'" in bad.stderr, bad


def test_the_cluster_url_comes_by_the_one_rule_and_its_password_is_never_shown(project):
    folder, home = project
    cfg = folder / "ansible.cfg"
    cfg.write_text("[runner]\ncluster = rediss://:filepw@redis.dc1:6379/0\ncluster_shard_max = 7\n")
    env = Environment(environ={"HOME": str(home)}, cwd=str(folder), stderr=io.StringIO())
    config = build_config({}, env)
    assert (config.cluster, config.cluster_shard_max) == ("rediss://:filepw@redis.dc1:6379/0", 7)
    # it may hold the broker's password: it never travels with the configuration
    assert "filepw" not in json.dumps(config.to_dict())
    assert type(config).from_dict(config.to_dict()).cluster_shard_max == 7
    env.environ["RUNNER_CLUSTER"] = "redis://:envpw@127.0.0.1:1/0"
    assert build_config({}, env).cluster == "redis://:envpw@127.0.0.1:1/0"
    assert build_config({"cluster": "redis://h/1"}, env).cluster == "redis://h/1"
    shown = run_inprocess("config", env={"ANSIBLE_CONFIG": str(cfg)})
    assert shown.exit_code == 0 and "filepw" not in shown.stdout, shown
    line = next(x for x in shown.stdout.splitlines() if x.split()[0] == "cluster")
    assert line.split()[1:3] == ["rediss://:***@redis.dc1:6379/0", "file:"], line
    data = json.loads(run_inprocess("config", "--json", env={"ANSIBLE_CONFIG": str(cfg)}).stdout)
    assert data["settings"]["cluster"]["value"] == "rediss://:***@redis.dc1:6379/0"


def test_a_cluster_setting_from_the_environment_leaves_play_and_copy_on_this_machine(
    project, tmp_path
):
    """The setting is for runner run: a playbook says so and runs here (no Redis is
    listening at the URL, so reaching for it would fail the run)."""
    book = tmp_path / "local.yml"
    book.write_text(
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - command: echo played-here\n"
    )
    env = {"RUNNER_CLUSTER": "redis://:pw@127.0.0.1:9/0", "RUNNER_PERSIST": "0"}
    res = run_inprocess("play", str(book), env=env)
    assert res.exit_code == 0, res
    assert "the cluster setting is for runner run" in res.stderr and "pw@" not in res.stderr
    src = tmp_path / "f.txt"
    src.write_text("x")
    copied = run_inprocess("copy", "localhost", str(src), str(tmp_path / "g.txt"), env=env)
    assert copied.exit_code == 0, copied
    assert (tmp_path / "g.txt").read_text() == "x"


# -- compared with Ansible -------------------------------------------------------------------

#: runner's setting -> ansible-config's name for it, and how runner's value reads there.
ANSIBLE_NAMES = {
    "inventory": ("DEFAULT_HOST_LIST", list),
    "remote_user": ("DEFAULT_REMOTE_USER", None),
    "private_key_file": ("DEFAULT_PRIVATE_KEY_FILE", None),
    "forks": ("DEFAULT_FORKS", None),
    "host_key_checking": ("HOST_KEY_CHECKING", lambda v: v != "off"),
    "timeout": ("DEFAULT_TIMEOUT", None),
    "roles_path": ("DEFAULT_ROLES_PATH", list),
    "collections_path": ("COLLECTIONS_PATHS", list),
    "gathering": ("DEFAULT_GATHERING", None),
    "vault_password_file": ("DEFAULT_VAULT_PASSWORD_FILE", None),
    "vault_identity_list": ("DEFAULT_VAULT_IDENTITY_LIST", list),
    "ask_pass": ("DEFAULT_ASK_PASS", None),
    "become": ("DEFAULT_BECOME", None),
    "become_method": ("DEFAULT_BECOME_METHOD", None),
    "become_user": ("DEFAULT_BECOME_USER", None),
    "become_ask_pass": ("DEFAULT_BECOME_ASK_PASS", None),
}


def ansible_config_dump(folder: Path, home: Path, env: dict) -> dict:
    """NAME -> (value, origin) from the real ``ansible-config dump --only-changed`` run in
    ``folder`` with HOME at ``home`` (no ANSIBLE_* variable but ``env``), plus "stderr"."""
    exe = (
        str(ANSIBLE_CONFIG_TOOL) if ANSIBLE_CONFIG_TOOL.exists() else shutil.which("ansible-config")
    )
    if exe is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but ansible-core is not installed")
        pytest.skip("ansible-core not installed (pip install -e '.[test]')")
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    environ.update(HOME=str(home), **env)
    done = subprocess.run(
        [exe, "dump", "--only-changed", "-f", "json"],
        capture_output=True, text=True, env=environ, cwd=folder, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out: dict = {"stderr": done.stderr}
    for entry in json.loads(done.stdout):
        if "name" in entry:
            out[entry["name"]] = (entry["value"], entry["origin"])
    return out


CASES = {
    "file": (
        "[defaults]\n"
        "inventory = hosts.ini, inv/more.yml\n"
        "remote_user = 'deploy'  ; the deploy account\n"
        "private_key_file = ~/keys/id_ed25519\n"
        "FORKS = 25\n"
        "host_key_checking = False\n"
        "timeout = 7\n"
        "roles_path = roles:~/shared/roles\n"
        "collections_path = collections\n"
        "gathering = explicit\n"
        "vault_password_file = .vault_pass\n"
        "vault_identity_list = dev@.dev-pass, prod@prompt\n"
        "ask_pass = no\n"
        "[privilege_escalation]\n"
        "become = True\n"
        "become_method = sudo\n"
        "become_user = app\n"
        "become_ask_pass = yes\n",
        {},
    ),
    "environment over file": (
        "[defaults]\nforks = 25\nremote_user = deploy\ninventory = a.ini\n"
        "[ssh_connection]\nhost_key_checking = True\n[DEFAULT]\nbecome_user = x\n"
        "[privilege_escalation]\n",
        {
            "ANSIBLE_FORKS": "3",
            "ANSIBLE_INVENTORY": "env1.ini,env2",
            "ANSIBLE_HOST_KEY_CHECKING": "false",
            "ANSIBLE_ROLES_PATH": "r1:/abs/r2",
            "ANSIBLE_BECOME": "1",
            "ANSIBLE_PRIVATE_KEY_FILE": "keys/k",
        },
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_values_and_origins_are_ansibles(project, case):
    folder, home = project
    text, env = CASES[case]
    (folder / "ansible.cfg").write_text(text)
    touch(*(folder / name for name in ("hosts.ini", "inv/more.yml", "a.ini", "env1.ini", "env2")))
    theirs = ansible_config_dump(folder, home, env)
    ours = settings_in(folder, home, env)
    compared = 0
    for name, (ansible_name, shape) in ANSIBLE_NAMES.items():
        found = ours.values[name]
        if ansible_name not in theirs:  # Ansible's default: runner's may differ (forks)
            assert found.level == "default", (name, found)
            continue
        value, origin = theirs[ansible_name]
        mine = shape(found.value) if shape else found.value
        assert mine == value, (name, mine, value)
        expected = origin if origin.startswith("env: ") else f"file: {origin}:"
        assert found.source.startswith(expected), (name, found.source, origin)
        compared += 1
    assert compared >= 5


def ansible_list_hosts(folder: Path, home: Path, env: dict, pattern: str) -> str:
    exe = ANSIBLE_CONFIG_TOOL.with_name("ansible")
    if not exe.exists():
        ansible_config_dump(folder, home, env)  # skips (or fails under CI) the same way
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    environ.update(HOME=str(home), ANSIBLE_LOCALHOST_WARNING="false", **env)
    done = subprocess.run(
        [str(exe), pattern, "--list-hosts"],
        capture_output=True, text=True, env=environ, cwd=folder, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize(
    ("where", "env"),
    [
        ("./ansible.cfg", {}),
        ("~/.ansible.cfg", {}),
        ("ANSIBLE_CONFIG folder", {"ANSIBLE_CONFIG": "{conf}"}),
        ("./ansible.cfg", {"ANSIBLE_INVENTORY": "{folder}/other.ini"}),
    ],
    ids=["cwd", "home", "ANSIBLE_CONFIG", "ANSIBLE_INVENTORY"],
)
def test_the_hosts_a_project_selects_are_ansibles(project, tmp_path, where, env):
    """With no -i, runner and ansible read the same file and select the same hosts."""
    folder, home = project
    conf = tmp_path / "conf"
    conf.mkdir()
    cfg = {"./ansible.cfg": folder, "~/.ansible.cfg": home, "ANSIBLE_CONFIG folder": conf}[where]
    name = ".ansible.cfg" if where == "~/.ansible.cfg" else "ansible.cfg"
    (cfg / "inv").mkdir()
    (cfg / "inv" / "hosts.ini").write_text("[web]\nweb[1:3]\n[db]\ndb1\n")
    (cfg / name).write_text("[defaults]\ninventory = inv/hosts.ini\n")
    (folder / "other.ini").write_text("[web]\nother1\nother2\n")
    env = {k: v.format(conf=conf, folder=folder) for k, v in env.items()}
    theirs = ansible_list_hosts(folder, home, env, "web:db")
    assert "hosts (" in theirs
    ours = run_cli("run", "web:db", "--list-hosts", env={"HOME": str(home), **env}, cwd=folder)
    assert ours.exit_code == 0, ours
    assert ours.stdout == theirs


def test_a_password_the_file_asks_for_names_the_line_when_nobody_can_answer(project):
    folder, home = project
    cfg = folder / "ansible.cfg"
    cfg.write_text("[defaults]\nask_pass = true\n")
    res = run_inprocess("run", "-i", "h1,", "all", "true", env={"ANSIBLE_CONFIG": str(cfg)})
    assert res.exit_code == 1, res
    assert (
        "SSH password requested but stdin is not a terminal; set RUNNER_SSH_PASSWORD "
        f"(asked for by file: {cfg}:2 [defaults] ask_pass)" in res.stderr
    ), res
    cfg.write_text("[privilege_escalation]\nbecome_ask_pass = 1\n")
    env = {"ANSIBLE_CONFIG": str(cfg), "ANSIBLE_BECOME_ASK_PASS": "yes"}
    res = run_inprocess("run", "-i", "h1,", "all", "true", env=env)
    assert res.exit_code == 1, res
    assert "(asked for by env: ANSIBLE_BECOME_ASK_PASS)" in res.stderr, res
