"""Rolling batches (``serial``) and the rules that stop a play early.

How the failed share of a batch is counted (checked after every task, as Ansible's
linear strategy does):

1. A host counts as failed in a batch when, during that batch, a task fails on it and
   the failure is neither ignored (``ignore_errors``) nor caught by a block's
   ``rescue``, or when it becomes unreachable. A host counts once, however many of its
   tasks fail. Handlers count like tasks.
2. The share is ``failed hosts of this batch / hosts the batch started with``. Hosts of
   earlier batches never count (each batch starts again from zero).
3. The play stops when the share is *strictly greater* than ``max_fail_percentage``:
   with 25, one failure in a batch of 4 (25%) goes on, two (50%) stop. 0 stops at the
   first failure; 100 never stops on the share alone.
4. Without ``max_fail_percentage``, a batch in which *every* host failed stops the play.
5. With ``any_errors_fatal``, the first failed host stops the play after the task in
   which it failed.
6. When a play stops, the hosts still running in its batch run no further task and no
   handlers, later batches do not start, and later plays do not run. The recap says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def batch_size(spec: int | str, total: int) -> int:
    """One ``serial`` entry as a host count: ``"30%"`` of ``total`` rounded down, at least 1;
    0 means every host.

    >>> batch_size(2, 10), batch_size("30%", 10), batch_size("1%", 10), batch_size(0, 10)
    (2, 3, 1, 10)
    """
    if isinstance(spec, str) and spec.endswith("%"):
        return max(1, int(float(spec[:-1]) / 100.0 * total))
    size = int(spec)
    return size if size > 0 else total


def plan_batches(hosts: Sequence[T], serial: Sequence[int | str]) -> list[list[T]]:
    """Split hosts into batches. A list of sizes grows batch by batch; its last entry
    repeats. Percentages are of all the play's hosts.

    >>> plan_batches(list("abcdefg"), [1, "50%"])
    [['a'], ['b', 'c', 'd'], ['e', 'f', 'g']]
    >>> plan_batches(list("abc"), [])
    [['a', 'b', 'c']]
    """
    remaining = list(hosts)
    if not serial:
        return [remaining] if remaining else []
    batches: list[list[T]] = []
    total = len(remaining)
    step = 0
    while remaining:
        size = batch_size(serial[min(step, len(serial) - 1)], total)
        batches.append(remaining[:size])
        remaining = remaining[size:]
        step += 1
    return batches


def exceeds(failed: int, size: int, max_fail_percentage: float | None) -> bool:
    """Rule 3: is the failed share of a batch strictly above the limit?

    >>> exceeds(1, 4, 25), exceeds(2, 4, 25), exceeds(1, 10, 0), exceeds(4, 4, 100)
    (False, True, True, False)
    """
    if max_fail_percentage is None or size == 0:
        return False
    return failed * 100.0 / size > max_fail_percentage


def stop_reason(
    *,
    failed: int,
    size: int,
    number: int,
    total: int,
    max_fail_percentage: float | None,
    any_errors_fatal: bool,
    batch_done: bool,
) -> str | None:
    """Why the play must stop now (rules 3-5), or None."""
    where = f"batch {number} of {total}" if total > 1 else "the play"
    if failed and any_errors_fatal:
        return f"any_errors_fatal: a host failed in {where}"
    if exceeds(failed, size, max_fail_percentage):
        share = failed * 100.0 / size
        return (
            f"{failed} of {size} hosts failed in {where} ({share:.0f}%), more than "
            f"max_fail_percentage {max_fail_percentage:g}%"
        )
    if batch_done and max_fail_percentage is None and size and failed == size:
        return f"every host failed in {where}"
    return None
