"""`runner run -m MODULE -a ARGS`: how -a is read (Ansible's parse_kv rules, compared with
ansible-core's own parse_kv on the same strings) and checked before any connection."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from runner.errors import ConfigError
from runner.events import HostFinished
from runner.executors.base import read_job
from runner.executors.protocol import decode_event, encode_event
from runner.models import CommandResult, HostResult, Status
from runner.playbook.adhoc import ModuleJob
from runner.playbook.adhoc_args import (
    COMMAND_OPTIONS,
    module_args,
    module_name,
    parse_kv,
    parse_module_args,
    split_words,
)

# (text, free form?) pairs: quoting, escapes, \=, Jinja2 blocks, spacing, newlines.
CASES = [
    ("path=/tmp/x state=touch", False),
    ("dest='/tmp/a b' content=\"x y\"", False),
    ('content="it\'s" mode=0644', False),
    (r"content=a\nb\tc", False),
    (r"x\=1 y=2", False),
    (r"a\=b=c", False),
    ("msg='{{ inventory_hostname }} is {{ x | default(\"y z\") }}'", False),
    ("path={{ base }}/{{ inventory_hostname }} state=directory", False),
    ("k= spaced ", False),
    ("k='' j=\"\"", False),
    ("=leading x=1", False),
    ('content="a \\" b" dest=/x', False),
    ("echo $HOME | wc -c", True),
    ("echo a=b chdir=/srv", True),
    ("echo  two  spaces creates=/x", True),
    ("printf '%s\\n' a b removes=/y", True),
    ("cat <<EOF\nhi\nEOF", True),
    ("echo {{ x }} y=1 executable=/bin/bash", True),
    (r"echo a\=b", True),
    ("{ echo a; echo b; }", True),
    ("echo 'chdir=/no'", True),
    (r"echo \x41", True),
    ("echo a  \n  b\n\nc  ", True),
    ("echo a chdir=/x\n  b", True),
    ("  echo lead", True),
    ("echo a\tb", True),
]


def _ansible_python() -> str:
    python = Path(sys.executable)
    probe = subprocess.run(
        [str(python), "-c", "import ansible.parsing.splitter"], capture_output=True
    )
    if probe.returncode != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("ansible-core is a test dependency and is missing")
        pytest.skip("ansible-core not installed (pip install -e '.[test]')")
    return str(python)


def ansible_parse_kv(cases: list[tuple[str, bool]]) -> list[dict]:
    """ansible-core's own parse_kv on each case, in a separate process."""
    script = (
        "import json, sys\n"
        "from ansible.parsing.splitter import parse_kv\n"
        "cases = json.load(sys.stdin)\n"
        "print(json.dumps([{str(k): str(v) for k, v in parse_kv(t, check_raw=c).items()}"
        " for t, c in cases]))\n"
    )
    out = subprocess.run(
        [_ansible_python(), "-c", script],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(out.stdout)


def test_parse_kv_gives_what_ansible_core_gives():
    theirs = ansible_parse_kv(CASES)
    for (text, free_form), expected in zip(CASES, theirs, strict=True):
        ours = parse_kv(text, COMMAND_OPTIONS if free_form else None)
        assert ours == expected, text


def test_json_arguments_as_ansible_takes_them():
    assert parse_module_args("copy", '{"content": "a b", "dest": "/x", "mode": 420}') == {
        "content": "a b",
        "dest": "/x",
        "mode": 420,
    }
    # a shell's { ...; } group is not JSON: it stays the command
    assert parse_module_args("shell", "{ echo a; }") == {"_raw_params": "{ echo a; }"}
    assert parse_module_args("file", "") == {}


def test_words_that_are_not_key_value_are_refused_for_modules_without_free_form():
    with pytest.raises(ValueError, match="file takes key=value arguments, got 'touch'"):
        parse_module_args("file", "path=/x touch")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("a='b", "a ' quote is not closed"),
        ('a="b', 'a " quote is not closed'),
        ("a={{ b", "a Jinja2 block is not closed"),
    ],
)
def test_unbalanced_quotes_and_blocks_are_errors(text, problem):
    with pytest.raises(ValueError, match=problem):
        split_words(text)


def test_unknown_module_suggests_close_names_and_lists_the_supported_ones():
    with pytest.raises(ConfigError) as info:
        module_name("shel")
    assert info.value.message == "-m shel: unknown module"
    assert info.value.hint is not None
    assert info.value.hint.startswith("did you mean shell?")
    assert "runner supports: " in info.value.hint and "command, copy" in info.value.hint
    with pytest.raises(ConfigError) as info:
        module_name("synchronize")
    assert "instead, use -m command -a 'rsync ..." in str(info.value.hint)
    assert module_name("ansible.builtin.copy") == "copy"


@pytest.mark.parametrize(
    ("module", "text", "message"),
    [
        (
            "file",
            "pth=/x",
            "file does not support 'pth'; it accepts: access_time, access_time_format, follow",
        ),
        ("copy", "content=hi", "copy needs 'dest'"),
        ("copy", "dest=/x", "copy needs 'src' or 'content'"),
        ("file", "path=/x state=gone", "file state must be one of"),
        ("shell", "", "shell needs a command"),
        ("shell", "chdir=/srv", "shell needs a command"),
        ("raw", "echo hi chdir=/x", "raw does not support 'chdir'"),
        ("command", '{"argv": "ls -l"}', "argv must be a list"),
        ("copy", "src=/no/such/file dest=/x", "local file '/no/such/file' not found"),
        ("file", "path={{ x", "a Jinja2 block is not closed"),
        ("debug", "msg={{ 1 +* 2 }}", "-a msg:"),
    ],
)
def test_argument_errors_name_the_argument(module, text, message):
    with pytest.raises(ConfigError) as info:
        module_args(module, text)
    assert message in str(info.value)


def test_arguments_are_normalised_as_in_a_playbook():
    assert module_args("file", "dest=/x state=touch") == {"path": "/x", "state": "touch"}
    assert module_args("shell", "echo hi chdir=/srv") == {
        "chdir": "/srv",
        "_raw_params": "echo hi",
    }


def test_the_job_crosses_a_process_boundary_as_data():
    job = ModuleJob(
        "copy",
        {"content": "hi", "dest": "/tmp/{{ inventory_hostname }}", "mode": 420},
        check_mode=True,
        diff=True,
        env={"A": "1"},
        pty=False,
        base_dir="/srv",
    )
    again = read_job(json.loads(json.dumps(job.to_dict())))
    assert again == job


def test_a_module_result_crosses_a_process_boundary_whole():
    result = HostResult(
        "web1",
        Status.CHANGED,
        CommandResult(0, b"hi", b""),
        module="shell",
        module_result={"changed": True, "rc": 0, "stdout": "hi", "stdout_lines": ["hi"]},
    )
    event = HostFinished(result)
    back = decode_event(json.loads(json.dumps(encode_event(event))))
    assert isinstance(back, HostFinished)
    assert back.result.module == "shell"
    assert back.result.module_result == result.module_result
    assert back.result.status is Status.CHANGED
