"""mount natively against ansible.posix.mount through runner's module bridge, on the real
sshd fleet, from the same starting state: the same recap, the same registered results,
the same fstab (under tmp, ``fstab:``) and the same mount/umount calls.

``present``/``absent``/``absent_from_fstab`` only edit the fstab. ``mounted``,
``unmounted`` and ``remounted`` run RECORDING STAND-INS for ``mount`` and ``umount``
(tests/data/standins/mount, umount: they log their arguments and mount nothing), first on
PATH through the play's ``environment``, for both tools. Whether a path is mounted is read
from the real kernel (Ansible's module reads it there too), so the test makes one real
bind mount of its own under tmp (removed afterwards) as the "already mounted" case: that
changes the machine's mount table for the test's length, hence machine_wide.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.posix_side import collections_env
from tests.system_side import STANDINS, dump_task, read_registered
from tests.test_native_vs_bridge_e2e import MODES, compare_registered, run_native_and_bridged

pytestmark = [pytest.mark.sshd, pytest.mark.machine_wide]

REGISTERED = [f"m{i}" for i in range(1, 17)]

PLAY = """\
- hosts: all
  gather_facts: false
  environment:
    PATH: "{{ bin }}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    MOUNT_STANDIN: "{{ d }}"
  vars:
    f: "{{ d }}/fstab"
  tasks:
    - mount: {path: /srv/data, src: /dev/sdb1, fstype: ext4, passno: 2, state: present, fstab: "{{ f }}"}
      register: m1
    - mount: {path: /srv/data, src: /dev/sdb1, fstype: ext4, opts: noatime, passno: "2", state: present, fstab: "{{ f }}"}
      register: m2
    - mount: {name: /srv/short, src: /dev/sdc1, fstype: ext4, state: present, fstab: "{{ f }}"}
      register: m3
    - mount: {path: "{{ d }}/mnt/my disk", src: /dev/sde1, fstype: xfs, boot: false, state: present, fstab: "{{ f }}"}
      register: m4
    - mount: {path: /srv/tmp, state: absent, fstab: "{{ f }}"}
      register: m5
    - mount: {path: /srv/data, state: absent_from_fstab, fstab: "{{ f }}"}
      register: m6
    - mount: {path: none, src: /dev/sdf1, fstype: swap, opts: sw, state: present, fstab: "{{ f }}"}
      register: m7
    - mount: {path: /srv/check, src: /dev/sdh1, fstype: ext4, state: present, fstab: "{{ f }}"}
      check_mode: true
      register: m8
    - mount: {path: /srv/nofs, src: /dev/sdi1, state: present, fstab: "{{ f }}"}
      register: m9
      ignore_errors: true
    - mount: {path: "{{ d }}/mnt/new/deep", src: /dev/sdg1, fstype: ext4, state: mounted, fstab: "{{ f }}"}
      register: m10
    - mount: {path: "{{ d }}/mnt/new/deep", state: unmounted, fstab: "{{ f }}"}
      register: m11
    - mount: {path: "{{ d }}/point", state: unmounted, fstab: "{{ f }}"}
      register: m12
    - mount: {path: "{{ d }}/point", src: "{{ d }}/source", fstype: none, opts: bind, state: mounted, fstab: "{{ f }}"}
      register: m13
    - mount: {path: "{{ d }}/point", src: "{{ d }}/source", fstype: none, opts: bind, state: mounted, fstab: "{{ f }}"}
      register: m14
    - mount: {path: "{{ d }}/mnt/new/deep", state: absent, fstab: "{{ f }}"}
      register: m15
    - mount: {path: "{{ d }}/point", state: remounted, fstab: "{{ f }}"}
      register: m16
""" + dump_task(REGISTERED)

SEED = """\
# /etc/fstab: static file system information.
UUID=1234 / ext4 errors=remount-ro 0 1
/dev/sdb1 /srv/data ext4 defaults 0 2
/dev/sdc1 /srv/short ext4 defaults
tmpfs /srv/tmp tmpfs size=10m 0 0 # trailing comment
/dev/sdd1 none swap sw 0 0"""

KEYS = ("changed", "name", "src", "fstype", "opts", "dump", "passno", "fstab", "boot")
KEYS += ("backup_file", "msg")


def _bind(source: Path, point: Path) -> None:
    done = subprocess.run(["mount", "--bind", str(source), str(point)], capture_output=True)
    if done.returncode != 0:
        reason = f"needs a bind mount (root, CAP_SYS_ADMIN): {done.stderr.decode().strip()}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)


def test_mount_native_as_bridged(make_fleet, in_process, tmp_path):
    env = collections_env()
    fleet = make_fleet(1)
    host = fleet.names[0]
    roots = {mode: tmp_path / f"m-{mode[0]}" for mode in MODES}
    points: list[Path] = []

    def reset(mode: str) -> dict[str, str]:
        root = roots[mode]
        (root / "source").mkdir(parents=True)
        (root / "point").mkdir()
        (root / "fstab").write_text(SEED)
        _bind(root / "source", root / "point")
        points.append(root / "point")
        return {"d": str(root), "bin": str(STANDINS)}

    try:
        recaps, outs = run_native_and_bridged(
            tmp_path, fleet, in_process, PLAY, reset, ("mount",), probe="m1", env=env
        )
    finally:
        for point in points:
            subprocess.run(["umount", str(point)], capture_output=True)
    # m2 m3 m4 m6 m7 m8(check) m10 m12 m13 m15 m16, and the dump
    assert recaps["native"][host]["changed"] == 12, recaps
    for mode in MODES:
        path = outs[mode] / f"{host}.json"
        path.write_text(path.read_text().replace(str(roots[mode]), "D"))
    compare_registered(outs, host, [n for n in REGISTERED if n != "m9"], KEYS)
    for mode in MODES:
        failed = read_registered(outs[mode], host)["m9"]
        assert failed["failed"] and "missing: fstype" in failed["msg"], failed

    def state(mode: str) -> dict[str, str]:
        return {
            name: (roots[mode] / name).read_text().replace(str(roots[mode]), "D")
            for name in ("fstab", "calls")
        }

    assert state("native") == state("bridged")
    end = state("native")
    assert "D/mnt/my\\040disk xfs defaults,noauto 0 0" in end["fstab"], end["fstab"]
    assert end["calls"].splitlines() == [
        "mount -T D/fstab D/mnt/new/deep",
        "umount D/point",
        "mount -o remount -T D/fstab D/point",
        "mount -o remount -T D/fstab D/point",
    ]
    assert not (roots["native"] / "mnt" / "new" / "deep").exists()  # m15 removed it
    assert (roots["native"] / "mnt" / "new").is_dir()
