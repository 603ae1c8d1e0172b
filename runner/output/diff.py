"""``--diff``: each output group as a unified diff against a reference group, as
``clush --diff`` shows them. Pure text here; runner.output.grouped prints it.

>>> from runner.aggregate import OutputGroup
>>> ref = OutputGroup(("web01", "web02"), 0, "Linux\\n5.15\\n", "")
>>> other = OutputGroup(("web03",), 0, "Linux\\n6.1\\n", "")
>>> print("\\n".join(diff_lines(ref, other)))
--- web[01-02] (2)
+++ web03 (1)
@@ -1,2 +1,2 @@
 Linux
-5.15
+6.1
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from runner.aggregate import OutputGroup

__all__ = ["diff_header", "diff_lines", "reference_group"]


def reference_group(groups: Sequence[OutputGroup]) -> OutputGroup:
    """The group the others are compared with, as clush picks it: the lowest exit code,
    then the most hosts, then the first in report order.

    >>> a = OutputGroup(("a1",), 0, "x", "")
    >>> b = OutputGroup(("b1", "b2"), 0, "y", "")
    >>> c = OutputGroup(("c1", "c2", "c3"), 1, "z", "")
    >>> reference_group([a, b, c]).folded
    'b[1-2]'
    """
    order = {id(g): i for i, g in enumerate(groups)}
    return min(groups, key=lambda g: (g.exit_code, -len(g.hosts), order[id(g)]))


def diff_header(group: OutputGroup) -> str:
    """``web19 (1)``, with `` exit N`` when the exit code is not 0."""
    return group.label + (f" exit {group.exit_code}" if group.exit_code else "")


def diff_lines(reference: OutputGroup, group: OutputGroup) -> list[str]:
    """The unified diff (3 lines of context) from ``reference``'s stdout to ``group``'s,
    without line ends. The ``---``/``+++`` header lines name both host sets; they are
    there even when the two stdouts are the same (the group differs in its stderr or
    exit code)."""
    lines = list(
        difflib.unified_diff(
            reference.stdout.splitlines(),
            group.stdout.splitlines(),
            fromfile=diff_header(reference),
            tofile=diff_header(group),
            lineterm="",
        )
    )
    if not lines:
        lines = [f"--- {diff_header(reference)}", f"+++ {diff_header(group)}"]
    return lines
