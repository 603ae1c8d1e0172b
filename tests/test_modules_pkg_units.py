"""The pure parts of runner's pip, apt_repository and apt_key (requirements and versions,
sources.list lines and file names, key ids), without a host; the argument checks of the
package-side modules at load time."""

from __future__ import annotations

import pytest

from runner.playbook import modspec
from runner.playbook.modules.aptkey import parse_key_id, parse_keys
from runner.playbook.modules.pipmod import recover_names
from runner.playbook.modules.pipversions import (
    has_specifier,
    package_name,
    requirement,
    satisfied,
    version_key,
)
from runner.playbook.modules.repos import dump_sources, parse_source, plan_repo, suggest_filename


def test_requirements_print_as_pip_does():
    assert requirement("requests [security] >= 2.0 , <3") == "requests[security]<3,>=2.0"
    assert requirement("./local/dir") == "./local/dir"
    assert package_name("Foo_Bar.baz>=1") == "foo-bar-baz"
    assert has_specifier("a==1") and not has_specifier("a")
    assert recover_names(["a>=1", "<2", "b"]) == ["a>=1,<2", "b"]


@pytest.mark.parametrize(
    ("spec", "version", "want"),
    [
        ("a==1.0", "1.0.0", True), ("a==1.0", "1.0.1", False), ("a!=1.0", "1.1", True),
        ("a>=1.0,<2", "2.0", False), ("a>1.0", "1.0.post1", True), ("a<1.0", "1.0rc1", True),
        ("a==1.*", "1.9", True), ("a!=1.*", "1.9", False), ("a~=1.4.2", "1.4.9", True),
        ("a~=1.4.2", "1.5", False), ("a===1.0", "1.0", True), ("a", "0.1", True),
    ],
)  # fmt: skip
def test_versions_satisfy_specifiers_as_pep_440(spec, version, want):
    assert satisfied(spec, version) is want


def test_version_order():
    order = ["1.0.dev1", "1.0a1", "1.0b2", "1.0rc1", "1.0", "1.0.post1", "1.1", "2!0.1"]
    assert sorted(reversed(order), key=version_key) == order


def test_sources_lines_and_file_names_as_ansible_core():
    lines = ["deb http://a/ x main\n", "#deb  http://b/ y main # note\n", "\n", "# hello\n"]
    parsed = [parse_source(line) for line in lines]
    assert parsed[1] == (True, False, "deb http://b/ y main", "note")
    assert (
        dump_sources(parsed) == "deb http://a/ x main\n# deb http://b/ y main # note\n\n# hello\n"
    )
    assert suggest_filename("deb http://ppa.example.com/x/ubuntu jammy main", None) == (
        "ppa_example_com_x_ubuntu.list"
    )
    assert suggest_filename("deb http://a/ x main", "mine") == "mine.list"


def test_yum_repo_plan_keeps_other_sections():
    text = "[other]\nname = O\nbaseurl = http://o/\n\n"
    before, after, new = plan_repo(
        text,
        {
            "name": "epel",
            "description": "E",
            "baseurl": ["http://a/", "http://b/"],
            "gpgcheck": "yes",
            "exclude": "k*,x",
        },  # fmt: skip
    )
    assert before == "[other]\nbaseurl = http://o/\nname = O\n\n"
    assert (
        "[epel]\nbaseurl = http://a/\nhttp://b/\nexclude = k* x\ngpgcheck = 1\nname = E\n" in after
    )
    assert new is not None and new.startswith("[other]")
    assert "baseurl = http://a/\n\thttp://b/\n" in new  # configparser continues lines
    assert plan_repo(text, {"name": "other", "state": "absent"})[2] is None


def test_key_ids_and_listings():
    assert parse_key_id("0xdeadbeef") == ("DEADBEEF", "DEADBEEF", "DEADBEEF")
    with pytest.raises(ValueError):
        parse_key_id("ABCDEF0123")
    listing = (
        "pub   ed25519/0123456789ABCDEF 2024-01-01 [SC]\nuid   x\n"
        "sub   cv25519/FEDCBA9876543210 2024-01-01 [E]\n"
        "pub   rsa4096/1111222233334444 2019-01-01 [SC] [expired: 2020-01-01]\n"
    )
    assert parse_keys(listing) == ["0123456789ABCDEF", "FEDCBA9876543210"]
    assert parse_keys("pub:-:255:22:AAAABBBBCCCCDDDD:1:::\n", short=True) == ["CCCCDDDD"]


def test_package_side_arguments_are_checked_at_load_time():
    with pytest.raises(ValueError, match="either 'name' or 'requirements'"):
        modspec.check_args("pip", {"name": "a", "requirements": "r.txt"})
    with pytest.raises(ValueError, match="state must be one of"):
        modspec.check_args("pip", {"name": "a", "state": "gone"})
    with pytest.raises(ValueError, match="apt_key takes one of"):
        modspec.check_args("apt_key", {"data": "x", "url": "http://k"})
    assert modspec.check_args("yum_repository", {"name": "e", "validate_certs": False}) == {
        "name": "e", "sslverify": False,
    }  # fmt: skip
    with pytest.raises(ValueError, match="does not support 'nosuch'"):
        modspec.check_args("apt_repository", {"repo": "deb x y", "nosuch": 1})
    with pytest.raises(ValueError, match="strategy must be one of"):
        modspec.check_args("package_facts", {"strategy": "some"})
