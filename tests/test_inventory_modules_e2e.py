"""group_by and add_host end to end on the real sshd, beside the real ansible-playbook:
play 1 groups the hosts by a variable and adds a host (a new name for the fleet's sshd,
given by ansible_host/ansible_port), play 2 targets the new groups and the new host, play
3 reads ``groups`` and ``hostvars``. Compared by PLAY RECAP, exit code and files.
"""

from __future__ import annotations

from tests.ansible_side import ansible_playbook, ansible_recap, runner_recap, same_recap, tree

PLAYBOOK = """\
- name: change the inventory
  hosts: web
  gather_facts: false
  tasks:
    - name: by tier
      group_by:
        key: "tier_{{ tier }}"
        parents: [tiers]
    - name: by tier again (nothing new)
      group_by:
        key: "tier_{{ tier }}"
        parents: tiers
    - name: a host on the same sshd under a new name
      add_host:
        name: added01
        groups: [extra, tier_b]
        ansible_host: "{{ ansible_host }}"
        ansible_port: "{{ ansible_port }}"
        marker: "from-{{ inventory_hostname }}"
    - name: hosts from a loop
      add_host:
        hostname: "{{ item }}"
        group: looped
      loop: [loop01, loop02]
    - name: the same host again, same vars
      add_host: name=added01 groups=extra marker=from-web01
    - name: group_names seen at once
      copy:
        content: "{{ group_names | join(',') }}\\n"
        dest: "{{ out }}/{{ inventory_hostname }}.p1"
      delegate_to: localhost

- name: the new groups and host
  hosts: tier_a:extra
  gather_facts: false
  tasks:
    - shell: echo "{{ inventory_hostname }} {{ group_names | join(',') }} {{ marker | default('-') }}" > {{ out }}/{{ inventory_hostname }}.p2

- name: what everyone sees
  hosts: web02
  gather_facts: false
  tasks:
    - copy:
        dest: "{{ out }}/groups"
        content: |-
          {% for g in groups | sort %}{{ g }}={{ groups[g] | sort | join(',') }}
          {% endfor %}
    - copy:
        dest: "{{ out }}/hostvars"
        content: |
          {{ hostvars['added01'].marker }} {{ hostvars['added01'].ansible_port }}
          {{ hostvars['added01'].group_names | join(',') }}
          {{ hostvars['web01'].group_names | join(',') }}
          {{ hostvars['loop02'].group | default('-') }} {{ 'loop01' in groups.looped }}
"""


def test_group_by_and_add_host_as_ansible_playbook_does(make_fleet, in_process, tmp_path):
    names = ["web01", "web02", "web03"]
    fleet = make_fleet(
        3,
        groups={"web": names},
        host_vars={"web01": {"tier": "a"}, "web02": {"tier": "b"}, "web03": {"tier": "a"}},
    )
    assert fleet.names == names
    book = tmp_path / "site.yml"
    book.write_text(PLAYBOOK)
    theirs_out, ours_out = tmp_path / "theirs", tmp_path / "ours"
    theirs_out.mkdir()
    ours_out.mkdir()
    theirs = ansible_playbook(
        tmp_path, "-i", str(fleet.inventory), str(book), "-e", f"out={theirs_out}",
        env={"ANSIBLE_PIPELINING": "True"}, timeout=900,
    )  # fmt: skip
    ours = in_process(
        "play", "-i", str(fleet.inventory), "--known-hosts", str(fleet.known_hosts),
        str(book), "-e", f"out={ours_out}", "--json",
    )  # fmt: skip
    assert theirs.returncode == 0, theirs.stdout[-4000:]
    assert ours.exit_code == 0, (ours.stdout[-4000:], ours.stderr)
    same_recap(runner_recap(ours.stdout), ansible_recap(theirs.stdout))
    files = tree(ours_out)
    assert files == tree(theirs_out)
    # what the comparison rests on, said outright
    assert files["web01.p1"] == "tier_a,tiers,web\n"
    assert files["added01.p2"] == "added01 extra,tier_b,tiers from-web01\n"
    assert "web02.p2" not in files  # tier_b only: not in play 2's pattern
    assert "tier_a=web01,web03\n" in files["groups"]
    assert "tiers=added01,web01,web02,web03\n" in files["groups"]
    assert "looped=loop01,loop02\n" in files["groups"]
