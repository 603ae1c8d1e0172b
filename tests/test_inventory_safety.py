"""One regression test per class of bad input the fuzzer found: each is exit 1 with
``runner: error: FILE:LINE: what was expected``, never a traceback or a silent answer."""

from __future__ import annotations

import json

import pytest

from runner.cli import main
from runner.errors import HostPatternError, PlaybookError
from runner.inventory import load_inventory
from runner.inventory.fastyaml import NotSimple, load_simple_yaml
from runner.inventory.ranges import MAX_RANGE_HOSTS, RangeError, expand_host_range
from runner.playbook.reader import line_of, parse_yaml
from runner.safeyaml import MAX_ALIAS_NODES, MAX_DEPTH


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def error_of(capsys, path, *args: str) -> str:
    code, _, err = cli(capsys, "inventory", "-i", str(path), *(args or ("--list",)))
    assert code == 1, err
    return err.splitlines()[0]


def yaml_inv(tmp_path, text: str, name: str = "hosts.yml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2001-13-45", "invalid timestamp '2001-13-45': month must be in 1..12"),
        ("2001-12-14t21:59:43.10-99:00", "invalid timestamp"),
        ("!!bool maybe", "invalid bool 'maybe': expected true/false, yes/no or on/off"),
        ("!!int nope", "invalid int 'nope': expected an integer"),
        ("!!float nope", "invalid float 'nope': expected a number"),
        ("!!timestamp nope", "invalid timestamp 'nope': expected a date"),
        ("1" * 4400, "more than 4300 digits"),
        ("0b" + "1" * 15000, "integer with more than 4300 digits"),
        ("!!python/object:os.system x", "could not determine a constructor"),
    ],
)
def test_values_that_fail_to_construct(capsys, tmp_path, value, message):
    path = yaml_inv(tmp_path, f"all:\n  hosts:\n    h1:\n      x: 1\n      y: {value}\n")
    first = error_of(capsys, path)
    assert first.startswith(f"runner: error: {path}:5: ")
    assert message in first


@pytest.mark.parametrize(("char", "column"), [("\x00", 10), ("\x07", 10), ("\x1b", 10)])
def test_control_characters_name_line_and_column(capsys, tmp_path, char, column):
    path = yaml_inv(tmp_path, f"all:\n  hosts:\n    h1:\n      x: {char}\n")
    first = error_of(capsys, path)
    assert first == (
        f"runner: error: {path}:4: control character U+{ord(char):04X} at column {column} "
        "is not allowed"
    )


def test_control_characters_in_ini(capsys, tmp_path):
    path = yaml_inv(tmp_path, "[web]\nw1\nw\x002\n", name="hosts")
    assert error_of(capsys, path) == (
        f"runner: error: {path}:3: control character U+0000 in an INI inventory"
    )


@pytest.mark.parametrize("name", ["hosts.yml", "hosts"])
def test_non_utf8_names_the_line(capsys, tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"[web]\nw1\nw\xff2\n" if name == "hosts" else b"all:\n  hosts:\n    \xff:\n")
    line = 3
    first = error_of(capsys, path)
    assert first.startswith(f"runner: error: {path}:{line}: file is not valid UTF-8 text")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("all:\n  vars:\n    x: " + "[" * 2000 + "\n", 3),
        ("all:\n  vars:\n    x: " + "[" * 150 + "]" * 150 + "\n", 3),
        ("all:\n  vars:\n" + "".join(f"{'  ' * (i + 2)}k{i}:\n" for i in range(150)), None),
        ('{"all": {"vars": {"x": ' + "[" * 150 + "]" * 150 + "}}}", 1),
    ],
)
def test_deep_nesting(capsys, tmp_path, text, line):
    path = yaml_inv(tmp_path, text)
    first = error_of(capsys, path)
    assert first.startswith(f"runner: error: {path}:")
    assert f"nested deeper than {MAX_DEPTH} levels" in first or "maximum nesting depth" in first
    if line is not None:
        assert first.startswith(f"runner: error: {path}:{line}: ")


