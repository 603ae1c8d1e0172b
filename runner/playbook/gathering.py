"""When a play gathers facts, as in Ansible: the ``gathering`` setting (ANSIBLE_GATHERING
/ ansible.cfg ``[defaults] gathering``), the play's ``gather_facts``, ``gather_subset``
and ``gather_timeout``, the implicit "Gathering Facts" task, and the ``--syntax-check``
warning for a play that reads facts it does not gather.

- ``implicit`` (the default): gather unless the play says ``gather_facts: false``
- ``explicit``: gather only where the play says ``gather_facts: true``
- ``smart``: as implicit, but not on hosts whose facts this run already gathered
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from typing import Any

from runner.config import GATHERING
from runner.errors import ConfigError, PlaybookError
from runner.playbook.facts.subsets import SubsetError, collectors, normalise
from runner.playbook.localfiles import resolve_local
from runner.playbook.model import Play, Task
from runner.playbook.reader import line_of
from runner.templating import truth

GATHER_TASK_NAME = "Gathering Facts"


def parse_gathering(value: str | None, source: str = "ANSIBLE_GATHERING") -> str:
    """The gathering setting: ``implicit`` (also for None or empty), explicit, smart."""
    text = (value or "implicit").strip().lower()
    if text not in GATHERING:
        raise ConfigError(
            f"{source}={value!r} is not one of {', '.join(GATHERING)}",
            hint="implicit gathers facts unless a play says gather_facts: false",
        )
    return text


def gather_keywords(
    data: Mapping[str, Any], path: str
) -> tuple[bool | None, tuple[str, ...] | None, float | None]:
    """A play's gather_facts, gather_subset and gather_timeout, checked."""
    raw = data.get("gather_facts")
    gather: bool | None
    if raw is None:
        gather = None
    elif isinstance(raw, bool):
        gather = raw
    elif isinstance(raw, str) and raw.strip().lower() in (
        "yes", "no", "true", "false", "on", "off", "1", "0", "y", "n",
    ):  # fmt: skip
        gather = truth(raw)
    else:
        raise PlaybookError(
            f"gather_facts must be true or false, not {raw!r}",
            path=path, line=line_of(data, "gather_facts"),
        )  # fmt: skip
    subset = None
    if data.get("gather_subset") is not None:
        raw_subset = data["gather_subset"]
        if not isinstance(raw_subset, (str, list)):
            raise PlaybookError("gather_subset must be a list or a comma-separated string",
                                path=path, line=line_of(data, "gather_subset"))  # fmt: skip
        subset = tuple(normalise(raw_subset))
        check_subset(subset, path, line_of(data, "gather_subset"))
    timeout = None
    if data.get("gather_timeout") is not None:
        try:
            timeout = float(data["gather_timeout"])
        except (TypeError, ValueError):
            timeout = -1.0
        if not 0 < timeout < float("inf"):
            raise PlaybookError("gather_timeout must be a number of seconds above 0",
                                path=path, line=line_of(data, "gather_timeout"))  # fmt: skip
    return gather, subset, timeout


def check_subset(subset: tuple[str, ...], path: str | None, line: int | None) -> None:
    try:
        collectors(subset)
    except SubsetError as exc:
        raise PlaybookError(str(exc), path=path, line=line) from exc


def plays_gather(play: Play, gathering: str) -> bool:
    """Whether ``play`` starts with the Gathering Facts task (smart: on some hosts)."""
    if gathering == "explicit":
        return play.gather_facts is True
    return play.gather_facts is not False


def gather_task(play: Play, default_subset: tuple[str, ...] | None) -> Task:
    """The implicit first task of a play that gathers facts (tagged ``always``)."""
    args: dict[str, Any] = {}
    subset = play.gather_subset or default_subset
    if subset:
        args["gather_subset"] = list(subset)
    return Task(
        module="setup",
        args=args,
        path=play.path,
        line=play.line,
        name=GATHER_TASK_NAME,
        timeout=play.gather_timeout,
        become=play.become,
        become_user=play.become_user,
        environment=dict(play.environment),
        tags=frozenset({"always"}),
        when=play.when,  # import_playbook's when: no facts where the play does not run
        index=0,
    )


