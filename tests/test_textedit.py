"""lineinfile, blockinfile and replace edit text as ansible-core's modules do: every case
below runs through ansible-core's own module (one ansible-playbook run on localhost,
connection local) and through runner's pure planners (runner.playbook.modules.edit
plan_*), from the same starting content; the resulting files, ``changed``, ``msg`` and
``found`` must be equal, and a case Ansible fails must fail in runner with the same msg."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.playbook.modules.base import ModuleFailure
from runner.playbook.modules.edit import plan_blockinfile, plan_lineinfile, plan_replace
from tests.ansible_side import ansible_modules

BASE = "a=1\nb=2\n# section\nc=3\nb=22\n"
NOEOL = "one\ntwo"
CRLF = "x=1\r\ny=2\r\n"
MISSING = None  # the file does not exist

LINEINFILE: list[tuple[str | None, dict]] = [
    (BASE, {"line": "d=4"}),
    (BASE, {"line": "a=1"}),
    (BASE, {"regexp": "^b=", "line": "b=9"}),
    (BASE, {"regexp": "^b=", "line": "b=9", "firstmatch": True}),
    (BASE, {"regexp": "^zz=", "line": "zz=1"}),
    (BASE, {"regexp": "^zz=", "line": "a=1"}),
    (BASE, {"line": "new", "insertafter": "^# section"}),
    (BASE, {"line": "new", "insertbefore": "^# section"}),
    (BASE, {"line": "new", "insertafter": "^b="}),
    (BASE, {"line": "new", "insertafter": "^b=", "firstmatch": True}),
    (BASE, {"line": "new", "insertbefore": "^b=", "firstmatch": True}),
    (BASE, {"line": "new", "insertbefore": "^b="}),
    (BASE, {"line": "new", "insertafter": "BOF"}),
    (BASE, {"line": "new", "insertbefore": "BOF"}),
    (BASE, {"line": "new", "insertafter": "EOF"}),
    (BASE, {"line": "new", "insertafter": "^nomatch"}),
    (BASE, {"line": "new", "insertbefore": "^nomatch"}),
    (BASE, {"line": "c=3", "insertafter": "^a="}),
    (BASE, {"line": "b=2", "insertafter": "^a="}),
    (BASE, {"line": "b=22", "insertafter": "^c="}),
    (BASE, {"line": "a=1", "insertbefore": "^b=2"}),
    (BASE, {"regexp": r"^(b)=(\d+)$", "line": r"\1 is \2", "backrefs": True}),
    (BASE, {"regexp": r"^(q)=(\d+)$", "line": r"\1 is \2", "backrefs": True}),
    (BASE, {"regexp": r"^(b)=(\d+)$", "line": r"\2", "backrefs": True, "firstmatch": True}),
    (BASE, {"search_string": "=2", "line": "found"}),
    (BASE, {"search_string": "=2", "line": "found", "firstmatch": True}),
    (BASE, {"search_string": "zzz", "line": "appended"}),
    (BASE, {"search_string": "zzz", "line": "new", "insertafter": "^a"}),
    (BASE, {"regexp": "^b=", "line": "x", "insertafter": "^a"}),
    (BASE, {"state": "absent", "regexp": "^b="}),
    (BASE, {"state": "absent", "line": "c=3"}),
    (BASE, {"state": "absent", "search_string": "="}),
    (BASE, {"state": "absent", "line": "nothing"}),
    (BASE, {"regexp": "", "line": "every"}),
    (NOEOL, {"line": "three"}),
    (NOEOL, {"line": "two"}),
    (NOEOL, {"regexp": "^two", "line": "TWO"}),
    (NOEOL, {"line": "mid", "insertafter": "^one"}),
    (NOEOL, {"line": "end", "insertafter": "^two"}),
    (NOEOL, {"line": "start", "insertbefore": "^one"}),
    (NOEOL, {"state": "absent", "line": "two"}),
    (CRLF, {"regexp": "^x=", "line": "x=5"}),
    (CRLF, {"line": "y=2"}),
    (CRLF, {"line": "z=3"}),
    ("", {"line": "first"}),
    ("", {"line": "first", "insertbefore": "BOF"}),
    ("", {"line": "first", "insertafter": "^x"}),
    ("", {"state": "absent", "line": "x"}),
    (MISSING, {"line": "created", "create": True}),
    (MISSING, {"line": "created", "create": True, "insertbefore": "BOF"}),
    (MISSING, {"regexp": "(x)", "line": r"\1", "backrefs": True, "create": True}),
    (MISSING, {"line": "nope"}),
    (MISSING, {"state": "absent", "line": "nope"}),
    ("dup\ndup\nx\n", {"line": "dup", "insertafter": "^x"}),
    ("k: v\nlist:\n  - a\n", {"line": "  - b", "insertafter": "^  - "}),
]

BLOCKINFILE: list[tuple[str | None, dict]] = [
    (BASE, {"block": "x\ny"}),
    (BASE, {"block": "x\ny\n"}),
    (BASE, {"block": "x", "insertafter": "^# section"}),
    (BASE, {"block": "x", "insertbefore": "^# section"}),
    (BASE, {"block": "x", "insertbefore": "BOF"}),
    (BASE, {"block": "x", "insertafter": "^b="}),
    (BASE, {"block": "x", "insertafter": "^nomatch"}),
    (BASE, {"block": "x", "insertafter": "(?m)^b=2$"}),
    (BASE, {"block": "x", "insertbefore": "(?m)^c=3$"}),
    (BASE, {"block": "x", "marker": "// {mark} mine", "marker_begin": "START"}),
    (BASE, {"block": "x", "prepend_newline": True, "append_newline": True,
            "insertafter": "^a="}),
    (BASE, {"block": ""}),
    (BASE, {"state": "absent"}),
    (NOEOL, {"block": "x"}),
    ("a\n# BEGIN ANSIBLE MANAGED BLOCK\nold\n# END ANSIBLE MANAGED BLOCK\nz\n",
     {"block": "new"}),
    ("a\n# BEGIN ANSIBLE MANAGED BLOCK\nsame\n# END ANSIBLE MANAGED BLOCK\nz\n",
     {"block": "same"}),
    ("a\n# BEGIN ANSIBLE MANAGED BLOCK\nold\n# END ANSIBLE MANAGED BLOCK\nz\n",
     {"state": "absent"}),
    ("a\n# BEGIN ANSIBLE MANAGED BLOCK\nold\n# END ANSIBLE MANAGED BLOCK\nz\n",
     {"block": ""}),
    ("a\n# END ANSIBLE MANAGED BLOCK\nold\n# BEGIN ANSIBLE MANAGED BLOCK\nz\n",
     {"block": "swapped"}),
    ("a\n# BEGIN ANSIBLE MANAGED BLOCK\nonly begin\n", {"block": "b"}),
    ("", {"block": "x"}),
    (MISSING, {"block": "x", "create": True}),
    (MISSING, {"block": "", "create": True}),
    (MISSING, {"block": "x"}),
    (MISSING, {"state": "absent"}),
    (MISSING, {"state": "absent", "create": True}),
]  # fmt: skip

REPLACE: list[tuple[str | None, dict]] = [
    (BASE, {"regexp": "^b=", "replace": "B="}),
    (BASE, {"regexp": r"^(\w)=(\d+)$", "replace": r"\2=\1"}),
    (BASE, {"regexp": r"^(?P<k>\w)=", "replace": r"\g<k>:"}),
    (BASE, {"regexp": "=2$", "replace": "=2"}),
    (BASE, {"regexp": "nomatch", "replace": "x"}),
    (BASE, {"regexp": "^b=.*$"}),
    (BASE, {"regexp": "^b=", "replace": "B=", "after": "# section"}),
    (BASE, {"regexp": "^b=", "replace": "B=", "before": "# section"}),
    (BASE, {"regexp": "=", "replace": ":", "after": "a=1", "before": "c=3"}),
    (BASE, {"regexp": "=", "replace": ":", "after": "nomatch"}),
    (BASE, {"regexp": "\n", "replace": " "}),
    (BASE, {"regexp": "^", "replace": "> "}),
    (BASE, {"regexp": "$", "replace": ";"}),
    (NOEOL, {"regexp": "o", "replace": "0"}),
    ("", {"regexp": "x", "replace": "y"}),
    (MISSING, {"regexp": "x", "replace": "y"}),
]

PLANNERS = {"lineinfile": plan_lineinfile, "blockinfile": plan_blockinfile, "replace": plan_replace}
CASES = [
    (module, index, content, args)
    for module, cases in (("lineinfile", LINEINFILE), ("blockinfile", BLOCKINFILE),
                          ("replace", REPLACE))
    for index, (content, args) in enumerate(cases)
]  # fmt: skip


def _name(module: str, index: int) -> str:
    return f"{module}_{index}"


@pytest.fixture(scope="module")
def ansible_results(tmp_path_factory) -> tuple[Path, dict]:
    """Run every case through ansible-core's own modules, in one process."""
    work = tmp_path_factory.mktemp("textedit")
    files = work / "files"
    files.mkdir()
    runs = []
    for module, index, content, args in CASES:
        name = _name(module, index)
        if content is not None:
            (files / name).write_bytes(content.encode())
        runs.append((module, {"path": str(files / name), **args}))
    results = ansible_modules(work, runs)
    return files, {_name(m, i): r for (m, i, _, _), r in zip(CASES, results, strict=True)}


