"""The fast plain-YAML reader must agree with yaml.safe_load or step aside."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from runner.inventory.fastyaml import NotSimple, load_simple_yaml

SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

SCALARS = [
    "web1", "web1.example.com", "web[01:20].example.com", "db-a:2222", "10.0.0.1", "80",
    "010", "0x1F", "1_000", "1.5", "1e3", "1.0e+3", ".5", "-1", "+1", ".inf", ".NaN", "yes",
    "No", "on", "OFF", "true", "True", "null", "~", "Null", "2020-01-01",
    "2001-12-14t21:59:43.10-05:00", "a#b", "a #b", "x: y", "x:y", "<<", "=", "-", "- x", "---", "...",
    "'q'", '"q"', "[1]", "{a: 1}", "&a", "*a", "!t", "|", ">", "%x", "@x", "`x", "?", "? x",
    "a\\b", "é", "a b", "a  b", "1:20", "12:30:00", "190:20:30", "0o17", "0b101", "07",
]  # fmt: skip


def both(text: str):
    """(fast result or NotSimple, yaml result or the exception class)."""
    try:
        expected = yaml.load(text, Loader=SafeLoader)
    except yaml.YAMLError:
        expected = yaml.YAMLError
    try:
        fast = load_simple_yaml(text)
    except NotSimple:
        fast = NotSimple
    return fast, expected


def agree(text: str) -> None:
    fast, expected = both(text)
    if fast is NotSimple:
        return
    assert expected is not yaml.YAMLError, f"fast path accepted invalid YAML: {text!r}"
    assert fast == expected and repr(fast) == repr(expected), text


@pytest.mark.parametrize("scalar", SCALARS)
def test_scalars_as_values_and_keys(scalar):
    agree(f"k: {scalar}\n")
    agree(f"{scalar}: v\n")
    agree(f"{scalar}:\n")
    agree(f"all:\n  hosts:\n    {scalar}:\n      port: {scalar}  # comment\n")


SHAPES = [
    "",
    "# only a comment\n",
    "---\nall:\n  hosts:\n    a:\n",
    "all:\n  hosts:\n    a:\n    b:\n  vars:\n    x: 1\n",
    "all:\n    hosts:\n        a:\n            x: 1\n",  # 4-space indent
    "a:\n  b:\n c: 1\n",  # bad dedent
    "a: 1\n  b: 2\n",  # indented after a value
    "a:\n\tb: 1\n",  # tab
    "  a: 1\n  b: 2\n",  # indented root
    "a: 1\nb\n",
    "a:\n  - x\n",
    "a: |\n  text\n",
    "a: b\na: c\n",  # duplicate keys: last wins
    "a:\n  b:\n    c:\n  d: 1\ne: 2\n",
    "a: 1\n...\n",
    "a: 1\n---\nb: 2\n",
    "a: 'x'\n",
    "a: b # c: d\n",
    "a:   \n  b: 1\n",
    "a: 1\r\nb: 2\r\n",
    "\ufeffa: 1\n",
    "---\n",
    "---\n---\n",
    "  ---\na: 1\n",
    "---\n  a: 1\n",
    "--- # c\na:\n  b: 1\n",
    "a: 1\n---\n",
]


@pytest.mark.parametrize("text", SHAPES)
def test_shapes(text):
    agree(text)


def test_typical_inventory_takes_the_fast_path():
    text = "all:\n  vars:\n    user: deploy\n  children:\n    web:\n      hosts:\n" + "".join(
        f"        web{i:03d}.example.com:\n          ansible_host: 10.0.0.{i}\n" for i in range(50)
    )
    assert load_simple_yaml(text) == yaml.safe_load(text)


line = st.tuples(
    st.integers(0, 6),
    st.sampled_from(SCALARS),
    st.one_of(st.none(), st.sampled_from(SCALARS)),
    st.sampled_from(["", "  # c", " #c", "#c"]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(line, min_size=1, max_size=8))
def test_random_documents_agree_with_pyyaml(lines):
    text = "".join(
        f"{' ' * indent}{key}:{'' if value is None else ' ' + value}{comment}\n"
        for indent, key, value, comment in lines
    )
    agree(text)


@settings(max_examples=100, deadline=None)
@given(
    st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8)),
        lambda children: st.dictionaries(st.text(min_size=1, max_size=8), children, max_size=4),
        max_leaves=20,
    )
)
def test_dumped_documents_agree_with_pyyaml(data):
    agree(yaml.safe_dump({"root": data}, default_flow_style=False))
