"""Templating for playbooks: Ansible filters and tests, native values, lazy variables."""

from __future__ import annotations

import pytest

from runner.errors import TemplateError
from runner.templating import LazyVars, condition, evaluate, render, render_value


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ missing | default('d') }}", "d"),
        ("{{ '' | default('d', true) }}", "d"),
        ("{{ 'yes' | bool }} {{ 'off' | bool }}", "True False"),
        ("{{ '42' | int + 1 }}", "43"),
        ("{{ ['a', 'b'] | join(',') }}", "a,b"),
        ("{{ 'AbC' | lower }}{{ 'x' | upper }}", "abcX"),
        ("{{ 'a-b' | replace('-', '+') }}", "a+b"),
        ("{{ 'web01' | regex_replace('\\\\d+$', 'N') }}", "webN"),
        ('{{ {"a": 1} | to_json }}', '{"a": 1}'),
        ("{{ ('{\"a\": [1]}' | from_json).a[0] }}", "1"),
        (
            "{{ '/srv/app/conf.yml' | basename }} {{ '/srv/app/conf.yml' | dirname }}",
            "conf.yml /srv/app",
        ),
        ("{{ '  x ' | trim }}", "x"),
        ("{{ [1, 2, 3] | length }}", "3"),
        ("{{ 'a b' | quote }}", "'a b'"),
    ],
)
def test_filters(source, expected):
    assert render(source, {}) == expected


def test_result_tests_and_defined():
    ok = {"rc": 0, "failed": False, "changed": True}
    bad = {"rc": 2, "failed": True, "changed": False}
    assert condition("r is succeeded and r is changed", {"r": ok})
    assert condition("r is failed and r is not changed", {"r": bad})
    assert condition("x is not defined and r.nope is not defined", {"r": ok})
    assert condition(["r.rc == 0", "r.changed"], {"r": ok})
    loop = {"results": [{"changed": False}, {"changed": True}], "changed": False}
    assert condition("r is changed", {"r": loop})


def test_conditions_accept_booleans_and_strings():
    assert condition(True, {}) and not condition(False, {})
    assert not condition("flag", {"flag": "false"})
    assert condition("{{ flag }}", {"flag": True})


def test_native_values_and_nested_rendering():
    variables = {"items": [1, 2], "n": 3, "name": "web"}
    assert render_value("{{ items }}", variables) == [1, 2]
    assert render_value("{{ n * 2 }}", variables) == 6
    assert render_value({"a": ["{{ name }}-{{ n }}", 5]}, variables) == {"a": ["web-3", 5]}
    assert evaluate("items | map('string') | list", variables) == ["1", "2"]


def test_undefined_is_an_error_naming_the_variable():
    with pytest.raises(TemplateError, match="'nope' is undefined"):
        render_value("x {{ nope }}", {})
    with pytest.raises(TemplateError, match="'nope' is undefined"):
        condition("nope == 1", {})


def test_lazy_variables_render_templates_in_values_but_not_data():
    variables = LazyVars(
        {"root": "/srv/{{ app }}", "app": "shop", "out": "{{ raw }}"}, unsafe={"out"}
    )
    assert render("{{ root }}/current {{ out }}", variables) == "/srv/shop/current {{ raw }}"
    child = variables.child({"item": "{{ app }}"})
    assert render("{{ item }} {{ root }}", child) == "{{ app }} /srv/shop"
    with pytest.raises(TemplateError, match="refers to itself"):
        render("{{ x }}", LazyVars({"x": "{{ x }}"}))


def test_sandbox_blocks_unsafe_access():
    with pytest.raises(TemplateError):
        render("{{ ''.__class__.__mro__ }}", {})


def test_adhoc_render_unchanged():
    assert render("plain text", {}) == "plain text"
    assert render("echo {{ inventory_hostname }}", {"inventory_hostname": "h"}) == "echo h"
