"""End-to-end: nothing is written where a host name or a remote path points.

`runner fetch`, the playbook fetch module and --out-dir (run, play) against real sshd,
with inventory host names that are paths ('../../x', an absolute path, 'a/../../b')
and remote paths with '..' in them: every file lands inside DEST (or DIR), under the
host's one-component name, and names that cannot be file names are refused before any
connection.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.localpaths import host_file_name
from runner.testing.fleet import write_inventory
from tests.conftest import json_records

pytestmark = pytest.mark.sshd

CONTENT = "written by the remote host\n"


def hostile_names(root: Path) -> list[str]:
    """Host names that, joined to a folder two levels under ``root``, point elsewhere."""
    return ["web01", "../../x", "a/../../b", "../../../escaped", f"{root}/abs"]


def files_outside(root: Path, folder: Path) -> list[Path]:
    return [p for p in root.rglob("*") if not p.is_dir() and folder not in p.parents]


@pytest.fixture
def site(sshd, tmp_path):
    """A remote file, a local tree ``root`` to watch, and an inventory of hostile names."""
    remote = tmp_path / "remote"
    (remote / "sub").mkdir(parents=True)
    (remote / "data.txt").write_text(CONTENT)
    root = tmp_path / "local"
    dest = root / "a" / "b" / "dest"
    dest.mkdir(parents=True)
    names = hostile_names(root)
    inventory = write_inventory(tmp_path / "inventory.yml", sshd, names)
    args = ["-i", str(inventory), "--known-hosts", str(tmp_path / "known_hosts")]
    return {"remote": remote, "root": root, "dest": dest, "names": names, "args": args}


def test_runner_fetch_keeps_hostile_host_names_inside_dest(site, in_process):
    dest, root = site["dest"], site["root"]
    src = f"{site['remote']}/sub/../data.txt"
    res = in_process("fetch", *site["args"], "--json", "all", src, str(dest))
    assert res.exit_code == 0, res
    hosts = {r["host"]: r for r in json_records(res.stdout) if r["type"] == "host"}
    assert sorted(hosts) == sorted(site["names"])
    for name in site["names"]:
        local = dest / host_file_name(name) / "data.txt"
        assert local.read_text() == CONTENT, name
        assert str(local) in hosts[name]["stdout"]
    assert files_outside(root, dest) == []
    assert sorted(p.name for p in dest.iterdir()) == sorted(map(host_file_name, site["names"]))


def test_playbook_fetch_keeps_host_names_and_remote_paths_inside_dest(site, in_process, tmp_path):
    dest, root, remote = site["dest"], site["root"], site["remote"]
    climbing = "../" * 30 + str(remote).lstrip("/") + "/data.txt"  # relative, climbs out
    book = tmp_path / "fetch.yml"
    book.write_text(
        f"""
- hosts: all
  gather_facts: false
  vars:
    evil_src: "{climbing}"
  tasks:
    - name: not flat
      fetch:
        src: "{remote}/sub/../../{remote.name}/./data.txt"
        dest: "{dest}"
    - name: climbing src
      fetch:
        src: "{{{{ evil_src }}}}"
        dest: "{dest}"
      ignore_errors: true
    - name: flat into a folder
      fetch:
        src: "{remote}/sub/../data.txt"
        dest: "{dest}/flat/"
        flat: true
    - name: flat onto a folder
      fetch:
        src: "{remote}/data.txt"
        dest: "{dest}/flat"
        flat: true
      ignore_errors: true
