"""yum_repository natively against ansible-core's yum_repository run through the Ansible
module bridge, on the real sshd fleet, each writing its own ``reposdir`` under tmp: the
same recap, the same registered keys and values (diff included), the same files."""

from __future__ import annotations

import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tests.ansible_side import tree
from tests.system_side import dump_task
from tests.test_native_vs_bridge_e2e import MODES, compare_registered, run_native_and_bridged

pytestmark = pytest.mark.sshd

YUM_NAMES = [f"r{i}" for i in range(1, 10)]

YUM_PLAY = """\
- hosts: all
  gather_facts: false
  tasks:
    - yum_repository:
        name: epel
        description: EPEL YUM repo
        baseurl: https://download.example.invalid/epel/$releasever/$basearch/
        gpgcheck: true
        enabled: no
        reposdir: "{{ dir }}"
      register: r1
    - yum_repository: {name: epel, description: EPEL YUM repo, gpgcheck: yes, enabled: false, reposdir: "{{ dir }}", baseurl: "https://download.example.invalid/epel/$releasever/$basearch/"}
      register: r2
    - yum_repository:
        name: epel-testing
        file: epel
        description: EPEL testing
        mirrorlist: https://mirrors.example.invalid/metalink?repo=testing
        gpgkey: [https://example.invalid/k1, https://example.invalid/k2]
        exclude: ["kernel*", foo]
        priority: 10
        reposdir: "{{ dir }}"
      register: r3
    - yum_repository: {name: epel, description: changed, baseurl: https://other.invalid/, reposdir: "{{ dir }}"}
      check_mode: true
      register: r4
    - yum_repository: {name: epel-testing, file: epel, state: absent, reposdir: "{{ dir }}"}
      register: r5
    - yum_repository: {name: other, state: absent, reposdir: "{{ dir }}"}
      register: r6
    - yum_repository: {name: custom, description: C, baseurl: [https://a.invalid/, https://b.invalid/], mode: "0600", reposdir: "{{ dir }}"}
      register: r7
    - yum_repository: {name: epel, state: absent, reposdir: "{{ dir }}"}
      register: r8
    - yum_repository: {name: broken, baseurl: https://a.invalid/, reposdir: "{{ dir }}"}
      register: r9
      ignore_errors: true
""" + dump_task(YUM_NAMES)


def test_yum_repository_native_as_bridged(make_fleet, in_process, tmp_path):
    fleet = make_fleet(1)
    host = fleet.names[0]
    dirs = {mode: tmp_path / f"repos-{mode[0]}" for mode in MODES}  # one length

    def reset(mode: str) -> dict[str, str]:
        dirs[mode].mkdir()
        return {"dir": str(dirs[mode])}

    recaps, outs = run_native_and_bridged(
        tmp_path, fleet, in_process, YUM_PLAY, reset, ("yum_repository",), probe="r1"
    )
    assert recaps["native"][host]["changed"] == 7, recaps  # r1 r3 r4 r5 r7 r8, the dump
    assert recaps["native"][host]["ignored"] == 1, recaps
    files = {mode: tree(dirs[mode]) for mode in MODES}
    assert files["native"] == files["bridged"] and list(files["native"]) == ["custom.repo"]
    assert "baseurl = https://a.invalid/\n\thttps://b.invalid/" in files["native"]["custom.repo"]
    modes = {m: stat.S_IMODE((dirs[m] / "custom.repo").stat().st_mode) for m in MODES}
    assert modes["native"] == modes["bridged"] == 0o600
    for mode in MODES:
        path = outs[mode] / f"{host}.json"
        path.write_text(path.read_text().replace(str(dirs[mode]), "DIR"))
    native, _ = compare_registered(
        outs, host, YUM_NAMES, ("changed", "repo", "state", "diff"), r9=("msg",)
    )
    assert "exclude = kernel* foo" in native["r3"]["diff"]["after"]


APT_NAMES = [f"a{i}" for i in range(1, 9)]

APT_PLAY = """\
- hosts: all
  gather_facts: false
  vars:
    ansible_python_interpreter: /usr/bin/python3
  environment:
    APT_CONFIG: "{{ aptconf }}"
  tasks:
    - apt_repository:
        repo: deb [arch=amd64] https://download.example.invalid/linux/debian bookworm stable
        update_cache: false
      register: a1
    - apt_repository: {repo: "deb [arch=amd64]  https://download.example.invalid/linux/debian bookworm stable", update_cache: no}
      register: a2
    - apt_repository: {repo: deb http://old.example.invalid/ stable main, update_cache: false}
      register: a3
    - apt_repository: {repo: deb http://x.example.invalid/ stable main, filename: myrepo, mode: "0600", update_cache: false}
      register: a4
    - apt_repository: {repo: deb http://x.example.invalid/ stable main, state: absent, update_cache: false}
      register: a5
    - apt_repository: {repo: deb http://deb.example.invalid/debian bookworm main, state: absent, update_cache: false}
      check_mode: true
      register: a6
    - apt_repository: {repo: deb http://none.example.invalid/ x main, state: absent, update_cache: false}
      register: a7
    - apt_repository: {repo: foo bar, update_cache: false}
      register: a8
      ignore_errors: true
""" + dump_task(APT_NAMES)

SOURCES = """\
deb http://deb.example.invalid/debian bookworm main
# deb http://old.example.invalid/ stable main

deb-src http://deb.example.invalid/debian bookworm main # sources too
"""


