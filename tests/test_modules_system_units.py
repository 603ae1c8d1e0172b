"""Parsing and decision logic of the system modules, without a host."""

from __future__ import annotations

import pytest

from runner.playbook import modspec
from runner.playbook.modules import MODULES
from runner.playbook.modules.initscripts import sysv_status_running
from runner.playbook.modules.services import parse_sections, parse_systemctl_show


def test_every_declared_module_is_implemented():
    assert set(modspec.SPECS) <= set(MODULES)


def test_systemctl_show_multi_line_exec_values_only():
    text = (
        "Description={ not multi-line\n"
        "ExecStart={ path=/usr/bin/app ; argv[]=/usr/bin/app -x ;\n"
        "  status=0/0 }\n"
        "ActiveState=active\n"
        "no equals sign here\n"
    )
    assert parse_systemctl_show(text) == {
        "Description": "{ not multi-line",
        "ExecStart": "{ path=/usr/bin/app ; argv[]=/usr/bin/app -x ;\n  status=0/0 }",
        "ActiveState": "active",
    }


def test_probe_sections():
    text = "@@runner-svc:show\nA=1\nB=2\n@@runner-svc:show-rc 0\n@@runner-svc:initd yes\n"
    assert parse_sections(text) == {"show": "A=1\nB=2", "show-rc": "0", "initd": "yes"}


@pytest.mark.parametrize(
    ("out", "rc", "running"),
    [
        ("", 3, False),  # LSB: not running
        ("app is running", 0, True),
        ("app is not running", 0, False),
        ("stopped", 0, False),
        ("started", 0, True),
        ("some\nlonger\noutput", 0, True),  # keywords are read from one line only
        ("", 0, True),
        ("weird", 5, None),
    ],
)
def test_init_script_status_as_ansible_reads_it(out, rc, running):
    assert sysv_status_running(out, rc, "app") is running


@pytest.mark.parametrize(
    ("module", "args", "error"),
    [
        ("systemd", {"name": "x", "state": "begun"}, "state must be one of"),
        ("service", {"name": "x"}, "needs 'state' or 'enabled'"),
        ("systemd", {"name": "x"}, "needs 'state' or 'enabled'"),
        ("service", {"name": "x", "state": "started", "colour": 1}, "does not support 'colour'"),
    ],
)
def test_bad_arguments_are_refused_at_load_time(module, args, error):
    with pytest.raises(ValueError, match=error):
        modspec.check_args(module, dict(args))


def test_templated_choices_wait_for_the_run():
    assert modspec.check_args("systemd", {"name": "x", "state": "{{ wanted }}"})
    assert modspec.check_args("systemd_service", {"unit": "x", "daemon-reload": True}) == {
        "name": "x",
        "daemon_reload": True,
    }
