"""Fact gathering without Python on the host: one POSIX sh script over the host's
existing connection (runner.playbook.facts.script), parsed here into the facts
ansible-core's ``setup`` reports, with its names and shapes.

``parse_facts(sections, wanted)`` is pure (tests feed it captured output);
``gather(run, subset, filter)`` runs the script through ``run`` and parses its output.
Facts come back with the ``ansible_`` prefix, as setup returns them, plus
``gather_subset`` and ``module_setup``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from runner.playbook.facts import hardware, network, system
from runner.playbook.facts.distribution import distribution_facts, lsb_info
from runner.playbook.facts.script import new_marker, script_for, split_sections
from runner.playbook.facts.subsets import READ, SubsetError, collectors, matches_filter, normalise

__all__ = ["SubsetError", "gather", "parse_facts", "namespace", "normalise", "GatherFailed"]


class GatherFailed(Exception):
    """The script did not run (no shell, a closed session...): the task fails."""


def parse_facts(sections: Mapping[str, str], wanted: set[str]) -> dict[str, Any]:
    """Facts (no prefix) of the collectors in ``wanted`` from the script's sections."""
    facts: dict[str, Any] = {}
    plat = system.platform_facts(sections)
    lsb = lsb_info(sections.get("lsb") or "")
    dist = distribution_facts(sections, lsb, plat.get("system", ""))
    known = {**plat, **dist}
    if "platform" in wanted:
        facts.update(plat)
    if "distribution" in wanted:
        facts.update(dist)
    steps: list[tuple[str, Callable[[], dict[str, Any]]]] = [
        ("lsb", lambda: system.lsb_facts(sections)),
        ("selinux", lambda: system.selinux_facts(sections)),
        ("python", lambda: system.python_facts(sections)),
        ("pkg_mgr", lambda: system.pkg_mgr_facts(sections, known)),
        ("service_mgr", lambda: system.service_mgr_facts(sections, known)),
        ("date_time", lambda: system.date_time_facts(sections)),
        ("env", lambda: system.env_facts(sections)),
        ("user", lambda: system.user_facts(sections)),
        ("virtual", lambda: hardware.virtual_facts(sections)),
        ("hardware", lambda: _hardware(sections, plat.get("architecture", ""))),
        ("network", lambda: network.network_facts(sections)),
        ("dns", lambda: system.dns_facts(sections)),
    ]
    for name, step in steps:
        if name in wanted:
            facts.update(step())
    facts.update(system.small_facts(sections, wanted))
    return facts


def _hardware(sections: Mapping[str, str], architecture: str) -> dict[str, Any]:
    facts = hardware.cpu_facts(sections, architecture)
    facts.update(hardware.memory_facts(sections))
    facts.update(hardware.mount_facts(sections))
    facts.update(hardware.dmi_facts(sections))
    return facts


def namespace(facts: Mapping[str, Any]) -> dict[str, Any]:
    """Facts as setup returns them: ``ansible_`` in front of each name."""
    return {k if k.startswith("ansible_") else f"ansible_{k}": v for k, v in facts.items()}


def gather(
    run: Callable[[str], tuple[int, str, str]],
    subset: str | Sequence[str] | None = None,
    filter_patterns: str | Sequence[str] | None = None,
) -> dict[str, Any]:
    """Run the script through ``run`` (script -> exit code, stdout, stderr) and return
    the facts as setup does: prefixed, filtered, with gather_subset and module_setup.
    SubsetError for a bad subset name; GatherFailed when the shell did not run."""
    items = normalise(subset)
    wanted = collectors(items)
    marker = new_marker()
    code, out, err = run(script_for(wanted & READ, marker))
    sections = split_sections(out, marker)
    if "uname" not in sections:
        raise GatherFailed(
            f"the fact script did not run (exit code {code}): {err.strip()[:300] or out[:300]}"
        )
    facts = namespace(parse_facts(sections, wanted))
    patterns = (
        [filter_patterns] if isinstance(filter_patterns, str) else list(filter_patterns or [])
    )
    facts = {k: v for k, v in facts.items() if matches_filter(k, patterns)}
    facts["gather_subset"] = items
    facts["module_setup"] = True
    return facts
