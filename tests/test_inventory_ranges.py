"""Host ranges and host:port parsing (Ansible's documented range syntax)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runner.inventory.ranges import (
    RangeError,
    expand_host_range,
    is_single_address,
    split_host_port,
)

EXPANSIONS = [
    ("web1", ["web1"]),
    ("web[1:3]", ["web1", "web2", "web3"]),
    ("web[01:03].example.com", ["web01.example.com", "web02.example.com", "web03.example.com"]),
    ("web[08:11]", ["web08", "web09", "web10", "web11"]),
    ("web[001:002]", ["web001", "web002"]),
    ("db-[a:c]", ["db-a", "db-b", "db-c"]),
    ("x[y:B]", ["xy", "xz", "xA", "xB"]),  # Ansible's alphabet: a-z then A-Z
    ("node[1:10:3]", ["node1", "node4", "node7", "node10"]),
    ("node[0:6:2]", ["node0", "node2", "node4", "node6"]),
    ("n[a:e:2]", ["na", "nc", "ne"]),
    ("[1:2]host", ["1host", "2host"]),
    ("h[:2]", ["h0", "h1", "h2"]),  # an empty start is 0, as in Ansible
    ("r[1:2]-n[a:b]", ["r1-na", "r1-nb", "r2-na", "r2-nb"]),
    ("h[0:0]", ["h0"]),
    ("h[9:10]", ["h9", "h10"]),  # no padding when begin is not zero-padded
]


@pytest.mark.parametrize(("text", "expected"), EXPANSIONS)
def test_expand_host_range(text, expected):
    assert expand_host_range(text) == expected


BAD_RANGES = [
    ("web[3:1]", "reversed"),
    ("db-[f:a]", "reversed"),
    ("web[01:5]", "padding"),
    ("web[1:05]", "padding"),
    ("web[001:99]", "padding"),
    ("web[1:]", "no end"),
    ("web[1]", "begin:end"),
    ("web[1:2:3:4]", "begin:end"),
    ("web[1:3", "unclosed"),
    ("web1:3]", "unmatched"),
    ("web[a:3]", "numbers or two single letters"),
    ("web[aa:bb]", "numbers or two single letters"),
    ("web[1:5:0]", "step"),
    ("web[1:5:x]", "step"),
]


@pytest.mark.parametrize(("text", "message"), BAD_RANGES)
def test_bad_ranges_are_errors(text, message):
    with pytest.raises(RangeError, match=message):
        expand_host_range(text)


ADDRESSES = [
    ("web1", ("web1", None)),
    ("web1:2222", ("web1", 2222)),
    ("10.0.0.1:22", ("10.0.0.1", 22)),
    ("web[01:03]", ("web[01:03]", None)),
    ("web[01:03]:22", ("web[01:03]", 22)),
    ("fe80::1", ("fe80::1", None)),
    ("::1", ("::1", None)),
    ("[::1]:2200", ("::1", 2200)),
    ("[2001:db8::1]", ("2001:db8::1", None)),
]


@pytest.mark.parametrize(("text", "expected"), ADDRESSES)
def test_split_host_port(text, expected):
    assert split_host_port(text) == expected


@pytest.mark.parametrize("text", ["web:", "web:http", ":22", "web:70000", "a:b:c"])
def test_bad_addresses(text):
    with pytest.raises(RangeError):
        split_host_port(text)


@pytest.mark.parametrize(
    ("text", "single"),
    [("web1", True), ("web[1:3]", True), ("web1:22", True), ("::1", True),
     ("web:db", False), ("web*", False), ("all:!web", False), ("a:b:c", False)],
)  # fmt: skip
def test_is_single_address(text, single):
    assert is_single_address(text) is single


@settings(max_examples=60)
@given(
    begin=st.integers(0, 500),
    length=st.integers(0, 60),
    step=st.integers(1, 7),
    width=st.integers(1, 5),
    prefix=st.from_regex(r"[a-z]{1,5}", fullmatch=True),
    suffix=st.from_regex(r"(\.[a-z]{1,4})?", fullmatch=True),
)
def test_numeric_ranges_match_python_range(begin, length, step, width, prefix, suffix):
    end = begin + length
    width = max(width, len(str(end)))
    text = f"{prefix}[{begin:0{width}d}:{end:0{width}d}:{step}]{suffix}"
    names = expand_host_range(text)
    # Both bounds have the same width, so every name is zero-filled to it (a bound
    # without a leading zero already has that many digits).
    assert names == [f"{prefix}{n:0{width}d}{suffix}" for n in range(begin, end + 1, step)]
    assert len(set(names)) == len(names)


@given(
    st.lists(
        st.sampled_from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"),
        min_size=2,
        max_size=2,
    )
)
def test_letter_ranges(bounds):
    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    first, last = sorted(bounds, key=letters.index)
    names = expand_host_range(f"h[{first}:{last}]")
    assert names == [f"h{c}" for c in letters[letters.index(first) : letters.index(last) + 1]]


@given(st.integers(0, 99), st.integers(1, 30))
def test_reversed_numeric_ranges_are_errors(end, extra):
    with pytest.raises(RangeError):
        expand_host_range(f"h[{end + extra}:{end}]")
