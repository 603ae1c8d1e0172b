"""End-to-end: `runner run PATTERN -m MODULE -a ARGS` (issue 12) against real sshd, its
verdicts compared with real `ansible HOST -m MODULE -a ARGS` on the same hosts."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from runner.testing.fleet import free_port
from tests.ansible_ssh import ansible_ssh_env
from tests.conftest import json_records

pytestmark = pytest.mark.sshd

ANSIBLE = Path(sys.executable).with_name("ansible")


def ansible(fleet, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """Real `ansible PATTERN -i INVENTORY ARGS...` on the fleet (its own HOME, no
    ControlMaster, no host key checking: the fleet's keys are throwaway)."""
    if not ANSIBLE.exists() and shutil.which("ansible") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("ansible-core is a test dependency and is missing")
        pytest.skip("ansible-core not installed (pip install -e '.[test]')")
    home = tmp_path / "ansible-home"
    home.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "HOME": str(home),
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_LOCAL_TEMP": str(home / "tmp"),
        "ANSIBLE_CONFIG": str(home / "none.cfg"),
        **ansible_ssh_env(),  # one connection a host: tests/ansible_ssh.py
        "ANSIBLE_DEPRECATION_WARNINGS": "False",
    }
    binary = str(ANSIBLE) if ANSIBLE.exists() else "ansible"
    return subprocess.run(
        [binary, "-i", str(fleet.inventory), "-e", f"ansible_python_interpreter={sys.executable}",
         *args],
        capture_output=True, text=True, env=env, timeout=180,
    )  # fmt: skip


