"""The linear strategy, conditionals, loops, blocks, handlers and recap counts, on fakes."""

from __future__ import annotations

from runner.become import Become
from runner.models import Status
from runner.playbook.events import TaskFinished, TaskStarted
from tests.fakes import FakeFleet, run_playbook, shell_text


def counts(summary, host):
    return summary.recap[host].as_dict()


def finished(recorder, task):
    return [e for e in recorder.of_type(TaskFinished) if e.task == task]


def test_linear_order_and_one_connection_per_host(tmp_path):
    fleet = FakeFleet(["a", "b", "c"])
    summary, recorder = run_playbook(
        fleet,
        "- hosts: all\n  tasks:\n    - shell: echo one\n    - shell: echo two\n",
        tmp_path,
    )
    order = [shell_text(c) for _, c in fleet.log]
    # every host runs task 1 before any host runs task 2
    assert order == ["echo one"] * 3 + ["echo two"] * 3
    assert all(n >= 1 for n in fleet.connects.values())
    assert [e.task for e in recorder.of_type(TaskStarted)] == ["shell", "shell"]
    assert counts(summary, "a") == {
        "ok": 2, "changed": 2, "unreachable": 0, "failed": 0, "skipped": 0, "rescued": 0,
        "ignored": 0,
    }  # fmt: skip


def test_when_register_loop(tmp_path):
    fleet = FakeFleet(["a", "b"])
    text = """
- hosts: all
  vars: {wanted: [x, y, z]}
  tasks:
    - name: probe
      shell: echo {{ inventory_hostname }}
      register: probe
    - name: only on a
      shell: echo yes
      when: probe.stdout == 'a' and probe.rc == 0 and probe is succeeded
    - name: each
      shell: echo {{ item }}
      loop: "{{ wanted }}"
      when: item != 'y'
      register: each
    - name: count
      set_fact:
        ran: "{{ each.results | rejectattr('skipped', 'defined') | list | length }}"
    - assert:
        that: ran | int == 2
"""
    summary, recorder = run_playbook(fleet, text, tmp_path)
    assert fleet.commands("a").count("echo yes") == 1
    assert "echo yes" not in fleet.commands("b")
    assert [c for c in fleet.commands("b") if c.startswith("echo ") and c[5:] in "xyz"] == [
        "echo x",
        "echo z",
    ]
    only = finished(recorder, "only on a")[0]
    assert {o.host: o.status for o in only.outcomes} == {"a": Status.CHANGED, "b": Status.SKIPPED}
    assert counts(summary, "b")["skipped"] == 1
    assert not summary.any_failed


def test_block_rescue_always_counts(tmp_path):
    fleet = FakeFleet(["a"])
    text = """
- hosts: all
  tasks:
    - block:
        - name: breaks
          shell: exit 3
        - name: never reached
          shell: echo no
      rescue:
        - name: recover
          debug: msg="{{ ansible_failed_result.rc }}"
      always:
        - name: cleanup
          shell: echo cleanup
    - name: after
      shell: echo after
"""
    summary, recorder = run_playbook(fleet, text, tmp_path)
    assert "echo no" not in fleet.commands("a")
    assert "echo after" in fleet.commands("a")
    assert finished(recorder, "recover")[0].outcomes[0].result["msg"] == 3
    assert counts(summary, "a") == {
        "ok": 3, "changed": 2, "unreachable": 0, "failed": 0, "skipped": 0, "rescued": 1,
        "ignored": 0,
    }  # fmt: skip


def test_block_without_rescue_runs_always_then_stops_host(tmp_path):
    fleet = FakeFleet(["a", "b"])
    text = """
- hosts: all
  tasks:
    - block:
        - shell: "exit {{ 3 if inventory_hostname == 'a' else 0 }}"
      always:
        - shell: echo always
    - shell: echo after
"""
    summary, _ = run_playbook(fleet, text, tmp_path)
    assert fleet.commands("a")[-1] == "echo always"
    assert fleet.commands("b")[-1] == "echo after"
    assert counts(summary, "a")["failed"] == 1 and counts(summary, "a")["ok"] == 1
    assert summary.any_failed and not summary.any_unreachable


def test_ignore_errors_counts_ok_and_ignored(tmp_path):
    fleet = FakeFleet(["a"])
    text = "- hosts: all\n  tasks:\n    - shell: exit 2\n      ignore_errors: true\n    - shell: echo go\n"
    summary, _ = run_playbook(fleet, text, tmp_path)
    assert counts(summary, "a") == {
        "ok": 2, "changed": 2, "unreachable": 0, "failed": 0, "skipped": 0, "rescued": 0,
        "ignored": 1,
    }  # fmt: skip


