"""Roles without hosts: where a role is found (Ansible's search path, collections), how
roles:, import_role and include_role load (dependencies, allow_duplicates, handlers,
*_from files), the load-time errors, and where role variables sit in the precedence."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.errors import PlaybookError
from runner.models import Host
from runner.playbook import load_playbook
from runner.playbook.localfiles import search_dirs
from runner.playbook.model import Role
from runner.playbook.role_search import find_role, role_file
from runner.playbook.variables import PRECEDENCE, Facts, VarScope


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def load(root: Path, play: str, **kw):
    write(root, {"site.yml": play})
    return load_playbook(str(root / "site.yml"), **kw)


def error(root: Path, play: str, **kw) -> PlaybookError:
    with pytest.raises(PlaybookError) as info:
        load(root, play, **kw)
    return info.value


# -- the search path -------------------------------------------------------------------


def test_roles_are_found_in_ansibles_order(tmp_path):
    site, shared = tmp_path / "site", tmp_path / "shared"
    write(tmp_path, {"shared/web/tasks/main.yml": "", "shared/db/tasks/main.yml": "",
                     "site/roles/web/tasks/main.yml": "", "site/db/tasks/main.yml": "",
                     "site/only_here/tasks/main.yml": ""})  # fmt: skip
    # playbook roles/ before roles_path, roles_path before the playbook's own folder
    assert find_role("web", str(site), [str(shared)])[0].path == str(site / "roles/web")
    assert find_role("db", str(site), [str(shared)])[0].path == str(shared / "db")
    assert find_role("only_here", str(site), [str(shared)])[0].path == str(site / "only_here")
    found, tried = find_role("nowhere", str(site), [str(shared)])
    assert found is None
    assert tried == [str(site / "roles/nowhere"), str(shared / "nowhere"), str(site / "nowhere")]


def test_collection_roles_and_role_paths(tmp_path):
    coll = tmp_path / "coll"
    write(tmp_path, {"coll/ansible_collections/acme/tools/roles/stamp/tasks/main.yml": "",
                     "elsewhere/mine/tasks/main.yml": ""})  # fmt: skip
    found, _ = find_role("acme.tools.stamp", str(tmp_path / "site"), [], [str(coll)])
    assert (found.name, found.fqcn) == ("stamp", "acme.tools.stamp")
    assert found.path.endswith("ansible_collections/acme/tools/roles/stamp")
    found, _ = find_role("../elsewhere/mine", str(tmp_path / "site"))
    assert found.name == "mine" and found.path == str(tmp_path / "elsewhere/mine")
    assert role_file(str(tmp_path / "elsewhere/mine"), "tasks").endswith("tasks/main.yml")


def test_a_roles_files_are_searched_before_the_playbooks():
    assert search_dirs("site", "template", "site/roles/web") == [
        "site/roles/web/templates", "site/roles/web", "site/roles/web/tasks/templates",
        "site/roles/web/tasks", "site/templates", "site",
    ]  # fmt: skip


# -- loading ---------------------------------------------------------------------------

ROLES = {
    "roles/common/defaults/main.yml": "level: default\nport: 80\n",
    "roles/common/vars/main.yml": "level: role_vars\nexported: yes\n",
    "roles/common/tasks/main.yml": "- name: hello\n  debug: msg={{ level }}\n  notify: bounce\n",
    "roles/common/handlers/main.yml": "- name: bounce\n  debug: msg=bounced\n",
    "roles/common/files/motd": "hi\n",
    "roles/web/meta/main.yml": "dependencies:\n  - common\n  - {role: dup, n: 1}\n",
    "roles/web/tasks/main.yml": "- copy: {src: motd, dest: /tmp/motd}\n",
    "roles/web/files/motd": "web\n",
    "roles/web/tasks/other.yml": "- name: other\n  debug: msg=other\n",
    "roles/dup/meta/main.yml": "allow_duplicates: true\n",
    "roles/dup/tasks/main.yml": "- name: again\n  debug: msg={{ n }}\n",
}


def labels(play) -> list[str]:
    return [t.label for t in play.all_tasks()]


def test_roles_run_after_pre_tasks_with_dependencies_first_and_once(tmp_path):
    write(tmp_path, ROLES)
    play = load(tmp_path, """\