def verdicts(stdout: str) -> dict[str, str]:
    """host -> SUCCESS/CHANGED/FAILED... from `-o` lines (runner's or ansible's)."""
    found = {}
    for line in stdout.splitlines():
        match = re.match(r"^(\S+) \| ([A-Z]+!?)", line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def test_file_directory_changed_then_ok_as_ansible_says(make_fleet, in_process, tmp_path):
    fleet = make_fleet(2)
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    args = ["-m", "file", "-a"]
    first = in_process(
        "run",
        *fleet.args(),
        "all",
        "-o",
        *args,
        f"path={ours}/{{{{ inventory_hostname }}}} state=directory",
    )
    again = in_process(
        "run",
        *fleet.args(),
        "all",
        "-o",
        *args,
        f"path={ours}/{{{{ inventory_hostname }}}} state=directory",
    )
    assert first.exit_code == again.exit_code == 0, (first, again)
    assert (ours / "web01").is_dir() and (ours / "web02").is_dir()
    a1 = ansible(
        fleet,
        tmp_path,
        "all",
        "-o",
        *args,
        f"path={theirs}/{{{{ inventory_hostname }}}} state=directory",
    )
    a2 = ansible(
        fleet,
        tmp_path,
        "all",
        "-o",
        *args,
        f"path={theirs}/{{{{ inventory_hostname }}}} state=directory",
    )
    assert verdicts(a1.stdout) == {"web01": "CHANGED", "web02": "CHANGED"}, a1
    assert verdicts(a2.stdout) == {"web01": "SUCCESS", "web02": "SUCCESS"}, a2
    assert verdicts(first.stdout) == verdicts(a1.stdout)
    assert verdicts(again.stdout) == verdicts(a2.stdout)
    # the line is ansible's: 'host | SUCCESS => {json}', the keys runner reports with
    # ansible's values
    line = again.stdout.splitlines()[0]
    assert line.startswith("web01 | SUCCESS => {")
    ours_json = json.loads(line.split(" => ", 1)[1])
    (their_line,) = [x for x in a2.stdout.splitlines() if x.startswith("web01 | ")]
    theirs_json = json.loads(their_line.split(" => ", 1)[1])
    assert ours_json["path"] == f"{ours}/web01" and theirs_json["path"] == f"{theirs}/web01"
    for key in ("changed", "state"):
        assert ours_json[key] == theirs_json[key], key
    assert again.stdout.splitlines()[-1].startswith("ok=2 changed=0 failed=0 unreachable=0")


def test_file_touch_is_changed_every_time_as_in_ansible(make_fleet, in_process, tmp_path):
    fleet = make_fleet(1)
    for tool, target in (("runner", tmp_path / "r"), ("ansible", tmp_path / "a")):
        for _ in range(2):
            a = f"path={target} state=touch"
            if tool == "runner":
                res = in_process("run", *fleet.args(), "all", "-o", "-m", "file", "-a", a)
                assert res.exit_code == 0, res
            else:
                res = ansible(fleet, tmp_path, "all", "-o", "-m", "file", "-a", a)
            assert verdicts(res.stdout) == {"web01": "CHANGED"}, (tool, res)
        assert target.is_file()


def test_copy_content_changed_then_ok_and_the_file_is_ansibles(make_fleet, in_process, tmp_path):
    fleet = make_fleet(3)
    dest = tmp_path / "copied"
    dest.mkdir()
    a = f"content='hi there\\n' dest={dest}/{{{{ inventory_hostname }}}}.txt mode=0640"
    first = in_process("run", *fleet.args(), "all", "-m", "copy", "-a", a)
    assert first.exit_code == 0, first
    # one group per host (their dest differ), each saying changed
    assert first.stdout.count(" changed ----") == 3, first.stdout
    assert f"dest: {dest}/web01.txt" in first.stdout
    assert re.search(r"^ok=3 changed=3 failed=0 unreachable=0 hosts=3 in", first.stdout, re.M)
    again = in_process("run", *fleet.args(), "all", "-m", "copy", "-a", a)
    assert again.exit_code == 0 and again.stdout.count(" ok ----") == 3, again
    assert re.search(r"^ok=3 changed=0 failed=0", again.stdout, re.M)
    theirs = tmp_path / "theirs.txt"
    res = ansible(
        fleet,
        tmp_path,
        "web01",
        "-o",
        "-m",
        "copy",
        "-a",
        f"content='hi there\\n' dest={theirs} mode=0640",
    )
    assert verdicts(res.stdout) == {"web01": "CHANGED"}, res
    assert (dest / "web01.txt").read_bytes() == theirs.read_bytes() == b"hi there\n"
    assert (dest / "web01.txt").stat().st_mode & 0o777 == theirs.stat().st_mode & 0o777 == 0o640


def test_same_results_fold_across_hosts(make_fleet, in_process, tmp_path):
    fleet = make_fleet(4)
    shared = tmp_path / "shared"
    shared.mkdir()
    res = in_process(
        "run", *fleet.args(), "all", "-m", "file", "-a", f"path={shared} state=directory"
    )
    assert res.exit_code == 0, res
    # one group for the four hosts, with the path's information as Ansible registers it
    assert res.stdout.count("----") == 2 and "---- web[01-04] (4) ok ----\n" in res.stdout
    assert f"\npath: {shared}\nsize: 4096\nstate: directory\n" in res.stdout


def test_shell_free_form_and_command_failures(make_fleet, in_process):
    fleet = make_fleet(3)
    res = in_process("run", *fleet.args(), "all", "-m", "shell", "-a", "echo $((1+1)) | tr 2 3")
    assert res.exit_code == 0, res
    assert "---- web[01-03] (3) changed ----\n3\n" in res.stdout
    failed = in_process("run", *fleet.args(), "all", "-m", "command", "-a", "false")
    assert failed.exit_code == 2, failed
    assert "---- web[01-03] (3) exit 1 ----" in failed.stdout
    assert re.search(r"^ok=0 changed=0 failed=3 unreachable=0 hosts=3", failed.stdout, re.M)
    # -a alone: the command module, as in ansible (no shell: the pipe is an argument)
    plain = in_process("run", *fleet.args(), "web01", "-a", "echo a | b", "-o")
    assert plain.exit_code == 0, plain
    assert plain.stdout.splitlines()[0] == "web01 | CHANGED | rc=0 | (stdout) a | b"


def test_shell_one_line_is_ansibles(make_fleet, in_process, tmp_path):
    fleet = make_fleet(1)
    command = "echo out; echo err >&2; exit 3"
    ours = in_process("run", *fleet.args(), "all", "-o", "-m", "shell", "-a", command)
    theirs = ansible(fleet, tmp_path, "all", "-o", "-m", "shell", "-a", command)
    assert ours.exit_code == 2, ours
    expected = "web01 | FAILED | rc=3 | (stdout) out (stderr) err"
    assert expected in theirs.stdout.splitlines(), theirs
    assert ours.stdout.splitlines()[0] == expected


def test_unreachable_and_failed_exit_codes_as_runner_run(make_fleet, in_process, tmp_path):
    fleet = make_fleet(2, host_vars={"web02": {"ansible_port": free_port()}})
    res = in_process(
        "run", *fleet.args(), "all", "-m", "file", "-a", f"path={tmp_path} state=directory"
    )
    assert res.exit_code == 4, res
    assert re.search(r"^web02: unreachable: connection refused", res.stdout, re.M)
    both = in_process(
        "run", *fleet.args(), "all", "-m", "file", "-a", f"path={tmp_path}/none state=file"
    )
    assert both.exit_code == 6, both
    assert f"web01: failed: file ({tmp_path}/none) is absent, cannot continue" in both.stdout


def test_json_records_carry_the_module_result(make_fleet, in_process, tmp_path):
    fleet = make_fleet(2, host_vars={"web02": {"ansible_port": free_port()}})
    dest = tmp_path / "j.txt"
    res = in_process(
        "run", *fleet.args(), "all", "--json", "-m", "copy", "-a", f"content=x dest={dest}"
    )
    assert res.exit_code == 4, res
    records = {r.get("host", r["type"]): r for r in json_records(res.stdout)}
    web01, web02, summary = records["web01"], records["web02"], records["summary"]
    assert web01["status"] == "changed" and web01["changed"] is True
    assert web01["module"] == "copy" and web01["exit_code"] is None
    assert web01["result"]["dest"] == str(dest) and web01["result"]["changed"] is True
    assert web02["status"] == "unreachable" and web02["module"] == "copy"
    assert web02["result"] is None and web02["error_kind"] == "connect"
    assert summary["changed"] == 1 and summary["ok"] == 1 and summary["unreachable"] == 1
    shell = in_process("run", *fleet.args(), "web01", "--json", "-m", "shell", "-a", "echo hi")
    (host,) = [r for r in json_records(shell.stdout) if r["type"] == "host"]
    assert (host["exit_code"], host["stdout"], host["result"]["rc"]) == (0, "hi", 0)


def test_templated_args_and_extra_vars(make_fleet, in_process, tmp_path):
    fleet = make_fleet(2, host_vars={"web01": {"color": "red"}, "web02": {"color": "blue"}})
    res = in_process(
        "run", *fleet.args(), "all", "-e", f"base={tmp_path}", "-m", "copy",
        "-a", "content={{ color }} dest={{ base }}/{{ inventory_hostname }}",
    )  # fmt: skip
    assert res.exit_code == 0, res
    assert (tmp_path / "web01").read_text() == "red"
    assert (tmp_path / "web02").read_text() == "blue"
    undefined = in_process("run", *fleet.args(), "all", "-m", "debug", "-a", "msg={{ nope }}")
    assert undefined.exit_code == 2, undefined
    assert "web[01-02]: failed: -a: " in undefined.stdout and "nope" in undefined.stdout


def test_check_and_diff_change_nothing(make_fleet, in_process, tmp_path):
    fleet = make_fleet(1)
    target = tmp_path / "f.txt"
    target.write_text("old\n")
    res = in_process(
        "run",
        *fleet.args(),
        "all",
        "--check",
        "--diff",
        "-m",
        "copy",
        "-a",
        f"content='new\\n' dest={target}",
    )
    assert res.exit_code == 0, res
    assert target.read_text() == "old\n"
    assert "---- web01 (1) changed ----" in res.stdout
    assert "-old\n+new\n" in res.stdout
    skipped = in_process("run", *fleet.args(), "all", "-C", "-m", "shell", "-a", f"rm {target}")
    assert skipped.exit_code == 0 and target.exists(), skipped
    assert "---- web01 (1) skipped ----" in skipped.stdout
    assert "skipped=1" in skipped.stdout.splitlines()[-1]


def test_errors_before_any_connection(make_fleet, in_process, tmp_path):
    # nothing listens on this fleet's port: reaching a host would be exit 4, not 1
    fleet = make_fleet(1, host_vars={"web01": {"ansible_port": free_port()}})
    cases = [
        (["-m", "shel", "-a", "true"], "-m shel: unknown module", "did you mean shell?"),
        (["-m", "frobnicate"], "-m frobnicate: unknown module", "runner supports: "),
        (["-m", "copy", "-a", "content=hi"], "copy needs 'dest'", None),
        (["-m", "file", "-a", "path=/x colour=red"], "file does not support 'colour'", None),
        (["-m", "file", "-a", "path='/x"], "quote is not closed", None),
        (["-m", "copy", "-a", f"src={tmp_path}/none dest=/x"], "not found", None),
        (["-m", "debug", "-a", "msg={{ 1 +* 2 }}"], "-a msg:", None),
    ]
    for args, message, hint in cases:
        res = in_process("run", *fleet.args(), "all", *args)
        assert res.exit_code == 1, (args, res)
        assert res.stdout == "" and message in res.stderr, (args, res)
        if hint:
            assert hint in res.stderr, (args, res)
    both = in_process("run", *fleet.args(), "all", "uptime", "-m", "shell")
    assert both.exit_code == 5 and "give COMMAND or -m/-a, not both" in both.stderr, both
    check = in_process("run", *fleet.args(), "all", "--check", "uptime")
    assert check.exit_code == 5 and "--check needs -m MODULE" in check.stderr, check
    script = in_process("run", *fleet.args(), "all", "-m", "shell", "-a", "x", "--chdir", "/")
    assert script.exit_code == 5 and "--chdir cannot be combined with -m/-a" in script.stderr


def test_list_hosts_with_a_module(make_fleet, in_process):
    fleet = make_fleet(2, host_vars={"web02": {"ansible_port": free_port()}})
    res = in_process("run", *fleet.args(), "all", "--list-hosts", "-m", "file", "-a", "path=/x")
    assert res.exit_code == 0, res
    assert res.stdout == "  hosts (2):\n    web01\n    web02\n"


def test_stream_out_dir_and_procs(make_fleet, in_process, cli, tmp_path):
    fleet = make_fleet(3)
    streamed = in_process(
        "run", *fleet.args(), "all", "--stream", "-m", "shell", "-a", "echo one; echo two >&2"
    )
    assert streamed.exit_code == 0, streamed
    lines = streamed.stdout.splitlines()
    for name in fleet.names:
        assert f"{name} | one" in lines and f"{name} ! two" in lines
    shown = in_process("run", *fleet.args(), "web01", "--stream", "-m", "debug", "-a", "msg=hello")
    assert "web01 | [ok] msg: hello" in shown.stdout.splitlines(), shown
    out = tmp_path / "out"
    kept = in_process(
        "run", *fleet.args(), "all", "--out-dir", str(out), "-m", "shell", "-a", "echo kept"
    )
    assert kept.exit_code == 0, kept
    assert (out / "web02.stdout").read_text() == "kept\n"
    record = json.loads((out / "web02.json").read_text())
    assert record["module"] == "shell" and record["result"]["stdout"] == "kept"
    again = in_process(
        "run", *fleet.args(), "all", "--out-dir", str(out), "-m", "shell", "-a", "echo new"
    )
    assert again.exit_code == 0 and (out / "web02.stdout").read_text() == "new\n"
    # --procs workers run the same job and report the same verdicts and results
    a = f"path={tmp_path} state=directory"
    split = cli("run", *fleet.args(), "all", "--procs", "2", "--json", "-m", "file", "-a", a)
    whole = in_process("run", *fleet.args(), "all", "--json", "-m", "file", "-a", a)
    assert split.exit_code == whole.exit_code == 0, (split, whole)

    def essence(stdout: str) -> list:
        return sorted(
            (r["host"], r["status"], r["module"], json.dumps(r["result"], sort_keys=True))
            for r in json_records(stdout)
            if r["type"] == "host"
        )

    assert essence(split.stdout) == essence(whole.stdout)
    assert len(essence(split.stdout)) == 3


def test_become_runs_the_module_as_the_become_user(make_fleet, in_process):
    fleet = make_fleet(1)
    if fleet.server.user != "root":
        pytest.skip("the test sshd logs in as root only when the tests run as root")
    res = in_process(
        "run",
        *fleet.args(),
        "all",
        "-o",
        "-b",
        "--become-user",
        "nobody",
        "-m",
        "command",
        "-a",
        "id -un",
    )
    assert res.exit_code == 0, res
    assert res.stdout.splitlines()[0] == "web01 | CHANGED | rc=0 | (stdout) nobody"


def test_command_options_in_the_free_form_as_ansible_takes_them(make_fleet, in_process, tmp_path):
    """chdir= and creates= are taken out of the command line; the rest runs; the -o
    lines are ansible's for the same -a on the same host."""
    fleet = make_fleet(1)
    marker = tmp_path / "made"
    marker.write_text("")
    for args in (
        ["-m", "shell", "-a", f"pwd; echo a=b chdir={tmp_path}"],
        ["-m", "command", "-a", f"touch {tmp_path}/never creates={marker}"],
        ["-a", "printf '%s|' 'x  y' \"a\\tb\""],
    ):
        ours = in_process("run", *fleet.args(), "all", "-o", *args)
        theirs = ansible(fleet, tmp_path, "all", "-o", *args)
        line = ours.stdout.splitlines()[0]
        assert line in theirs.stdout.splitlines(), (args, ours, theirs)
    assert not (tmp_path / "never").exists()


def test_a_command_timeout_fails_the_host_as_in_runner_run(make_fleet, in_process):
    fleet = make_fleet(1)
    ours = in_process(
        "run", *fleet.args(), "all", "--json", "-t", "0.5", "-m", "shell", "-a", "sleep 30"
    )
    plain = in_process("run", *fleet.args(), "all", "--json", "-t", "0.5", "sleep 30")
    assert ours.exit_code == plain.exit_code == 2, (ours, plain)
    (module_host,) = [r for r in json_records(ours.stdout) if r["type"] == "host"]
    (command_host,) = [r for r in json_records(plain.stdout) if r["type"] == "host"]
    for key in ("status", "error", "error_kind", "exit_code"):
        assert module_host[key] == command_host[key], key
    assert module_host["error_kind"] == "timeout"


def test_a_module_on_a_host_made_local_by_extra_vars_runs_here(tmp_path):
    """-e ansible_connection=local turns the host's own connection local: the module runs
    on this machine, as ansible does (it used to fail: "an ad-hoc task never delegates")."""
    from tests.conftest import run_inprocess

    target = tmp_path / "made-here"
    res = run_inprocess(
        "run", "-i", "localhost,", "all", "-e", "ansible_connection=local",
        "-m", "file", "-a", f"path={target} state=touch", "--json",
    )  # fmt: skip
    assert res.exit_code == 0, res
    host = [r for r in map(json.loads, res.stdout.splitlines()) if r["type"] == "host"][0]
    assert host["status"] == "changed", host
    assert target.exists()