@pytest.mark.parametrize("value", ["&a [*a]", "&b {k: [1, *b]}"])
def test_recursive_aliases(capsys, tmp_path, value):
    path = yaml_inv(tmp_path, f"all:\n  vars:\n    x: {value}\n")
    assert error_of(capsys, path) == (
        f"runner: error: {path}:3: an alias refers to the collection that contains it"
    )


def billion_laughs(levels: int) -> str:
    lines = ["all:", "  vars:", "    l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for n in range(1, levels):
        refs = ", ".join([f"*l{n - 1}"] * 9)
        lines.append(f"    l{n}: &l{n} [{refs}]")
    return "\n".join(lines) + "\n"


def test_alias_bombs_are_refused_before_construction(capsys, tmp_path):
    path = yaml_inv(tmp_path, billion_laughs(12))  # 9**12 nodes if expanded
    first = error_of(capsys, path)
    assert first.startswith(f"runner: error: {path}:")
    assert f"aliases expand this document to more than {MAX_ALIAS_NODES:,} nodes" in first


def test_aliases_below_the_limit_still_work(capsys, tmp_path):
    path = yaml_inv(tmp_path, billion_laughs(3) + "  hosts:\n    h1:\n      y: *l1\n")
    code, out, err = cli(capsys, "inventory", "-i", str(path), "--host", "h1")
    assert code == 0, err
    assert json.loads(out)["y"] == [["lol"] * 9] * 9 and len(json.loads(out)["l2"]) == 9


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("all:\n  hosts:\n    h1:\n      1: a\n", 4, "variable name 1 (an int) must be a string"),
        ("all:\n  vars:\n    yes: a\n", 3, "variable name True (a bool) must be a string"),
        ("all:\n  hosts:\n    h1:\n      ? [1]\n      : a\n", 4, "a mapping key must be a string"),
    ],
)
def test_variable_names_must_be_strings(capsys, tmp_path, text, line, message):
    path = yaml_inv(tmp_path, text)
    assert error_of(capsys, path).startswith(f"runner: error: {path}:{line}: {message}")


def test_keys_of_mixed_types_inside_values_print_as_json(capsys, tmp_path):
    path = yaml_inv(tmp_path, "all:\n  hosts:\n    h1:\n      ports: {80: http, x: 1, true: 2}\n")
    code, out, err = cli(capsys, "inventory", "-i", str(path), "--list")
    assert code == 0, err
    assert json.loads(out)["_meta"]["hostvars"]["h1"]["ports"] == {"80": "http", "x": 1, "true": 2}


@pytest.mark.parametrize(
    ("text", "line", "first"),
    [
        ("all:\n  hosts:\n    a:\n    b:\n    a:\n", 5, 3),  # the fast path
        ("all:\n  hosts:\n    a: {x: 1}\n    b:\n    a:\n", 5, 3),  # the full reader
        ("all:\n  hosts:\n    a:\n  hosts:\n    b:\n", 4, 2),
        ('{"all": {"hosts": {"a": null}, "hosts": {"b": null}}}', 1, 1),  # JSON
    ],
)
def test_duplicate_keys_name_both_lines(capsys, tmp_path, text, line, first):
    path = yaml_inv(tmp_path, text)
    message = error_of(capsys, path)
    assert message.startswith(f"runner: error: {path}:{line}: duplicate key ")
    assert message.endswith(f"(first on line {first})")


def test_merge_keys_may_be_replaced(tmp_path):
    text = "all:\n  vars:\n    base: &b {x: 1, y: 2}\n    over:\n      <<: *b\n      x: 3\n"
    inv = load_inventory([str(yaml_inv(tmp_path, text))])
    assert inv.get("localhost").vars["over"] == {"x": 3, "y": 2}


