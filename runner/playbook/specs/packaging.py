"""Arguments of the package-side modules beyond apt: yum and dnf (one argument list, as
ansible-core's yumdnf), the repository and key modules, package_facts and pip."""

from __future__ import annotations

from runner.playbook.specs import ModuleSpec, choices


def _not_both(*pairs: tuple[str, str]):
    def validate(args: dict[str, object]) -> None:
        for one, other in pairs:
            if args.get(one) is not None and args.get(other) is not None:
                raise ValueError(f"give either {one!r} or {other!r}, not both")

    return validate


def _yum_dnf(args: dict[str, object]) -> None:
    choices(
        state=("present", "absent", "latest", "installed", "removed"),
        use_backend=("auto", "dnf", "yum", "yum4", "dnf4", "dnf5"),
    )(args)
    _not_both(("name", "list"), ("best", "nobest"))(args)


def _pip(args: dict[str, object]) -> None:
    choices(state=("present", "absent", "latest", "forcereinstall"))(args)
    _not_both(("name", "requirements"), ("executable", "virtualenv"))(args)


def _apt_key(args: dict[str, object]) -> None:
    choices(state=("present", "absent"))(args)
    given = [k for k in ("data", "file", "keyserver", "url") if args.get(k) is not None]
    if len(given) > 1:
        raise ValueError(f"apt_key takes one of 'data', 'file', 'keyserver', 'url', not {given}")


# what every file-writing module takes (its add_file_common_args)
_FILE_ATTRS = frozenset({"mode", "owner", "group", "seuser", "serole", "setype", "selevel"})
_FILE_ATTRS |= {"unsafe_writes", "attributes"}


# ansible-core's yumdnf argument spec (its yum is its dnf since 2.17)
YUM_DNF = ModuleSpec(
    frozenset({"name", "state", "update_cache", "enablerepo", "disablerepo", "exclude"})
    | {"allow_downgrade", "allowerasing", "autoremove", "best", "nobest", "bugfix"}
    | {"cacheonly", "conf_file", "disable_excludes", "disable_gpg_check", "disable_plugin"}
    | {"enable_plugin", "download_only", "download_dir", "installroot", "install_repoquery"}
    | {"install_weak_deps", "list", "releasever", "security", "skip_broken", "update_only"}
    | {"validate_certs", "sslverify", "lock_timeout", "use_backend"},
    required_one_of=(("name", "list", "update_cache", "autoremove"),),
    aliases=(("pkg", "name"), ("expire-cache", "update_cache")),
    validate=_yum_dnf,
)

SPECS: dict[str, ModuleSpec] = {
    "yum": YUM_DNF,
    "dnf": YUM_DNF,
    # manager: a list (auto, apt, rpm and its aliases dnf, yum...), checked by the module
    "package_facts": ModuleSpec(
        frozenset({"manager", "strategy"}), validate=choices(strategy=("first", "all"))
    ),
    "yum_repository": ModuleSpec(
        _FILE_ATTRS
        | {"name", "description", "state", "reposdir", "file", "baseurl", "mirrorlist"}
        | {"metalink", "enabled", "gpgcheck", "gpgkey", "repo_gpgcheck", "exclude", "cost"}
        | {"includepkgs", "priority", "proxy", "proxy_username", "proxy_password", "username"}
        | {"password", "sslcacert", "sslclientcert", "sslclientkey", "sslverify", "timeout"}
        | {"bandwidth", "countme", "deltarpm_metadata_percentage", "deltarpm_percentage"}
        | {"enablegroups", "failovermethod", "gpgcakey", "module_hotfixes", "http_caching"}
        | {"include", "ip_resolve", "keepalive", "keepcache", "metadata_expire", "retries"}
        | {"metadata_expire_filter", "mirrorlist_expire", "protect", "s3_enabled", "throttle"}
        | {"skip_if_unavailable", "ssl_check_cert_permissions", "ui_repoid_vars", "async"},
        required_one_of=(("name",),),
        aliases=(
            ("excludepkgs", "exclude"),
            ("ca_cert", "sslcacert"),
            ("client_cert", "sslclientcert"),
            ("client_key", "sslclientkey"),
            ("validate_certs", "sslverify"),
        ),  # fmt: skip
        validate=choices(
            state=("present", "absent"),
            failovermethod=("roundrobin", "priority"),
            http_caching=("all", "packages", "none"),
            ip_resolve=("4", "6", "IPv4", "IPv6", "whatever"),
            keepcache=("0", "1"),
            metadata_expire_filter=(
                "never",
                "read-only:past",
                "read-only:present",
                "read-only:future",
            ),  # fmt: skip
        ),
    ),
    "apt_repository": ModuleSpec(
        frozenset({"repo", "state", "mode", "update_cache", "update_cache_retries", "filename"})
        | {"update_cache_retry_max_delay", "install_python_apt", "validate_certs", "codename"},
        required_one_of=(("repo",),),
        aliases=(("update-cache", "update_cache"),),
        validate=choices(state=("present", "absent")),
    ),
    "apt_key": ModuleSpec(
        frozenset({"id", "url", "data", "file", "keyring", "validate_certs", "keyserver"})
        | {"state"},
        validate=_apt_key,
    ),
    "pip": ModuleSpec(
        frozenset({"name", "version", "requirements", "virtualenv", "virtualenv_site_packages"})
        | {"virtualenv_command", "virtualenv_python", "extra_args", "editable", "chdir"}
        | {"executable", "umask", "break_system_packages", "state"},
        required_one_of=(("name", "requirements"),),
        validate=_pip,
    ),
}
