"""Arguments of the host-configuration modules (keys, kernel settings, mounts, git
checkouts, host waits and reboots): runner.playbook.modules.sshkeys, kernel, mounts,
gitrepo, hostwait."""

from __future__ import annotations

from runner.playbook.specs import ModuleSpec
from runner.playbook.specs.system import choices


def _git(args: dict[str, object]) -> None:
    """What runner's git does not do (yet) is refused at load time rather than ignored."""
    for key in ("verify_commit", "archive", "separate_git_dir", "track_submodules"):
        if args.get(key) not in (None, False, "no", "false", "False"):
            raise ValueError(f"git: {key!r} is not supported by runner's git module")


HOSTCONFIG_SPECS: dict[str, ModuleSpec] = {
    "authorized_key": ModuleSpec(
        frozenset({"user", "key", "path", "manage_dir", "state", "key_options", "exclusive"})
        | {"comment", "validate_certs", "follow"},
        required_one_of=(("user",), ("key",)),
        validate=choices(state=("present", "absent")),
    ),
    "sysctl": ModuleSpec(
        frozenset({"name", "value", "state", "reload", "sysctl_set", "ignoreerrors"})
        | {"sysctl_file"},
        required_one_of=(("name",),),
        aliases=(("key", "name"), ("val", "value")),
        validate=choices(state=("present", "absent")),
    ),
    "git": ModuleSpec(
        frozenset({"repo", "dest", "version", "remote", "refspec", "reference", "force"})
        | {"depth", "clone", "update", "verify_commit", "gpg_allowlist", "accept_hostkey"}
        | {"accept_newhostkey", "key_file", "ssh_opts", "executable", "bare", "recursive"}
        | {"single_branch", "track_submodules", "umask", "archive", "archive_prefix"}
        | {"separate_git_dir"},
        required_one_of=(("repo",),),
        aliases=(("name", "repo"), ("gpg_whitelist", "gpg_allowlist")),
        validate=_git,
    ),
    "service_facts": ModuleSpec(frozenset()),
    "wait_for_connection": ModuleSpec(frozenset({"delay", "sleep", "timeout", "connect_timeout"})),
    "reboot": ModuleSpec(
        frozenset({"pre_reboot_delay", "post_reboot_delay", "reboot_timeout", "connect_timeout"})
        | {"test_command", "msg", "boot_time_command", "reboot_command", "search_paths"},
    ),
    "mount": ModuleSpec(
        frozenset({"path", "src", "fstype", "opts", "opts_no_log", "dump", "passno", "boot"})
        | {"fstab", "backup", "state"},
        required_one_of=(("path",), ("state",)),
        aliases=(("name", "path"),),
        validate=choices(
            state=("absent", "absent_from_fstab", "mounted", "present", "unmounted")
            + ("remounted", "ephemeral")
        ),
    ),
}
