"""The file module as ansible-core's: the same sequence of file tasks runs through
ansible-core's own module (locally, one process: tests/ansible_side.ansible_modules) and
through runner (a playbook on localhost over the local connection), each in its own copy
of the same starting tree; every step's changed, failure message and registered keys and
the trees left behind (kinds, modes, link targets) must be equal."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from tests.ansible_side import ansible_modules
from tests.conftest import run_inprocess

# {r} is the tree's root. Steps run in order, each seeing what the previous ones did.
STEPS: list[dict] = [
    {"path": "{r}/d1/d2", "state": "directory"},
    {"path": "{r}/d1/d2", "state": "directory"},
    {"path": "{r}/d1/d2", "state": "directory", "mode": "0700"},
    {"path": "{r}/d1", "state": "directory", "recurse": True, "mode": "u=rwX,g=rX,o="},
    {"path": "{r}/d1", "state": "directory", "recurse": True, "mode": "u=rwX,g=rX,o="},
    {"path": "{r}/f", "state": "touch"},
    {"path": "{r}/f", "state": "touch", "mode": "0640"},
    {"path": "{r}/f", "mode": "0640"},
    {"path": "{r}/f", "state": "file", "mode": "0600"},
    {"path": "{r}/missing", "state": "file"},
    {"path": "{r}/f", "state": "directory"},
    {"path": "{r}/ln", "state": "link", "src": "f"},
    {"path": "{r}/ln", "state": "link", "src": "f"},
    {"path": "{r}/ln", "state": "link", "src": "nowhere"},
    {"path": "{r}/ln", "state": "link", "src": "nowhere", "force": True},
    {"path": "{r}/ln", "state": "link", "src": "{r}/f"},
    {"path": "{r}/f", "state": "link", "src": "ln"},
    {"path": "{r}/hl", "state": "hard", "src": "{r}/f"},
    {"path": "{r}/hl", "state": "hard", "src": "{r}/f"},
    {"path": "{r}/old", "state": "touch", "modification_time": "202001021530.00",
     "access_time": "202001021530.00"},
    {"path": "{r}/old", "state": "file", "modification_time": "202001021530.00"},
    {"path": "{r}/old", "state": "file", "modification_time": "202101021530.00"},
    {"path": "{r}/d1", "state": "absent"},
    {"path": "{r}/d1", "state": "absent"},
    {"path": "{r}/ln", "state": "absent"},
    {"path": "{r}/gone", "src": "{r}/f"},
    {"path": "{r}/d3", "recurse": True},
]  # fmt: skip

KEYS = ("changed", "failed", "msg", "path", "dest", "src", "state", "mode", "owner", "size")


def _fill(value: object, root: Path) -> object:
    return value.replace("{r}", str(root)) if isinstance(value, str) else value


def seed(root: Path) -> None:
    root.mkdir()
    (root / "data").write_text("x\n")


def snapshot(root: Path) -> dict[str, str]:
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            p = Path(dirpath) / name
            st = p.lstat()
            kind = (
                "link -> " + os.readlink(p) if p.is_symlink() else ("dir" if p.is_dir() else "file")
            )
            link = str(root) + "/"
            out[str(p.relative_to(root))] = (
                f"{kind.replace(link, 'R/')} {stat.S_IMODE(st.st_mode):o} {st.st_nlink} {int(st.st_mtime) if kind == 'file' and p.name == 'old' else ''}"
            )
    return out


def shown(result: dict, root: Path) -> dict:
    """The keys that matter (a failure's changed is runner's own: always false)."""
    if result.get("failed"):
        result = {k: v for k, v in result.items() if k != "changed"}
    return {
        k: (str(result[k]).replace(str(root), "R") if isinstance(result[k], str) else result[k])
        for k in KEYS
        if k in result and not (k == "failed" and not result[k])
    }


def test_file_steps_as_ansible(tmp_path):
    theirs, ours = tmp_path / "T", tmp_path / "O"  # one length: link sizes compare
    seed(theirs)
    seed(ours)
    their_results = ansible_modules(
        tmp_path, [("file", {k: _fill(v, theirs) for k, v in step.items()}) for step in STEPS]
    )
    tasks = [
        {"file": {k: _fill(v, ours) for k, v in step.items()}, "register": f"s{i}",
         "ignore_errors": True}
        for i, step in enumerate(STEPS)
    ]  # fmt: skip
    everything = ", ".join(f"s{i}" for i in range(len(STEPS)))
    tasks.append({"copy": {"content": "{{ [" + everything + "] | to_json }}",
                           "dest": str(tmp_path / "ours.json")}})  # fmt: skip
    book = tmp_path / "book.yml"
    book.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    inventory = tmp_path / "inv.yml"
    inventory.write_text("all:\n  hosts:\n    localhost: {ansible_connection: local}\n")
    res = run_inprocess("play", "-i", str(inventory), str(book))
    assert (tmp_path / "ours.json").exists(), res
    our_results = json.loads((tmp_path / "ours.json").read_text())
    for i, (mine, other) in enumerate(zip(our_results, their_results, strict=True)):
        assert shown(mine, ours) == shown(other, theirs), (i, STEPS[i])
    assert snapshot(ours) == snapshot(theirs)
