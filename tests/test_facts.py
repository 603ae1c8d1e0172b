"""Fact parsing on captured output (no host): the shapes ansible-core's setup reports,
gather_subset and filter, the fact cache's variables, and the --syntax-check warning.
tests/test_facts_e2e.py compares the same parsers with ansible-core on a real host."""

from __future__ import annotations

import pytest

from runner.playbook.facts import gather, namespace, parse_facts
from runner.playbook.facts.distribution import distribution_facts
from runner.playbook.facts.hardware import cpu_facts, memory_facts, mount_facts, virtual_facts
from runner.playbook.facts.network import network_facts
from runner.playbook.facts.script import SECTIONS, script_for, split_sections
from runner.playbook.facts.subsets import SubsetError, collectors
from runner.playbook.facts.system import (
    date_time_facts,
    dns_facts,
    pkg_mgr_facts,
    platform_facts,
    python_facts,
    service_mgr_facts,
    user_facts,
)

UBUNTU = """NAME="Ubuntu"
VERSION="22.04.4 LTS (Jammy Jellyfish)"
ID=ubuntu
ID_LIKE=debian
PRETTY_NAME="Ubuntu 22.04.4 LTS"
VERSION_ID="22.04"
VERSION_CODENAME=jammy
UBUNTU_CODENAME=jammy"""
ROCKY = """NAME="Rocky Linux"
VERSION="9.3 (Blue Onyx)"
ID="rocky"
ID_LIKE="rhel centos fedora"
VERSION_ID="9.3"
PRETTY_NAME="Rocky Linux 9.3 (Blue Onyx)\""""
ALPINE = """NAME="Alpine Linux"
ID=alpine
VERSION_ID=3.19.1
PRETTY_NAME="Alpine Linux v3.19\""""


def dist(files: dict[str, str], lsb: dict | None = None, empty: str = "") -> dict:
    sections = {f"file:{path}": text for path, text in files.items()}
    sections["empty"] = empty
    return distribution_facts(sections, lsb or {}, "Linux")


def pick(facts: dict, *keys: str) -> tuple:
    return tuple(facts.get(k) for k in keys)


KEYS = ("distribution", "distribution_version", "distribution_major_version",
        "distribution_release", "os_family")  # fmt: skip


def test_distributions_as_ansible_names_them():
    assert pick(dist({"/etc/os-release": UBUNTU}), *KEYS) == (
        "Ubuntu", "22.04", "22", "jammy", "Debian",
    )  # fmt: skip
    rocky = dist({"/etc/os-release": ROCKY, "/etc/redhat-release": "Rocky Linux release 9.3 "
                  "(Blue Onyx)"})  # fmt: skip
    assert pick(rocky, *KEYS) == ("Rocky", "9.3", "9", "Blue Onyx", "RedHat")
    assert rocky["distribution_file_variety"] == "RedHat"
    alpine = dist({"/etc/os-release": ALPINE, "/etc/alpine-release": "3.19.1\n"})
    assert pick(alpine, *KEYS) == ("Alpine", "3.19.1", "3", "NA", "Alpine")
    arch = dist({"/etc/os-release": 'NAME="Arch Linux"\nID=arch\nBUILD_ID=rolling'},
                empty="/etc/arch-release")  # fmt: skip
    assert pick(arch, "distribution", "os_family") == ("Archlinux", "Archlinux")
    # Debian: the point release from /etc/debian_version, the codename from os-release
    debian = dist({"/etc/os-release": 'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/'
                   'Linux 12 (bookworm)"\nVERSION_CODENAME=bookworm',
                   "/etc/debian_version": "12.5"})  # fmt: skip
    assert pick(debian, *KEYS) == ("Debian", "12.5", "12", "bookworm", "Debian")
    assert debian["distribution_minor_version"] == "5"


