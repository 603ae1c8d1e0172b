"""The module bridge without sshd: finding modules in the installed ansible-core and in a
collection, refusing what cannot run on a target by itself, the module_utils each zip
carries, the parsing of what a module prints, load-time errors, and one real run of the
wrapper with this machine's Python (a local process, no connection)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from runner.errors import PlaybookError
from runner.playbook.bridge import Bridge, BridgeRefusal
from runner.playbook.bridge.remote import (
    command_for,
    json_part,
    module_params,
    parse_result,
    split_found,
    stdin_for,
)
from runner.playbook.loader import load_playbook
from tests.bridge_collection import make_collection


@pytest.fixture(scope="module")
def core() -> Bridge:
    bridge = Bridge(collections_path=("/nonexistent",))
    if bridge.ansible_dir is None:
        if "CI" in __import__("os").environ:
            pytest.fail("CI=true but ansible-core is not installed")
        pytest.skip("ansible-core is not installed")
    return bridge


@pytest.fixture
def coll(tmp_path: Path, core: Bridge) -> Bridge:
    return Bridge(collections_path=(str(make_collection(tmp_path / "c")),))


def test_core_modules_by_short_builtin_and_legacy_name(core):
    for name in ("lineinfile", "ansible.builtin.lineinfile", "ansible.legacy.lineinfile"):
        found = core.find(name)
        assert found is not None and found.python_name == "ansible.modules.lineinfile"
        assert found.fqcn == "ansible.builtin.lineinfile" and found.name == name
        assert found.path.endswith("/ansible/modules/lineinfile.py")
    # routed by ansible-core to community.general, not installed here: not found
    assert core.find("ini_file") is None
    assert core.find("community.general.ini_file") is None
    assert core.find("no_such_module") is None


def test_what_the_bridge_refuses(core, coll):
    refused = {
        "service": "action plugin",  # ansible-core's action picks the backend
        "ansible.builtin.synchronize": None,  # community.general's: not installed
        "include_role": "executor",
        "runnertest.tools.needs_action": "controller-side action plugin",
        "runnertest.tools.gone": "was removed: use runnertest.tools.ini_set instead",
    }
    for name, words in refused.items():
        if words is None:
            assert coll.find(name) is None
            continue
        with pytest.raises(BridgeRefusal) as caught:
            coll.find(name)
        assert words in caught.value.message, name
    assert "systemd_service" in (
        pytest.raises(BridgeRefusal, core.find, "service").value.hint or ""
    )


def test_collection_modules_and_redirects(coll):
    found = coll.find("runnertest.tools.ini_set")
    assert found is not None
    assert found.python_name == "ansible_collections.runnertest.tools.plugins.modules.ini_set"
    redirected = coll.find("runnertest.tools.old_ini_set")
    assert redirected is not None and redirected.fqcn == "runnertest.tools.ini_set"
    assert redirected.name == "runnertest.tools.old_ini_set"


def _names(bridge: Bridge, module: str) -> set[str]:
    found = bridge.find(module)
    assert found is not None
    payload = bridge.payload(found)
    with zipfile.ZipFile(io.BytesIO(payload.data)) as zf:
        assert set(zf.namelist()) == set(payload.names)
    return set(payload.names)


def test_module_utils_closure(core, coll):
    lineinfile = _names(core, "ansible.builtin.lineinfile")
    for needed in (
        "ansible/__init__.py",
        "ansible/modules/__init__.py",
        "ansible/modules/lineinfile.py",
        "ansible/module_utils/__init__.py",
        "ansible/module_utils/basic.py",
        "ansible/module_utils/common/__init__.py",
        "ansible/module_utils/common/text/converters.py",
        "ansible/module_utils/_internal/_ansiballz/_loader.py",  # basic loads these by name
        "ansible/module_utils/_internal/_json/_profiles/_module_legacy_m2c.py",
    ):
        assert needed in lineinfile, needed
    assert "ansible/module_utils/urls.py" not in lineinfile
    assert "ansible/module_utils/urls.py" in _names(core, "apt_key")  # apt_key fetches keys
    assert "ansible/module_utils/common/sys_info.py" in _names(core, "ansible.builtin.user")
    assert "ansible/modules/known_hosts.py" in _names(core, "known_hosts")
    ini = _names(coll, "runnertest.tools.ini_set")
    base = "ansible_collections/runnertest/tools/plugins"
    for needed in (
        "ansible_collections/__init__.py",
        f"{base}/__init__.py",
        f"{base}/modules/ini_set.py",
        f"{base}/module_utils/__init__.py",
        f"{base}/module_utils/inifmt.py",  # a relative and an absolute import of it
        "ansible/module_utils/basic.py",
    ):
        assert needed in ini, needed
    assert not any(n.startswith("ansible/plugins/") or "/action/" in n for n in ini)


def test_the_wrapper_runs_a_module_with_this_python(core, tmp_path):
    """The target side for real, as a local process: args in, JSON out, check and diff."""
    found = core.find("lineinfile")
    assert found is not None
    payload = core.payload(found)
    target = tmp_path / "a.conf"

    def run(check: bool) -> tuple[str | None, dict]:
        args = {"path": str(target), "line": "x=1", "create": True}
        params = module_params(
            args, core.pass_vars, check_mode=check, diff=True, version=core.version
        )
        done = subprocess.run(
            ["/bin/sh", "-c", command_for(None, (sys.executable,))],
            input=stdin_for(payload.data, found.python_name, params),
            capture_output=True,
            timeout=120,
        )
        found_python, out = split_found(done.stdout.decode())
        return found_python, parse_result(out, done.stderr.decode(), done.returncode)

    python, result = run(check=True)
    assert python == sys.executable
    assert result["changed"] and not target.exists(), result
    diff = result["diff"][0] if isinstance(result["diff"], list) else result["diff"]
    assert diff["after"] == "x=1\n"
    _, result = run(check=False)
    assert result["changed"] and target.read_text() == "x=1\n"
    assert result["invocation"]["module_args"]["line"] == "x=1"
    _, result = run(check=False)
    assert not result["changed"], result


def test_internal_parameters_follow_the_installed_basic(core):
    params = module_params({"a": 1}, core.pass_vars, check_mode=True, no_log=True)[
        "ANSIBLE_MODULE_ARGS"
    ]
    assert params["a"] == 1 and params["_ansible_check_mode"] and params["_ansible_no_log"]
    assert "_ansible_tracebacks_for" in params  # 2.19's, read from its PASS_VARS
    old = module_params({}, frozenset({"check_mode", "diff"}))["ANSIBLE_MODULE_ARGS"]
    assert set(old) == {"_ansible_check_mode", "_ansible_diff"}


def test_results_parsed_as_ansible_parses_them():
    noisy = 'Welcome to the host\n{"changed": true, "stdout": "a\\nb", "_ansible_no_log": false,\n"warnings": [], "deprecations": []}\nbye\n'
    result = parse_result(noisy, "", 0)
    assert result == {"changed": True, "stdout": "a\nb", "stdout_lines": ["a", "b"]}
    tagged = {
        "failed": True,
        "msg": "x",
        "warnings": [{"__ansible_type": "WarningSummary", "event": {"msg": "careful"}}],
        "exception": {"event": {"msg": "boom", "formatted_traceback": "Traceback ..."}},
    }
    result = parse_result(json.dumps(tagged), "", 1)
    assert result["warnings"] == ["careful"] and result["exception"] == "Traceback ..."
    broken = parse_result("Traceback (most recent call last):\n  ImportError", "err", 1)
    assert broken["failed"] and broken["module_stdout"].startswith("Traceback")
    assert broken["module_stderr"] == "err" and broken["rc"] == 1
    with pytest.raises(ValueError):
        json_part("no json here")


def _book(tmp_path: Path, module: str) -> Path:
    book = tmp_path / "site.yml"
    book.write_text(f"- hosts: all\n  tasks:\n    - name: t\n      {module}\n")
    return book


def test_load_time_errors(tmp_path, coll):
    without = Bridge(search_path=[])  # no ansible-core in this "environment"
    assert without.ansible_dir is None
    with pytest.raises(PlaybookError) as caught:
        load_playbook(str(_book(tmp_path, "known_hosts: {name: x}")), bridge=without)
    assert "ansible-core" in caught.value.message and caught.value.line == 4
    assert "pip install 'runner[ansible]'" in (caught.value.hint or "")
    with pytest.raises(PlaybookError) as caught:  # a typo stays a typo
        load_playbook(str(_book(tmp_path, "shel: echo")), bridge=without)
    assert "unknown module 'shel'" in caught.value.message
    with pytest.raises(PlaybookError) as caught:
        load_playbook(str(_book(tmp_path, "runnertest.tools.nope: {}")), bridge=coll)
    assert "unknown module" in caught.value.message and "collections" in (caught.value.hint or "")
    book = load_playbook(
        str(_book(tmp_path, "runnertest.tools.ini_set: path=/x section=a option=b value='c d'")),
        bridge=coll,
    )
    task = book.plays[0].tasks[0]
    assert task.module == "runnertest.tools.ini_set"
    assert task.args == {"path": "/x", "section": "a", "option": "b", "value": "c d"}
    with pytest.raises(PlaybookError) as caught:  # the module's literal argument_spec
        load_playbook(str(_book(tmp_path, "lineinfile: {path: /x, lien: y}")), bridge=coll)
    assert "lineinfile does not support 'lien'; it accepts: " in caught.value.message
    assert caught.value.line == 4
    book = load_playbook(  # aliases and add_file_common_args are read too
        str(_book(tmp_path, "lineinfile: {dest: /x, line: y, mode: '0644'}")), bridge=coll
    )
    with pytest.raises(PlaybookError) as caught:
        load_playbook(
            str(_book(tmp_path, "runnertest.tools.ini_set: {path: /x, colour: red}")), bridge=coll
        )
    assert "does not support 'colour'" in caught.value.message
    # a spec built at run time (get_url's url_argument_spec()) is the module's to check
    # (get_url is native too: forced through the bridge here)
    via_bridge = Bridge(forced=("get_url",), collections_path=coll.collections_path)
    load_playbook(
        str(_book(tmp_path, "get_url: {url: 'http://x', dest: /x, anything: 1}")),
        bridge=via_bridge,
    )
    forced = Bridge(forced=("ansible.builtin.copy",))
    with pytest.raises(PlaybookError) as caught:  # forcing a module with an action plugin
        load_playbook(str(_book(tmp_path, "copy: {content: x, dest: /tmp/x}")), bridge=forced)
    assert "action plugin" in caught.value.message


def test_settings_give_the_bridge_its_paths_and_forced_modules(tmp_path):
    from runner.playbook.bridge import bridge_for
    from runner.project.runconfig import project_config
    from runner.project.settings import resolve_project_settings

    (tmp_path / "ansible.cfg").write_text(
        "[defaults]\ncollections_paths = /a:/b\n[runner]\nbridge_modules = lineinfile, stat\n"
    )
    settings = resolve_project_settings({}, {}, str(tmp_path), str(tmp_path))
    project = project_config(settings)
    assert project.collections_path == ("/a", "/b")
    assert project.bridge_modules == ("lineinfile", "stat")
    bridge = bridge_for(project)
    assert bridge.forced == {"lineinfile", "stat"} and bridge.collections_path == ("/a", "/b")
    assert bridge.bridged("ansible.builtin.stat", {"stat", "copy"})
    assert not bridge.bridged("copy", {"stat", "copy"})
    env = {"RUNNER_BRIDGE_MODULES": "copy", "ANSIBLE_COLLECTIONS_PATHS": "/c"}
    project = project_config(resolve_project_settings({}, env, str(tmp_path), str(tmp_path)))
    assert project.bridge_modules == ("copy",) and project.collections_path == ("/c",)


COLLECTIONS_BOOK = """
- hosts: all
  collections: [runnertest.tools]
  tasks:
    - ini_set: {path: /x, section: a, option: b, value: c}
    - old_ini_set: {path: /x, section: a, option: b, value: c}
    - lineinfile: {path: /x, line: y}
    - block:
        - ini_set: {path: /x, section: a, option: b, value: c}
      collections: [ansible.legacy, runnertest.tools]
    - stat: {path: /x}
      collections: [runnertest.tools, ansible.builtin]
