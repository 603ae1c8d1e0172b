"""Host patterns: Ansible's grammar, order of operations and subscripts.

Expected host sets were checked against ``ansible -i FILE PATTERN --list-hosts``
(ansible-core 2.19); runner returns them in inventory order.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runner.errors import HostPatternError
from runner.inventory import load_inventory
from runner.inventory.patterns import (
    apply_subscript,
    order_patterns,
    split_patterns,
    split_subscript,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
YAML_INVENTORY = os.path.join(ROOT, "inventories", "hosts.yml")
ORDER_INVENTORY = os.path.join(ROOT, "tests", "data", "inventory", "order.ini")


@pytest.fixture(scope="module")
def inv():
    return load_inventory([YAML_INVENTORY])


@pytest.fixture(scope="module")
def order_inv():
    return load_inventory([ORDER_INVENTORY])


def names(hosts):
    return " ".join(h.name.replace(".example.com", "") for h in hosts)


# pattern -> hosts (".example.com" dropped), in inventory order
SELECTIONS = [
    ("all", "bastion web01 web02 web03 web04 web05 db-a db-b db-c"),
    ("*", "bastion web01 web02 web03 web04 web05 db-a db-b db-c"),
    ("web", "web01 web02 web03 web04 web05"),
    ("db", "db-a db-b db-c"),
    ("web:db", "web01 web02 web03 web04 web05 db-a db-b db-c"),
    ("web,db", "web01 web02 web03 web04 web05 db-a db-b db-c"),
    ("web , db", "web01 web02 web03 web04 web05 db-a db-b db-c"),
    ("db,web", "web01 web02 web03 web04 web05 db-a db-b db-c"),
    ("web:&eu", "web02"),
    ("web:!canary", "web02 web03 web04 web05"),
    ("!canary", "bastion web02 web03 web04 web05 db-a db-b db-c"),
    ("&eu", "web02 db-a"),
    ("!db:web:&eu", "web02"),  # unions, then intersections, then exclusions
    ("prod:&eu:!db", "web02"),
    ("web*", "web01 web02 web03 web04 web05"),
    ("*.example.com", "bastion web01 web02 web03 web04 web05 db-a db-b db-c"),
    ("db-?.example.com", "db-a db-b db-c"),
    ("e*", "web02 db-a"),  # group 'eu' by wildcard
    ("~db", "db-a db-b db-c"),
    ("~(web|db)-?[a0]", "web01 web02 web03 web04 web05 db-a"),
    (r"~.*\.example", "bastion web01 web02 web03 web04 web05 db-a db-b db-c"),
    ("web[0]", "web01"),
    ("web[-1]", "web05"),
    ("web[1:3]", "web02 web03 web04"),  # inclusive end
    ("web[2:]", "web03 web04 web05"),
    ("web[0:0]", "web01"),
    ("web[1:3]:&eu", "web02"),
    ("prod:!web[0]", "web02 web03 web04 web05 db-a db-b db-c"),
    ("prod[5]", "db-a"),
    ("*[1]", "web01"),
    ("eu:web", "web01 web02 web03 web04 web05 db-a"),
    ("canary:eu", "web01 web02 db-a"),
    ("ungrouped", "bastion"),
    ("bastion.example.com", "bastion"),
    ("web01.example.com,db-b.example.com", "web01 db-b"),
    ("db-[a:b].example.com", "db-a db-b"),  # fnmatch character class, not a range
]


@pytest.mark.parametrize(("pattern", "expected"), SELECTIONS)
def test_select(inv, pattern, expected):
    assert names(inv.select(pattern)) == expected


# Subscripts count hosts in each group's own order (direct hosts, then children).
ORDER_SELECTIONS = [
    ("all[0]", "h0"),
    ("all[-1]", "h7"),
    ("all[1:4]", "h2 h1 h3 h5"),
    ("b[0]", "h1"),  # first in [b], though h2 comes first in the file
    ("b[1:0]", "h2"),  # as Ansible: an end of 0 means a single index
    ("c[0]", "h1"),
    ("c[1:]", "h2 h9 h3 h7"),
    ("c[-1]", "h7"),
    ("d[0:3]", "h2 h1 h3 h5"),
    ("d[-1]", "h7"),
    ("a,b[0]", "h2 h9 h1 h7"),
    ("ungrouped[0]", "h0"),
    ("*[2]", "h1"),
]


@pytest.mark.parametrize(("pattern", "expected"), ORDER_SELECTIONS)
def test_subscripts_use_group_order(order_inv, pattern, expected):
    assert names(order_inv.select(pattern)) == expected


@pytest.mark.parametrize("pattern", ["nosuch", "all:!all", "web:&db", "b[5:9]", "~^zz"])
def test_no_match_is_an_error(inv, order_inv, pattern):
    target = order_inv if pattern.startswith("b[") else inv
    with pytest.raises(HostPatternError) as info:
        target.select(pattern)
    assert info.value.pattern == pattern
    assert pattern in str(info.value)


def test_no_match_hint_names_close_groups_and_hosts(inv):
    with pytest.raises(HostPatternError) as info:
        inv.select("wbe")
    assert "web" in info.value.hint
    with pytest.raises(HostPatternError) as info:
        inv.select("web01.exmple.com")
    assert "web01.example.com" in info.value.hint


def test_subscript_out_of_range(inv):
    with pytest.raises(HostPatternError, match="out of range"):
        inv.select("web[7]")


def test_bad_regex(inv):
    with pytest.raises(HostPatternError, match="regular expression"):
        inv.select("~web(")


def test_strict_reports_a_part_that_matches_nothing(inv):
    assert names(inv.select("web,typo")) == "web01 web02 web03 web04 web05"
    with pytest.raises(HostPatternError, match="typo"):
        inv.select("web,typo", strict=True)


def test_pattern_file(inv, tmp_path):
    listing = tmp_path / "limit.txt"
    listing.write_text("# canaries and eu\ncanary\n\neu\n!db\n")
    assert names(inv.select(f"@{listing}")) == "web01 web02"
    assert names(inv.select(f"db,@{listing}")) == "web01 web02"
    with pytest.raises(HostPatternError, match="cannot read"):
        inv.select(f"@{tmp_path / 'missing'}")


def test_implicit_localhost():
    inv = load_inventory([])
    assert inv.hosts == {}
    (host,) = inv.select("localhost")
    assert host.name == "localhost" and host.connection == "local" and host.groups == ()
    assert inv.select("127.0.0.1")[0].name == "127.0.0.1"
    assert inv.get("localhost").vars["ansible_connection"] == "local"
    assert inv.get("web1") is None
    with pytest.raises(HostPatternError, match="empty") as info:
        inv.select("all")  # the implicit localhost is not in 'all', as in Ansible
    assert "-i" in info.value.hint


def test_implicit_localhost_gets_all_vars_and_extra_vars(tmp_path):
    source = tmp_path / "hosts.yml"
    source.write_text("all:\n  vars:\n    x: 1\n  hosts:\n    web1:\n")
    inv = load_inventory([str(source)], {"y": 2})
    assert dict(inv.select("localhost")[0].vars) == {"x": 1, "ansible_connection": "local", "y": 2}
    assert names(inv.select("localhost,web1")) == "web1 localhost"


def test_listed_localhost_is_a_normal_host():
    inv = load_inventory(["localhost,web1,"])
    (host,) = inv.select("localhost")
    assert host.connection == "ssh" and host.groups == ("ungrouped",)


def test_empty_pattern(inv):
    with pytest.raises(HostPatternError, match="empty"):
        inv.select(" , ")


SPLITS = [
    ("web", ["web"]),
    ("web,db", ["web", "db"]),
    ("web:db", ["web", "db"]),
    ("web:&db:!web1", ["web", "&db", "!web1"]),
    ("web, db ,,", ["web", "db"]),
    ("web[1:3]", ["web[1:3]"]),
    ("web[1:3]:db", ["web[1:3]", "db"]),
    ("fe80::1", ["fe80::1"]),
    ("web1:22", ["web1:22"]),
    ("~(a|b):c", ["~(a|b)", "c"]),
]


@pytest.mark.parametrize(("pattern", "parts"), SPLITS)
def test_split_patterns(pattern, parts):
    assert split_patterns(pattern) == parts


def test_order_patterns():
    assert order_patterns(["!a", "&b", "c", "!d", "e", "&f"]) == ["c", "e", "&b", "&f", "!a", "!d"]
    assert order_patterns(["&b"]) == ["all", "&b"]


SUBSCRIPTS = [
    ("web", ("web", None)),
    ("web[3]", ("web", (3, None))),
    ("web[-2]", ("web", (-2, None))),
    ("web[1:4]", ("web", (1, 4))),
    ("web[2:]", ("web", (2, -1))),
    ("we*[0]", ("we*", (0, None))),
    ("~web[0]", ("~web[0]", None)),
    ("db-[a:b]", ("db-[a:b]", None)),
]


@pytest.mark.parametrize(("part", "expected"), SUBSCRIPTS)
def test_split_subscript(part, expected):
    assert split_subscript(part) == expected


@settings(max_examples=100)
@given(
    items=st.lists(st.integers(), min_size=1, max_size=30),
    start=st.integers(0, 35),
    end=st.integers(1, 35),
)
def test_slices_are_inclusive(items, start, end):
    assert apply_subscript(items, (start, end)) == items[start : end + 1]
    assert apply_subscript(items, (start, -1)) == items[start:]


@settings(max_examples=100)
@given(
    st.lists(st.sampled_from(["web", "db", "canary", "eu", "prod", "web0*", "~db", "bastion*"]),
             min_size=1, max_size=4),
    st.lists(st.sampled_from(["&", "!", ""]), min_size=4, max_size=4),
)  # fmt: skip
def test_set_algebra(parts, prefixes):
    """Any mix of parts equals unions, then intersections, then exclusions."""
    inv = load_inventory([YAML_INVENTORY])
    written = [p + part for p, part in zip(prefixes, parts, strict=False)]

    def hosts_of(part):
        try:
            return {h.name for h in inv.select(part)}
        except HostPatternError:
            return set()

    plain = [p for p in written if p[0] not in "!&"]
    expected = set().union(*(hosts_of(p) for p in plain)) if plain else set(inv.hosts)
    for part in written:
        if part[0] == "&":
            expected &= hosts_of(part[1:])
    for part in written:
        if part[0] == "!":
            expected -= hosts_of(part[1:])
    try:
        got = [h.name for h in inv.select(",".join(written))]
    except HostPatternError:
        got = []
    assert set(got) == expected
    assert got == [name for name in inv.hosts if name in expected]  # inventory order
