"""import_tasks (expanded at load time) and include_tasks (expanded per host at run time),
on fake hosts."""

from __future__ import annotations

import pytest

from runner.errors import PlaybookError
from runner.models import Status
from runner.playbook import load_playbook, select_tasks
from runner.playbook.events import TaskFinished, TaskStarted
from tests.fakes import FakeFleet, run_playbook


def counts(summary, host):
    c = summary.recap[host].as_dict()
    return c["ok"], c["changed"], c["failed"], c["skipped"]


def write(tmp_path, name, text):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_import_tasks_free_form_and_file_with_vars_when_tags(tmp_path):
    write(tmp_path, "setup.yml", "- name: setup {{ what }}\n  shell: echo setup {{ what }}\n")
    write(tmp_path, "sub/more.yml", "- shell: echo more\n")
    text = """
- hosts: all
  tasks:
    - import_tasks: setup.yml
      vars: {what: one}
      tags: [s]
    - import_tasks:
        file: sub/more.yml
      when: inventory_hostname == 'a'
    - shell: echo last
"""
    fleet = FakeFleet(["a", "b"])
    summary, recorder = run_playbook(fleet, text, tmp_path)
    assert fleet.commands("a") == ["echo setup one", "echo more", "echo last"]
    assert fleet.commands("b") == ["echo setup one", "echo last"]
    assert counts(summary, "b") == (2, 2, 0, 1)
    started = recorder.of_type(TaskStarted)
    assert started[0].path == str(tmp_path / "setup.yml") and started[0].line == 1
    book = load_playbook(str(tmp_path / "play.yml"))
    tagged = select_tasks(book, tags=("s",))
    assert [t.label for t in tagged.plays[0].all_tasks()] == ["setup {{ what }}"]


def test_nested_import_is_relative_to_the_importing_file(tmp_path):
    write(tmp_path, "tasks/main.yml", "- import_tasks: inner.yml\n")
    write(tmp_path, "tasks/inner.yml", "- shell: echo inner\n")
    fleet = FakeFleet(["a"])
    run_playbook(fleet, "- hosts: all\n  tasks:\n    - import_tasks: tasks/main.yml\n", tmp_path)
    assert fleet.commands("a") == ["echo inner"]


def load_error(tmp_path, text) -> PlaybookError:
    write(tmp_path, "play.yml", text)
    with pytest.raises(PlaybookError) as info:
        load_playbook(str(tmp_path / "play.yml"))
    return info.value


def test_import_errors_name_the_importing_file_and_line(tmp_path):
    err = load_error(
        tmp_path, "- hosts: all\n  tasks:\n    - shell: x\n    - import_tasks: gone.yml\n"
    )
    assert err.path == str(tmp_path / "play.yml") and err.line == 4
    assert "gone.yml" in err.message and "not found" in err.message
    write(tmp_path, "self.yml", "- import_tasks: self.yml\n")
    err = load_error(tmp_path, "- hosts: all\n  tasks:\n    - import_tasks: self.yml\n")
    assert "includes itself" in err.message and err.path == str(tmp_path / "self.yml")
    write(tmp_path, "bad.yml", "- nosuchmodule: x\n")
    err = load_error(tmp_path, "- hosts: all\n  tasks:\n    - import_tasks: bad.yml\n")
    assert err.path == str(tmp_path / "bad.yml") and err.line == 1
    err = load_error(tmp_path, "- hosts: all\n  tasks:\n    - include_tasks: gone.yml\n")
    assert err.line == 3 and "gone.yml" in err.message
    err = load_error(
        tmp_path, "- hosts: all\n  tasks:\n    - import_tasks: x.yml\n      loop: [1]\n"
    )
    assert err.line == 4 and "loop" in err.message


def test_include_tasks_when_is_evaluated_once_before_including(tmp_path):
    # the included task changes the condition; with include_tasks it was decided before
    write(tmp_path, "flip.yml", "- set_fact: {go: false}\n- shell: echo second\n")
    text = """
- hosts: all
  vars: {go: true}
  tasks:
    - include_tasks: flip.yml
      when: go
    - import_tasks: flip2.yml
      when: go2
"""
    write(tmp_path, "flip2.yml", "- set_fact: {go2: false}\n- shell: echo imported\n")
    fleet = FakeFleet(["a"], host_vars={"a": {"go2": True}})
    summary, _ = run_playbook(fleet, text, tmp_path)
    assert fleet.commands("a") == ["echo second"]  # the import's when applies to each task
    assert counts(summary, "a") == (4, 1, 0, 1)


