"""The language side of real Ansible content, on fake hosts (no sshd): one pass of errors,
import_playbook with vars/tags/when, vars_files first found, include_vars, module_defaults,
collections, per-task check_mode and diff, tags always/never, vars_prompt, meta
clear_host_errors/refresh_inventory/reset_connection, include_tasks in handlers and apply."""

from __future__ import annotations

import io

import pytest

from runner.errors import InputError, PlaybookError
from runner.models import Status
from runner.playbook import load_playbook, select_tasks
from runner.playbook.collect import PlaybookErrors
from runner.playbook.events import TaskFinished
from runner.playbook.prompts import answer_plays
from tests.fakes import FakeFleet, run_playbook


def write(tmp_path, name, text):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def counts(summary, host):
    c = summary.recap[host].as_dict()
    return c["ok"], c["changed"], c["failed"], c["skipped"]


def debug_msgs(recorder, host="a"):
    return [
        o.result.get("msg")
        for e in recorder.of_type(TaskFinished)
        if e.module == "debug"
        for o in e.outcomes
        if o.host == host and o.status is Status.OK
    ]


# -- one pass of errors ----------------------------------------------------------------


def test_every_error_of_the_playbook_and_its_imports_is_reported_at_once(tmp_path):
    write(tmp_path, "more.yml", "- nosuchmodule: x\n- shell: ok\n- copy: {dest: /x}\n")
    write(
        tmp_path,
        "other.yml",
        "- hosts: all\n  bogus_play_key: 1\n  tasks:\n    - no_such_module_b: x\n",
    )
    text = """
- hosts: all
  tasks:
    - shell: echo fine
    - debug: {msg: "{{ unclosed"}
    - import_tasks: more.yml
    - import_tasks: missing.yml
    - shell: echo {{ x }}
      notify: nobody
- import_playbook: other.yml
- hosts: all
  tasks:
    - file: {path: /x, state: nonsense}
"""
    path = write(tmp_path, "site.yml", text)
    with pytest.raises(PlaybookErrors) as info:
        load_playbook(str(path))
    errors = info.value.errors
    where = [(e.path.rsplit("/", 1)[-1], e.line) for e in errors]
    assert ("site.yml", 5) in where  # the template
    assert ("more.yml", 1) in where and ("more.yml", 3) in where
    assert ("site.yml", 7) in where  # missing.yml names the importing line
    assert ("other.yml", 2) in where and ("other.yml", 4) in where
    assert ("site.yml", 13) in where
    assert any("nobody" in e.message for e in errors)
    text = str(info.value)
    assert f"{len(errors)} problems" in text and "missing.yml" in text
    assert all(f"{e.path}:{e.line}" in text for e in errors)


def test_one_error_stays_one_plain_error(tmp_path):
    path = write(tmp_path, "site.yml", "- hosts: all\n  tasks:\n    - no_such_module_b: x\n")
    with pytest.raises(PlaybookError) as info:
        load_playbook(str(path))
    assert not isinstance(info.value, PlaybookErrors) and info.value.line == 3


def test_the_cli_reports_them_all_before_anything_runs(tmp_path, in_process):
    path = write(
        tmp_path,
        "site.yml",
        "- hosts: all\n  tasks:\n    - no_such_module_b: x\n    - synchronize: y\n",
    )
    inv = write(tmp_path, "hosts", "a ansible_host=127.0.0.1 ansible_port=1\n")
    for extra in (["--syntax-check"], []):
        result = in_process("play", "-i", str(inv), str(path), *extra)
        assert result.exit_code == 1
        assert f"{path}:3:" in result.stderr and f"{path}:4:" in result.stderr
        assert "2 problems" in result.stderr and "Traceback" not in result.stderr


# -- import_playbook, vars_files ---------------------------------------------------------


def test_import_playbook_vars_tags_when_and_templated_name(tmp_path):
    write(
        tmp_path,
        "prod.yml",
        "- hosts: all\n  vars: {colour: red, mine: 1}\n  tasks:\n"
        "    - debug: {msg: '{{ colour }} {{ mine }}'}\n      tags: [t]\n",
    )
    text = """
- import_playbook: "{{ stage }}.yml"
  vars: {stage: prod, colour: blue}
  tags: [imported]
  when: inventory_hostname == 'a'
"""
    fleet = FakeFleet(["a", "b"])
    summary, recorder = run_playbook(fleet, text, tmp_path)
    assert debug_msgs(recorder) == ["blue 1"]  # the import's vars win over the play's
    assert counts(summary, "b") == (0, 0, 0, 1)
    book = load_playbook(str(tmp_path / "play.yml"))
    assert book.plays[0].tags == {"imported"}
    assert [t.tags for t in book.plays[0].all_tasks()] == [{"imported", "t"}]
    bad = write(tmp_path, "bad.yml", "- import_playbook: prod.yml\n  become: true\n")
    with pytest.raises(PlaybookError, match="does not take become"):
        load_playbook(str(bad))