"""
    )
    res = in_process("play", *site["args"], "--json", str(book))
    assert res.exit_code == 0, res
    tasks = [r for r in json_records(res.stdout) if r["type"] == "task"]
    climbed = [r for r in tasks if r["task"] == "climbing src"]
    assert len(climbed) == len(site["names"])
    assert all(r["status"] == "failed" and "climbs above" in r["msg"] for r in climbed)
    onto = [r for r in tasks if r["task"] == "flat onto a folder"]
    assert onto and all("existing folder: end it with '/'" in r["msg"] for r in onto)
    relative = str(remote).lstrip("/") + "/data.txt"
    for name in site["names"]:
        assert (dest / host_file_name(name) / relative).read_text() == CONTENT, name
    assert (dest / "flat" / "data.txt").read_text() == CONTENT
    assert files_outside(root, dest) == []


def test_out_dir_keeps_hostile_host_names_inside_dir(site, in_process, tmp_path):
    root = site["root"]
    out = root / "a" / "b" / "out"
    res = in_process(
        "run", *site["args"], "--out-dir", str(out), "all", "echo {{ inventory_hostname }}"
    )
    assert res.exit_code == 0, res
    book = tmp_path / "echo.yml"
    book.write_text("- hosts: all\n  tasks:\n    - command: echo {{ inventory_hostname }}\n")
    play_out = root / "a" / "b" / "play-out"
    res = in_process("play", *site["args"], "--out-dir", str(play_out), str(book))
    assert res.exit_code == 0, res
    for name in site["names"]:
        stem = host_file_name(name)
        assert (out / f"{stem}.stdout").read_text() == f"{name}\n", name
        assert json.loads((out / f"{stem}.json").read_text())["host"] == name
        assert (play_out / f"{stem}.stdout").read_text() == f"{name}\n", name
        task = json.loads((play_out / f"{stem}.json").read_text().splitlines()[0])
        assert task["host"] == name
    assert [p for p in files_outside(root, out) if play_out not in p.parents] == []


def test_a_symbolic_link_in_dest_leading_out_fails_that_host(site, in_process, tmp_path):
    dest, outside = site["dest"], tmp_path / "outside"
    outside.mkdir()
    (dest / "web01").symlink_to(outside)
    res = in_process(
        "fetch", *site["args"], "--json", "web01", f"{site['remote']}/data.txt", str(dest)
    )
    assert res.exit_code == 2, res
    (record,) = [r for r in json_records(res.stdout) if r["type"] == "host"]
    assert "symbolic link" in record["error"] and "Traceback" not in res.stderr
    assert list(outside.iterdir()) == []


# -- names that cannot be file names: refused before any connection ---------------------


def commands(tmp: Path) -> dict[str, list[str]]:
    """Each command that builds local paths from host names; each would `touch` MARKER
    (or connect) on every host if it ran at all."""
    marker = tmp / "MARKER"
    play = tmp / "touch.yml"
    play.write_text(f"- hosts: all\n  tasks:\n    - command: touch {marker}\n")
    fetch_play = tmp / "touch-fetch.yml"
    fetch_play.write_text(
        f"- hosts: all\n  tasks:\n    - command: touch {marker}\n"
        f"    - fetch: src=/etc/hostname dest={tmp}/fetched\n"
    )
    out = ["--out-dir", str(tmp / "out")]
    return {
        "run --out-dir": ["run", *out, "all", f"touch {marker}"],
        "play --out-dir": ["play", *out, str(play)],
        "play with fetch": ["play", str(fetch_play)],
        "copy --out-dir": ["copy", *out, "all", str(play), f"{tmp}/copied"],
        "fetch": ["fetch", "all", "/etc/hostname", str(tmp / "fetched")],
    }


COMMANDS = ["run --out-dir", "play --out-dir", "play with fetch", "copy --out-dir", "fetch"]


@pytest.mark.parametrize("bad", [".", "..", ""])
@pytest.mark.parametrize("command", COMMANDS)
def test_bad_host_names_are_input_errors_before_any_connection(
    sshd, in_process, tmp_path, bad, command
):
    inventory = write_inventory(tmp_path / "inventory.yml", sshd, ["web01", bad])
    known_hosts = tmp_path / "known_hosts"
    argv = commands(tmp_path)[command]
    res = in_process(argv[0], "-i", str(inventory), "--known-hosts", str(known_hosts), *argv[1:])
    assert res.exit_code == 1, res
    assert f"runner: error: host name {bad!r} cannot be used as a file name" in res.stderr
    assert "hint: rename the host in the inventory" in res.stderr
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "MARKER").exists()  # no command ran
    assert not known_hosts.exists()  # no host was connected to (accept-new records keys)
    for made in ("out", "fetched", "copied"):
        assert not (tmp_path / made).exists(), made


def test_host_names_sharing_a_file_name_are_refused(sshd, in_process, tmp_path):
    inventory = write_inventory(tmp_path / "inventory.yml", sshd, ["a/b", "a_b"])
    known_hosts = tmp_path / "known_hosts"
    for argv in (
        ["fetch", "all", "/etc/hostname", str(tmp_path / "fetched")],
        ["run", "--out-dir", str(tmp_path / "out"), "all", "true"],
    ):
        res = in_process(
            argv[0], "-i", str(inventory), "--known-hosts", str(known_hosts), *argv[1:]
        )
        assert res.exit_code == 1, res
        assert "hosts 'a/b' and 'a_b' would share the file name 'a_b'" in res.stderr
    assert not known_hosts.exists()


@pytest.mark.parametrize("src", ["/tmp/..", "/", "logs/.."])
def test_fetch_src_that_names_no_file_is_an_input_error(sshd, in_process, tmp_path, src):
    inventory = write_inventory(tmp_path / "inventory.yml", sshd, ["web01"])
    known_hosts = tmp_path / "known_hosts"
    dest = tmp_path / "fetched"
    res = in_process(
        "fetch", "-i", str(inventory), "--known-hosts", str(known_hosts), "all", src, str(dest)
    )
    assert res.exit_code == 1, res
    assert f"runner: error: fetch SRC: remote path {src!r} does not name a file" in res.stderr
    assert not known_hosts.exists() and not dest.exists()


def test_a_fetch_dest_naming_the_host_refuses_host_names_with_a_slash(site, in_process, tmp_path):
    """`dest: backups/{{ inventory_hostname }}.conf` (flat) is a common idiom: the name
    goes into the path as it is, so a name with '/' is refused before anything runs."""
    dest, marker = site["dest"], tmp_path / "MARKER"
    book = tmp_path / "flat.yml"
    task = (
        f"    - command: touch {marker}\n"
        "    - fetch:\n"
        f"        src: {site['remote']}/data.txt\n"
        f'        dest: "{dest}/{{{{ inventory_hostname }}}}.txt"\n'
        "        flat: true\n"
    )
    book.write_text(f"- hosts: all\n  tasks:\n{task}")
    res = in_process("play", *site["args"], str(book))
    assert res.exit_code == 1, res
    assert "runner: error: host name '../../x' cannot be used as a file name" in res.stderr
    assert "{{ inventory_hostname }}" in res.stderr and f"{book}:" in res.stderr
    assert not marker.exists() and files_outside(site["root"], dest) == []
    res = in_process("play", *site["args"], "--limit", "web01", str(book))  # a plain name is fine
    assert res.exit_code == 0, res
    assert (dest / "web01.txt").read_text() == CONTENT


def test_a_symbolic_link_in_out_dir_leading_out_fails_that_host(site, in_process, tmp_path):
    out, outside = site["root"] / "out", tmp_path / "outside"
    out.mkdir()
    outside.mkdir()
    (out / "web01.stdout").symlink_to(outside / "stolen")
    res = in_process("run", *site["args"], "--json", "--out-dir", str(out), "web01", "echo secret")
    assert res.exit_code == 2, res
    (record,) = [r for r in json_records(res.stdout) if r["type"] == "host"]
    assert "symbolic link" in record["error"] and res.stderr == ""
    assert list(outside.iterdir()) == []