def test_platform_fqdn_and_domain_follow_python_getfqdn():
    base = {"uname": "Linux\n6.1.0-18-amd64\n#1 SMP\nx86_64\nweb1", "bits": "64"}
    # the reverse lookup's first name with a dot, else its primary name
    assert platform_facts({**base, "fqdn": "10.1.2.3 web1 web1.corp.example"})["fqdn"] == (
        "web1.corp.example"
    )
    plain = platform_facts({**base, "fqdn": "127.0.0.1 localhost"})
    assert (plain["fqdn"], plain["domain"], plain["hostname"]) == ("localhost", "", "web1")
    assert platform_facts(base)["fqdn"] == "web1"  # no resolver answer: the node name


def test_user_ids_and_passwd_entry():
    facts = user_facts({"user": "deploy\n1001\n1001\n1001\ndeploy:x:1001:1001:Deploy,,,:"
                        "/home/deploy:/bin/bash"})  # fmt: skip
    assert facts == {
        "user_id": "deploy", "user_uid": 1001, "user_gid": 1001, "user_gecos": "Deploy,,,",
        "user_dir": "/home/deploy", "user_shell": "/bin/bash", "real_user_id": 1001,
        "effective_user_id": 1001, "real_group_id": 1001, "effective_group_id": 1001,
    }  # fmt: skip


def test_service_and_package_managers():
    systemd = {"proc1": "systemd", "svc": "/run/systemd/system/\nsystemctl"}
    assert service_mgr_facts(systemd, {"system": "Linux"}) == {"service_mgr": "systemd"}
    # pid 1 is a shell in a container: what the system looks like decides
    shell = {"proc1": "bash", "svc": "/etc/init.d/"}
    assert service_mgr_facts(shell, {"system": "Linux"}) == {"service_mgr": "sysvinit"}
    assert service_mgr_facts({}, {"system": "Linux"}) == {"service_mgr": "service"}
    both = {"pkg": "/usr/bin/yum\n/usr/bin/dnf\ndnf-real /usr/bin/dnf-3"}
    assert pkg_mgr_facts(both, {"os_family": "RedHat"}) == {"pkg_mgr": "dnf"}
    dnf5 = {"pkg": "/usr/bin/dnf\n/usr/bin/dnf5\ndnf-real /usr/bin/dnf5"}
    assert pkg_mgr_facts(dnf5, {"os_family": "RedHat"}) == {"pkg_mgr": "dnf5"}
    assert pkg_mgr_facts({"pkg": "/sbin/apk"}, {"os_family": "Alpine"}) == {"pkg_mgr": "apk"}
    assert pkg_mgr_facts({"pkg": ""}, {"os_family": "Debian"}) == {"pkg_mgr": "apt"}


def test_python_when_present_and_absent():
    facts = python_facts({"python": "/usr/bin/python3.12\nPython 3.12.1"})
    assert facts["python"]["version_info"] == [3, 12, 1, "final", 0]
    assert facts["python"]["executable"] == "/usr/bin/python3.12"
    assert facts["python_version"] == "3.12.1"
    assert python_facts({"python": ""}) == {}  # no Python on the host: no python facts


