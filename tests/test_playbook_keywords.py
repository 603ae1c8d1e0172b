"""The execution keywords on fakes: delegate_to, connection, remote_user, run_once,
throttle, order, ignore_unreachable, force_handlers, strategy free, environment,
action/local_action, and the load-time errors for what runner does not do.
tests/test_keywords_e2e.py runs them on real sshd beside ansible-playbook."""

from __future__ import annotations

import gevent
import pytest

from runner.errors import PlaybookError
from runner.models import Host
from runner.playbook import load_playbook
from runner.playbook.delegation import plan_route, render_environment
from runner.playbook.events import TaskFinished, TaskStarted
from runner.playbook.keywords import merge_environment
from runner.playbook.model import Task
from tests.fakes import FakeFleet, default_responder, run_playbook, shell_text


def counts(summary, host):
    return summary.recap[host].as_dict()


def task(**kw) -> Task:
    return Task(module="command", args={}, path="p.yml", line=1, **kw)


# -- where a task connects (pure) ------------------------------------------------------

INVENTORY = {
    "web1": Host("web1", {"ansible_host": "10.0.0.1"}),
    "db1": Host("db1", {"ansible_host": "10.0.0.9", "ansible_user": "dba"}),
    "lo": Host("lo", {"ansible_connection": "local"}),
}


def test_route_delegates_with_the_targets_connection_variables():
    web = INVENTORY["web1"]
    route = plan_route(task(delegate_to="{{ groups_db }}"), web, {"groups_db": "db1"}, INVENTORY)
    assert route.host is INVENTORY["db1"] and route.delegated == "db1"
    assert route.key == "db1<-web1" and not route.local
    # the implicit localhost outside the inventory is the control node
    local = plan_route(task(delegate_to="localhost"), web, {}, INVENTORY)
    assert local.local and local.delegated == "localhost"
    # a name outside the inventory is reached by that name over SSH
    other = plan_route(task(delegate_to="bastion"), web, {}, INVENTORY)
    assert other.host.name == "bastion" and other.host.vars == {} and not other.local
    # delegating to the host itself is no delegation
    assert plan_route(task(delegate_to="web1"), web, {}, INVENTORY).delegated is None


def test_route_connection_and_remote_user_precedence():
    web, db = INVENTORY["web1"], INVENTORY["db1"]
    assert plan_route(task(connection="local"), web, {}, INVENTORY).local
    # ansible_connection of the host beats the keyword
    assert plan_route(task(connection="ssh"), INVENTORY["lo"], {}, INVENTORY).local
    # remote_user applies where the inventory gives no ansible_user (Ansible's order)
    route = plan_route(task(remote_user="{{ who }}"), web, {"who": "deploy"}, INVENTORY)
    assert route.host.vars["ansible_user"] == "deploy" and route.key == "web1@deploy"
    assert plan_route(task(remote_user="deploy"), db, {}, INVENTORY).host is db
    with pytest.raises(Exception, match="connection 'docker' is not supported"):
        plan_route(task(connection="{{ c }}"), web, {"c": "docker"}, INVENTORY)


def test_environment_layers_merge_in_order():
    env = merge_environment({"A": "1"}, "{{ proxy }}")
    env = merge_environment(env, [{"B": "{{ b }}"}, {"A": "3"}])
    rendered = render_environment(env, {"proxy": {"A": "2", "P": "x"}, "b": "bee"}, "p.yml:1")
    assert rendered == {"A": "3", "P": "x", "B": "bee"}
    with pytest.raises(Exception, match="environment must be a mapping"):
        render_environment(merge_environment({}, "{{ s }}"), {"s": "text"}, "p.yml:1")


# -- load time ---------------------------------------------------------------------------


def load(tmp_path, text):
    path = tmp_path / "play.yml"
    path.write_text(text)
    return load_playbook(str(path))