- hosts: all
  tasks: [{name: mine, debug: msg=x}]
  pre_tasks: [{name: first, debug: msg=x}]
  roles:
    - common
    - role: web
      when: go
    - role: web
      when: go
""").plays[0]  # fmt: skip
    # common ran already when web needs it; web's second entry is a duplicate, but its
    # dependency dup allows duplicates and runs again (as ansible-playbook does)
    assert labels(play) == ["first", "common : hello", "dup : again", "web : copy",
                            "dup : again", "mine"]  # fmt: skip
    web = [t for t in play.all_tasks() if t.label == "web : copy"][0]
    assert web.when == ("go",) and web.role.params == {}
    dup = [t for t in play.all_tasks() if t.label == "dup : again"][0]
    assert dup.role.params == {"n": 1} and dup.when == ("go",)
    assert play.role_defaults == {"level": "default", "port": 80}
    assert play.role_vars == {"level": "role_vars", "exported": True}
    # the role's handler answers to its name and to ROLE : name
    assert [(h.label, h.listen) for h in play.handlers] == [
        ("common : bounce", ("common : bounce",))
    ]


def test_role_params_vars_and_keywords(tmp_path):
    write(tmp_path, ROLES)
    play = load(tmp_path, """\
- hosts: all
  roles:
    - {role: common, level: param, vars: {own: v}, tags: [c], become: true}
  tasks:
    - import_role: {name: web, tasks_from: other}
      vars: {via: import}
      when: now
    - include_role: {name: dup}
      loop: [1, 2]
