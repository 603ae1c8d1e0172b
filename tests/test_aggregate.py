"""runner.aggregate: folding host names, expanding them back, grouping outputs."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runner.aggregate import (
    OutputGroup,
    expand_folded,
    fold_hosts,
    group_results,
    natural_key,
)
from runner.models import CommandResult, HostResult, Status


def web(*numbers: int, width: int = 2) -> list[str]:
    return [f"web{n:0{width}d}" for n in numbers]


@pytest.mark.parametrize(
    ("names", "folded"),
    [
        ([], ""),
        (["localhost"], "localhost"),
        (["web01"], "web01"),
        (web(*range(1, 21)) + ["db3"], "db3,web[01-20]"),
        (web(1, 2, 3, 5), "web[01-03,05]"),
        (web(1, 3, 5, 6, 7, 9), "web[01,03,05-07,09]"),
        (web(*range(1, 501), width=3), "web[001-500]"),
        ([f"rack1-node{n:02d}" for n in range(1, 5)], "rack1-node[01-04]"),
        (["rack1-node1", "rack2-node1", "rack2-node2"], "rack1-node1,rack2-node[1-2]"),
        (["web1", "web01"], "web1,web01"),
        (["web9", "web10", "web11"], "web[9-11]"),
        (["web08", "web09", "web10"], "web[08-10]"),
        (["web1", "web2", "web01", "web02", "web10"], "web[1-2],web[01-02,10]"),
        (["web0", "web1", "web00"], "web[0-1],web00"),
        (["a1.example.com", "a2.example.com"], "a[1-2].example.com"),
        (["a1.dc1", "a1.dc2", "a2.dc1"], "a1.dc[1-2],a2.dc1"),
        (["rack10-n1", "rack2-n1", "rack2-n2"], "rack2-n[1-2],rack10-n1"),
        (["web", "web1", "web2", "mail"], "mail,web,web[1-2]"),
        (["10.0.0.1", "10.0.0.2", "10.0.0.3"], "10.0.0.[1-3]"),
        (["1", "2", "3"], "[1-3]"),
        (["web01", "web01", "web02"], "web[01-02]"),
        (["wé1", "wé2", "é"], "wé[1-2],é"),
        (["node٣"], "node٣"),  # Arabic-Indic digit: not a number for folding
    ],
)
def test_fold_examples(names: list[str], folded: str) -> None:
    assert fold_hosts(names) == folded
    assert set(expand_folded(folded)) == set(names)


def test_fold_accepts_any_iterable_and_order() -> None:
    names = web(*range(1, 51))
    shuffled = random.Random(7).sample(names, len(names))
    assert fold_hosts(iter(shuffled)) == fold_hosts(names) == "web[01-50]"
    assert fold_hosts(names + names) == "web[01-50]"


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("", []),
        ("db3,web[01-03,05]", ["db3", "web01", "web02", "web03", "web05"]),
        ("web[08-10]", ["web08", "web09", "web10"]),
        ("web[9-11]", ["web9", "web10", "web11"]),
        ("r[1-2]n[1-2]", ["r1n1", "r1n2", "r2n1", "r2n2"]),
        ("a[1-2].b", ["a1.b", "a2.b"]),
        ("x,,y", ["x", "y"]),
    ],
)
def test_expand_examples(text: str, names: list[str]) -> None:
    assert expand_folded(text) == names


@pytest.mark.parametrize("text", ["web[1-2", "web1-2]", "web[a-b]", "web[3-1]", "w[[1]]", "w[]"])
def test_expand_rejects_malformed(text: str) -> None:
    with pytest.raises(ValueError):
        expand_folded(text)


def test_natural_key() -> None:
    names = ["web10", "web9", "db1", "web01", "web1", "rack10-a", "rack2-a", "web"]
    assert sorted(names, key=natural_key) == [
        "db1",
        "rack2-a",
        "rack10-a",
        "web",
        "web1",
        "web01",
        "web9",
        "web10",
    ]


# Host-like names built to fold: prefix + (padded) number + suffix, plus arbitrary ones.
_text = st.text(alphabet="abcxyz-._", max_size=4)
_structured = st.builds(
    lambda prefix, number, width, suffix: f"{prefix}{number:0{width}d}{suffix}",
    st.sampled_from(["web", "db", "r1-n", "", "a.b", "x-"]),
    st.integers(min_value=0, max_value=120),
    st.integers(min_value=0, max_value=4),
    st.sampled_from(["", ".lan", "-b", "x"]),
)
_any_name = st.text(alphabet="abz019.-_", min_size=1, max_size=8)
_names = st.lists(st.one_of(_structured, _any_name, _text.filter(bool)), max_size=60)


@settings(max_examples=400, deadline=None)
@given(_names)
def test_fold_round_trip(names: list[str]) -> None:
    folded = fold_hosts(names)
    expanded = expand_folded(folded)
    assert set(expanded) == set(names)
    assert len(expanded) == len(set(names))  # no name twice
    assert fold_hosts(expanded) == folded  # canonical: independent of input order


@settings(max_examples=200, deadline=None)
@given(st.sets(st.integers(min_value=0, max_value=2000), min_size=1))
def test_fold_numbers_round_trip(numbers: set[int]) -> None:
    names = [f"n{n:04d}" for n in numbers]
    folded = fold_hosts(names)
    assert expand_folded(folded) == sorted(names)
    assert folded.count("[") <= 1


def _lines_run(func) -> int:  # type: ignore[no-untyped-def]
    """How many lines of runner/aggregate.py ``func`` runs: a measure of work that does
    not depend on how busy the machine is (speed itself is measured in bench/)."""
    import sys

    import runner.aggregate as module

    count = 0

    def tracer(frame, event, arg):  # type: ignore[no-untyped-def]
        nonlocal count
        if frame.f_code.co_filename != module.__file__:
            return None
        if event == "line":
            count += 1
        return tracer

    sys.settrace(tracer)
    try:
        func()
    finally:
        sys.settrace(None)
    return count


def test_10000_shuffled_names_fold_into_one_range() -> None:
    names = random.Random(1).sample(web(*range(10000), width=5), 10000)
    assert fold_hosts(names) == "web[00000-09999]"


@pytest.mark.parametrize(
    "names_of",
    [
        lambda n: random.Random(1).sample(web(*range(n), width=5), n),  # one family
        lambda n: [f"rack{i % 50}-node{i}.dc{i % 3}.example.com" for i in range(n)],  # none fold
    ],
    ids=["folding", "scattered"],
)
def test_folding_work_grows_linearly_with_the_names(names_of) -> None:  # type: ignore[no-untyped-def]
    """A guard against quadratic behaviour: twice the names may cost at most 2.5 times
    the work (n log n gives about 2.1; quadratic 4), counted in lines run, not seconds."""
    small, large = names_of(2000), names_of(4000)
    ratio = _lines_run(lambda: fold_hosts(large)) / _lines_run(lambda: fold_hosts(small))
    assert 1.5 < ratio < 2.5, ratio


def result(
    host: str,
    exit_code: int | None = 0,
    stdout: bytes = b"",
    stderr: bytes = b"",
    **kw,  # type: ignore[no-untyped-def]
) -> HostResult:
    if exit_code is None:
        return HostResult(host, Status.UNREACHABLE, error="connection refused")
    status = Status.OK if exit_code == 0 else Status.FAILED
    return HostResult(host, status, CommandResult(exit_code, stdout, stderr, **kw))


def test_group_500_identical_outputs_once() -> None:
    results = [result(f"web{i:03d}", stdout=b"same\n") for i in range(500, 0, -1)]
    groups = group_results(results)
    assert len(groups) == 1
    group = groups[0]
    assert group.label == "web[001-500] (500)"
    assert group.hosts[0] == "web001" and group.hosts[-1] == "web500"
    assert group.stdout == "same\n"
    assert group.exit_code == 0


def test_group_ordering_and_split() -> None:
    results = [
        result("web3", 2, b"", b"boom\n"),
        result("web1", 0, b"a\n"),
        result("db1", 0, b"b\n"),
        result("web2", 0, b"a\n"),
        result("web4", 1, b"x\n"),
        result("web5", 0, b"a\n", b"warn\n"),  # same stdout, other stderr
        result("web6", None),
    ]
    groups = group_results(results)
    assert [(g.exit_code, g.label) for g in groups] == [
        (0, "db1 (1)"),
        (0, "web5 (1)"),
        (0, "web[1-2] (2)"),
        (1, "web4 (1)"),
        (2, "web3 (1)"),
    ]
    assert all(isinstance(g, OutputGroup) for g in groups)
    assert groups[-1].stderr == "boom\n"


def test_group_hosts_sorted_naturally() -> None:
    groups = group_results(result(h, stdout=b"x") for h in ["web10", "web9", "web1"])
    assert groups[0].hosts == ("web1", "web9", "web10")
    assert groups[0].label == "web[1,9-10] (3)"


def test_group_decodes_and_marks_truncation() -> None:
    groups = group_results(
        [
            result("a1", stdout=b"ok\xff\n"),
            result("a2", stdout=b"abc", stdout_dropped=10),
            result("a3", stdout=b"abc"),
        ]
    )
    texts = {g.hosts: g.stdout for g in groups}
    assert texts[("a1",)] == "ok\ufffd\n"
    assert texts[("a2",)] == "abc\n[... 10 bytes truncated ...]"
    assert texts[("a3",)] == "abc"


def test_group_is_frozen() -> None:
    group = group_results([result("a")])[0]
    with pytest.raises(AttributeError):
        group.exit_code = 3  # type: ignore[misc]