"""


def test_short_names_found_in_the_collections_keyword(tmp_path, coll):
    """``collections:`` on a play, block or task: a short name is the first listed
    collection's module (Ansible's order); names no listed collection has stay
    ansible.builtin's, so runner's own modules stay native."""
    book = tmp_path / "site.yml"
    book.write_text(COLLECTIONS_BOOK)
    tasks = load_playbook(str(book), bridge=coll).plays[0].tasks
    flat = [tasks[0], tasks[1], tasks[2], tasks[3].block[0], tasks[4]]
    assert [t.module for t in flat] == [
        "runnertest.tools.ini_set",
        "runnertest.tools.old_ini_set",  # the collection's redirect, followed when it runs
        "lineinfile",
        "runnertest.tools.ini_set",
        "stat",
    ]
    assert coll.find("runnertest.tools.old_ini_set").fqcn == "runnertest.tools.ini_set"
    # without the keyword a short name is not looked up in collections
    book.write_text("- hosts: all\n  tasks:\n    - ini_set: {path: /x}\n")
    with pytest.raises(PlaybookError) as caught:
        load_playbook(str(book), bridge=coll)
    assert "unknown module 'ini_set'" in caught.value.message
    # a collection module the bridge refuses is refused under its short name too
    book.write_text(
        "- hosts: all\n  tasks:\n    - needs_action: {}\n      collections: runnertest.tools\n"
    )
    with pytest.raises(PlaybookError) as caught:
        load_playbook(str(book), bridge=coll)
    assert "runnertest.tools.needs_action" in caught.value.message
    assert "action plugin" in caught.value.message and caught.value.line == 3
    # the arguments are checked against the collection module's spec
    book.write_text(
        "- hosts: all\n  collections: [runnertest.tools]\n  tasks:\n    - ini_set: {colour: red}\n"
    )
    with pytest.raises(PlaybookError) as caught:
        load_playbook(str(book), bridge=coll)
    assert "does not support 'colour'" in caught.value.message
