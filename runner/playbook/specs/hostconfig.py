"""Arguments of the host-configuration modules (keys, kernel settings, mounts, git
checkouts, host waits and reboots): runner.playbook.modules.sshkeys, kernel, mounts,
gitrepo, hostwait."""

from __future__ import annotations

from runner.playbook.specs import ModuleSpec
from runner.playbook.specs.system import choices

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