def test_changed_when_failed_when(tmp_path):
    fleet = FakeFleet(["a"])
    text = """
- hosts: all
  tasks:
    - shell: exit 1
      register: r
      failed_when: r.rc not in [0, 1]
      changed_when: false
"""
    summary, _ = run_playbook(fleet, text, tmp_path)
    assert counts(summary, "a")["ok"] == 1 and counts(summary, "a")["changed"] == 0
    assert not summary.any_failed


def test_handlers_run_once_at_end_only_where_notified(tmp_path):
    fleet = FakeFleet(["a", "b", "c"])
    text = """
- hosts: all
  tasks:
    - name: change on a and b
      shell: echo change
      changed_when: inventory_hostname != 'c'
      notify: restart
    - name: again
      shell: echo change
      notify: [restart]
      changed_when: inventory_hostname == 'a'
    - name: fail b
      fail: msg=no
      when: inventory_hostname == 'b'
    - name: last task
      shell: echo last
  handlers:
    - name: restart
      shell: echo restart
    - name: unused
      shell: echo unused
"""
    summary, recorder = run_playbook(fleet, text, tmp_path)
    assert fleet.commands("a").count("echo restart") == 1
    assert fleet.commands("a").index("echo restart") > fleet.commands("a").index("echo last")
    assert "echo restart" not in fleet.commands("b")  # failed hosts run no handlers
    assert "echo restart" not in fleet.commands("c")  # never notified
    assert not any("unused" in c for _, c in fleet.log)
    handler = [e for e in recorder.of_type(TaskFinished) if e.handler]
    assert [o.host for o in handler[0].outcomes] == ["a"]


def test_run_once_counts_one_host_and_registers_everywhere(tmp_path):
    fleet = FakeFleet(["a", "b"])
    text = """
- hosts: all
  tasks:
    - shell: echo once
      run_once: true
      register: once
    - debug: msg="{{ once.stdout }}"
"""
    summary, recorder = run_playbook(fleet, text, tmp_path)
    assert [h for h, _ in fleet.log] == ["a"]
    assert counts(summary, "a")["changed"] == 1 and counts(summary, "b")["changed"] == 0
    assert {o.result["msg"] for o in finished(recorder, "debug")[0].outcomes} == {"once"}


def test_until_retries_with_injected_sleep(tmp_path):
    calls = {"n": 0}

    def responder(host, command):
        calls["n"] += 1
        return (0, "ready\n", "") if calls["n"] >= 3 else (1, "", "not yet")

    fleet = FakeFleet(["a"], responder=responder)
    text = """
- hosts: all
  tasks:
    - shell: check
      register: r
      until: r.rc == 0
      retries: 5
      delay: 2
"""
    summary, recorder = run_playbook(fleet, text, tmp_path)
    assert fleet.sleeps == [2.0, 2.0]
    assert finished(recorder, "shell")[0].outcomes[0].result["attempts"] == 3
    assert not summary.any_failed


def test_until_exhausted_fails(tmp_path):
    fleet = FakeFleet(["a"], responder=lambda h, c: (1, "", ""))
    text = "- hosts: all\n  tasks:\n    - shell: x\n      register: r\n      until: r.rc == 0\n      retries: 1\n      delay: 0\n"
    summary, _ = run_playbook(fleet, text, tmp_path)
    assert len(fleet.log) == 2 and summary.any_failed


def test_unreachable_host_is_removed_and_later_plays_skip_failed(tmp_path):
    fleet = FakeFleet(["a", "b", "c"], unreachable={"c"})
    text = """
- hosts: all
  tasks:
    - shell: echo 1
    - fail: msg=x
      when: inventory_hostname == 'b'
    - shell: echo 2
- hosts: all
  tasks:
    - shell: echo play2
"""
    summary, _ = run_playbook(fleet, text, tmp_path)
    assert counts(summary, "c")["unreachable"] == 1
    assert "echo play2" in fleet.commands("a")
    assert "echo play2" not in fleet.commands("b")
    assert "c" not in [h for h, _ in fleet.log]
    assert summary.any_failed and summary.any_unreachable