""").plays[0]  # fmt: skip
    # import_role runs web's dependencies first (common again: other parameters)
    assert labels(play) == ["common : hello", "common : hello", "dup : again", "web : other",
                            "include_role : dup"]  # fmt: skip
    hello, *_, other, include = list(play.all_tasks())
    assert hello.role.params == {"level": "param"} and hello.role.vars["own"] == "v"
    assert hello.tags == {"c"} and hello.become is True
    assert other.label == "web : other" and other.when == ("now",)
    assert other.role.params == {"via": "import"}
    assert include.include is not None and include.loop == [1, 2]


@pytest.mark.parametrize(
    ("files", "play", "line", "words"),
    [
        ({}, "- hosts: all\n  roles: [nothere]\n", 2, ["role 'nothere' not found", "roles/nothere"]),
        ({"roles/r/meta/main.yml": "dependencies: nope\n"}, "- hosts: all\n  roles: [r]\n", 1,
         ["'dependencies' must be a list", "meta/main.yml"]),
        ({"roles/r/meta/main.yml": "dependencies: [gone]\n"}, "- hosts: all\n  roles: [r]\n", 1,
         ["role 'gone' not found"]),
        ({"roles/r/tasks/main.yml": ""},
         "- hosts: all\n  tasks:\n    - import_role: {name: r, tasks_from: nope}\n", 3,
         ["tasks_from: 'nope' not found", "tasks/nope.yml"]),
        ({}, "- hosts: all\n  tasks:\n    - include_role: {name: gone}\n", 3,
         ["role 'gone' not found"]),
        ({}, "- hosts: all\n  roles: 5\n", 2, ["'roles' must be a list"]),
        ({"roles/r/tasks/main.yml": "- copy: {src: absent.txt, dest: /x}\n"},
         "- hosts: all\n  roles: [r]\n", 1, ["absent.txt", "roles/r/files"]),
        ({"roles/r/tasks/main.yml": ""},
         "- hosts: all\n  tasks:\n    - import_role: {name: r, bogus: 1}\n", 3, ["bogus"]),
    ],
)  # fmt: skip
def test_role_errors_name_file_line_and_where_it_looked(tmp_path, files, play, line, words):
    write(tmp_path, files)
    exc = error(tmp_path, play)
    assert exc.line == line, exc
    for word in words:
        assert word in str(exc), exc


def test_a_missing_role_is_refused_with_the_roles_path_searched(tmp_path):
    exc = error(tmp_path, "- hosts: all\n  roles: [web]\n", roles_path=(str(tmp_path / "rp"),))
    assert str(tmp_path / "rp" / "web") in exc.message and "roles_path" in exc.hint


# -- precedence ------------------------------------------------------------------------


def test_role_variables_take_their_places_in_the_precedence():
    assert [name for name, _ in PRECEDENCE] == [
        "role defaults", "inventory", "facts", "play vars", "role vars", "task vars",
        "include_vars", "set_fact", "role params", "extra vars", "loop",
    ]  # fmt: skip
    names = ["default", "inventory", "play", "role_vars", "task", "included", "set_fact", "param",
             "extra"]  # fmt: skip
    # p_X is set at level X and every level below it: its value is the level that won
    upto = {n: {f"p_{m}": n for m in names[names.index(n) :]} for n in names}
    host = Host("h1", vars=upto["inventory"], groups=("all",))
    facts = Facts()
    facts.set("h1", upto["set_fact"])
    facts.include("h1", upto["included"])
    role = Role("web", "/r/web", defaults=upto["default"], vars=upto["role_vars"],
                params=upto["param"])  # fmt: skip
    scope = VarScope(hosts={"h1": host}, play_vars=upto["play"], extra_vars=upto["extra"],
                     facts=facts, play_hosts=["h1"], batch=["h1"], check_mode=False,
                     playbook_dir="/p")  # fmt: skip
    seen = scope.for_host(host, upto["task"], role)
    assert {n: seen[f"p_{n}"] for n in names} == {n: n for n in names}
    assert (seen["role_name"], seen["role_path"]) == ("web", "/r/web")
    # the play's public roles: defaults under the inventory, vars over the play's
    scope = VarScope(hosts={"h1": host}, play_vars={"p_play": "play"}, extra_vars={},
                     facts=Facts(), play_hosts=["h1"], batch=["h1"], check_mode=False,
                     playbook_dir="/p", role_defaults={"p_inventory": "x", "d": 1},
                     role_vars={"p_play": "role_vars"})  # fmt: skip
    seen = scope.for_host(host)
    assert (seen["p_inventory"], seen["d"], seen["p_play"]) == ("inventory", 1, "role_vars")
    assert "role_name" not in seen


# -- running (on fakes) ------------------------------------------------------------------


def test_include_role_runs_per_item_and_public_exposes_its_variables_afterwards(tmp_path):
    from runner.playbook.events import TaskStarted
    from tests.fakes import FakeFleet, run_playbook, shell_text

    write(tmp_path, {
        "roles/pub/defaults/main.yml": "pub_default: d\n",
        "roles/pub/vars/main.yml": "pub_var: v\n",
        "roles/pub/tasks/main.yml": "- assert: {that: [\"role_name == 'pub'\"]}\n",
        "roles/pub/handlers/main.yml": "- name: h\n  shell: echo handled {{ role_name }}\n",
        "roles/priv/vars/main.yml": "priv_var: p\n",
        "roles/priv/tasks/main.yml": "- assert: {that: [\"priv_var == 'p'\"]}\n",
        "roles/looped/tasks/main.yml": "- shell: echo {{ item }} {{ role_name }} {{ n }}\n",
    })  # fmt: skip
    play = """\
- hosts: all
  tasks:
    - assert: {that: [pub_var is not defined]}
    - include_role: {name: pub, public: true}
    - assert: {that: [pub_default == 'd', pub_var == 'v']}
    - include_role: {name: priv}
    - assert: {that: [priv_var is not defined]}
    - include_role: {name: looped}
      loop: [a, b]
      vars: {n: 1}
    - shell: echo notify
      notify: "pub : h"