# -- reading facts a play does not gather (--syntax-check) -------------------------------

#: Fact names (without ``ansible_``) that runner gathers; ansible_<name> reads a fact.
FACT_NAMES = frozenset(
    """all_ipv4_addresses all_ipv6_addresses apparmor architecture bios_date bios_vendor
    bios_version board_asset_tag board_name board_serial board_vendor board_version
    chassis_asset_tag chassis_serial chassis_vendor chassis_version cmdline date_time
    default_ipv4 default_ipv6 distribution distribution_file_parsed distribution_file_path
    distribution_file_variety distribution_major_version distribution_minor_version
    distribution_release distribution_version dns domain effective_group_id
    effective_user_id env fips form_factor fqdn hostname interfaces kernel kernel_version
    lsb machine machine_id memfree_mb memory_mb memtotal_mb mounts nodename os_family
    pkg_mgr proc_cmdline processor processor_cores processor_count processor_nproc
    processor_threads_per_core processor_vcpus product_name product_serial product_uuid
    product_version python python_version real_group_id real_user_id selinux service_mgr
    ssh_host_key_dsa_public ssh_host_key_ecdsa_public ssh_host_key_ed25519_public
    ssh_host_key_rsa_public swapfree_mb swaptotal_mb system system_vendor user_dir
    user_gecos user_gid user_id user_shell user_uid userspace_architecture userspace_bits
    virtualization_role virtualization_tech_guest virtualization_tech_host
    virtualization_type""".split()  # noqa: SIM905 (a word list reads better)
)
_READ = re.compile(r"\bansible_(facts\b|[a-z0-9_]+)")


def _names_in(text: str) -> list[str]:
    found = []
    for match in _READ.finditer(text):
        name = match.group(1)
        if name == "facts" or name in FACT_NAMES:
            found.append(f"ansible_{name}")
    return found


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _strings(item)


def fact_reads(play: Play) -> Iterator[tuple[str, int, str]]:
    """(file, line, variable) for each place the play's tasks or templates read a fact."""
    for task in [*play.all_tasks(), *play.handlers]:
        keep = [task.args, task.when, task.loop, task.changed_when, task.failed_when,
                task.until, task.name, dict(task.vars), dict(task.environment)]  # fmt: skip
        if task.module == "debug" and task.args.get("var"):
            keep.append("{{ " + str(task.args["var"]) + " }}")
        seen: set[str] = set()
        for text in _strings(keep):
            bare = text if "{{" in text or "{%" in text else "{{ " + text + " }}"
            for name in _names_in(bare):
                if name not in seen:
                    seen.add(name)
                    yield task.path, task.line, name
        src = task.args.get("src") if task.module == "template" else None
        if isinstance(src, str) and "{{" not in src:
            role = task.role.path if task.role is not None else None
            local = resolve_local(src, os.path.dirname(task.path), "template", role)
            if local and os.path.isfile(local):
                yield from _template_reads(local)
    for name in _names_in(" ".join(_strings(play.vars))):
        yield play.path, play.line, name


def _template_reads(path: str) -> Iterator[tuple[str, int, str]]:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return
    for number, line in enumerate(lines, 1):
        for name in dict.fromkeys(_names_in(line)):
            yield path, number, name


def gathering_warnings(plays: list[Play], gathering: str) -> list[str]:
    """One warning per place a play that gathers no facts reads one."""
    out = []
    for play in plays:
        if plays_gather(play, gathering):
            continue
        why = (
            "gather_facts: false"
            if play.gather_facts is False
            else f"gathering={gathering} and no gather_facts: true"
        )
        for path, line, name in fact_reads(play):
            out.append(
                f"{path}:{line}: reads the fact {name}, but play {play.name!r} gathers no "
                f"facts ({why}); it is undefined unless an earlier play gathered them"
            )
    return out
