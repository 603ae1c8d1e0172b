"""End-to-end, against real sshd: the native file modules (lineinfile, blockinfile,
replace, stat, slurp, find) in one playbook, run by runner and by the real
ansible-playbook from the same starting files: same PLAY RECAP (changed counts
included), same registered values that matter (written to results.json by the playbook
itself), same files and modes left behind; a second runner run changes nothing.

PLAYBOOK, seed() and compare_roots() are kept apart from the test so the same playbook can
later run through the module bridge (native vs bridged) unchanged."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from tests.ansible_side import ansible_playbook, ansible_recap, runner_recap, same_recap

pytestmark = pytest.mark.sshd

# Every host works under ROOT/HOST (the fleet's hosts are one machine).
PLAYBOOK = r"""
- hosts: all
  gather_facts: false
  vars:
    d: "{{ root }}/{{ inventory_hostname }}"
  tasks:
    - name: replace a setting found by regexp, keeping a backup
      lineinfile: {path: "{{ d }}/app.conf", regexp: '^port\s*=', line: 'port = 8080', backup: true}
      register: li_replace
    - name: the same again changes nothing
      lineinfile: {path: "{{ d }}/app.conf", regexp: '^port\s*=', line: 'port = 8080'}
      register: li_again
    - name: insert after an anchor, with a mode
      lineinfile: {path: "{{ d }}/app.conf", line: 'workers = 4', insertafter: '^\[server\]', mode: '0600'}
      register: li_after
    - name: backrefs
      lineinfile: {path: "{{ d }}/app.conf", regexp: '^(log)=(\w+)$', line: '\1 = \2', backrefs: true}
      register: li_backrefs
    - name: remove lines
      lineinfile: {path: "{{ d }}/app.conf", regexp: '^#', state: absent}
      register: li_absent
    - name: create a new file in a new folder
      lineinfile: {path: "{{ d }}/new/sub/created.conf", line: 'hello', create: true}
      register: li_create
    - name: validate that passes
      lineinfile: {path: "{{ d }}/app.conf", line: 'checked = yes', validate: 'grep -q checked %s'}
      register: li_valid
    - name: validate that fails leaves the file alone
      lineinfile: {path: "{{ d }}/app.conf", line: 'never = written', validate: 'grep -q nothere %s'}
      register: li_invalid
      ignore_errors: true
    - name: check mode reports without writing
      lineinfile: {path: "{{ d }}/app.conf", line: 'only = in check mode'}
      check_mode: true
      register: li_check
    - name: a managed block
      blockinfile:
        path: "{{ d }}/hosts"
        block: |
          10.0.0.1 db
          10.0.0.2 cache
        marker: "# {mark} runner test"
        insertbefore: '^# end'
      register: bi_insert
    - name: the same block again
      blockinfile:
        path: "{{ d }}/hosts"
        block: |
          10.0.0.1 db
          10.0.0.2 cache
        marker: "# {mark} runner test"
        insertbefore: '^# end'
      register: bi_again
    - name: replace within a section
      replace: {path: "{{ d }}/hosts", regexp: '^127\.0\.0\.1\s+(\w+)$', replace: '127.0.0.1 \1.local', after: '# start'}
      register: rp
    - name: stat a file
      stat: {path: "{{ d }}/app.conf"}
      register: st_file
    - name: stat a link
      stat: {path: "{{ d }}/link"}
      register: st_link
    - name: stat nothing
      stat: {path: "{{ d }}/missing"}
      register: st_missing
    - name: slurp
      slurp: {src: "{{ d }}/hosts"}
      register: sl
    - name: find
      find: {paths: "{{ d }}", recurse: true, patterns: '*.conf', contains: '^hello'}
      register: fd
    - name: find any
      find: {paths: "{{ d }}", file_type: any, hidden: true}
      register: fd_any
    - name: a folder's contents, new folders with directory_mode
      copy: {src: srcdir/, dest: "{{ d }}/tree", directory_mode: '0750'}
      register: cp_tree
    - name: the folder itself
      copy: {src: srcdir, dest: "{{ d }}/tree2/"}
      register: cp_dir
    - name: validated, with a backup
      copy: {content: "v2\n", dest: "{{ d }}/v.conf", validate: 'grep -q v %s', backup: true}
      register: cp_valid
    - name: force false keeps what is there
      copy: {content: "v3\n", dest: "{{ d }}/v.conf", force: false}
      register: cp_keep
    - name: a file already on the host
      copy: {src: "{{ d }}/v.conf", dest: "{{ d }}/v.copy", remote_src: true, mode: '0640'}
      register: cp_remote
    - name: a template with CRLF line ends
      template: {src: t.j2, dest: "{{ d }}/t.txt", newline_sequence: '\r\n'}
      register: tp
    - name: what was registered, as values to compare
      changed_when: false
      copy:
        dest: "{{ d }}/results.json"
        content: >-
          {{ {
            'li': [li_replace, li_again, li_after, li_backrefs, li_absent, li_create,
                   li_valid, li_check] | map(attribute='changed') | list,
            'li_msg': [li_replace, li_again, li_after, li_backrefs, li_absent, li_create,
                       li_valid, li_check] | map(attribute='msg') | list,
            'backup_made': li_replace.backup | length > 0,
            'found': li_absent.found,
            'invalid': [li_invalid.failed, li_invalid.msg is search('failed to validate')],
            'bi': [bi_insert.changed, bi_insert.msg, bi_again.changed, bi_again.msg],
            'rp': [rp.changed, rp.msg],
            'st_file': st_file.stat | dict2items
                       | selectattr('key', 'in', ['exists', 'isreg', 'isdir', 'islnk', 'mode',
                         'size', 'checksum', 'pw_name', 'gr_name', 'readable', 'writeable',
                         'executable', 'mimetype', 'charset', 'nlink', 'uid', 'gid'])
                       | items2dict,
            'st_link': [st_link.stat.islnk, st_link.stat.lnk_source | basename,
                        st_link.stat.lnk_target, 'checksum' in st_link.stat],
            'st_missing': st_missing.stat,
            'slurp': [sl.encoding, sl.content | b64decode],
            'copy': [cp_tree, cp_dir, cp_valid, cp_keep, cp_remote, tp] | map(attribute='changed') | list,
            'copy_backup': cp_valid.backup_file is defined,
            'find': [fd.matched, fd.examined, fd.files | map(attribute='path') | map('basename') | list],
            'find_any': [fd_any.files | map(attribute='path') | map('basename')
                         | reject('search', '~$') | sort, fd_any.examined],
          } | to_json }}
