"""runner.localpaths: local paths built from host names and remote paths stay in their
folder, whatever the names (examples, then hypothesis properties)."""

from __future__ import annotations

import doctest
import os
import tempfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runner import localpaths
from runner.errors import InputError, UnsafePathError
from runner.localpaths import (
    check_host_names,
    confine,
    fetch_module_path,
    fetch_path,
    host_file_name,
    out_paths,
    remote_file_name,
    remote_relative,
)


def test_docstring_examples():
    result = doctest.testmod(localpaths)
    assert result.attempted >= 15 and result.failed == 0


def test_unsafe_path_error_is_an_input_error():
    with pytest.raises(InputError) as info:
        host_file_name(".", "--out-dir out")
    assert info.value.hint and "inventory" in info.value.hint


@pytest.mark.parametrize("bad", ["", ".", "..", "x" * (localpaths.HOST_NAME_MAX + 1)])
def test_host_names_that_cannot_be_file_names(bad):
    with pytest.raises(UnsafePathError, match="host name"):
        host_file_name(bad)


@pytest.mark.parametrize(
    "host, stem",
    [("../../etc/cron.d", ".._.._etc_cron.d"), ("/abs/path", "_abs_path"), ("a\0b", "a_b")],
)
def test_hostile_host_names_become_one_component(host, stem):
    assert host_file_name(host) == stem
    assert fetch_path("dest", host, "/etc/hosts") == f"dest/{stem}/hosts"
    assert out_paths("out", host)[2] == f"out/{stem}.json"


@pytest.mark.parametrize(
    "src, local",
    [
        ("/etc/hosts", "d/web01/etc/hosts"),
        ("/var/../../etc/./hosts", "d/web01/etc/hosts"),
        ("logs/app.log", "d/web01/logs/app.log"),
        ("logs/../app.log", "d/web01/app.log"),
    ],
)
def test_fetch_module_path_not_flat(src, local):
    assert fetch_module_path("d", "web01", src, flat=False) == local


@pytest.mark.parametrize("src", ["../../etc/passwd", "a/../../b", "..", "/", "/tmp/..", ""])
def test_fetch_module_path_refuses_remote_paths_leaving_the_host_folder(src):
    with pytest.raises(UnsafePathError, match="remote path"):
        fetch_module_path("d", "web01", src, flat=False)


def test_fetch_module_path_flat():
    assert fetch_module_path("d/", "web01", "/srv/../etc/hosts", flat=True) == "d/hosts"
    assert fetch_module_path("d/x.conf", "../../evil", "/etc/hosts", flat=True) == "d/x.conf"
    with pytest.raises(UnsafePathError):
        fetch_module_path("d/", "web01", "/srv/..", flat=True)


def test_colliding_host_names_are_refused():
    check_host_names(["a", "b", "a.b"], "x")
    with pytest.raises(UnsafePathError, match="share the file name '_etc'"):
        check_host_names(["/etc", "_etc"], "x")


def test_a_symbolic_link_out_of_the_folder_is_refused(tmp_path):
    base, outside = tmp_path / "dest", tmp_path / "outside"
    base.mkdir()
    outside.mkdir()
    (base / "web01").symlink_to(outside)
    (base / "web02.json").symlink_to(outside / "x.json")
    with pytest.raises(UnsafePathError, match="symbolic link"):
        fetch_path(str(base), "web01", "/etc/hosts")
    with pytest.raises(UnsafePathError, match="symbolic link"):
        out_paths(str(base), "web02")
    (base / "inner").mkdir()
    (base / "web03").symlink_to(base / "inner")  # a link that stays inside is fine
    assert fetch_path(str(base), "web03", "/etc/hosts") == f"{base}/web03/hosts"


# -- properties ------------------------------------------------------------------------

BASE = os.path.realpath(tempfile.mkdtemp(prefix="runner-localpaths-"))

# Texts made of the pieces that matter to paths, so hypothesis finds '..' and '/' fast.
pieces = st.sampled_from(["..", ".", "/", "//", "a", "b.c", "\0", " ", "~", "-", "é"])
path_texts = st.lists(pieces, max_size=12).map("".join) | st.text(max_size=40)


def inside(path: str, folder: str) -> bool:
    real = os.path.realpath(path)
    return real != folder and os.path.commonpath([folder, real]) == folder


@settings(max_examples=400, deadline=None)
@given(host=path_texts)
def test_a_host_name_is_one_component_or_refused(host):
    try:
        name = host_file_name(host)
    except UnsafePathError:
        return
    assert "/" not in name and "\0" not in name and name not in ("", ".", "..")
    for path in out_paths(BASE, host):
        assert os.path.dirname(path) == BASE


@settings(max_examples=400, deadline=None)
@given(host=path_texts, src=path_texts, flat=st.booleans())
def test_fetch_paths_stay_in_the_host_folder_or_are_refused(host, src, flat):
    try:
        cli = fetch_path(BASE, host, src)
    except UnsafePathError:
        cli = None
    if cli is not None:
        assert os.path.dirname(os.path.dirname(cli)) == BASE
    try:
        module = fetch_module_path(BASE + "/", host, src, flat=flat)
    except UnsafePathError:
        return
    folder = BASE if flat else os.path.join(BASE, host_file_name(host))
    assert inside(module, folder)


@settings(max_examples=400, deadline=None)
@given(src=path_texts)
def test_remote_relative_is_relative_and_normal(src):
    try:
        rel = remote_relative(src)
    except UnsafePathError:
        return
    assert not rel.startswith("/") and os.path.normpath(rel) == rel
    assert ".." not in rel.split("/") and remote_file_name(src) == rel.split("/")[-1]


@settings(max_examples=400, deadline=None)
@given(relative=path_texts)
def test_confine_keeps_anything_inside_base(relative):
    try:
        path = confine(BASE, relative)
    except UnsafePathError:
        return
    assert inside(path, BASE)