@pytest.mark.parametrize(
    "text, message, line",
    [
        ("- hosts: all\n  connection: docker\n  tasks: []\n", "connection 'docker'", 2),
        ("- hosts: all\n  tasks:\n    - debug:\n      connection: winrm\n", "'winrm'", 4),
        ("- hosts: all\n  strategy: host_pinned\n  tasks: []\n", "strategy 'host_pinned'", 2),
        ("- hosts: all\n  order: random\n  tasks: []\n", "order 'random'", 2),
        ("- hosts: all\n  tasks:\n    - debug:\n      throttle: many\n", "throttle", 4),
        ("- hosts: all\n  tasks:\n    - action: {x: 1}\n", "'action' takes", 3),
        ("- hosts: all\n  tasks:\n    - debug:\n      environment: [1]\n", "'environment'", 4),
    ],
)
def test_refused_at_load_time_with_the_line(tmp_path, text, message, line):
    with pytest.raises(PlaybookError, match=message) as info:
        load(tmp_path, text)
    assert info.value.line == line


def test_keywords_load(tmp_path):
    book = load(
        tmp_path,
        """
- hosts: all
  strategy: mitogen_free
  order: sorted
  force_handlers: true
  connection: smart
  user: deploy
  throttle: 2
  environment: "{{ proxy_env }}"
  tasks:
    - block:
        - action: command echo hi
          environment: {A: "1"}
      run_once: true
      ignore_unreachable: true
    - local_action: {module: command, cmd: echo there}
      remote_user: "{{ who }}"
""",
    )
    play = book.plays[0]
    assert (play.strategy, play.order, play.force_handlers) == ("free", "sorted", True)
    assert any("mitogen_free runs as runner's free strategy" in w for w in book.warnings)
    first, second = play.all_tasks()
    assert (first.module, first.args["_raw_params"], first.run_once) == ("command", "echo hi", True)
    assert (first.connection, first.remote_user, first.throttle) == ("ssh", "deploy", 2)
    assert first.ignore_unreachable and first.environment.layers == ("{{ proxy_env }}", {"A": "1"})
    assert (second.delegate_to, second.remote_user, second.args["cmd"]) == (
        "localhost", "{{ who }}", "echo there",
    )  # fmt: skip


# -- scheduling on fakes -------------------------------------------------------------------


def test_delegate_to_runs_on_the_target_with_the_original_hosts_variables(tmp_path):
    fleet = FakeFleet(["a", "b", "db"], groups={"dbs": ["db"]})
    text = """
- hosts: a,b
  tasks:
    - shell: echo {{ inventory_hostname }}
      delegate_to: "{{ groups['dbs'][0] }}"
      register: out
    - shell: echo got-{{ out.stdout }}
"""
    summary, _ = run_playbook(fleet, text, tmp_path)
    assert sorted(fleet.commands("db")) == ["echo a", "echo b"]
    assert fleet.commands("a") == ["echo got-a"] and fleet.commands("b") == ["echo got-b"]
    assert counts(summary, "a")["changed"] == 2 and "db" not in summary.recap


def test_run_once_on_a_block_runs_on_the_first_host_and_registers_on_all(tmp_path):
    fleet = FakeFleet(["a", "b", "c"])
    text = """
- hosts: all
  tasks:
    - block:
        - shell: echo once
          register: r
      run_once: true
    - shell: echo {{ r.stdout }}-{{ inventory_hostname }}
"""
    run_playbook(fleet, text, tmp_path)
    assert fleet.commands("a") == ["echo once", "echo once-a"]
    assert fleet.commands("c") == ["echo once-c"]


def test_throttle_caps_hosts_running_the_task_at_once(tmp_path):
    running, peak = [0], [0]

    def slow(host, command):
        running[0] += 1
        peak[0] = max(peak[0], running[0])
        gevent.sleep(0.01)  # lets the other hosts start if nothing holds them
        running[0] -= 1
        return default_responder(host, command)

    fleet = FakeFleet([f"h{i}" for i in range(6)], responder=slow)
    run_playbook(fleet, "- hosts: all\n  tasks:\n    - shell: x\n      throttle: 2\n", tmp_path)
    assert peak[0] == 2
    peak[0] = 0
    run_playbook(fleet, "- hosts: all\n  tasks:\n    - shell: x\n", tmp_path)
    assert peak[0] == 6


def test_order_reverse_sorted(tmp_path):
    fleet = FakeFleet(["b", "c", "a"])
    _, recorder = run_playbook(
        fleet, "- hosts: all\n  order: reverse_sorted\n  tasks:\n    - shell: x\n", tmp_path
    )
    assert recorder.of_type(TaskFinished)[0].outcomes[0].host == "c"
    assert [h for h, _ in fleet.log] == ["c", "b", "a"]