@pytest.mark.parametrize(("module", "index", "content", "args"), CASES)
def test_same_edit_as_ansible(ansible_results, module, index, content, args):
    files, results = ansible_results
    name = _name(module, index)
    theirs = results[name]
    path = str(files / name)
    planner = PLANNERS[module]
    before = content.encode() if content is not None else None
    if theirs.get("failed"):
        with pytest.raises(ModuleFailure) as failure:
            planner(before, {"path": path, **args})
        assert failure.value.msg == theirs["msg"]
        return
    plan = planner(before, {"path": path, **args})
    if plan.final is not None:
        assert plan.final["changed"] == theirs["changed"]
        assert plan.final["msg"] == theirs["msg"]
        assert not (files / name).exists() or content is not None
        return
    assert plan.changed == theirs["changed"], (plan, theirs)
    assert plan.msg == theirs["msg"]
    if "found" in theirs:
        assert plan.extra["found"] == theirs["found"]
    on_disk = (files / name).read_bytes() if (files / name).exists() else None
    assert (plan.new if plan.changed else before) == on_disk


ASSEMBLE = [
    {},
    {"delimiter": "### part"},
    {"delimiter": "--\\n"},
    {"regexp": "^[ab]"},
    {"ignore_hidden": True},
    {"delimiter": "#", "ignore_hidden": True, "regexp": "b|c"},
]


def test_assemble_joins_fragments_as_ansible(tmp_path):
    from runner.playbook.modules.assemble import join_fragments

    fragments = {"b.conf": b"two", "a.conf": b"one\n", ".hidden": b"h\n", "c": b"three\n"}
    src = tmp_path / "frags"
    src.mkdir()
    for name, data in fragments.items():
        (src / name).write_bytes(data)
    (src / "folder").mkdir()  # not a file: left out
    runs = [("assemble", {"src": str(src), "dest": str(tmp_path / f"out{i}"), **args})
            for i, args in enumerate(ASSEMBLE)]  # fmt: skip
    theirs = ansible_modules(tmp_path, runs)
    for i, args in enumerate(ASSEMBLE):
        assert theirs[i]["changed"] is True, theirs[i]
        assert join_fragments(fragments, **args) == (tmp_path / f"out{i}").read_bytes(), args
