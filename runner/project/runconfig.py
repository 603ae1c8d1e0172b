"""The parts of a RunConfig that project settings decide (runner.project.settings):
connection and become defaults with where each came from, and the project's own
settings. The CLI (runner.cli.options.build_config) adds what only the command line says."""

from __future__ import annotations

from runner.config import BecomeConfig, ConnectionConfig, ProjectConfig
from runner.errors import ConfigError
from runner.project.settings import ProjectSettings

#: ConnectionConfig field -> the setting that gives it.
CONNECTION_FIELDS = {
    "user": "remote_user",
    "private_key": "private_key_file",
    "ssh_config": "ssh_config",
    "known_hosts": "known_hosts",
    "host_key_checking": "host_key_checking",
    "jump": "jump",
    "connect_timeout": "timeout",
    "keepalive": "keepalive",
    "proxy_command": "proxy_command",
    "ask_pass": "ask_pass",
}
BECOME_FIELDS = {"enabled": "become", "user": "become_user", "ask_password": "become_ask_pass"}


def connection_config(settings: ProjectSettings) -> ConnectionConfig:
    values = {field: settings[name] for field, name in CONNECTION_FIELDS.items()}
    ask_pass = bool(values.pop("ask_pass"))
    if values["connect_timeout"] is not None:
        values["connect_timeout"] = float(values["connect_timeout"])
    origins = {
        field: origin
        for field, name in CONNECTION_FIELDS.items()
        if (origin := settings.origin(name)) is not None
    }
    return ConnectionConfig(**values, ask_pass=ask_pass, origins=origins)


def become_config(settings: ProjectSettings) -> BecomeConfig:
    """-b, --become-user, -K and their ansible.cfg names. runner escalates with sudo:
    another become_method is an error when become is on for the run."""
    enabled = bool(settings["become"])
    method = settings.values["become_method"]
    if enabled and str(method.value).strip() != "sudo":
        raise ConfigError(
            f"become_method {method.value!r} ({method.source}): runner escalates with sudo only",
            path=method.path,
            line=method.line,
            hint="set become_method = sudo, or leave become off",
        )
    user = settings.values["become_user"]
    origins = {
        field: origin
        for field, name in BECOME_FIELDS.items()
        if (origin := settings.origin(name)) is not None
    }
    return BecomeConfig(
        enabled=enabled,
        user=None if user.level == "default" else user.value,
        ask_password=bool(settings["become_ask_pass"]),
        origins=origins,
    )


def project_config(settings: ProjectSettings) -> ProjectConfig:
    return ProjectConfig(
        config_file=settings.config_file,
        roles_path=settings["roles_path"],
        collections_path=settings["collections_path"],
        gathering=settings["gathering"],
        gather_subset=settings["gather_subset"],
        bridge_modules=settings["bridge_modules"],
        # the project's one file (env or ansible.cfg); --vault-password-file replaces
        # it, and RunConfig.vault_password_files names the files actually read
        vault_password_file=None
        if settings.values["vault_password_file"].typed
        else settings["vault_password_file"],
    )


__all__ = ["become_config", "connection_config", "project_config"]
