"""sysctl natively against ansible.posix.sysctl through runner's module bridge, on the real
sshd fleet, from the same starting state: the same recap, the same registered results,
byte-for-byte the same sysctl file.

The file is under tmp (``sysctl_file:``). The tasks with ``reload: false`` and no
``sysctl_set`` only READ the real kernel (``sysctl -e -n``); the tasks that reload or
set a value run with a RECORDING STAND-IN ``sysctl`` (tests/data/standins/sysctl, which
keeps the "kernel" in a temp folder and logs every call) first on PATH through the task's
``environment``: the same stand-in answers both tools, and its calls and end state are
compared too.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.posix_side import collections_env
from tests.system_side import STANDINS, dump_task, read_registered, runner_recap
from tests.test_native_vs_bridge_e2e import MODES, compare_registered, run_native_and_bridged

pytestmark = pytest.mark.sshd

REGISTERED = [f"s{i}" for i in range(1, 13)]

PLAY = """\
- hosts: all
  gather_facts: false
  vars:
    f: "{{ d }}/sysctl.conf"
    standin:
      PATH: "{{ bin }}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
      SYSCTL_STANDIN: "{{ d }}/standin"
  tasks:
    - sysctl: {name: vm.swappiness, value: 10, sysctl_file: "{{ f }}", reload: false}
      register: s1
    - sysctl: name=vm.swappiness value=10 sysctl_file={{ f }} reload=false
      register: s2
    - sysctl: {name: kernel.runner_test, value: "yes", sysctl_file: "{{ f }}", reload: false}
      register: s3
    - sysctl: {name: net.core.somaxconn, state: absent, sysctl_file: "{{ f }}", reload: false}
      register: s4
    - sysctl: {key: net.core.somaxconn, state: absent, sysctl_file: "{{ f }}", reload: false}
      register: s5
    - sysctl: {name: vm.check_only, value: 3, sysctl_file: "{{ f }}", reload: false}
      check_mode: true
      register: s6
    - sysctl: {name: net.ipv4.tcp_rmem, val: "4096 87380  6291456", sysctl_file: "{{ f }}", reload: false}
      register: s7
    - sysctl: {name: runner.reloaded, value: 5, sysctl_file: "{{ f }}"}
      environment: "{{ standin }}"
      register: s8
    - sysctl: {name: runner.reloaded, value: "5", sysctl_file: "{{ f }}", reload: true}
      environment: "{{ standin }}"
      register: s9
    - sysctl: {name: runner.set, value: "7 8", sysctl_file: "{{ f }}", sysctl_set: true, reload: false}
      environment: "{{ standin }}"
      register: s10
    - sysctl: {name: runner.set, value: "7 8", sysctl_file: "{{ f }}", sysctl_set: true, reload: false}
      environment: "{{ standin }}"
      register: s11
    - sysctl: {name: runner.blank, value: "", sysctl_file: "{{ f }}"}
      register: s12
      ignore_errors: true
""" + dump_task(REGISTERED)

SEED = "# tuned by hand\nvm.swappiness = 10\n  net.core.somaxconn=128\n; old\nvm.swappiness=20\n"


def test_sysctl_native_as_bridged(make_fleet, in_process, tmp_path):
    env = collections_env()
    fleet = make_fleet(1)
    host = fleet.names[0]
    roots = {mode: tmp_path / f"s-{mode[0]}" for mode in MODES}

    def reset(mode: str) -> dict[str, str]:
        roots[mode].mkdir()
        (roots[mode] / "sysctl.conf").write_text(SEED)
        return {"d": str(roots[mode]), "bin": str(STANDINS)}

    recaps, outs = run_native_and_bridged(
        tmp_path, fleet, in_process, PLAY, reset, ("sysctl",), probe="s1", env=env
    )
    # s1 (the last of two values differs), s3, s4, s6 (check), s7, s8, s10, and the dump
    assert recaps["native"][host]["changed"] == 8, recaps
    compare_registered(outs, host, REGISTERED[:-1], ("changed",))
    for mode in MODES:
        failed = read_registered(outs[mode], host)["s12"]
        assert failed["failed"] and failed["msg"] == "value cannot be blank", failed

    def state(mode: str) -> dict[str, str]:
        found = {
            str(p.relative_to(roots[mode])): p.read_text().replace(str(roots[mode]), "D")
            for p in sorted(roots[mode].rglob("*"))
            if p.is_file()
        }
        return found

    assert state("native") == state("bridged")
    end = state("native")
    assert end["sysctl.conf"] == (
        "# tuned by hand\nvm.swappiness=10\n; old\nkernel.runner_test=1\n"
        "net.ipv4.tcp_rmem=4096 87380  6291456\nrunner.reloaded=5\nrunner.set=7 8\n"
    )
    assert end["standin/kernel/runner.set"] == "7 8\n"  # set with -w, not reloaded
    assert "-p D/sysctl.conf" in end["standin/calls"].splitlines()


def test_sysctl_converged_and_check_mode(make_fleet, in_process, tmp_path):
    fleet = make_fleet(1)
    conf = tmp_path / "sysctl.conf"
    conf.write_text("a.b=1\n")
    book = tmp_path / "play.yml"
    book.write_text(
        "- hosts: all\n  gather_facts: false\n  tasks:\n"
        f"    - sysctl: {{name: a.b, value: 2, sysctl_file: {conf}, reload: false}}\n"
        f"    - sysctl: {{name: c.d, state: absent, sysctl_file: {conf}, reload: false}}\n"
    )
    checked = in_process("play", *fleet.args(), str(book), "--json", "--check")
    assert checked.exit_code == 0, checked
    assert runner_recap(checked.stdout)[fleet.names[0]]["changed"] == 1
    assert conf.read_text() == "a.b=1\n"
    for changed in (1, 0):
        done = in_process("play", *fleet.args(), str(book), "--json")
        assert done.exit_code == 0, done
        assert runner_recap(done.stdout)[fleet.names[0]]["changed"] == changed
    assert Path(conf).read_text() == "a.b=2\n"
