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


def test_apt_names_and_pins():
    from runner.playbook.modules.base import ModuleFailure
    from runner.playbook.modules.packages import Wanted, parse_names

    assert parse_names(["nginx", "curl=7.88*"]) == [Wanted("nginx"), Wanted("curl", "7.88*")]
    with pytest.raises(ModuleFailure, match="invalid package spec"):
        parse_names("a=1=2")


def test_cron_edits_keep_other_lines_and_adopt_unmarked_jobs():
    from runner.playbook.modules.crontab import Crontab, edit_crontab, job_line, read_crontab

    tab = read_crontab("MAILTO=ops\n# mine\n0 1 * * * keep-me\n5 4 * * * backup\n", False)
    line = job_line({"job": "backup", "minute": "5", "hour": "4"}, None, False)
    assert edit_crontab(tab, "nightly", line, False)  # adopted: only the marker is added
    assert tab.lines == [
        "MAILTO=ops", "# mine", "0 1 * * * keep-me", "#Ansible: nightly", "5 4 * * * backup",
    ]  # fmt: skip
    assert not edit_crontab(tab, "nightly", line, False)
    assert edit_crontab(tab, "nightly", line.replace("5 4", "6 4"), False)
    assert tab.jobs() == ["nightly"] and tab.envs() == ["MAILTO"]
    assert edit_crontab(tab, "MAILTO", 'MAILTO="root"', True)
    assert tab.lines[0] == 'MAILTO="root"'
    assert edit_crontab(tab, "nightly", None, False)
    assert Crontab(tab.lines).render() == 'MAILTO="root"\n# mine\n0 1 * * * keep-me\n'


def test_wait_for_refuses_what_it_cannot_do_before_touching_the_host():
    from runner.playbook.modules.base import ModuleContext, ModuleFailure
    from runner.playbook.modules.waiting import wait_for

    def no_host():
        raise AssertionError("no connection expected")

    ctx = ModuleContext(host=None, connect=no_host, variables={}, base_dir="/")  # type: ignore[arg-type]
    for args, error in (
        ({"port": 22, "path": "/x"}, "can not both be passed"),
        ({"path": "/x", "state": "stopped"}, "only be used for checking a port"),
        ({"path": "/x", "search_regex": "("}, "Invalid regular expression"),
    ):
        with pytest.raises(ModuleFailure, match=error):
            wait_for(ctx, args)


def test_package_accepts_what_its_known_backend_accepts_at_load_time():
    args = modspec.check_args("package", {"name": "x", "purge": True, "autoremove": True})
    assert args["purge"] is True  # use not given: the backend is the host's, checked later
    modspec.check_args("package", {"name": "x", "use": "apt", "allow_downgrade": True})
    modspec.check_args("package", {"name": "x", "use": "dnf", "enablerepo": "epel"})
    modspec.check_args("package", {"name": "x", "use": "apk", "whatever": 1})  # not known
    with pytest.raises(ValueError, match=r"passes 'enablerepo' to apt, which does not"):
        modspec.check_args("package", {"name": "x", "use": "apt", "enablerepo": "epel"})
    with pytest.raises(ValueError, match=r"passes 'purge' to yum"):
        modspec.check_args("package", {"name": "x", "use": "yum", "purge": True})
    with pytest.raises(ValueError, match="state must be one of"):
        modspec.check_args("package", {"name": "x", "state": "gone"})


def test_package_passes_apt_arguments_on_and_refuses_others_at_run_time(monkeypatch):
    from types import SimpleNamespace

    from runner.playbook.modules import packages
    from runner.playbook.modules.base import ModuleFailure

    seen: list[dict] = []
    monkeypatch.setattr(packages, "apt", lambda ctx, args: seen.append(args) or {"changed": 0})
    ctx = SimpleNamespace(variables={"ansible_facts": {"pkg_mgr": "apt"}})
    packages.package(ctx, {"name": "x", "purge": True, "update-cache": True, "state": "absent"})
    assert seen == [{"name": "x", "purge": True, "update_cache": True, "state": "absent"}]
    with pytest.raises(ModuleFailure, match=r"passes 'enablerepo' to .*apt, which does not"):
        packages.package(ctx, {"name": "x", "enablerepo": "epel"})
