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
}
