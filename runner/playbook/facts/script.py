"""The POSIX sh script that reads a host's facts in one round trip.

It needs no Python on the host: only ``sh``, ``cat``, ``uname``, ``id`` and, where they
exist, ``ip``, ``getent``, ``stat``, ``lsb_release``, ``findmnt``, ``lsblk``. It prints
sections, each after a line ``MARK NAME`` where MARK is a random token chosen per run
(so a file's content cannot start a section of its own). The parsers in this package
turn the sections into Ansible's fact names and shapes, on the control node.

Only the sections that the requested collectors need are sent (``script_for``).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

# Each section: shell that prints it. ``s NAME`` starts a section, ``f PATH`` prints a
# file as a section of its own (``file:PATH``) when it exists.
_PRELUDE = r"""s() { printf '\n%s %s\n' "$M" "$1"; }
f() { if [ -f "$1" ]; then s "file:$1"; cat "$1" 2>/dev/null; fi; }
e() { for p in "$@"; do if [ -e "$p" ]; then echo "$p"; fi; done; }
r() { if read -r v 2>/dev/null < "$1"; then printf '%s\n' "$v"; else printf '%s\n' "$2"; fi; }
"""

SECTIONS: dict[str, str] = {
    "platform": r"""s uname; uname -s; uname -r; uname -v; uname -m; uname -n
s bits; getconf LONG_BIT 2>/dev/null
s fqdn; a=$(getent ahosts "$(uname -n)" 2>/dev/null | { read -r x _; echo "$x"; })
if [ -n "$a" ]; then getent hosts "$a" 2>/dev/null; fi
f /var/lib/dbus/machine-id; f /etc/machine-id
""",
    "distribution": r"""for p in /etc/os-release /usr/lib/os-release /etc/debian_version \
 /etc/redhat-release /etc/centos-release /etc/oracle-release /etc/system-release \
 /etc/alpine-release /etc/SuSE-release /etc/gentoo-release /etc/lsb-release \
 /etc/altlinux-release /etc/slackware-version /etc/openwrt_release; do f "$p"; done
s empty; e /etc/arch-release /etc/vmware-release
""",
    "lsb": r"""s lsb; lsb_release -a 2>/dev/null
""",
    "apparmor": r"""s apparmor; e /sys/kernel/security/apparmor
""",
    "cmdline": r"""f /proc/cmdline
""",
    "fips": r"""s fips; r /proc/sys/crypto/fips_enabled
""",
    "ssh_pub_keys": r"""for p in /etc/ssh /etc/openssh /etc; do for a in dsa rsa ecdsa ed25519; do
 f "$p/ssh_host_${a}_key.pub"; done; done
""",
    "user": r"""s user; echo "${LOGNAME:-${USER:-${LNAME:-${USERNAME:-}}}}"; id -ru; id -u; id -rg
n=$(echo "${LOGNAME:-${USER:-${LNAME:-${USERNAME:-$(id -un)}}}}")
getent passwd "$n" 2>/dev/null || getent passwd "$(id -u)" 2>/dev/null || grep "^$n:" /etc/passwd
""",
    "env": r"""s env; env -0 2>/dev/null || env
""",
    "dns": r"""f /etc/resolv.conf
""",
    "date_time": r"""s date; LC_ALL=C date '+%Y|%m|%A|%w|%W|%d|%H|%M|%S|%s|%Z|%z|%N'
y=$(date +%Y); date -d "$y-01-01 12:00" '+%Z|%z' 2>/dev/null; date -d "$y-07-01 12:00" '+%Z|%z' 2>/dev/null
""",
    "service_mgr": r"""s proc1; if read -r v 2>/dev/null < /proc/1/comm; then echo "$v"
 else ps -p 1 -o comm 2>/dev/null | tail -n 1; fi
s init; readlink /sbin/init 2>/dev/null
s svc; e /run/systemd/system/ /dev/.run/systemd/ /dev/.systemd/ /etc/init/ /sbin/openrc \
 /etc/init.d/ /etc/dinit.d/
command -v systemctl >/dev/null 2>&1 && echo systemctl
command -v initctl >/dev/null 2>&1 && echo initctl
""",
    "pkg_mgr": r"""s pkg; e /usr/bin/rpm-ostree /usr/bin/yum /usr/bin/dnf-3 /usr/bin/dnf5 /usr/bin/apt-get \
 /usr/bin/zypper /usr/sbin/urpmi /usr/bin/pacman /bin/opkg /usr/pkg/bin/pkgin \
 /opt/local/bin/pkgin /opt/tools/bin/pkgin /opt/local/bin/port /usr/local/bin/brew \
 /opt/homebrew/bin/brew /sbin/apk /usr/sbin/pkg /usr/sbin/swlist /usr/bin/emerge \
 /usr/sbin/pkgadd /usr/bin/pkg /usr/bin/xbps-install /usr/local/sbin/pkg /usr/bin/swupd \
 /usr/sbin/sorcery /usr/bin/installp /run/ostree-booted /usr/bin/dnf /usr/bin/microdnf \
 /usr/bin/rpm
if [ -e /usr/bin/dnf ]; then echo "dnf-real $(readlink -f /usr/bin/dnf)"; fi
if [ -e /usr/bin/rpm ] && [ -e /usr/bin/apt-get ]; then
 /usr/bin/rpm -q --whatprovides /usr/bin/apt-get >/dev/null 2>&1 && echo apt_rpm; fi