def test_include_tasks_loop_vars_and_templated_name_per_host(tmp_path):
    write(tmp_path, "Debian.yml", "- shell: echo debian {{ item }} {{ v }}\n")
    write(tmp_path, "RedHat.yml", "- shell: echo redhat {{ item }} {{ v }}\n")
    text = """
- hosts: all
  tasks:
    - include_tasks: "{{ family }}.yml"
      loop: [1, 2]
      vars: {v: x}
    - shell: echo after
"""
    fleet = FakeFleet(
        ["a", "b", "c"],
        host_vars={"a": {"family": "Debian"}, "b": {"family": "RedHat"}, "c": {"family": "Debian"}},
    )
    summary, recorder = run_playbook(fleet, text, tmp_path)
    assert fleet.commands("a") == ["echo debian 1 x", "echo debian 2 x", "echo after"]
    assert fleet.commands("b") == ["echo redhat 1 x", "echo redhat 2 x", "echo after"]
    assert counts(summary, "a") == (5, 3, 0, 0)  # the include counts one ok per file
    # hosts that included the same file with the same item ran its task together
    together = [sorted(o.host for o in e.outcomes) for e in recorder.of_type(TaskFinished)]
    assert ["a", "c"] in together and ["b"] in together and ["a", "b", "c"] in together


def test_templated_include_of_a_missing_file_fails_that_host(tmp_path):
    write(tmp_path, "here.yml", "- shell: echo here\n")
    text = """
- hosts: all
  tasks:
    - include_tasks: "{{ f }}.yml"
    - shell: echo after
"""
    fleet = FakeFleet(["a", "b"], host_vars={"a": {"f": "here"}, "b": {"f": "gone"}})
    summary, recorder = run_playbook(fleet, text, tmp_path)
    assert fleet.commands("a") == ["echo here", "echo after"]
    assert fleet.commands("b") == []
    assert counts(summary, "b") == (0, 0, 1, 0)
    failed = [o for e in recorder.of_type(TaskFinished) for o in e.outcomes if o.host == "b"]
    assert failed[0].status is Status.FAILED and "gone.yml" in failed[0].result["msg"]


def test_include_tags_apply_only_to_the_include_unless_apply(tmp_path):
    write(tmp_path, "t.yml", "- shell: echo plain\n- shell: echo tagged\n  tags: [x]\n")
    text = """
- hosts: all
  tasks:
    - include_tasks: t.yml
      tags: [x]
    - include_tasks:
        file: t.yml
        apply: {tags: [x]}
      tags: [x]
"""
    fleet = FakeFleet(["a"])
    run_playbook(fleet, text, tmp_path, tags=("x",))
    assert fleet.commands("a") == ["echo tagged", "echo plain", "echo tagged"]


def test_nested_include_and_block_in_included_file(tmp_path):
    write(tmp_path, "outer.yml", "- include_tasks: inner.yml\n- shell: echo outer\n")
    write(
        tmp_path,
        "inner.yml",
        "- block:\n    - shell: 'false'\n  rescue:\n    - shell: echo rescued\n",
    )
    fleet = FakeFleet(["a"])
    text = "- hosts: all\n  tasks:\n    - include_tasks: outer.yml\n    - shell: echo end\n"
    run_playbook(fleet, text, tmp_path)
    assert fleet.commands("a") == ["false", "echo rescued", "echo outer", "echo end"]


def test_pre_tasks_tasks_post_tasks_each_flush_their_handlers(tmp_path):
    text = """
- hosts: all
  post_tasks:
    - shell: echo post
      notify: h
  tasks:
    - shell: echo main
      notify: h
    - shell: echo main2
  pre_tasks:
    - shell: echo pre
      notify: h
  handlers:
    - name: h
      shell: echo handler
"""
    fleet = FakeFleet(["a", "b"])
    summary, _ = run_playbook(fleet, text, tmp_path)
    assert fleet.commands("a") == [
        "echo pre", "echo handler", "echo main", "echo main2", "echo handler", "echo post",
        "echo handler",
    ]  # fmt: skip
    assert counts(summary, "b") == (7, 7, 0, 0)
    book = load_playbook(str(tmp_path / "play.yml"))
    assert [t.args["_raw_params"] for t in book.plays[0].all_tasks()][0] == "echo pre"


