"""``meta`` actions that act on hosts and connections rather than on the task flow
(flush_handlers and end_* are the strategy's, runner.playbook.strategy):

- ``clear_host_errors``: the play's hosts that failed (or were unreachable) are no
  longer failed, so the later plays run on them again. As in ansible-core the recap
  still counts their failures, and a host that failed in this play does not come
  back into it (its run of the play ended when it failed).
- ``refresh_inventory``: the inventory sources are read again (what changed in them
  shows in ``groups`` and ``hostvars`` at once and in the hosts of later plays).
- ``reset_connection``: the host's connection is closed; its next task connects anew
  (for a group membership or a login setting changed by an earlier task).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from runner.models import Host

#: The meta actions of this module.
HOST_ACTIONS = frozenset({"clear_host_errors", "refresh_inventory", "reset_connection"})


def run_host_meta(
    action: str,
    reached: list[Host],
    *,
    batch: Any,
    dead: set[str],
    ended: set[str],
    engine: Any,
    refresh: Callable[[], None] | None,
    clear_errors: Callable[[], set[str]] | None,
) -> None:
    """Do ``action`` for the hosts that ``reached`` the meta task (its ``when`` held).
    ``clear_errors`` clears the run's failed hosts of the play's pattern (the names);
    without it (a batch run on its own) the batch's own failed hosts are cleared."""
    if not reached:
        return
    if action == "clear_host_errors":
        if clear_errors is not None:
            cleared = clear_errors()
        else:
            cleared = {h.name for h in batch.hosts if h.name in dead or h.name in batch.failed}
            dead -= cleared
        batch.failed -= cleared
        # the batch's cleared hosts are done with this play, not failed
        ended |= {h.name for h in batch.hosts if h.name in cleared}
    elif action == "refresh_inventory":
        if refresh is not None:
            refresh()
    elif action == "reset_connection":
        for host in reached:
            engine.disconnect(host)