def test_vars_files_lists_read_the_first_found(tmp_path):
    write(tmp_path, "vars/default.yml", "where: default\n")
    write(tmp_path, "vars/prod.yml", "where: prod\n")
    write(tmp_path, "common.yml", "common: yes\n")
    text = """
- hosts: all
  vars: {env: prod}
  vars_files:
    - ["{{ env }}-missing.yml", "default.yml"]
    - ["vars/{{ env }}.yml", default.yml]
    - common.yml
  tasks:
    - debug: {msg: "{{ where }} {{ common }}"}
"""
    _, recorder = run_playbook(FakeFleet(["a"]), text, tmp_path)
    assert debug_msgs(recorder) == ["prod True"]
    path = write(tmp_path, "none.yml", "- hosts: all\n  vars_files: [[a.yml, b.yml]]\n")
    with pytest.raises(PlaybookError, match="none of a.yml, b.yml") as info:
        load_playbook(str(path))
    assert info.value.line == 2


# -- include_vars ------------------------------------------------------------------------


def test_include_vars_file_dir_name_loop_when_and_precedence(tmp_path):
    write(tmp_path, "vars/one.yml", "one: 1\nshared: from-one\n")
    write(tmp_path, "two.yml", "two: 2\n")
    write(tmp_path, "conf/a.yml", "x: a\n")
    write(tmp_path, "conf/b.yml", "x: b\ny: b\n")
    write(tmp_path, "conf/skip.yml", "x: skipped\n")
    write(tmp_path, "conf/deep/c.yml", "deep: c\n")
    text = """
- hosts: all
  vars: {shared: play}
  tasks:
    - include_vars: one.yml
    - include_vars: {file: two.yml, name: bundle}
    - include_vars:
        dir: conf
        depth: 1
        ignore_files: ['skip.yml']
        extensions: [yml]
    - include_vars: "{{ item }}"
      loop: [two.yml]
      when: inventory_hostname == 'a'
    - set_fact: {two: overridden}
    - debug: {msg: "{{ one }} {{ shared }} {{ bundle.two }} {{ x }} {{ y }} {{ deep | default('-') }} {{ two }}"}
      vars: {shared: task}
"""
    _, recorder = run_playbook(FakeFleet(["a"]), text, tmp_path)
    assert debug_msgs(recorder) == ["1 from-one 2 b b - overridden"]


def test_include_vars_errors(tmp_path):
    write(tmp_path, "conf/bad.txt", "x: 1\n")
    text = """
- hosts: all
  tasks:
    - include_vars: {dir: conf}
      ignore_errors: true
    - include_vars: gone.yml
"""
    summary, recorder = run_playbook(FakeFleet(["a"]), text, tmp_path)
    msgs = [o.result["msg"] for e in recorder.of_type(TaskFinished) for o in e.outcomes]
    assert "does not have a valid extension" in msgs[0]
    assert "Could not find or access 'gone.yml'" in msgs[1]
    path = write(
        tmp_path, "mixed.yml", "- hosts: all\n  tasks:\n    - include_vars: {file: a, dir: b}\n"
    )
    with pytest.raises(PlaybookError, match="not both"):
        load_playbook(str(path))


# -- keywords -----------------------------------------------------------------------------


def test_module_defaults_collections_check_mode_and_diff(tmp_path):
    text = """
- hosts: all
  collections: [community.general]
  module_defaults:
    ansible.builtin.shell: {chdir: /srv}
    group/community.general.x: {a: 1}
  tasks:
    - shell: echo one
    - block:
        - shell: echo two
      module_defaults:
        shell: {chdir: /opt}
    - shell: echo three
      args: {chdir: /tmp}
    - file: {path: /x, state: touch}
      check_mode: true
      diff: false
"""
    path = write(tmp_path, "play.yml", text)
    tasks = list(load_playbook(str(path)).plays[0].all_tasks())
    assert [t.args.get("chdir") for t in tasks[:3]] == ["/srv", "/opt", "/tmp"]
    assert tasks[0].collections == ("community.general",)
    assert tasks[3].check_mode is True and tasks[3].diff is False
    bad = write(tmp_path, "bad.yml", "- hosts: all\n  module_defaults: {file: {nope: 1}}\n"
                "  tasks:\n    - file: {path: /x}\n")  # fmt: skip
    with pytest.raises(PlaybookError, match="nope") as info:
        load_playbook(str(bad))
    assert info.value.line == 4


