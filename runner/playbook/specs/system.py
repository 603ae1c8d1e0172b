"""Arguments of the system modules (services, packages, users, host settings).

Values may still be Jinja2 templates at load time, so a ``validate`` only checks a choice
when the value is plain text; the module checks again once rendered.
"""

from __future__ import annotations

from runner.playbook.specs import ModuleSpec, choices
from runner.playbook.specs.packaging import YUM_DNF

_SERVICE_STATES = ("started", "stopped", "restarted", "reloaded")

_SYSTEMD = ModuleSpec(
    frozenset(
        {"name", "state", "enabled", "masked", "daemon_reload", "daemon_reexec", "scope"}
        | {"no_block", "force"}
    ),
    required_one_of=(("state", "enabled", "masked", "daemon_reload", "daemon_reexec"),),
    aliases=(("service", "name"), ("unit", "name"), ("daemon-reload", "daemon_reload")),
    validate=choices(state=_SERVICE_STATES, scope=("system", "user", "global")),
)

_PACKAGE_COMMON = frozenset({"name", "state"})

_APT = ModuleSpec(
    _PACKAGE_COMMON
    | {"update_cache", "cache_valid_time", "deb", "purge", "autoremove", "force"}
    | {"install_recommends", "default_release", "allow_downgrade", "only_upgrade"}
    | {"upgrade", "dpkg_options", "autoclean", "clean", "allow_unauthenticated"}
    | {"lock_timeout", "update_cache_retries", "update_cache_retry_max_delay"},
    required_one_of=(
        ("name", "deb", "update_cache", "upgrade", "autoremove", "autoclean", "clean"),
    ),
    aliases=(("pkg", "name"), ("package", "name"), ("update-cache", "update_cache")),
    validate=choices(
        state=("present", "absent", "latest", "installed", "removed", "fixed"),
        upgrade=("no", "yes", "safe", "full", "dist", "False", "True", "false", "true"),
    ),
)

# package hands every argument it does not know itself to the backend module, as Ansible's
# does; the backends whose arguments are known here (the rest are checked at run time).
PACKAGE_BACKENDS = {"apt": _APT, "yum": YUM_DNF, "dnf": YUM_DNF, "dnf5": YUM_DNF}
_PACKAGE_OWN = frozenset({"name", "state", "use"})


def package_extras(args: dict[str, object], backend: ModuleSpec) -> list[str]:
    """The arguments ``package`` passes on that ``backend`` does not accept.

    >>> package_extras({"name": "x", "purge": True, "enablerepo": "e"}, PACKAGE_BACKENDS["apt"])
    ['enablerepo']
    """
    known = backend.params | {alias for alias, _ in backend.aliases}
    return sorted(k for k in args if k not in _PACKAGE_OWN and k not in known)


def _package(args: dict[str, object]) -> None:
    choices(state=("present", "absent", "latest", "installed", "removed"))(args)
    use = args.get("use")
    backend = PACKAGE_BACKENDS.get(use) if isinstance(use, str) else None
    extras = package_extras(args, backend) if backend is not None else []
    if extras:
        allowed = ", ".join(sorted(backend.params - _PACKAGE_OWN)) if backend else ""
        raise ValueError(
            f"package passes {', '.join(map(repr, extras))} to {use}, which does not "
            f"support {'it' if len(extras) == 1 else 'them'}; {use} accepts: {allowed}"
        )


_USER = ModuleSpec(
    frozenset(
        {"name", "state", "uid", "group", "groups", "append", "shell", "home", "create_home"}
        | {"system", "password", "update_password", "remove", "force", "comment", "expires"}
        | {"move_home", "non_unique", "password_lock", "local", "skeleton", "generate_ssh_key"}
        | {"ssh_key_bits", "ssh_key_type", "ssh_key_file", "ssh_key_comment"}
        | {"ssh_key_passphrase", "umask"}
    ),
    required_one_of=(("name",),),
    aliases=(("user", "name"), ("createhome", "create_home")),
    validate=choices(state=("present", "absent"), update_password=("always", "on_create")),
)

_GROUP = ModuleSpec(
    frozenset({"name", "state", "gid", "system", "non_unique", "local", "force"}),
    required_one_of=(("name",),),
    validate=choices(state=("present", "absent")),
)

SYSTEM_SPECS: dict[str, ModuleSpec] = {
    "systemd": _SYSTEMD,
    "systemd_service": _SYSTEMD,
    "service": ModuleSpec(
        frozenset({"name", "state", "enabled", "use", "sleep", "pattern", "runlevel"})
        | {"arguments"},
        required_one_of=(("name",), ("state", "enabled")),
        aliases=(("args", "arguments"),),
        validate=choices(state=_SERVICE_STATES),
    ),
    # any other argument goes to the backend module (apt: purge, autoremove...)
    "package": ModuleSpec(
        _PACKAGE_OWN, required_one_of=(("name",),), any_params=True, validate=_package
    ),
    "apt": _APT,
    "user": _USER,
    "group": _GROUP,
    "ping": ModuleSpec(frozenset({"data"})),
    "getent": ModuleSpec(
        frozenset({"database", "key", "split", "fail_key", "service"}),
        required_one_of=(("database",),),
    ),
    "wait_for": ModuleSpec(
        frozenset({"host", "port", "path", "state", "timeout", "delay", "sleep", "search_regex"})
        | {"connect_timeout", "msg", "exclude_hosts", "active_connection_states"},
        validate=choices(state=("started", "stopped", "present", "absent", "drained")),
    ),
    "cron": ModuleSpec(
        frozenset({"name", "job", "minute", "hour", "day", "month", "weekday", "special_time"})
        | {"state", "user", "cron_file", "disabled", "env"},
        aliases=(("value", "job"), ("dow", "weekday")),
        validate=choices(
            state=("present", "absent"),
            special_time=("annually", "daily", "hourly", "monthly", "reboot", "weekly", "yearly"),
        ),
    ),
    "hostname": ModuleSpec(
        frozenset({"name", "use"}),
        required_one_of=(("name",),),
    ),
}
