"""Loading and validation: every error names file:line and says what to do instead."""

from __future__ import annotations

import pytest

from runner.errors import InputError, PlaybookError
from runner.playbook import load_playbook, select_tasks, tags_allow
from runner.playbook.model import Block
from runner.playbook.modspec import parse_free_form


def load(tmp_path, text: str, name: str = "play.yml", **kw):
    path = tmp_path / name
    path.write_text(text)
    return load_playbook(str(path), **kw)


def error(tmp_path, text: str) -> PlaybookError:
    with pytest.raises(PlaybookError) as info:
        load(tmp_path, text)
    return info.value


def test_unknown_module_names_file_line_and_alternative(tmp_path):
    from runner.playbook.bridge import Bridge

    text = "- hosts: all\n  tasks:\n    - name: sync\n      synchronize: src=a dest=b\n"
    with pytest.raises(PlaybookError) as info:  # without ansible-core
        load(tmp_path, text, bridge=Bridge(search_path=[]))
    exc = info.value
    assert str(exc).startswith(f"{tmp_path}/play.yml:4: unknown module 'synchronize'")
    assert "runner supports: " in str(exc) and "command, copy" in str(exc)
    assert "rsync" in exc.hint


def test_unsupported_keyword_says_what_to_use(tmp_path):
    exc = error(tmp_path, "- hosts: all\n  tasks:\n    - debug: msg=x\n      debugger: never\n")
    assert exc.line == 4 and "does not support the task keyword 'debugger'" in exc.message
    assert exc.hint.startswith("instead: ")


def test_unknown_play_keyword_and_typo(tmp_path):
    exc = error(tmp_path, "- hosts: all\n  taks:\n    - debug: msg=x\n")
    assert exc.line == 2 and "unknown play keyword 'taks'" in exc.message


def test_bad_module_arguments(tmp_path):
    exc = error(tmp_path, "- hosts: all\n  tasks:\n    - copy: dest=/tmp/x\n")
    assert exc.line == 3 and "copy needs 'src' or 'content'" in exc.message
    exc = error(tmp_path, "- hosts: all\n  tasks:\n    - file: path=/x state=linked\n")
    assert "state must be one of" in exc.message
    exc = error(tmp_path, "- hosts: all\n  tasks:\n    - copy: {content: x, dest: /x, mood: 1}\n")
    assert "copy does not support 'mood'" in exc.message


def test_missing_local_file_is_found_before_running(tmp_path):
    exc = error(tmp_path, "- hosts: all\n  tasks:\n    - template: src=nope.j2 dest=/x\n")
    assert exc.line == 3 and "local file 'nope.j2' not found" in exc.message


def test_notify_unknown_handler(tmp_path):
    text = "- hosts: all\n  tasks:\n    - shell: x\n      notify: restart\n  handlers: []\n"
    exc = error(tmp_path, text)
    assert exc.line == 3 and "no handler named 'restart'" in exc.message


def test_a_broken_handler_is_one_error_not_two(tmp_path):
    """A handler whose own definition is refused (here a condition ansible-core cannot
    parse either) is reported once; the tasks notifying it add no 'no handler named'."""
    text = (
        "- hosts: all\n  tasks:\n    - shell: x\n      notify: [reload, topic]\n"
        "  handlers:\n    - name: reload\n      shell: y\n      when: a|bool = True\n"
        "    - name: other\n      listen: topic\n      debug: {nosuch: 1}\n"
    )
    exc = error(tmp_path, text)
    assert "no handler named" not in str(exc)
    assert "invalid condition" in str(exc) and "debug does not support 'nosuch'" in str(exc)


def test_yaml_and_condition_syntax_errors_have_lines(tmp_path):
    exc = error(tmp_path, "- hosts: all\n  tasks:\n    - debug: msg=x\n     bad: [\n")
    assert exc.line is not None and "invalid YAML" in exc.message
    exc = error(tmp_path, "- hosts: all\n  tasks:\n    - debug: msg=x\n      when: x ==\n")
    assert exc.line == 4 and "invalid condition" in exc.message


def test_serial_and_max_fail_percentage_validation(tmp_path):
    book = load(tmp_path, "- hosts: all\n  serial: [1, '30%', 5]\n  max_fail_percentage: 20\n")
    assert book.plays[0].serial == (1, "30%", 5)
    assert book.plays[0].max_fail_percentage == 20
    exc = error(tmp_path, "- hosts: all\n  serial: lots\n")
    assert exc.line == 2
    exc = error(tmp_path, "- hosts: all\n  max_fail_percentage: 150\n")
    assert "0 to 100" in exc.message