def test_ignore_unreachable_counts_ignored_and_the_host_goes_on(tmp_path):
    fleet = FakeFleet(["a", "down"], unreachable={"down"})
    text = """
- hosts: all
  tasks:
    - shell: echo one
      ignore_unreachable: true
    - debug: msg=after
"""
    summary, _ = run_playbook(fleet, text, tmp_path)
    assert counts(summary, "down") == {
        "ok": 2, "changed": 0, "unreachable": 0, "failed": 0, "skipped": 0, "rescued": 0,
        "ignored": 1,
    }  # fmt: skip
    assert not summary.any_unreachable


def test_force_handlers_run_on_a_host_that_failed_later(tmp_path):
    text = """
- hosts: all
  force_handlers: FORCE
  tasks:
    - shell: echo change
      notify: restart
    - shell: exit {{ 1 if inventory_hostname == 'b' else 0 }}
  handlers:
    - name: restart
      shell: echo restarting
"""
    fleet = FakeFleet(["a", "b"])
    run_playbook(fleet, text.replace("FORCE", "true"), tmp_path)
    assert "echo restarting" in fleet.commands("b")
    fleet = FakeFleet(["a", "b"])
    run_playbook(fleet, text.replace("FORCE", "false"), tmp_path)
    assert "echo restarting" not in fleet.commands("b")
    assert "echo restarting" in fleet.commands("a")


def test_free_strategy_does_not_wait_for_a_slow_host(tmp_path):
    def responder(host, command):
        if host == "slow" and shell_text(command) == "echo one":
            gevent.sleep(0.05)
        return default_responder(host, command)

    text = """
- hosts: all
  strategy: STRATEGY
  tasks:
    - shell: echo one
    - shell: echo two
    - shell: echo once
      run_once: true
      register: r
    - shell: echo {{ r.stdout }}
"""
    fleet = FakeFleet(["slow", "fast"], responder=responder)
    summary, recorder = run_playbook(fleet, text.replace("STRATEGY", "free"), tmp_path)
    # renderers see one task at a time: each start is followed by its finish
    kinds = [type(e).__name__ for e in recorder.events if type(e) in (TaskStarted, TaskFinished)]
    assert kinds == ["TaskStarted", "TaskFinished"] * (len(kinds) // 2) and kinds
    order = [(h, shell_text(c)) for h, c in fleet.log]
    assert order.index(("fast", "echo two")) < order.index(("slow", "echo two"))
    # run_once ran once (on fast, first there); slow took its registered result
    assert fleet.commands("slow") == ["echo one", "echo two", "echo once"]
    assert counts(summary, "slow")["ok"] == 3 and counts(summary, "fast")["ok"] == 4
    fleet = FakeFleet(["slow", "fast"], responder=responder)
    run_playbook(fleet, text.replace("STRATEGY", "linear"), tmp_path)
    order = [(h, shell_text(c)) for h, c in fleet.log]
    assert order.index(("fast", "echo two")) > order.index(("slow", "echo two"))


def test_templated_environment_reaches_the_command(tmp_path):
    fleet = FakeFleet(["a"])
    text = """
- hosts: all
  vars: {proxy_env: {HTTP_PROXY: "http://p:3128"}}
  environment: "{{ proxy_env }}"
  tasks:
    - shell: echo x
      environment: [{EXTRA: "{{ inventory_hostname }}"}]
"""
    run_playbook(fleet, text, tmp_path)
    command = [c for h, c in fleet.log if h == "a"][0]
    assert "HTTP_PROXY=http://p:3128" in command and "EXTRA=a" in command


def test_user_on_a_task_is_the_user_module_not_remote_user(tmp_path):
    text = "- hosts: all\n  remote_user: ops\n  tasks:\n    - user: {name: x}\n"
    try:
        book = load(tmp_path, text)
    except PlaybookError as exc:  # while runner has no user module
        assert "module 'user'" in exc.message
    else:
        (only,) = book.plays[0].all_tasks()
        assert (only.module, only.remote_user) == ("user", "ops")