@pytest.mark.parametrize(
    "tags, skip, expected",
    [
        ((), (), ["plain", "always", "tagged"]),
        (("debug",), (), ["always", "never-debug"]),
        (("never",), (), ["always", "never-debug", "never-only"]),
        (("tagged",), (), ["always", "tagged"]),
        (("x",), ("always",), ["tagged"]),
        ((), ("x",), ["plain", "always"]),
        ((), ("all",), ["always"]),
        (("all",), (), ["plain", "always", "tagged"]),
    ],
)
def test_tags_always_and_never_as_ansible(tmp_path, tags, skip, expected):
    text = """
- hosts: all
  tasks:
    - {name: plain, debug: {msg: x}}
    - {name: always, debug: {msg: x}, tags: [always]}
    - {name: tagged, debug: {msg: x}, tags: [x]}
    - {name: never-debug, debug: {msg: x}, tags: [never, debug]}
    - {name: never-only, debug: {msg: x}, tags: [never]}
"""
    path = write(tmp_path, "play.yml", text)
    book = select_tasks(load_playbook(str(path)), tags=tags, skip_tags=skip)
    assert [t.name for t in book.plays[0].all_tasks()] == expected


def test_vars_prompt_defaults_answers_and_no_terminal(tmp_path):
    text = """
- hosts: all
  vars: {release: from-vars}
  vars_prompt:
    - {name: release, prompt: Which release, default: "1.0", private: false}
    - {name: token, prompt: Token}
    - {name: hashed, prompt: Password, encrypt: sha512_crypt, salt: abcdefgh, default: pw}
"""
    path = write(tmp_path, "play.yml", text)
    book = load_playbook(str(path))
    asked = []

    def ask(text, private):
        asked.append((text, private))
        return "" if "release" in text else "secret"

    answer_plays(book.plays, {"hashed": "given"}, ask)
    assert book.plays[0].vars["release"] == "1.0" and book.plays[0].vars["token"] == "secret"
    assert asked == [("Which release [1.0]: ", False), ("Token: ", True)]
    book = load_playbook(str(path))
    with pytest.raises(InputError, match="token") as info:
        answer_plays(book.plays, {}, None)
    assert info.value.line == 6 and "-e token=" in (info.value.hint or "")
    answers = answer_plays(book.plays, {"token": "t"}, None)
    assert book.plays[0].vars["hashed"].startswith("$6$abcdefgh$")
    # a run in another process (the connection keeper) loads the playbook again
    from runner.playbook.job import PlaybookJob

    job = PlaybookJob(paths=(str(path),), prompted=tuple(answers))
    again = PlaybookJob.from_dict(job.to_dict())
    assert again.load_book({"token": "t"}).plays[0].vars["release"] == "1.0"


def test_vars_prompt_without_terminal_is_an_input_error_before_any_connection(tmp_path, in_process):
    path = write(tmp_path, "site.yml", "- hosts: all\n  vars_prompt: [{name: v, prompt: V}]\n"
                 "  tasks:\n    - shell: echo {{ v }}\n")  # fmt: skip
    inv = write(tmp_path, "hosts", "a ansible_host=127.0.0.1 ansible_port=1\n")
    result = in_process("play", "-i", str(inv), str(path))
    assert result.exit_code == 1 and "vars_prompt 'v'" in result.stderr
    assert "unreachable" not in result.stdout + result.stderr


# -- meta, handlers, apply ----------------------------------------------------------------


def test_clear_host_errors_lets_failed_hosts_run_later_plays(tmp_path):
    text = """
- hosts: all
  tasks:
    - shell: exit 3
      when: inventory_hostname == 'b'
- hosts: all
  tasks:
    - meta: clear_host_errors
- hosts: all
  tasks:
    - shell: echo after
"""
    for variant in (text, text.replace("- hosts: all\n  tasks:\n    - meta", "    - meta", 1)):
        # in a play of its own (which b, failed, is not in) or in the failing play: as
        # ansible-core, b runs the later plays, its failure stays in the recap, exit 0
        fleet = FakeFleet(["a", "b"])
        summary, _ = run_playbook(fleet, variant, tmp_path)
        assert fleet.commands("b")[-1] == "echo after"
        assert summary.recap["b"].as_dict()["failed"] == 1 and not summary.any_failed
    fleet = FakeFleet(["a", "b"])
    summary, _ = run_playbook(fleet, text.replace("clear_host_errors", "noop"), tmp_path)
    assert fleet.commands("b")[-1] != "echo after" and summary.any_failed


def test_reset_connection_reconnects(tmp_path):
    text = "- hosts: all\n  tasks:\n    - shell: echo 1\n    - meta: reset_connection\n" \
           "    - shell: echo 2\n"  # fmt: skip
    fleet = FakeFleet(["a"])
    run_playbook(fleet, text, tmp_path)
    assert fleet.connects["a"] == 2