""",
    "python": r"""s python; for p in python3.13 python3.12 python3.11 python3.10 python3.9 \
 python3.8 /usr/bin/python3 python3; do
 x=$(command -v "$p" 2>/dev/null) && { echo "$x"; "$x" --version 2>&1; break; }; done
""",
    "selinux": r"""s selinux; if [ -e /sys/fs/selinux/enforce ]; then echo enabled
 cat /sys/fs/selinux/enforce; cat /sys/fs/selinux/policyvers 2>/dev/null; echo; fi
f /etc/selinux/config
""",
    "hardware": r"""s cpuinfo; grep -E '^(processor|Processor|vendor_id|model name|cpu|Vendor|physical id|core id|cpu cores|siblings|# processors|max thread id|ncpus active|machine)[[:space:]]*:' /proc/cpuinfo 2>/dev/null
s nproc; nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null
f /proc/meminfo
s mtab; if [ -e /etc/mtab ]; then cat /etc/mtab; else cat /proc/mounts; fi
s binds; findmnt --list --noheadings --notruncate 2>/dev/null | grep ']'
s uuids; lsblk --list --noheadings --paths --output NAME,UUID --exclude 2 2>/dev/null
s statfs; { if [ -e /etc/mtab ]; then cat /etc/mtab; else cat /proc/mounts; fi; } |
while read -r d m t _; do case "$d" in /*|\\*|*:/*) if [ "$t" != none ]; then
 printf '%s|' "$m"; stat -f -c '%S|%s|%b|%a|%c|%d' "$(printf '%b' "$m")" 2>/dev/null || echo; fi;;
 esac; done
s dmi; for k in product_name sys_vendor product_version bios_vendor bios_version bios_date \
 board_vendor board_name board_asset_tag board_serial board_version chassis_asset_tag \
 chassis_serial chassis_vendor chassis_version chassis_type product_serial product_uuid; do
 printf '%s=' "$k"
 r "/sys/devices/virtual/dmi/id/$k" NA; done
""",
    "virtual": r"""f /proc/1/cgroup
s environ1; { tr '\000' '\n' < /proc/1/environ; } 2>/dev/null | grep '^container='
f /run/systemd/container; f /proc/xen/capabilities
s exists; e /proc/vz /proc/lve /proc/bc /.dockerenv /.dockerinit /proc/xen /dev/kvm /rhev/
s vxid; grep '^VxID:' /proc/self/status 2>/dev/null
s modules; grep -E '^(kvm|vboxdrv|virtio) ' /proc/modules 2>/dev/null
s vcpu; grep -E '^(vendor_id|model name|machine)[[:space:]]*:' /proc/cpuinfo 2>/dev/null
s vdmi; for k in product_name sys_vendor product_family bios_vendor; do printf '%s=' "$k"
 r "/sys/devices/virtual/dmi/id/$k"; done
s dmidecode; dmidecode -s system-product-name 2>/dev/null
if [ -d /rhev/ ]; then s vdsm; cat /proc/[0-9]*/comm 2>/dev/null | grep -E '^vdsmd?$'; fi
""",
    "network": r"""s route4; ip -4 route get 8.8.8.8 2>/dev/null
s route6; ip -6 route get 2404:6800:400a:800::1012 2>/dev/null
if command -v ip >/dev/null 2>&1; then for d in /sys/class/net/*; do
 [ -d "$d" ] || continue; n=${d##*/}; s "iface:$n"
 for k in address mtu operstate type speed flags; do
  if [ -e "$d/$k" ]; then printf '%s=' "$k"; r "$d/$k"; fi; done
 if [ -e "$d/device" ]; then l=$(readlink "$d/device"); echo "pciid=${l##*/}"; fi
 if [ -e "$d/device/driver/module" ]; then
  l=$(readlink -f "$d/device/driver/module"); echo "module=${l##*/}"; fi
 if [ -e "$d/bridge" ]; then echo "bridge=$(cd "$d/brif" 2>/dev/null && echo *)"
  printf 'bridge_id='; r "$d/bridge/bridge_id"
  printf 'stp_state='; r "$d/bridge/stp_state"; fi
 echo "@primary"; ip addr show primary dev "$n" 2>/dev/null || ip addr show dev "$n"
 echo "@secondary"; ip addr show secondary dev "$n" 2>/dev/null; done; fi
""",
}


def new_marker() -> str:
    """A token no file on the host is expected to hold at the start of a line."""
    return f"__runner_facts_{secrets.token_hex(8)}__"


def script_for(collectors: Iterable[str], marker: str) -> str:
    """The script printing what ``collectors`` need (distribution facts are always
    read: os_family decides how pkg_mgr and service_mgr are read)."""
    wanted = set(collectors) | {"distribution", "platform"}
    body = [SECTIONS[name] for name in SECTIONS if name in wanted]
    return f"M={marker}\n{_PRELUDE}" + "".join(body) + "s end\n"


def split_sections(output: str, marker: str) -> dict[str, str]:
    """``MARK name`` lines -> {name: the text up to the next mark} (the blank line the
    mark is printed after is dropped)."""
    sections: dict[str, str] = {}
    name: str | None = None
    lines: list[str] = []
    prefix = marker + " "
    for line in output.split("\n"):
        if line.startswith(prefix):
            if name is not None:
                sections[name] = "\n".join(lines[:-1] if lines and lines[-1] == "" else lines)
            name, lines = line[len(prefix) :], []
        elif name is not None:
            lines.append(line)
    if name is not None and name != "end":
        sections[name] = "\n".join(lines)
    return sections