"""

APP_CONF = "# app settings\n[server]\nport=80\nlog=debug\n# end\n"
HOSTS = "# start\n127.0.0.1 localhost\n# end\n127.0.0.1 other\n"


def seed(root: Path, hosts: list[str]) -> None:
    """The starting files of every host under ``root``."""
    for host in hosts:
        d = root / host
        d.mkdir(parents=True)
        (d / "app.conf").write_text(APP_CONF)
        (d / "app.conf").chmod(0o644)
        (d / "hosts").write_text(HOSTS)
        (d / "hello.conf").write_text("hello world\n")
        (d / ".hidden").write_text("x\n")
        (d / "link").symlink_to("hosts")
        (d / "v.conf").write_text("v1\n")


def seed_sources(folder: Path) -> None:
    """What the playbook copies from the control node, next to the playbook."""
    (folder / "files" / "srcdir" / "sub").mkdir(parents=True)
    (folder / "files" / "srcdir" / "a").write_text("a\n")
    (folder / "files" / "srcdir" / "sub" / "b").write_text("b\n")
    (folder / "templates").mkdir()
    (folder / "templates" / "t.j2").write_text("x={{ 1 + 1 }}\ny\n")


def snapshot(root: Path) -> dict[str, tuple[str, str]]:
    """relative path -> (mode, content) of every file, backups (named with a time) as
    one entry, results.json parsed."""
    out: dict[str, tuple[str, str]] = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        if p.name.endswith("~"):
            rel = str(p.parent.relative_to(root)) + "/BACKUP~"
        mode = oct(stat.S_IMODE(p.lstat().st_mode))
        if p.is_symlink():
            out[rel] = (mode, "-> " + str(p.readlink()))
        elif p.is_file():
            text = p.read_text(errors="replace")
            if p.name == "results.json":
                text = json.dumps(json.loads(text), sort_keys=True, indent=1)
            out[rel] = (mode, text)
        else:
            out[rel] = (mode, "<dir>")
    return out


def compare_roots(ours: Path, theirs: Path) -> None:
    mine, other = snapshot(ours), snapshot(theirs)
    assert sorted(mine) == sorted(other)
    differ = {rel: (mine[rel], other[rel]) for rel in other if mine[rel] != other[rel]}
    assert not differ, "\n".join(
        f"{rel}:\n  ours  {a}\n  theirs {b}" for rel, (a, b) in differ.items()
    )


def test_file_modules_as_ansible(make_fleet, in_process, tmp_path):
    fleet = make_fleet(2)
    book = tmp_path / "site.yml"
    book.write_text(PLAYBOOK)
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    seed(ours, fleet.names)
    seed(theirs, fleet.names)
    seed_sources(tmp_path)

    done = ansible_playbook(
        tmp_path, "-i", str(fleet.inventory), str(book), "-e", f"root={theirs}",
        env={"ANSIBLE_PIPELINING": "True"}, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:]
    res = in_process("play", *fleet.args(), str(book), "-e", f"root={ours}", "--json")
    assert res.exit_code == 0, res
    counts = ansible_recap(done.stdout)
    assert counts[fleet.names[0]]["changed"] == 14 and counts[fleet.names[0]]["ignored"] == 1
    same_recap(runner_recap(res.stdout), counts)
    compare_roots(ours, theirs)
    results = json.loads((ours / fleet.names[0] / "results.json").read_text())
    assert results["li"] == [True, False, True, True, True, True, True, True]
    assert results["st_file"]["mode"] == "0600" and results["st_link"][0] is True

    before = snapshot(ours)
    del before[f"{fleet.names[0]}/results.json"], before[f"{fleet.names[1]}/results.json"]
    again = in_process("play", *fleet.args(), str(book), "-e", f"root={ours}", "--json")
    assert again.exit_code == 0, again
    for host, host_counts in runner_recap(again.stdout).items():
        # the check-mode task still reports the change it would make
        assert host_counts["changed"] == 1, (host, host_counts)
    after = snapshot(ours)
    assert {k: v for k, v in after.items() if not k.endswith("results.json")} == before
    second = json.loads((ours / fleet.names[0] / "results.json").read_text())
    assert second["li"] == [False] * 7 + [True] and second["bi"][0] is False