def test_gather_keywords_are_read_and_checked(tmp_path):
    book = load(tmp_path, "- hosts: all\n  gather_facts: yes\n  gather_subset: '!all,network'\n")
    play = book.plays[0]
    assert (play.gather_facts, play.gather_subset, book.warnings) == (True, ("!all", "network"), [])
    assert load(tmp_path, "- hosts: all\n  gather_facts: false\n").plays[0].gather_facts is False
    assert load(tmp_path, "- hosts: all\n").plays[0].gather_facts is None  # the setting decides
    exc = error(tmp_path, "- hosts: all\n  gather_facts: maybe\n")
    assert str(exc).startswith(f"{tmp_path}/play.yml:2: gather_facts must be true or false")
    exc = error(tmp_path, "- hosts: all\n  gather_subset: [hardwre]\n")
    assert str(exc).startswith(f"{tmp_path}/play.yml:2: Bad subset 'hardwre'")


def test_free_form_arguments():
    assert parse_free_form("shell", "echo a=b chdir=/srv creates='/x y'") == {
        "chdir": "/srv",
        "creates": "/x y",
        "_raw_params": "echo a=b",
    }
    text = "cat <<EOF\nline {{ x }}\nEOF\n"
    assert parse_free_form("shell", text)["_raw_params"] == text.strip("\n")


def test_blocks_inherit_keywords_and_rescuable(tmp_path):
    book = load(
        tmp_path,
        """
- hosts: all
  become: true
  tasks:
    - block:
        - name: inner
          shell: one
      rescue:
        - name: fix
          shell: two
      always:
        - name: end
          shell: three
      when: go
      tags: [b]
      environment: {A: "1"}
""",
    )
    block = book.plays[0].tasks[0]
    assert isinstance(block, Block)
    inner, fix, end = list(book.plays[0].all_tasks())
    assert inner.when == ("go",) and inner.tags == frozenset({"b"}) and inner.become
    assert inner.environment == {"A": "1"}
    assert inner.rescuable and not fix.rescuable and not end.rescuable
    assert [t.index for t in (inner, fix, end)] == [1, 2, 3]


def test_import_playbook_and_fqcn(tmp_path):
    (tmp_path / "other.yml").write_text(
        "- hosts: db\n  tasks:\n    - ansible.builtin.debug: msg=x\n"
    )
    book = load(tmp_path, "- import_playbook: other.yml\n- hosts: web\n")
    assert [p.hosts for p in book.plays] == ["db", "web"]
    assert book.plays[0].tasks[0].module == "debug"


def test_vars_files_relative_and_templated(tmp_path):
    (tmp_path / "vars").mkdir()
    (tmp_path / "vars" / "prod.yml").write_text("port: 80\n")
    book = load(
        tmp_path, "- hosts: all\n  vars: {env: prod}\n  vars_files: ['vars/{{ env }}.yml']\n"
    )
    assert book.plays[0].vars == {"env": "prod", "port": 80}


def test_tag_rules():
    assert tags_allow(set(), (), ())
    assert not tags_allow({"never"}, (), ())
    assert tags_allow({"never", "debug"}, {"debug"}, ())
    assert tags_allow({"always"}, {"x"}, ())
    assert not tags_allow({"always"}, (), {"always"})
    assert not tags_allow({"a"}, (), {"a"})
    assert tags_allow(set(), {"untagged"}, ())
    assert not tags_allow({"a"}, {"untagged"}, ())
    assert tags_allow({"a"}, {"tagged"}, ())


def test_start_at_task_and_tags_select(tmp_path):
    text = """
- hosts: all
  tasks:
    - {name: one, debug: msg=1, tags: [a]}
    - {name: two, debug: msg=2}
    - {name: three, debug: msg=3, tags: [a]}
"""
    book = load(tmp_path, text)
    names = lambda b: [t.name for t in b.plays[0].all_tasks()]  # noqa: E731
    assert names(select_tasks(book, start_at_task="two")) == ["two", "three"]
    assert names(select_tasks(book, tags=["a"])) == ["one", "three"]
    assert names(select_tasks(book, skip_tags=["a"])) == ["two"]
    assert names(select_tasks(book, start_at_task="t*", tags=["a"])) == ["three"]
    with pytest.raises(InputError):
        select_tasks(book, start_at_task="nope")


def test_a_templated_choice_waits_for_the_host_a_plain_one_is_checked_now(tmp_path):
    """A choice given as a template is known only per host: the loader leaves it to the
    run (as Ansible does); a plain wrong one is an error naming its line."""
    text = (
        "- hosts: all\n  tasks:\n"
        "    - lineinfile: {path: /x, line: y, state: \"{{ s | default('present') }}\"}\n"
        '    - file: {path: /x, state: "{{ s }}"}\n'
        '    - user: {name: u, state: "{{ s }}"}\n'
    )
    assert len(load(tmp_path, text).plays[0].tasks) == 3
    exc = error(tmp_path, "- hosts: all\n  tasks:\n    - file: {path: /x, state: gone}\n")
    assert exc.line == 3 and "file state must be one of" in exc.message