def test_apt_repository_native_as_bridged(make_fleet, in_process, tmp_path):
    """apt reads only this test's sources (APT_CONFIG); ansible-core's module needs
    python3-apt, which the system's python has; update_cache is off (no network)."""
    fleet = make_fleet(1)
    host = fleet.names[0]
    dirs = {mode: tmp_path / f"apt-{mode[0]}" for mode in MODES}

    def reset(mode: str) -> dict[str, str]:
        (dirs[mode] / "parts").mkdir(parents=True)
        (dirs[mode] / "sources.list").write_text(SOURCES)
        (dirs[mode] / "parts" / "other.list").write_text("deb http://other.invalid/ a b\n")
        conf = tmp_path / f"apt-{mode[0]}.conf"
        conf.write_text(
            f'Dir::Etc::SourceList "{dirs[mode]}/sources.list";\n'
            f'Dir::Etc::SourceParts "{dirs[mode]}/parts";\n'
        )
        return {"aptconf": str(conf)}

    recaps, outs = run_native_and_bridged(
        tmp_path, fleet, in_process, APT_PLAY, reset, ("apt_repository",), probe="a1"
    )
    assert recaps["native"][host]["changed"] == 6, recaps  # a1 a3 a4 a5 a6, the dump
    files = {mode: tree(dirs[mode]) for mode in MODES}
    assert files["native"] == files["bridged"]
    assert sorted(files["native"]) == [
        "parts/download_example_invalid_linux_debian.list", "parts/other.list", "sources.list",
    ]  # fmt: skip
    assert "\ndeb http://old.example.invalid/ stable main\n" in files["native"]["sources.list"]
    for mode in MODES:
        path = outs[mode] / f"{host}.json"
        path.write_text(path.read_text().replace(str(dirs[mode]), "DIR"))
    keys = ("changed", "repo", "state", "sources_added", "sources_removed")
    native, _ = compare_registered(outs, host, APT_NAMES, keys, a8=("msg",))
    assert native["a1"]["sources_added"] == ["DIR/parts/download_example_invalid_linux_debian.list"]
    assert native["a5"]["sources_removed"] == ["DIR/parts/myrepo.list"]


KEY_NAMES = [f"k{i}" for i in range(1, 8)]

KEY_PLAY = """\
- hosts: all
  gather_facts: false
  environment:
    GNUPGHOME: "{{ gnupg }}"
  tasks:
    - apt_key: {data: "{{ lookup('file', keyfile) }}", keyring: "{{ ring }}"}
      register: k1
    - apt_key: {data: "{{ lookup('file', keyfile) }}", keyring: "{{ ring }}"}
      register: k2
    - apt_key: {id: "{{ fpr }}", keyring: "{{ ring }}"}
      register: k3
    - apt_key: {id: "{{ fpr }}", keyring: "{{ ring }}", state: absent}
      check_mode: true
      register: k4
    - apt_key: {id: "{{ fpr[-8:] }}", keyring: "{{ ring }}", state: absent}
      register: k5
    - apt_key: {file: "{{ keyfile }}", keyring: "{{ ring }}"}
      register: k6
    - apt_key: {id: nothex, keyring: "{{ ring }}"}
      register: k7
      ignore_errors: true
""" + dump_task(KEY_NAMES)


def _gpg(home: Path, *args: str) -> str:
    done = subprocess.run(
        ["gpg", "--batch", "--homedir", str(home), *args], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_apt_key_native_as_bridged(make_fleet, in_process, tmp_path):
    """A key made here with gpg (no network), added to and removed from a keyring under
    tmp by apt-key, as both modules drive it."""
    for tool in ("apt-key", "gpg"):
        if shutil.which(tool) is None:
            pytest.skip(f"needs {tool}")
    fleet = make_fleet(1)
    host = fleet.names[0]
    maker = tmp_path / "maker"
    maker.mkdir(mode=0o700)
    _gpg(maker, "--passphrase", "", "--quick-gen-key", "runner test <t@example.invalid>",
         "ed25519", "sign", "never")  # fmt: skip
    keyfile = tmp_path / "key.asc"
    keyfile.write_text(_gpg(maker, "--armor", "--export"))
    fpr = next(
        line.split(":")[9]
        for line in _gpg(maker, "--with-colons", "--list-keys").splitlines()
        if line.startswith("fpr:")
    )
    rings = {mode: tmp_path / f"ring-{mode[0]}.gpg" for mode in MODES}

    def reset(mode: str) -> dict[str, str]:
        home = tmp_path / f"gnupg-{mode[0]}"
        home.mkdir(mode=0o700)
        return {"ring": str(rings[mode]), "keyfile": str(keyfile), "fpr": fpr,
                "gnupg": str(home)}  # fmt: skip

    recaps, outs = run_native_and_bridged(
        tmp_path, fleet, in_process, KEY_PLAY, reset, ("apt_key",), probe="k1"
    )
    assert recaps["native"][host]["changed"] == 5, recaps  # k1 k4 k5 k6, the dump
    assert recaps["native"][host]["ignored"] == 1, recaps
    listed = {
        m: _gpg(
            tmp_path / "maker",
            "--no-default-keyring",
            "--keyring",
            str(rings[m]),
            "--with-colons",
            "--list-keys",
        )  # fmt: skip
        for m in MODES
    }
    assert fpr in listed["native"] and fpr in listed["bridged"]
    keys = ("changed", "id", "short_id", "fp", "key_id", "before", "after")
    native, _ = compare_registered(outs, host, KEY_NAMES, keys, k7=("msg",))
    assert native["k1"]["fp"] == fpr[-16:] and native["k2"]["changed"] is False