"""
    fleet = FakeFleet(["h1", "h2"])
    summary, recorder = run_playbook(fleet, play, tmp_path)
    assert all(c.failed == 0 for c in summary.recap.values()), summary.recap
    commands = [shell_text(c) for host, c in fleet.log if host == "h1"]
    assert commands == ["echo a looped 1", "echo b looped 1", "echo notify", "echo handled pub"]
    started = [e.task for e in recorder.of_type(TaskStarted)]
    assert "include_role : looped" in started and "pub : assert" in started
    assert "pub : h" in started


def test_from_files_apply_and_role_handlers_from(tmp_path):
    write(tmp_path, {
        "roles/r/tasks/alt.yml": "- name: alt\n  debug: msg={{ v }}\n",
        "roles/r/vars/alt.yml": "v: alt_vars\n",
        "roles/r/defaults/alt.yml": "d: alt_default\n",
        "roles/r/handlers/alt.yml": "- name: alt handler\n  debug: msg=h\n",
    })  # fmt: skip
    play = load(tmp_path, """\
- hosts: all
  tasks:
    - import_role:
        {name: r, tasks_from: alt, vars_from: alt, defaults_from: alt, handlers_from: alt}
    - include_role:
        name: r
        tasks_from: alt
        apply: {become: true, tags: [t]}
      tags: [t]
""").plays[0]  # fmt: skip
    (alt,) = [t for t in play.all_tasks() if t.role is not None]
    assert alt.label == "r : alt" and alt.role.vars == {"v": "alt_vars"}
    assert alt.role.defaults == {"d": "alt_default"} and play.role_defaults == {"d": "alt_default"}
    assert [h.label for h in play.handlers] == ["r : alt handler"]
    include = [t for t in play.all_tasks() if t.include is not None][0]
    (block,) = include.include.load(include.include.find("r"))
    (inner,) = block.block
    assert inner.become is True and inner.tags == {"t"} and inner.role.name == "r"


def test_a_templated_include_role_brings_its_handlers_when_it_runs(tmp_path):
    from tests.fakes import FakeFleet, run_playbook, shell_text

    write(tmp_path, {
        "roles/hand/tasks/main.yml": "- shell: echo work\n  notify: go\n",
        "roles/hand/handlers/main.yml": "- name: go\n  shell: echo went {{ role_name }}\n",
    })  # fmt: skip
    play = (
        "- hosts: all\n  vars: {which: hand}\n  tasks:\n    - include_role: {name: '{{ which }}'}\n"
    )
    fleet = FakeFleet(["h1"])
    summary, _ = run_playbook(fleet, play, tmp_path)
    assert summary.recap["h1"].failed == 0
    assert [shell_text(c) for _, c in fleet.log] == ["echo work", "echo went hand"]


def test_start_at_task_finds_a_roles_task_by_role_and_name(tmp_path):
    from runner.playbook import select_tasks

    write(tmp_path, ROLES)
    book = load(tmp_path, "- hosts: all\n  roles: [common, web]\n")
    picked = select_tasks(book, start_at_task="dup : again")
    assert labels(picked.plays[0]) == ["dup : again", "web : copy"]


def test_a_roles_nested_task_file_includes_from_the_roles_tasks_folder(tmp_path):
    write(tmp_path, {
        "roles/r/tasks/main.yml": "- import_tasks: sub/a.yml\n",
        "roles/r/tasks/sub/a.yml": "- import_tasks: b.yml\n",
        "roles/r/tasks/b.yml": "- name: b\n  debug: msg=b\n",
    })  # fmt: skip
    play = load(tmp_path, "- hosts: all\n  roles: [r]\n").plays[0]
    assert labels(play) == ["r : b"]
