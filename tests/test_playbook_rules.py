"""Rolling batches and the failure rules, one test per documented rule
(see runner/playbook/batches.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runner.playbook.batches import batch_size, exceeds, plan_batches
from runner.playbook.events import BatchStarted, PlayStopped
from tests.fakes import FakeFleet, run_playbook

HOSTS = [f"h{i}" for i in range(1, 9)]


def play(fail_on: list[str], *, serial="4", mfp: str | None = None, extra: str = "") -> str:
    mfp_line = f"  max_fail_percentage: {mfp}\n" if mfp is not None else ""
    return f"""
- hosts: all
  serial: {serial}
{mfp_line}{extra}  tasks:
    - name: work
      shell: "exit {{{{ 1 if inventory_hostname in {fail_on!r} else 0 }}}}"
    - name: second
      shell: echo second
"""


def ran_second(fleet: FakeFleet) -> set[str]:
    return {h for h, c in fleet.log if "echo second" in c}


def test_batches_plan():
    assert plan_batches(HOSTS, [2]) == [HOSTS[0:2], HOSTS[2:4], HOSTS[4:6], HOSTS[6:8]]
    assert plan_batches(HOSTS, [1, "50%"]) == [HOSTS[:1], HOSTS[1:5], HOSTS[5:]]
    assert plan_batches(HOSTS, ["10%"]) == [[h] for h in HOSTS]
    assert plan_batches(HOSTS, [1, 2, 10]) == [HOSTS[:1], HOSTS[1:3], HOSTS[3:]]
    assert batch_size(0, 7) == 7


@given(
    st.integers(1, 60),
    st.lists(st.one_of(st.integers(0, 9), st.sampled_from(["10%", "50%", "1%"])), max_size=4),
)
def test_batches_cover_every_host_once_in_order(n, serial):
    hosts = list(range(n))
    batches = plan_batches(hosts, serial)
    assert [h for b in batches for h in b] == hosts
    assert all(batches)


def test_rule1_ignored_and_rescued_failures_do_not_count(tmp_path):
    fleet = FakeFleet(HOSTS[:4])
    text = """
- hosts: all
  max_fail_percentage: 0
  tasks:
    - shell: exit 1
      ignore_errors: true
    - block:
        - shell: exit 1
      rescue:
        - shell: echo fixed
    - name: second
      shell: echo second
"""
    summary, recorder = run_playbook(fleet, text, tmp_path)
    assert not recorder.of_type(PlayStopped)
    assert ran_second(fleet) == set(HOSTS[:4])
    assert not summary.any_failed


def test_rule1_unreachable_counts_as_failed(tmp_path):
    fleet = FakeFleet(HOSTS[:4], unreachable={"h1"})
    summary, recorder = run_playbook(fleet, play([], mfp="0"), tmp_path)
    assert "1 of 4 hosts failed" in recorder.of_type(PlayStopped)[0].reason
    assert not ran_second(fleet)


def test_rule2_each_batch_counts_from_zero(tmp_path):
    # one failure in each batch of 4 is 25%, never above 25%, so every batch runs
    fleet = FakeFleet(HOSTS)
    summary, recorder = run_playbook(fleet, play(["h1", "h5"], mfp="25"), tmp_path)
    assert len(recorder.of_type(BatchStarted)) == 2
    assert not recorder.of_type(PlayStopped)
    assert ran_second(fleet) == set(HOSTS) - {"h1", "h5"}


def test_rule3_strictly_greater_stops_after_the_task(tmp_path):
    fleet = FakeFleet(HOSTS)
    summary, recorder = run_playbook(fleet, play(["h1", "h2"], mfp="25"), tmp_path)
    stop = recorder.of_type(PlayStopped)[0]
    assert "2 of 4 hosts failed in batch 1 of 2 (50%)" in stop.reason
    assert stop.not_run == tuple(HOSTS[4:])
    assert not ran_second(fleet)  # the rest of the batch stopped after the failing task
    assert summary.stopped == stop.reason
    assert summary.recap["h5"].ok == 0


def test_rule3_zero_stops_at_first_failure_and_hundred_never(tmp_path):
    fleet = FakeFleet(HOSTS)
    _, recorder = run_playbook(fleet, play(["h3"], mfp="0"), tmp_path)
    assert recorder.of_type(PlayStopped)
    fleet = FakeFleet(HOSTS)
    _, recorder = run_playbook(fleet, play(HOSTS[:3], mfp="100"), tmp_path)
    assert not recorder.of_type(PlayStopped)
    assert ran_second(fleet) == set(HOSTS) - set(HOSTS[:3])


def test_rule4_whole_batch_failed_stops_without_max_fail(tmp_path):
    fleet = FakeFleet(HOSTS)
    summary, recorder = run_playbook(fleet, play(HOSTS[:4]), tmp_path)
    assert "every host failed in batch 1 of 2" in recorder.of_type(PlayStopped)[0].reason
    assert not {h for h, _ in fleet.log} & set(HOSTS[4:])
    # a partly failed batch does not stop it
    fleet = FakeFleet(HOSTS)
    _, recorder = run_playbook(fleet, play(HOSTS[:3]), tmp_path)
    assert not recorder.of_type(PlayStopped)


def test_rule5_any_errors_fatal(tmp_path):
    fleet = FakeFleet(HOSTS[:4])
    text = play(["h2"], serial="0", extra="  any_errors_fatal: true\n")
    summary, recorder = run_playbook(fleet, text, tmp_path)
    assert "any_errors_fatal" in recorder.of_type(PlayStopped)[0].reason
    assert not ran_second(fleet)
    assert summary.recap["h1"].failed == 0 and summary.recap["h2"].failed == 1


def test_rule6_later_plays_do_not_run(tmp_path):
    fleet = FakeFleet(HOSTS[:2])
    text = play(["h1"], serial="2", mfp="0") + "- hosts: all\n  tasks:\n    - shell: echo play2\n"
    summary, _ = run_playbook(fleet, text, tmp_path)
    assert not any("play2" in c for _, c in fleet.log)


@pytest.mark.parametrize(
    ("failed", "size", "limit", "stops"),
    [(1, 4, 25, False), (2, 4, 25, True), (0, 4, 0, False), (1, 100, 0, True), (3, 3, 100, False)],
)
def test_exceeds(failed, size, limit, stops):
    assert exceeds(failed, size, limit) is stops
