"""``gather_subset`` and ``filter``, as ansible-core's setup reads them.

``min`` (always included unless ``!min``) is Ansible's minimal set; ``all`` adds every
subset; ``!name`` leaves one out; ``!all`` leaves out everything but ``min``. Names
Ansible knows that runner reads nothing for (``apparmor``, ``caps``, ``local``...) are
accepted and add nothing; an unknown name is an error, as in Ansible.

>>> sorted(collectors(["!all"]))[:4]
['apparmor', 'caps', 'cmdline', 'date_time']
>>> "hardware" in collectors(["all", "!hardware"]), "network" in collectors(["network"])
(False, True)
>>> "hardware" in collectors(["!all", "hardware"])
True
>>> matches_filter("ansible_distribution", ["distribution*"]), matches_filter("x", ["y"])
(True, False)
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence

MINIMAL = frozenset(
    {
        "apparmor", "caps", "cmdline", "date_time", "distribution", "dns", "env", "fips",
        "local", "lsb", "pkg_mgr", "platform", "python", "selinux", "service_mgr",
        "ssh_pub_keys", "user",
    }
)  # fmt: skip
#: Every subset name Ansible accepts (collector names and the groups).
VALID = MINIMAL | {
    "chroot", "loadavg", "systemd", "hardware", "network", "virtual", "facter", "ohai",
    "fc_wwn", "iscsi", "nvme", "devices", "dmi", "interfaces", "mounts",
}  # fmt: skip
#: The subsets runner reads (the others are accepted and add nothing).
READ = frozenset(
    {
        "platform", "distribution", "lsb", "user", "env", "dns", "date_time", "service_mgr",
        "pkg_mgr", "python", "selinux", "hardware", "virtual", "network", "apparmor", "fips",
        "ssh_pub_keys", "cmdline",
    }
)  # fmt: skip
# Ansible gathers what a collector needs too (required_facts).
_NEEDS = {
    "pkg_mgr": {"distribution"},
    "service_mgr": {"platform", "distribution"},
    "hardware": {"platform", "distribution"},
    "network": {"platform", "distribution"},
    "virtual": {"platform", "distribution"},
    "devices": {"hardware"},
    "dmi": {"hardware"},
    "mounts": {"hardware"},
    "interfaces": {"network"},
}
# Fact ids that name part of a collector: leaving the collector out leaves them out.
_ALIASES = {"hardware": {"devices", "dmi", "mounts"}, "network": {"interfaces"}}


class SubsetError(ValueError):
    """A gather_subset name Ansible would refuse."""


def normalise(subset: str | Sequence[str] | None) -> list[str]:
    """``"!all,network"`` or a list -> ``['!all', 'network']``; None -> ``['all']``."""
    if subset is None:
        return ["all"]
    items = subset.split(",") if isinstance(subset, str) else [str(s) for s in subset]
    return [s.strip() for s in items if s.strip()] or ["all"]


def collectors(subset: Iterable[str]) -> set[str]:
    """The collector names a gather_subset selects (Ansible's rules)."""
    added: set[str] = set()
    excluded: set[str] = set()
    explicit: set[str] = set()
    for item in ["min", *subset]:
        if item == "min":
            added |= MINIMAL
        elif item == "all":
            added |= VALID
        elif item.startswith("!"):
            name = item[1:]
            if name == "min":
                excluded |= MINIMAL
            elif name == "all":
                excluded |= VALID - MINIMAL
            else:
                excluded |= {name} | _ALIASES.get(name, set())
        else:
            if item not in VALID:
                raise SubsetError(
                    f"Bad subset '{item}' given to Ansible. gather_subset options allowed: "
                    f"all, {', '.join(sorted(VALID))}"
                )
            explicit.add(item)
            added.add(item)
    if not added:
        added = set(VALID)
    added -= excluded - explicit
    for name in list(added):
        added |= _NEEDS.get(name, set())
    return added


def matches_filter(name: str, patterns: Sequence[str]) -> bool:
    """Whether the fact ``name`` (with its ``ansible_`` prefix) passes ``filter``: an
    fnmatch pattern, tried also with ``ansible_`` in front."""
    if not patterns or list(patterns) == ["*"]:
        return True
    for pattern in patterns:
        if not pattern or fnmatch.fnmatch(name, pattern):
            return True
        if not pattern.startswith(("ansible_", "facter", "ohai")) and fnmatch.fnmatch(
            name, f"ansible_{pattern}"
        ):
            return True
    return False