def test_a_host_failing_in_pre_tasks_runs_no_later_section(tmp_path):
    text = """
- hosts: all
  pre_tasks:
    - shell: "{{ 'false' if inventory_hostname == 'b' else 'echo pre' }}"
  tasks:
    - shell: echo main
  post_tasks:
    - shell: echo post
"""
    fleet = FakeFleet(["a", "b"])
    summary, _ = run_playbook(fleet, text, tmp_path)
    assert fleet.commands("a") == ["echo pre", "echo main", "echo post"]
    assert fleet.commands("b") == ["false"]
    assert counts(summary, "b") == (0, 0, 1, 0)


META = """
- hosts: all
  serial: SERIAL
  tasks:
    - shell: echo one
      notify: h
    - meta: end_host
      when: inventory_hostname == 'a'
    - shell: echo two
    - meta: flush_handlers
    - shell: echo three
      notify: h
    - meta: ENDING
    - shell: echo four
  handlers:
    - name: h
      shell: echo handler
- hosts: all
  tasks:
    - shell: echo play2
"""


def test_meta_end_host_flush_handlers_end_play(tmp_path):
    # as ansible-playbook 2.x runs it (checked with -c local): meta tasks count nothing,
    # an ended host's notified handlers do not run, end_play stops every host
    fleet = FakeFleet(["a", "b"])
    text = META.replace("SERIAL", "0").replace("ENDING", "end_play")
    summary, recorder = run_playbook(fleet, text, tmp_path)
    assert fleet.commands("a") == ["echo one", "echo play2"]
    assert fleet.commands("b") == [
        "echo one", "echo two", "echo handler", "echo three", "echo play2"
    ]  # fmt: skip
    assert counts(summary, "a") == (2, 2, 0, 0) and counts(summary, "b") == (5, 5, 0, 0)
    assert "meta" not in [e.task for e in recorder.of_type(TaskStarted)]


def test_meta_end_play_ends_later_batches_and_end_batch_does_not(tmp_path):
    fleet = FakeFleet(["a", "b", "c"])
    text = META.replace("SERIAL", "1").replace("ENDING", "end_play")
    run_playbook(fleet, text, tmp_path)
    assert fleet.commands("c") == ["echo play2"]
    assert "echo three" in fleet.commands("b")
    fleet = FakeFleet(["a", "b", "c"])
    run_playbook(fleet, text.replace("end_play", "end_batch"), tmp_path)
    assert fleet.commands("c") == fleet.commands("b")
    assert "echo four" not in fleet.commands("c") and "echo three" in fleet.commands("c")


def test_meta_refuses_what_it_does_not_support(tmp_path):
    err = load_error(tmp_path, "- hosts: all\n  tasks:\n    - meta: bogus\n")
    assert err.line == 3 and "flush_handlers" in err.message and "'bogus'" in err.message
    err = load_error(tmp_path, "- hosts: all\n  tasks:\n    - meta: end_role\n")
    assert err.line == 3 and "not in a role" in err.message  # as Ansible refuses it
    err = load_error(tmp_path, "- hosts: all\n  tasks:\n    - meta: noop\n      loop: [1]\n")
    assert "loop" in err.message


def test_imported_tasks_find_copy_sources_next_to_the_playbook(tmp_path):
    write(tmp_path, "files/motd", "hello\n")
    write(tmp_path, "tasks/motd.yml", "- copy: {src: motd, dest: /etc/motd}\n")
    text = "- hosts: all\n  tasks:\n    - import_tasks: tasks/motd.yml\n"
    fleet = FakeFleet(["a"])
    _, recorder = run_playbook(fleet, text, tmp_path)
    # the fake host cannot inspect /etc/motd, but the local source was found (at load and run)
    (result,) = [o.result for e in recorder.of_type(TaskFinished) for o in e.outcomes]
    assert result["msg"].startswith("cannot inspect /etc/motd")
    write(tmp_path, "tasks/gone.yml", "- copy: {src: gone, dest: /etc/gone}\n")
    err = load_error(tmp_path, "- hosts: all\n  tasks:\n    - import_tasks: tasks/gone.yml\n")
    assert err.path == str(tmp_path / "tasks" / "gone.yml") and "gone" in err.message