def test_duplicates_in_group_vars_files(capsys, tmp_path):
    (tmp_path / "hosts").write_text("[web]\nw1\n")
    (tmp_path / "group_vars").mkdir()
    vars_file = tmp_path / "group_vars" / "web.yml"
    vars_file.write_text("a: 1\nb: 2\na: 3\n")
    assert error_of(capsys, tmp_path / "hosts").startswith(
        f"runner: error: {vars_file}:3: duplicate key 'a' (first on line 1)"
    )


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [
        ("hosts.yml", "all:\n  hosts:\n    web[0:99999999]:\n", 3),
        ("hosts", "[web]\nr[0:9999]n[0:9999]\n", 2),
        ("hosts", "[web]\nw[0:999999999999999999999]\n", 2),
    ],
)
def test_ranges_are_counted_before_expanding(capsys, tmp_path, name, text, line):
    path = yaml_inv(tmp_path, text, name=name)
    first = error_of(capsys, path)
    assert first.startswith(f"runner: error: {path}:{line}: host range ")
    assert f"the limit is {MAX_RANGE_HOSTS:,}" in first or "at most 18 digits" in first


def test_inline_ranges_are_bounded_too(capsys):
    code, _, err = cli(capsys, "inventory", "-i", "web[0:99999999],", "--list")
    assert code == 1 and "makes 100,000,000 hosts" in err


def test_the_range_limit_is_inclusive():
    assert len(expand_host_range(f"h[1:{MAX_RANGE_HOSTS}]")) == MAX_RANGE_HOSTS
    with pytest.raises(RangeError, match="makes 100,001 hosts"):
        expand_host_range(f"h[0:{MAX_RANGE_HOSTS}]")


@pytest.mark.parametrize(
    "pattern", ["~[", "*[", "web[0", "web[", "web]", "!", "&", "~", "web:!", "web[1:", "a,b["]
)
def test_malformed_patterns_are_errors_not_everything(capsys, tmp_path, pattern):
    path = yaml_inv(tmp_path, "[web]\nweb1\nweb2\n[db]\ndb1\n", name="hosts")
    code, out, err = cli(capsys, "inventory", "-i", str(path), "--hosts", pattern)
    assert (code, out) == (1, "")
    assert err.startswith("runner: error: host pattern ") or "regular expression" in err


def test_malformed_pattern_is_a_host_pattern_error(tmp_path):
    inv = load_inventory(["web1,web2,"])
    with pytest.raises(HostPatternError) as info:
        inv.select("web[0")
    assert info.value.pattern == "web[0"


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [
        (
            "hosts.yml",
            "all:\n  children:\n    g:\n      vars:\n        ansible_group_priority: x\n",
            5,
        ),
        ("hosts.yml", "all:\n  vars:\n    ansible_group_priority: .inf\n", 3),
        ("hosts", "[g]\nh1\n[g:vars]\nansible_group_priority=high\n", 4),
    ],
)
def test_group_priority_errors_name_file_and_line(capsys, tmp_path, name, text, line):
    path = yaml_inv(tmp_path, text, name=name)
    first = error_of(capsys, path)
    assert first.startswith(f"runner: error: {path}:{line}: ansible_group_priority of group ")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("h x=" + "1" * 4400, "an integer with more than 4300 digits"),
        ("h x=0x" + "f" * 4000, "an integer with more than 4300 digits"),
        ("h x=" + "[" * 150 + "]" * 150, "nested deeper than 100 levels"),
    ],
)
def test_ini_values_are_bounded(capsys, tmp_path, line, message):
    path = yaml_inv(tmp_path, f"[web]\n{line}\n", name="hosts")
    first = error_of(capsys, path)
    assert first.startswith(f"runner: error: {path}:2: ") and message in first


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{x: 2001-13-45}", "-e:1: extra vars '{x: 2001-13-45}' are not valid YAML/JSON"),
        ("{x: &a [*a]}", "an alias refers to the collection that contains it"),
        ("{1: a}", "-e: extra vars '{1: a}': variable name 1 must be a string"),
        ("{x: \x00}", "control character U+0000"),
        ("{a: 1, a: 2}", "duplicate key 'a'"),
        ("novalue", "-e: extra vars must be name=value"),
    ],
)
def test_extra_vars_errors(capsys, value, message):
    code, _, err = cli(capsys, "inventory", "-i", "h1,", "--host", "h1", "-e", value)
    assert code == 1 and err.startswith("runner: error: -e")
    assert message in err.splitlines()[0]


