"""The pure parts of runner's yum/dnf (runner.playbook.modules.rpmquery, rpmpkgs._plan) and
their load-time argument checks, without a host."""

from __future__ import annotations

import pytest

from runner.playbook import modspec
from runner.playbook.modules.rpmpkgs import _plan
from runner.playbook.modules.rpmquery import (
    MARK,
    Rpm,
    dnf_flags,
    parse_probe,
    parse_updates,
    rpm_vercmp,
)


@pytest.mark.parametrize(
    ("a", "b", "want"),
    [
        ("1.0", "1.0", 0), ("1.10", "1.9", 1), ("1.0", "1.0.1", -1), ("2.0", "10", -1),
        ("1.0a", "1.0", 1), ("1.0", "1.0a", -1), ("1a", "1b", -1), ("1.01", "1.1", 0),
        ("1.0~rc1", "1.0", -1), ("1.0~rc1", "1.0~rc2", -1), ("1.0^git1", "1.0", 1),
        ("1.0^git1", "1.0.1", -1), ("1_0", "1.0", 0), ("el9", "el10", -1), ("5", "a", 1),
    ],
)  # fmt: skip
def test_rpm_vercmp_orders_versions_as_rpm(a, b, want):
    assert rpm_vercmp(a, b) == want
    assert rpm_vercmp(b, a) == -want


def test_probe_and_check_update_parsing():
    text = (
        f"{MARK}spec 0\ninst httpd\t(none)\t2.4.1\t1.el9\tx86_64\n"
        f"{MARK}spec 1\nbase vim\t2\t9.0\t3\tx86_64\navail vim.x86_64  2:9.1-1  appstream\n"
    )
    found = parse_probe(text, ["httpd", "vim-9.1"])
    assert found["httpd"].installed == [Rpm("httpd", "(none)", "2.4.1", "1.el9", "x86_64")]
    assert found["httpd"].installed[0].nevra == "httpd-2.4.1-1.el9.x86_64"
    assert found["vim-9.1"].others[0].nevra == "vim-2:9.0-3.x86_64"
    assert found["vim-9.1"].offered == ["vim.x86_64  2:9.1-1  appstream"]
    updates = parse_updates(
        "\nhttpd.x86_64   2.4.2-1.el9   appstream\nlong.name.noarch  1-2  baseos\n"
        "Obsoleting Packages\nold.x86_64  1-1  baseos\n"
    )
    assert updates == {"httpd": ("x86_64", "2.4.2-1.el9"), "long.name": ("noarch", "1-2")}


def test_dnf_flags_for_the_arguments():
    flags = dnf_flags(
        {"enablerepo": "epel,crb", "disablerepo": ["*"], "exclude": ["kernel*"],
         "conf_file": "/etc/my dnf.conf", "installroot": "/", "releasever": 9,
         "disable_gpg_check": True, "security": "yes", "install_weak_deps": False,
         "best": False, "sslverify": "no"}
    )  # fmt: skip
    assert flags == [
        "--enablerepo=epel", "--enablerepo=crb", "'--disablerepo=*'", "'--exclude=kernel*'",
        "'--config=/etc/my dnf.conf'", "--releasever=9", "--nogpgcheck", "--security",
        "--setopt=best=False", "--setopt=install_weak_deps=False", "--setopt=sslverify=False",
    ]  # fmt: skip


def test_plan_keeps_a_newer_version_unless_downgrades_are_allowed():
    found = parse_probe(f"{MARK}spec 0\nbase nginx\t0\t1.22\t1\tx86_64\n", ["nginx-1.20"])
    assert _plan({}, "present", ["nginx-1.20"], found, {}, False).commands == []
    plan = _plan({"allow_downgrade": True}, "present", ["nginx-1.20"], found, {}, False)
    assert plan.commands == [("downgrade", ["nginx-1.20"])]
    older = parse_probe(f"{MARK}spec 0\nbase nginx\t0\t1.18\t1\tx86_64\n", ["nginx-1.20"])
    assert _plan({}, "present", ["nginx-1.20"], older, {}, False).commands == [
        ("install", ["nginx-1.20"])
    ]


def test_yum_and_dnf_arguments_are_checked_at_load_time():
    assert modspec.check_args("yum", {"pkg": "httpd", "expire-cache": True}) == {
        "name": "httpd", "update_cache": True,
    }  # fmt: skip
    with pytest.raises(ValueError, match="state must be one of"):
        modspec.check_args("dnf", {"name": "x", "state": "gone"})
    with pytest.raises(ValueError, match="does not support 'purge'"):
        modspec.check_args("dnf", {"name": "x", "purge": True})
    with pytest.raises(ValueError, match="either 'best' or 'nobest'"):
        modspec.check_args("dnf", {"name": "x", "best": True, "nobest": True})
    assert "yum" not in modspec.INSTEAD and "dnf" not in modspec.INSTEAD