def test_refresh_inventory_reads_the_sources_again(tmp_path):
    from runner.engine import Engine
    from runner.events import Recorder
    from runner.playbook import PlaybookRunner
    from tests.fakes import FactoryOf

    text = """
- hosts: all
  tasks:
    - debug: {msg: "{{ colour | default('none') }}"}
    - meta: refresh_inventory
    - debug: {msg: "{{ colour | default('none') }}"}
"""
    path = write(tmp_path, "play.yml", text)
    fleet = FakeFleet(["a"])
    reloaded = FakeFleet(["a"], host_vars={"a": {"colour": "green"}})
    recorder = Recorder()
    runner = PlaybookRunner(
        inventory=fleet.inventory(),
        engine_factory=lambda: Engine(FactoryOf(fleet.factory)),
        sink=recorder,
        local_factory=fleet.factory,
        reload_inventory=reloaded.inventory,
        gathering="explicit",
    )
    runner.run(load_playbook(str(path)))
    assert debug_msgs(recorder) == ["none", "green"]


def test_include_tasks_in_handlers_and_apply_keywords(tmp_path):
    write(tmp_path, "restart.yml", "- shell: echo restart {{ what }}\n- shell: echo again\n")
    write(tmp_path, "applied.yml", "- shell: echo applied\n- shell: echo applied2\n")
    text = """
- hosts: all
  tasks:
    - shell: echo change
      notify: restart things
    - include_tasks:
        file: applied.yml
        apply:
          when: inventory_hostname == 'a'
          vars: {what: x}
          tags: [ap]
  handlers:
    - name: restart things
      include_tasks: restart.yml
      vars: {what: svc}
"""
    fleet = FakeFleet(["a", "b"])
    summary, recorder = run_playbook(fleet, text, tmp_path)
    assert fleet.commands("a") == [
        "echo change", "echo applied", "echo applied2", "echo restart svc", "echo again"
    ]  # fmt: skip
    assert fleet.commands("b") == ["echo change", "echo restart svc", "echo again"]
    assert counts(summary, "b") == (5, 3, 0, 2)


def test_included_lines_as_ansible_prints_them(tmp_path):
    from rich.console import Console

    from runner.output.playbook import PlaybookView

    write(tmp_path, "x.yml", "- shell: echo x\n")
    text = "- hosts: all\n  tasks:\n    - include_tasks: x.yml\n    - include_tasks: '{{ item }}'\n" \
           "      loop: [x.yml]\n"  # fmt: skip
    _, recorder = run_playbook(FakeFleet(["a", "b"]), text, tmp_path)
    out = io.StringIO()
    view = PlaybookView(Console(file=out, width=200, color_system=None), live=False)
    for event in recorder.events:
        view.handle(event)
    shown = out.getvalue()
    assert f"included: {tmp_path / 'x.yml'} for a,b" in shown or (
        f"included: {tmp_path / 'x.yml'} for a" in shown
    )
    assert "=> (item=x.yml)" in shown
    assert "ok: a" not in shown.split("TASK [include_tasks]")[1].split("TASK")[0]


def test_diff_keyword_shows_a_tasks_changes_without_the_option(tmp_path):
    text = "- hosts: all\n  tasks:\n    - {debug: {msg: x}, diff: true}\n    - debug: {msg: y}\n"
    _, recorder = run_playbook(FakeFleet(["a"]), text, tmp_path)
    assert [e.diff for e in recorder.of_type(TaskFinished)] == [True, False]
    _, recorder = run_playbook(FakeFleet(["a"]), text.replace("true", "false"), tmp_path, diff=True)
    assert [e.diff for e in recorder.of_type(TaskFinished)] == [False, True]


def test_refresh_inventory_rereads_the_files_through_the_cli(tmp_path, in_process):
    inv = write(tmp_path, "hosts.ini", "box ansible_connection=local colour=red\n")
    text = f"""
- hosts: all
  gather_facts: false
  tasks:
    - shell: "printf 'box ansible_connection=local colour=green\\\\n' > {inv}"
    - meta: refresh_inventory
    - debug: {{msg: "colour={{{{ colour }}}}"}}
"""
    path = write(tmp_path, "site.yml", text)
    result = in_process("play", "-i", str(inv), str(path), "--persist", "0")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "colour=green" in result.stdout and "colour=red" not in result.stdout


def test_end_role_outside_a_role_is_refused_at_load(tmp_path):
    path = write(
        tmp_path, "site.yml", "- hosts: all\n  tasks:\n    - debug: msg=x\n    - meta: end_role\n"
    )
    with pytest.raises(PlaybookError) as info:
        load_playbook(str(path))
    assert info.value.line == 4 and "not in a role" in str(info.value)