def test_extra_vars_file_errors_name_the_file(capsys, tmp_path):
    bad = tmp_path / "vars.yml"
    bad.write_text("a: 1\nwhen: 2001-13-45\n")
    code, _, err = cli(capsys, "inventory", "-i", "h1,", "--host", "h1", "-e", f"@{bad}")
    assert code == 1 and err.startswith(f"runner: error: {bad}:2: invalid timestamp")


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("- hosts: all\n  tasks:\n    - debug: {msg: 2001-13-45}\n", 3, "invalid timestamp"),
        ("- hosts: all\n  hosts: web\n", 2, "duplicate key 'hosts' (first on line 1)"),
        ("- hosts: all\n  vars: &v {a: *v}\n", 2, "alias refers to the collection"),
        ("- hosts: all\n  vars:\n    x: \x07\n", 3, "control character U+0007"),
    ],
)
def test_playbooks_share_the_safe_reader(text, line, message):
    with pytest.raises(PlaybookError) as info:
        parse_yaml(text, "site.yml")
    assert (info.value.path, info.value.line) == ("site.yml", line)
    assert message in info.value.message


def test_playbook_lines_are_kept():
    data = parse_yaml("- hosts: all\n\n  tasks:\n    - debug: {msg: hi}\n", "site.yml")
    assert line_of(data[0]) == 1 and line_of(data[0], "tasks") == 3
    assert line_of(data[0]["tasks"][0]) == 4


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\nb: 2\na: 3\n",  # duplicate
        "a:\n  1: x\n",  # a key that is not a string
        "a: 2001-13-45\n",  # a value that fails to construct
        "".join(f"{' ' * i}k{i}:\n" for i in range(MAX_DEPTH + 2)),  # too deep
    ],
)
def test_fast_path_steps_aside_for_what_it_cannot_check(text):
    with pytest.raises(NotSimple):
        load_simple_yaml(text)


@pytest.mark.parametrize(
    ("args", "where"),
    [
        (["-i", "h1,", "-e", "ansible_port=x"], "-e: "),
        (["-i", "h1,", "-e", '{"ansible_port": [1]}'], "-e: "),
        (["-i", "h1,", "-e", "ansible_ssh_port=99999999999"], "-e: "),
    ],
)
def test_ports_are_checked_before_any_connection(capsys, args, where):
    code, _, err = cli(capsys, "inventory", *args, "--list")
    assert code == 1
    assert err.startswith(f"runner: error: {where}ansible_") and "must be a port number" in err


def test_port_from_an_inventory_file_names_it(capsys, tmp_path):
    path = yaml_inv(tmp_path, "[web]\nh1 ansible_port=http\n", name="hosts")
    assert error_of(capsys, path).startswith(f"runner: error: {path}: ansible_port of host 'h1'")


def test_good_ports_pass(capsys):
    code, out, _ = cli(capsys, "inventory", "-i", "h1:2222,", "-e", "ansible_ssh_port=22", "--list")
    assert code == 0 and json.loads(out)["_meta"]["hostvars"]["h1"]["ansible_port"] == 2222


@pytest.mark.parametrize(
    ("printed", "message"),
    [
        ('{"a": ' + "[" * 5000 + "]" * 5000 + "}", "JSON nested deeper than 100 levels"),
        ('{"a": {"vars": {"x": ' + "1" * 5000 + "}}}", "integer of more than 4300 digits"),
        ('{"a": {"vars": {"x": ' + "[" * 150 + "]" * 150 + "}}}", "nested deeper than 100"),
    ],
)
def test_script_output_is_bounded(capsys, tmp_path, printed, message):
    (tmp_path / "out.json").write_text(printed)
    script = tmp_path / "inv.sh"
    script.write_text(f"#!/bin/sh\ncat {tmp_path / 'out.json'}\n")
    script.chmod(0o755)
    first = error_of(capsys, script)
    assert first.startswith(f"runner: error: {script}: ") and message in first


def test_reading_a_small_file_allocates_little_whatever_the_size_limit(tmp_path):
    """The size bound is read in chunks: read(MAX_FILE_BYTES + 1) allocated 256 MiB first."""
    import tracemalloc

    from runner.textfiles import read_text

    path = tmp_path / "hosts.yml"
    path.write_text("all:\n  hosts:\n    web1:\n")
    tracemalloc.start()
    try:
        assert read_text(str(path)).startswith("all:")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20