def test_cpu_counts_sockets_cores_threads():
    one = ("processor : {n}\nvendor_id : GenuineIntel\nmodel name : Xeon\nphysical id : {s}\n"
           "siblings : 4\ncore id : {c}\ncpu cores : 2\n")  # fmt: skip
    text = "".join(one.format(n=n, s=n // 4, c=(n // 2) % 2) for n in range(8))
    facts = cpu_facts({"cpuinfo": text, "nproc": "8"}, "x86_64")
    assert pick(facts, "processor_count", "processor_cores", "processor_threads_per_core",
                "processor_vcpus", "processor_nproc") == (2, 2, 2, 8, 8)  # fmt: skip


def test_memory_in_mib():
    text = "MemTotal: 2048000 kB\nMemFree: 1024000 kB\nBuffers: 1024 kB\nCached: 10240 kB\n"
    text += "SwapCached: 0 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n"
    facts = memory_facts({"file:/proc/meminfo": text})
    assert (facts["memtotal_mb"], facts["memfree_mb"]) == (2000, 1000)
    assert facts["memory_mb"]["nocache"] == {"free": 1011, "used": 989}


def test_mounts_sizes_bind_and_escapes():
    sections = {
        "mtab": "/dev/sda1 / ext4 rw,relatime 0 1\nproc /proc proc rw 0 0\n"
        "/dev/sda1 /srv/my\\040data ext4 rw 0 0\nsrv:/export /mnt/nfs nfs4 rw 0 0",
        "binds": "/srv/my data /dev/sda1[/data] ext4 rw",
        "uuids": "/dev/sda1 0b6e-11\n/dev/sdb",
        "statfs": "/|4096|4096|1000|250|500|100\n/srv/my\\040data|4096|4096|1000|250|500|100",
    }
    mounts = mount_facts(sections)["mounts"]
    assert [m["mount"] for m in mounts] == ["/", "/srv/my data", "/mnt/nfs"]
    root = mounts[0]
    assert pick(root, "size_total", "size_available", "block_used", "inode_used", "uuid") == (
        4096000, 1024000, 750, 400, "0b6e-11",
    )  # fmt: skip
    assert mounts[2]["uuid"] == "N/A" and "size_total" not in mounts[2]


def test_network_default_routes_interfaces_addresses():
    sections = {
        "route4": "8.8.8.8 via 10.0.0.1 dev eth0 src 10.0.0.5 uid 0",
        "route6": "2404:6800:400a:800::1012 from :: via fe80::1 dev eth0 src 2001:db8::5 metric 1",
        "iface:eth0": "address=52:54:00:aa:bb:cc\nmtu=1500\noperstate=up\ntype=1\nspeed=1000\n"
        "flags=0x1003\npciid=0000:00:03.0\nmodule=virtio_net\n@primary\n"
        "2: eth0: <UP> mtu 1500\n    inet 10.0.0.5/24 brd 10.0.0.255 scope global eth0\n"
        "    inet6 2001:db8::5/64 scope global\n    inet6 fe80::5/64 scope link\n@secondary\n"
        "    inet 10.0.0.6/24 brd 10.0.0.255 scope global secondary eth0",
        "iface:lo": "address=00:00:00:00:00:00\nmtu=65536\ntype=772\n@primary\n"
        "    inet 127.0.0.1/8 scope host lo\n    inet6 ::1/128 scope host\n@secondary",
    }
    facts = network_facts(sections)
    assert facts["default_ipv4"] == {
        "interface": "eth0", "address": "10.0.0.5", "gateway": "10.0.0.1",
        "broadcast": "10.0.0.255", "netmask": "255.255.255.0", "network": "10.0.0.0",
        "prefix": "24", "macaddress": "52:54:00:aa:bb:cc", "mtu": 1500, "type": "ether",
        "alias": "eth0",
    }  # fmt: skip
    assert facts["default_ipv6"]["scope"] == "global"
    assert facts["all_ipv4_addresses"] == ["10.0.0.5", "10.0.0.6"]
    assert facts["all_ipv6_addresses"] == ["2001:db8::5", "fe80::5"]
    assert facts["interfaces"] == ["eth0", "lo"]
    eth0 = facts["eth0"]
    assert pick(eth0, "active", "speed", "module", "promisc") == (True, 1000, "virtio_net", False)
    assert eth0["ipv4_secondaries"][0]["address"] == "10.0.0.6"
    assert facts["lo"]["type"] == "loopback" and "macaddress" not in facts["lo"]


def test_virtualization_container_and_vm():
    docker = virtual_facts({"exists": "/.dockerenv\n/dev/kvm"})
    assert pick(docker, "virtualization_type", "virtualization_role") == ("docker", "guest")
    assert docker["virtualization_tech_guest"] == ["container", "docker"]
    assert docker["virtualization_tech_host"] == ["kvm"]
    vm = virtual_facts({"vdmi": "product_name=Standard PC\nsys_vendor=QEMU"})
    assert pick(vm, "virtualization_type", "virtualization_role") == ("kvm", "guest")
    bare = virtual_facts({})
    assert pick(bare, "virtualization_type", "virtualization_role") == ("NA", "NA")


def test_dns_and_date_time():
    dns = dns_facts({"file:/etc/resolv.conf": "# x\nnameserver 10.0.0.2\nnameserver 10.0.0.3\n"
                     "search corp.example\noptions ndots:2 rotate"})  # fmt: skip
    assert dns == {"dns": {"nameservers": ["10.0.0.2", "10.0.0.3"], "search": ["corp.example"],
                           "options": {"ndots": "2", "rotate": True}}}  # fmt: skip
    line = "2024|03|Friday|5|10|08|14|05|09|1709903109|CET|+0100|123456789"
    facts = date_time_facts({"date": f"{line}\nCET|+0100\nCEST|+0200"})["date_time"]
    assert pick(facts, "date", "time", "tz", "tz_dst", "iso8601") == (
        "2024-03-08", "14:05:09", "CET", "CEST", "2024-03-08T13:05:09Z",
    )  # fmt: skip
    assert facts["iso8601_micro"] == "2024-03-08T13:05:09.123456Z"


def test_sections_and_markers():
    script = script_for(["network"], "MARK")
    assert "s route4" in script and "s cpuinfo" not in script  # only what is asked for
    assert set(SECTIONS) >= {"platform", "distribution", "hardware", "network", "virtual"}
    out = "noise\nMARK uname\nLinux\n\nMARK env\nA=1\0B=2\nline\0MARK end\n"
    assert split_sections(out.replace("\0MARK", "\nMARK"), "MARK") == {
        "uname": "Linux",
        "env": "A=1\0B=2\nline",
    }
    # a file whose content mimics a section start under another token starts nothing
    assert "fake" not in split_sections("MARK x\nOTHER fake\n", "MARK")


def test_subsets_follow_ansible():
    assert "hardware" not in collectors(["!hardware"])
    assert {"network", "distribution", "platform"} <= collectors(["!all", "network"])
    assert "network" not in collectors(["!all"]) and "date_time" in collectors(["!all"])
    assert "date_time" not in collectors(["!all", "!min"])
    with pytest.raises(SubsetError, match="Bad subset 'hardwre'"):
        collectors(["hardwre"])


def test_gather_filters_and_prefixes():
    captured = {}

    def run(script: str) -> tuple[int, str, str]:
        marker = script.split("\n", 1)[0].removeprefix("M=")
        captured["script"] = script
        return 0, f"{marker} uname\nLinux\n6.1\n#1\nx86_64\nweb1\n{marker} end\n", ""

    facts = gather(run, "!all", ["kernel", "ansible_sys*"])
    assert facts == {"ansible_kernel": "6.1", "ansible_system": "Linux",
                     "gather_subset": ["!all"], "module_setup": True}  # fmt: skip
    assert "s cpuinfo" not in captured["script"]  # !all reads no hardware
    assert namespace({"os_family": "Debian"}) == {"ansible_os_family": "Debian"}
    assert parse_facts({}, set()) == {}


def test_fact_cache_variables_and_precedence():
    from runner.models import Host
    from runner.playbook.variables import Facts, VarScope

    facts = Facts()
    facts.cache("web1", {"ansible_os_family": "Debian", "ansible_hostname": "{{ evil }}"})
    host = Host("web1", {"ansible_os_family": "inventory", "ansible_user": "deploy"})
    scope = VarScope(hosts={"web1": host}, play_vars={"ansible_hostname": "play"},
                     extra_vars={}, facts=facts, play_hosts=["web1"], batch=["web1"],
                     check_mode=False, playbook_dir="/")  # fmt: skip
    variables = scope.for_host(host)
    # facts sit above inventory host vars and below play vars
    assert variables["ansible_os_family"] == "Debian"
    assert variables["ansible_hostname"] == "play"
    assert variables["ansible_facts"]["os_family"] == "Debian"
    assert variables["ansible_facts"]["hostname"] == "{{ evil }}"  # data: never rendered


def test_gathering_task_first_with_the_plays_become_and_failures_leave_the_play(tmp_path):
    """Fake hosts: the implicit task runs first, as the play's become user; a host whose
    fact script fails is out of the play (failed in the recap), the others go on."""
    from runner.playbook.events import TaskStarted
    from tests.fakes import FakeFleet, default_responder, run_playbook, shell_text

    def responder(host: str, command: str) -> tuple[int, str, str]:
        text = shell_text(command)
        if text.startswith("M="):
            if host == "bad":
                return 127, "", "sh: not found"
            marker = text.split("\n", 1)[0][2:]
            return 0, f"{marker} uname\nLinux\n6.1\n#1\nx86_64\n{host}\n", ""
        return default_responder(host, command)

    fleet = FakeFleet(["good", "bad"], responder=responder)
    text = "- hosts: all\n  become: true\n  become_user: app\n  tasks:\n"
    text += "    - shell: echo {{ ansible_hostname }}\n"
    summary, recorder = run_playbook(fleet, text, tmp_path, gathering="implicit")
    started = [e.task for e in recorder.of_type(TaskStarted)]
    assert started == ["Gathering Facts", "shell"]
    assert fleet.runs[0].become is not None and fleet.runs[0].become.user == "app"
    assert fleet.commands("good")[-1] == "echo good"
    assert len(fleet.commands("bad")) == 1  # only the fact script
    assert (summary.recap["good"].ok, summary.recap["bad"].failed) == (2, 1)
    # gather_facts: false and gathering=explicit: no script at all
    quiet = FakeFleet(["one"])
    run_playbook(quiet, "- hosts: all\n  gather_facts: false\n  tasks: []\n", tmp_path,
                 gathering="implicit")  # fmt: skip
    run_playbook(quiet, "- hosts: all\n  tasks: []\n", tmp_path, gathering="explicit")
    assert quiet.commands("one") == []


def test_gathering_settings_in_the_run_config(tmp_path):
    import io

    from runner.cli.environment import Environment
    from runner.cli.options import build_config
    from runner.config import ProjectConfig, RunConfig
    from runner.errors import ConfigError

    config = RunConfig(project=ProjectConfig(gathering="smart", gather_subset=("!all", "network")))
    assert RunConfig.from_dict(config.to_dict()) == config
    assert (config.gathering, config.gather_subset) == ("smart", ("!all", "network"))
    with pytest.raises(ConfigError, match="implicit, explicit, smart"):
        ProjectConfig(gathering="always")

    def built(environ: dict[str, str], cfg: str | None = None) -> RunConfig:
        if cfg is not None:
            (tmp_path / "ansible.cfg").write_text(cfg)
        base = {"HOME": str(tmp_path / "home")}
        return build_config(
            {}, Environment(environ={**base, **environ}, cwd=str(tmp_path), stderr=io.StringIO())
        )

    env = {"ANSIBLE_GATHERING": "Explicit", "ANSIBLE_GATHER_SUBSET": "!hardware,network"}
    config = built(env)
    assert (config.gathering, config.gather_subset) == ("explicit", ("!hardware", "network"))
    assert built({}).gathering == "implicit"
    with pytest.raises(ConfigError, match="ANSIBLE_GATHER_SUBSET = 'net'.*Bad subset 'net'"):
        built({"ANSIBLE_GATHER_SUBSET": "net"})
    # the same settings from the project's ansible.cfg, an error naming its line
    config = built({}, "[defaults]\ngathering = smart\ngather_subset = min\n")
    assert (config.gathering, config.gather_subset) == ("smart", ("min",))
    with pytest.raises(ConfigError, match="gather_subset") as bad:
        built({}, "[defaults]\n\ngather_subset = hardwear\n")
    assert bad.value.line == 3


def test_set_fact_in_a_loop_and_cacheable_across_plays(tmp_path):
    from tests.fakes import FakeFleet, run_playbook

    text = """\
- hosts: all
  tasks:
    - set_fact:
        x: "{{ item | upper }}"
        cacheable: "{{ item == 'a' }}"
      loop: [a, b]
- hosts: all
  tasks:
    - assert:
        that:
          - x == 'B'
          - ansible_facts.x == 'A'
"""
    summary, _ = run_playbook(FakeFleet(["one", "two"]), text, tmp_path)
    assert not summary.any_failed, summary.recap
    assert summary.recap["one"].ok == 2
