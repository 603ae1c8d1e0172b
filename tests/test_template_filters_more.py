"""Filters real Ansible cannot be asked about here (password_hash needs passlib in
ansible-core 2.19; json_query lives in community.general): compared with openssl and
with jmespath's own documented results."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from runner.errors import TemplateError
from runner.templating import evaluate, render


@pytest.mark.parametrize(
    ("hashtype", "flag", "password", "salt"),
    [
        ("sha512", "-6", "secret", "abcdefgh"),
        ("sha512_crypt", "-6", "a" * 100, "saltsaltsaltsalt"),
        ("sha256", "-5", "pässword", "xyz"),
        ("sha256_crypt", "-5", "two words", "abcdefghijklmnop"),
        ("md5_crypt", "-1", "secret", "abcdefgh"),
        ("md5", "-1", "x" * 40, "ab"),
    ],
)
def test_password_hash_matches_openssl(hashtype, flag, password, salt):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    expected = subprocess.run(
        ["openssl", "passwd", flag, "-salt", salt, "-stdin"],
        input=password + "\n", capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    got = evaluate(f"p | password_hash({hashtype!r}, {salt!r})", {"p": password})
    assert got == expected


def test_password_hash_rounds_and_random_salt():
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    got = evaluate("'pw' | password_hash('sha512', 'somesalt', rounds=7000)", {})
    assert got.startswith("$6$rounds=7000$somesalt$")
    salted = evaluate("'pw' | password_hash('sha512')", {})
    salt = salted.split("$")[2]
    assert len(salt) == 16
    expected = subprocess.run(
        ["openssl", "passwd", "-6", "-salt", salt, "pw"], capture_output=True, text=True,
        check=True,
    ).stdout.strip()  # fmt: skip
    assert salted == expected
    with pytest.raises(TemplateError, match="password_hash supports"):
        evaluate("'pw' | password_hash('blowfish')", {})


def test_json_query():
    data = {"people": [{"name": "a", "age": 30}, {"name": "b", "age": 20}]}
    assert evaluate("d | json_query('people[?age > `25`].name')", {"d": data}) == ["a"]
    assert evaluate("d | json_query('people[*].age') | max", {"d": data}) == 30


def test_control_node_path_tests(tmp_path):
    (tmp_path / "f").write_text("x")
    (tmp_path / "l").symlink_to(tmp_path / "f")
    base = {"d": str(tmp_path)}
    assert (
        render("{{ (d ~ '/f') is file }} {{ (d ~ '/l') is link }} {{ d is directory }}", base)
        == "True True True"
    )
    assert evaluate("(d ~ '/nope') is exists", base) is False


@pytest.mark.parametrize(
    "expression",
    [
        "range(30) | permutations",
        "range(60) | combinations(20)",
        "range(100) | product(range(100), range(100), range(100))",
        "[1, 2] | product(repeat=64)",
        "'pw' | password_hash('sha512', 'salt', rounds=999999999)",
    ],
)
def test_runaway_filters_are_refused_before_the_work(expression):
    with pytest.raises(TemplateError, match="template limit"):
        evaluate(expression, {})