def test_check_mode_skips_commands_and_copy_reports(tmp_path):
    def responder(host, command):
        text = shell_text(command)
        if text.startswith("p="):
            return 0, "absent\n", ""
        return 0, "", ""

    fleet = FakeFleet(["a"], responder=responder)
    text = """
- hosts: all
  tasks:
    - shell: echo real
    - copy: {content: "hello\\n", dest: /etc/x}
    - debug: msg="{{ ansible_check_mode }}"
"""
    summary, recorder = run_playbook(fleet, text, tmp_path, check=True, diff=True)
    assert "echo real" not in fleet.commands("a")
    assert not fleet.files
    copy = finished(recorder, "copy")[0].outcomes[0]
    assert copy.status is Status.CHANGED and "+hello" in copy.result["diff"]
    assert finished(recorder, "debug")[0].outcomes[0].result["msg"] is True
    assert counts(summary, "a")["skipped"] == 1


def test_copy_changes_only_when_checksum_differs(tmp_path):
    import hashlib

    state: dict[str, str] = {}

    def responder(host, command):
        text = shell_text(command)
        if text.startswith("p="):  # the probe: kind, checksum, mode uid gid owner group, path
            if "dest" in state:
                return 0, f"file {state['dest']} 644 1000 1000 me me\n/srv/app.conf\n", ""
            return 0, "absent\n", ""
        if text.startswith("s="):  # the write: validate, back up, move in place
            state["dest"] = hashlib.sha1(b"v1\n").hexdigest()
            return 0, "done 644 me me|644 me me\n", ""
        return 0, "", ""

    fleet = FakeFleet(["a"], responder=responder)
    text = '- hosts: all\n  tasks:\n    - copy: {content: "v1\\n", dest: /srv/app.conf}\n'
    first, _ = run_playbook(fleet, text, tmp_path)
    assert first.recap["a"].changed == 1
    assert any(path.startswith("/srv/.app.conf.runner-") for _, path in fleet.files)
    second, _ = run_playbook(fleet, text, tmp_path)
    assert second.recap["a"].changed == 0


def test_command_module_quotes_argv_and_become_and_environment(tmp_path):
    fleet = FakeFleet(["a"])
    text = """
- hosts: all
  tasks:
    - command: echo "$HOME" 'a b'
      become: true
      become_user: deploy
      environment: {LANG: C}
      args: {chdir: /srv}
"""
    run_playbook(fleet, text, tmp_path)
    run = fleet.runs[0]
    assert run.become == Become("deploy") and not run.pty  # the transport runs sudo
    assert run.command.startswith("/bin/sh -c ")
    assert shell_text(run.command) == "export LANG=C; cd /srv && echo '$HOME' 'a b'"


def test_magic_variables_and_precedence(tmp_path):
    fleet = FakeFleet(
        ["web1.example.com", "db1"],
        groups={"web": ["web1.example.com"], "db": ["db1"]},
        host_vars={"db1": {"port": 5432, "who": "inventory"}},
    )
    text = """
- hosts: all
  vars: {who: play, path: "/srv/{{ who }}"}
  tasks:
    - debug:
        msg: "{{ inventory_hostname_short }} {{ group_names }} {{ groups.web }} {{ ansible_play_hosts | length }} {{ hostvars['db1'].port }} {{ path }}"
"""
    _, recorder = run_playbook(fleet, text, tmp_path, extra_vars={"who": "extra"})
    msgs = {o.host: o.result["msg"] for o in finished(recorder, "debug")[0].outcomes}
    assert msgs["web1.example.com"] == "web1 ['web'] ['web1.example.com'] 2 5432 /srv/extra"


def test_undefined_variable_fails_the_task_with_its_name(tmp_path):
    fleet = FakeFleet(["a"])
    summary, recorder = run_playbook(
        fleet, "- hosts: all\n  tasks:\n    - shell: echo {{ nope }}\n", tmp_path
    )
    outcome = finished(recorder, "shell")[0].outcomes[0]
    assert outcome.status is Status.FAILED and "'nope' is undefined" in outcome.message
    assert not fleet.log


def test_limit_and_tags(tmp_path):
    fleet = FakeFleet(["a", "b"])
    text = "- hosts: all\n  tasks:\n    - {shell: echo t, tags: [t]}\n    - shell: echo u\n"
    run_playbook(fleet, text, tmp_path, limit="b", tags=("t",))
    assert fleet.log and {h for h, _ in fleet.log} == {"b"}
    assert fleet.commands("b") == ["echo t"]
