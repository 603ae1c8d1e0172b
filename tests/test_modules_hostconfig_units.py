"""Decision and parsing logic of authorized_key, sysctl, mount, git and service_facts,
without a host (the end-to-end files compare the same with Ansible's modules)."""

from __future__ import annotations

import pytest

from runner.playbook import modspec
from runner.playbook.modules.gitrepo import head_splitter
from runner.playbook.modules.kernel import fixed_lines, plan, read_file_values
from runner.playbook.modules.mounts import linux_mounts, set_line, unset_line
from runner.playbook.modules.servicefacts import systemd_units
from runner.playbook.modules.sshkeys import edit_keys, parse_key

A = "ssh-ed25519 AAAA a@x"
B = "ssh-rsa BBBB b@x"


def _edit(existing: str, wanted: list[str], **kw) -> str | None:
    opts = {"state": "present", "exclusive": False, "key_options": None, "comment": None}
    return edit_keys(existing, wanted, **{**opts, **kw})


def test_a_key_with_other_options_is_replaced_and_moved_last():
    text = f"{A}\n# note\n{B}\n"
    assert _edit(text, [A], key_options="no-pty") == f"# note\n{B}\nno-pty {A}\n"


def test_exclusive_drops_comments_and_other_keys_in_the_asked_order():
    assert _edit(f"# note\n{A}\n{B}\n", [B, A], exclusive=True) == f"{A}\n{B}\n"


def test_absent_and_already_absent():
    assert _edit(f"{A}\n{B}\n", [A], state="absent") == f"{B}\n"
    assert _edit(f"{B}\n", [A], state="absent") is None


def test_an_invalid_key_names_itself():
    with pytest.raises(ValueError, match="invalid key specified: nope"):
        _edit("", ["nope"])


def test_options_with_spaces_inside_quotes_stay_one_option():
    entry = parse_key('command="echo hi there",no-pty ssh-rsa CCC c', 0)
    assert entry is not None and entry[2] == (("command", '"echo hi there"'), ("no-pty", None))


def test_sysctl_last_value_in_the_file_decides_and_the_first_place_is_kept():
    lines, values = read_file_values("a=1\nb=2\na=3\n")
    assert values["a"] == "3"
    assert plan("3", values["a"], "1", present=True, reload=False, sysctl_set=False).write_file
    assert fixed_lines(lines, "a", "1", True) == "a=1\nb=2\n"


def test_sysctl_set_without_a_readable_running_value_changes_but_sets_nothing():
    todo = plan(None, "1", "1", present=True, reload=False, sysctl_set=True)
    assert todo.changed and not todo.set_running


def test_fstab_other_swap_lines_are_left_alone():
    text = "/dev/a none swap sw 0 0\n"
    args = {"src": "/dev/b", "name": "none", "fstype": "swap", "opts": "sw", "dump": "0",
            "passno": "0"}  # fmt: skip
    assert set_line(text, args) == (text + "/dev/b none swap sw 0 0\n", True)
    assert unset_line(text, {"name": "none", "src": "/dev/b"}) == (text, False)


def test_mountinfo_names_a_bind_mount_by_its_root():
    info = "1 0 0:1 / / rw - ext4 /dev/vda rw\n5 1 0:1 /data /srv rw - ext4 /dev/vda rw\n"
    assert linux_mounts(info)["/srv"]["src"] == "/dev/vda"  # parent id 1: the device


def test_head_of_a_detached_checkout_comes_from_the_remote_head():
    assert head_splitter("ref: refs/remotes/up/main\n", "up") == "main"


def test_failed_units_keep_their_bad_status():
    found = systemd_units("x.service loaded failed failed The x\n")
    assert found["x.service"]["status"] == "failed"


@pytest.mark.parametrize(
    ("module", "args", "message"),
    [
        ("git", {"repo": "r", "dest": "d", "verify_commit": True}, "not supported"),
        ("mount", {"path": "/x", "state": "gone"}, "state must be one of"),
        ("sysctl", {"name": "a", "state": "on"}, "state must be one of"),
        ("authorized_key", {"user": "u"}, "needs 'key'"),
        ("reboot", {"timeout": 5}, "does not support 'timeout'"),
    ],
)
def test_arguments_are_checked_at_load_time(module, args, message):
    with pytest.raises(ValueError, match=message):
        modspec.check_args(module, dict(args))


def test_git_is_no_longer_pointed_to_command():
    assert "git" not in modspec.INSTEAD and "git" in modspec.SUPPORTED_MODULES
