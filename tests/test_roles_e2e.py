"""End-to-end against real sshd: a project with roles (defaults, vars, handlers, files,
templates, meta dependencies with allow_duplicates, role parameters, tasks_from,
include_role in a loop, import_role with when, a collection role found through
collections_path) run by the real ansible-playbook and by runner on the same hosts into
separate folders: the same PLAY RECAP, the same files, and the same winner for a
variable defined at every level of the precedence order (runner.playbook.variables)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ansible_side import ansible_playbook, ansible_recap, runner_recap, same_recap, tree

pytestmark = pytest.mark.sshd

# every p_* variable is defined at the level its value names and at every level below it,
# so the value written is the level that won
SITE = """\
- hosts: all
  gather_facts: false
  vars:
    p_play: play
    p_vars_files: play
    p_role_vars: play
    p_task: play
    p_set_fact: play
    p_param: play
    p_extra: play
  vars_files: [vars.yml]
  pre_tasks:
    - set_fact: {p_set_fact: set_fact, p_param: set_fact, p_extra: set_fact}
  roles:
    - common
    - role: web
      web_port: 8080
      p_param: param
      p_extra: param
    - {role: web, web_port: 8080, p_param: param, p_extra: param}
  tasks:
    - name: probe from the play
      copy:
        dest: "{{ out }}/{{ inventory_hostname }}/play-probe.txt"
        content: "{{ common_exported }} {{ web_port | default('none') }} {{ p_role_vars }}\\n"
    - import_role: {name: dup, tasks_from: page}
      when: inventory_hostname == groups['all'][0]
    - include_role: {name: dup}
      loop: [one, two]
      vars: {dup_id: "{{ item }}"}
    - include_role: {name: acme.tools.stamp}
"""
VARS_FILE = "p_vars_files: vars_files\np_role_vars: vars_files\np_task: vars_files\n"
GROUP_VARS = (
    "p_inventory: inventory\np_play: inventory\np_vars_files: inventory\np_role_vars: inventory\n"
)
COMMON = {
    "defaults/main.yml": "p_default: default\np_inventory: default\np_play: default\n"
    "common_msg: hello\n",
    "vars/main.yml": "p_role_vars: role_vars\np_task: role_vars\ncommon_exported: exported\n",
    "tasks/main.yml": """\
- name: copy a role file
  copy: {src: common.txt, dest: "{{ out }}/{{ inventory_hostname }}/common.txt"}
  notify: restart common
- name: probe from the role
  template: {src: probe.j2, dest: "{{ out }}/{{ inventory_hostname }}/probe.txt"}
  vars: {p_task: task}
""",
    "files/common.txt": "from the common role\n",
    "templates/probe.j2": "{{ role_name }} {{ role_path | basename }} {{ common_msg }}\n"
    "default={{ p_default }} inventory={{ p_inventory }} play={{ p_play }}\n"
    "vars_files={{ p_vars_files }} role_vars={{ p_role_vars }} task={{ p_task }}\n"
    "set_fact={{ p_set_fact }} param={{ p_param }} extra={{ p_extra }}\n",
    "handlers/main.yml": """\
- name: restart common
  shell: echo restarted >> {{ out }}/{{ inventory_hostname }}/handler.txt
""",
}
WEB = {
    "meta/main.yml": "dependencies:\n  - common\n  - role: dup\n    dup_id: web\n",
    "defaults/main.yml": "web_port: 80\n",
    "tasks/main.yml": """\
- name: web port
  copy:
    dest: "{{ out }}/{{ inventory_hostname }}/web-{{ web_port }}.txt"
    content: "{{ web_port }} {{ p_param }} {{ p_extra }} {{ p_set_fact }}\\n"
""",
}
DUP = {
    "meta/main.yml": "allow_duplicates: true\n",
    "tasks/main.yml": """\
- name: record a run
  shell: echo {{ dup_id }} >> {{ out }}/{{ inventory_hostname }}/dup.txt
""",
    "tasks/page.yml": """\
- name: page from tasks_from
  template: {src: page.j2, dest: "{{ out }}/{{ inventory_hostname }}/page.txt"}
""",
    "templates/page.j2": "{{ role_name }} on {{ inventory_hostname }} port {{ web_port }}\n",
}
STAMP = {
    "tasks/main.yml": """\
- name: stamp from a collection role
  copy:
    dest: "{{ out }}/{{ inventory_hostname }}/stamp.txt"
    content: "{{ role_name }} {{ ansible_role_name | default('') }}\\n"
  notify: "common : restart common"
""",
}


def write_project(root: Path, collections: Path) -> Path:
    """The project: site.yml, vars.yml, group_vars beside the inventory's hosts are given
    by the fleet; roles under roles/; the collection role under ``collections``."""
    files = {"site.yml": SITE, "vars.yml": VARS_FILE}
    for role, parts in (("common", COMMON), ("web", WEB), ("dup", DUP)):
        files.update({f"roles/{role}/{name}": text for name, text in parts.items()})
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    stamp = collections / "ansible_collections/acme/tools/roles/stamp"
    for rel, text in STAMP.items():
        (stamp / rel).parent.mkdir(parents=True, exist_ok=True)
        (stamp / rel).write_text(text)
    return root / "site.yml"


def test_roles_match_ansible_playbook(make_fleet, in_process, tmp_path):
    import yaml

    names = ["web01", "web02"]
    fleet = make_fleet(2, host_vars={n: yaml.safe_load(GROUP_VARS) for n in names})
    collections, shared = tmp_path / "collections", tmp_path / "shared-roles"
    book = write_project(tmp_path / "site", collections)
    # dup lives in a roles_path folder, not beside the playbook
    (book.parent / "roles" / "dup").rename(shared.mkdir() or shared / "dup")
    env = {"ANSIBLE_COLLECTIONS_PATH": str(collections), "ANSIBLE_ROLES_PATH": str(shared)}
    theirs_out, ours_out = tmp_path / "theirs", tmp_path / "ours"
    for name in names:  # the hosts are this machine: their output folders, made here
        (theirs_out / name).mkdir(parents=True)
        (ours_out / name).mkdir(parents=True)
    common = ["-i", str(fleet.inventory), str(book), "-e", "p_extra=extra"]
    # pipelining: one ssh session per module, so the run fits the loaded test machine
    done = ansible_playbook(tmp_path, *common, "-e", f"out={theirs_out}",
                            env={**env, "ANSIBLE_PIPELINING": "True"})  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    ours = in_process("play", *fleet.args(), *common[2:], "-e", f"out={ours_out}", "--json",
                      env=env)  # fmt: skip
    assert ours.exit_code == 0, ours.stdout[-3000:] + ours.stderr[-2000:]
    same_recap(runner_recap(ours.stdout), ansible_recap(done.stdout))
    assert tree(ours_out) == tree(theirs_out)
    probe = tree(ours_out)["web01/probe.txt"].split()
    assert probe[:3] == ["common", "common", "hello"]
    assert probe[3:] == [f"{level}={level}" for level in (
        "default", "inventory", "play", "vars_files", "role_vars", "task", "set_fact")] + [
        "param=set_fact", "extra=extra"]  # fmt: skip
    assert tree(ours_out)["web01/stamp.txt"] == "stamp acme.tools.stamp\n"
    assert "web02/page.txt" not in tree(ours_out)  # import_role's when
    # Ansible's output names a role's task ROLE : NAME; so does runner's
    assert "TASK [common : copy a role file]" in done.stdout
    assert '"common : copy a role file"' in ours.stdout
