"""The system facts (Ansible's ``min`` collectors) from the script's sections: platform,
lsb, user, env, dns, date_time, service_mgr, pkg_mgr, python, selinux. Each function
takes the sections (and the facts read so far) and returns facts without the
``ansible_`` prefix, in the shapes ansible-core's setup reports.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from typing import Any

from runner.playbook.facts.distribution import lsb_info

Sections = Mapping[str, str]


def _lines(sections: Sections, name: str) -> list[str]:
    return (sections.get(name) or "").splitlines()


def platform_facts(sections: Sections) -> dict[str, Any]:
    """uname, the fqdn (reverse lookup of the host name's first address, as Python's
    socket.getfqdn), userspace bits, machine id.

    >>> f = platform_facts({"uname": "Linux\\n6.1.0\\n#1 SMP\\nx86_64\\nweb1.example.com",
    ...     "bits": "64", "fqdn": "10.0.0.5  web1.example.com web1"})
    >>> f["hostname"], f["fqdn"], f["domain"], f["architecture"]
    ('web1', 'web1.example.com', 'example.com', 'x86_64')
    """
    uname = _lines(sections, "uname") + [""] * 5
    system, kernel, version, machine, node = (x.strip() for x in uname[:5])
    names = (sections.get("fqdn") or "").split()[1:]
    fqdn = next((n for n in names if "." in n), names[0] if names else node)
    bits = (sections.get("bits") or "").strip()
    facts: dict[str, Any] = {
        "system": system,
        "kernel": kernel,
        "kernel_version": version,
        "machine": machine,
        "fqdn": fqdn,
        "hostname": node.split(".")[0],
        "nodename": node,
        "domain": ".".join(fqdn.split(".")[1:]),
        "userspace_bits": bits,
        "architecture": machine,
    }
    if machine == "x86_64":
        userspace = {"64": "x86_64", "32": "i386"}.get(bits)
        if userspace:
            facts["userspace_architecture"] = userspace
    elif re.match(r"i[3-6]86", machine or ""):
        facts["architecture"] = "i386"
    machine_id = sections.get("file:/var/lib/dbus/machine-id") or sections.get(
        "file:/etc/machine-id"
    )
    if machine_id and machine_id.strip():
        facts["machine_id"] = machine_id.strip().splitlines()[0]
    return facts


def lsb_facts(sections: Sections) -> dict[str, Any]:
    info = lsb_info(sections.get("lsb") or "")
    if not info:
        for line in _lines(sections, "file:/etc/lsb-release"):
            key, _, value = line.partition("=")
            name = {"DISTRIB_ID": "id", "DISTRIB_RELEASE": "release",
                    "DISTRIB_DESCRIPTION": "description", "DISTRIB_CODENAME": "codename"}  # fmt: skip
            if key.strip() in name:
                info[name[key.strip()]] = value.strip()
    if "release" in info:
        info["major_release"] = info["release"].split(".")[0]
    return {"lsb": {k: v.strip("'\"\\") for k, v in info.items()}}


def user_facts(sections: Sections) -> dict[str, Any]:
    """The login name, ids and the passwd entry (``getent passwd``)."""
    lines = _lines(sections, "user") + [""] * 5
    name, ruid, euid, rgid = (x.strip() for x in lines[:4])
    entry = lines[4].split(":") if lines[4].count(":") >= 6 else []
    facts: dict[str, Any] = {"user_id": name or (entry[0] if entry else "")}
    if entry:
        facts.update(
            user_uid=int(entry[2]) if entry[2].isdigit() else entry[2],
            user_gid=int(entry[3]) if entry[3].isdigit() else entry[3],
            user_gecos=entry[4],
            user_dir=entry[5],
            user_shell=entry[6],
        )
    for key, value in (("real_user_id", ruid), ("effective_user_id", euid),
                       ("real_group_id", rgid), ("effective_group_id", rgid)):  # fmt: skip
        if value.isdigit():
            facts[key] = int(value)
    return facts


def env_facts(sections: Sections) -> dict[str, Any]:
    """``env -0`` (or ``env`` where -0 is missing) -> {name: value}."""
    text = sections.get("env") or ""
    entries = text.split("\0") if "\0" in text else text.splitlines()
    env: dict[str, str] = {}
    for entry in entries:
        key, sep, value = entry.partition("=")
        if sep and key and "\n" not in key:
            env[key] = value
    return {"env": env}


def dns_facts(sections: Sections) -> dict[str, Any]:
    """/etc/resolv.conf -> nameservers, domain, search, sortlist, options."""
    dns: dict[str, Any] = {}
    for line in _lines(sections, "file:/etc/resolv.conf"):
        if line.startswith(("#", ";")) or not line.strip():
            continue
        tokens = line.split()
        key, rest = tokens[0], tokens[1:]
        if key == "nameserver":
            dns.setdefault("nameservers", []).extend(rest)
        elif key == "domain" and rest:
            dns["domain"] = rest[0]
        elif key in ("search", "sortlist"):
            dns[key] = list(rest)
        elif key == "options":
            options: dict[str, Any] = {}
            for option in rest:
                name, sep, value = option.partition(":")
                options[name] = value if sep else True
            dns["options"] = options
    return {"dns": dns}


def date_time_facts(sections: Sections) -> dict[str, Any]:
    """The host's clock and time zone (``date``), in Ansible's shape."""
    lines = _lines(sections, "date")
    fields = lines[0].split("|") if lines else []
    if len(fields) < 13:
        return {}
    year, month, weekday, wday, week, day, hour, minute, second, epoch, tz, offset, nanos = fields[
        :13
    ]
    micro = nanos[:6] if nanos.isdigit() and len(nanos) >= 6 else "000000"
    utc = datetime.datetime.fromtimestamp(int(epoch), tz=datetime.timezone.utc)
    zones = [line.split("|") for line in lines[1:3] if "|" in line]
    tz_dst = tz
    if len(zones) == 2 and zones[0] != zones[1]:
        # the zone in force when the offset is larger is the summer (DST) one
        tz_dst = max(zones, key=lambda z: int(z[1] or 0))[0]
    return {
        "date_time": {
            "year": year,
            "month": month,
            "weekday": weekday,
            "weekday_number": wday,
            "weeknumber": week,
            "day": day,
            "hour": hour,
            "minute": minute,
            "second": second,
            "epoch": epoch,
            "epoch_int": str(int(epoch)),
            "date": f"{year}-{month}-{day}",
            "time": f"{hour}:{minute}:{second}",
            "iso8601_micro": utc.strftime("%Y-%m-%dT%H:%M:%S.") + micro + "Z",
            "iso8601": utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "iso8601_basic": f"{year}{month}{day}T{hour}{minute}{second}{micro}",
            "iso8601_basic_short": f"{year}{month}{day}T{hour}{minute}{second}",
            "tz": tz,
            "tz_dst": tz_dst,
            "tz_offset": offset,
        }  # fmt: skip
    }


_PROC1_NAMES = {"procd": "openwrt_init", "runit-init": "runit", "svscan": "svc",
                "openrc-init": "openrc"}  # fmt: skip


def service_mgr_facts(sections: Sections, facts: Mapping[str, Any]) -> dict[str, Any]:
    """PID 1's name, else what the system looks like (systemd, upstart, openrc...)."""
    proc1 = (sections.get("proc1") or "").strip() or None
    if proc1 == "COMMAND":
        proc1 = None
    if proc1 is None:
        proc1 = (sections.get("init") or "").strip() or None
    if proc1 is not None:
        proc1 = proc1.rsplit("/", 1)[-1].strip()
        if proc1 == "init" or proc1.endswith("sh"):
            proc1 = None
    seen = set(_lines(sections, "svc"))
    init_link = (sections.get("init") or "").strip().rsplit("/", 1)[-1]
    system, distribution = facts.get("system", ""), facts.get("distribution")
    name: str | None = None
    if proc1:
        name = _PROC1_NAMES.get(proc1, proc1)
    elif distribution == "MacOSX":
        name = "launchd"
    elif "BSD" in system or system in ("Bitrig", "DragonFly"):
        name = "bsdinit"
    elif system == "AIX":
        name = "src"
    elif system == "SunOS":
        name = "smf"
    elif distribution == "OpenWrt":
        name = "openwrt_init"
    elif system == "Linux":
        systemctl = "systemctl" in seen
        canaries = {"/run/systemd/system/", "/dev/.run/systemd/", "/dev/.systemd/"}
        if systemctl and seen & canaries:
            name = "systemd"
        elif "initctl" in seen and "/etc/init/" in seen:
            name = "upstart"
        elif "/sbin/openrc" in seen:
            name = "openrc"
        elif systemctl and init_link == "systemd":
            name = "systemd"
        elif "/etc/init.d/" in seen:
            name = "sysvinit"
        elif "/etc/dinit.d/" in seen:
            name = "dinit"
    return {"service_mgr": name or "service"}


_PKG_MGRS = (
    ("/usr/bin/rpm-ostree", "atomic_container"), ("/usr/bin/yum", "dnf"),
    ("/usr/bin/dnf-3", "dnf"), ("/usr/bin/dnf5", "dnf5"), ("/usr/bin/apt-get", "apt"),
    ("/usr/bin/zypper", "zypper"), ("/usr/sbin/urpmi", "urpmi"), ("/usr/bin/pacman", "pacman"),
    ("/bin/opkg", "opkg"), ("/usr/pkg/bin/pkgin", "pkgin"), ("/opt/local/bin/pkgin", "pkgin"),
    ("/opt/tools/bin/pkgin", "pkgin"), ("/opt/local/bin/port", "macports"),
    ("/usr/local/bin/brew", "homebrew"), ("/opt/homebrew/bin/brew", "homebrew"),
    ("/sbin/apk", "apk"), ("/usr/sbin/pkg", "pkgng"), ("/usr/sbin/swlist", "swdepot"),
    ("/usr/bin/emerge", "portage"), ("/usr/sbin/pkgadd", "svr4pkg"), ("/usr/bin/pkg", "pkg5"),
    ("/usr/bin/xbps-install", "xbps"), ("/usr/local/sbin/pkg", "pkgng"),
    ("/usr/bin/swupd", "swupd"), ("/usr/sbin/sorcery", "sorcery"),
    ("/usr/bin/installp", "installp"),
)  # fmt: skip


def pkg_mgr_facts(sections: Sections, facts: Mapping[str, Any]) -> dict[str, Any]:
    """The last package manager found in Ansible's list, corrected by os_family."""
    lines = _lines(sections, "pkg")
    seen = set(lines)
    family = facts.get("os_family")
    name = "unknown"
    for path, manager in _PKG_MGRS:
        if path in seen and not (family == "Altlinux" and path == "/usr/bin/pkg"):
            name = manager
    if family == "RedHat":
        name = "unknown"
        real = next((line.split(" ", 1)[1] for line in lines if line.startswith("dnf-real ")), "")
        if "/run/ostree-booted" in seen:
            name = "atomic_container"
        elif "/usr/bin/dnf" in seen:
            name = "dnf5" if real == "/usr/bin/dnf5" else "dnf"
        elif "/usr/bin/microdnf" in seen:
            name = "dnf"
    elif family == "Debian":
        name = "apt"
    elif family == "Altlinux" and name == "apt":
        name = "apt_rpm"
    if name == "apt" and "apt_rpm" in seen:
        name = "apt_rpm"
    return {"pkg_mgr": name}


def python_facts(sections: Sections) -> dict[str, Any]:
    """The Python Ansible's interpreter discovery would find, when there is one
    (``python3.N --version``; runner itself needs none)."""
    lines = _lines(sections, "python")
    if len(lines) < 2:
        return {}
    found = re.match(r"Python (\d+)\.(\d+)\.(\d+)(?:(a|b|rc)(\d+))?", lines[1].strip())
    if not found:
        return {}
    major, minor, micro = (int(found.group(i)) for i in (1, 2, 3))
    level = {"a": "alpha", "b": "beta", "rc": "candidate"}.get(found.group(4) or "", "final")
    serial = int(found.group(5) or 0)
    return {
        "python": {
            "executable": lines[0].strip(),
            "has_sslcontext": True,
            "type": "PyPy" if "PyPy" in (sections.get("python") or "") else "cpython",
            "version": {
                "major": major,
                "minor": minor,
                "micro": micro,
                "releaselevel": level,
                "serial": serial,
            },  # fmt: skip
            "version_info": [major, minor, micro, level, serial],
        },
        "python_version": f"{major}.{minor}.{micro}",
    }


def small_facts(sections: Sections, wanted: set[str]) -> dict[str, Any]:
    """apparmor, fips and the SSH host public keys (Ansible's first key directory of
    /etc/ssh, /etc/openssh, /etc)."""
    facts: dict[str, Any] = {}
    if "apparmor" in wanted:
        enabled = bool((sections.get("apparmor") or "").strip())
        facts["apparmor"] = {"status": "enabled" if enabled else "disabled"}
    data = (sections.get("file:/proc/cmdline") or "").strip()
    if "cmdline" in wanted and data:
        facts["cmdline"], facts["proc_cmdline"] = _cmdline(data)
    if "fips" in wanted:
        facts["fips"] = (sections.get("fips") or "").strip() == "1"
    if "ssh_pub_keys" in wanted:
        keys: dict[str, str] = {}
        for folder in ("/etc/ssh", "/etc/openssh", "/etc"):
            for algo in ("dsa", "rsa", "ecdsa", "ed25519"):
                name = f"ssh_host_key_{algo}_public"
                if name in keys:
                    return {**facts, **keys}
                words = (sections.get(f"file:{folder}/ssh_host_{algo}_key.pub") or "").split()
                if len(words) >= 2:
                    keys[name], keys[f"{name}_keytype"] = words[1], words[0]
        facts.update(keys)
    return facts


def _cmdline(data: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """/proc/cmdline -> (cmdline: the last value of each key, proc_cmdline: repeated keys
    as lists); a word without ``=`` is True."""
    import shlex

    last: dict[str, Any] = {}
    every: dict[str, Any] = {}
    try:
        pieces = shlex.split(data, posix=False)
    except ValueError:
        return {}, {}
    for piece in pieces:
        key, sep, value = piece.partition("=")
        if not sep:
            last[key] = every[key] = True
            continue
        last[key] = value
        if key in every:
            old = every[key]
            every[key] = [*old, value] if isinstance(old, list) else [old, value]
        else:
            every[key] = value
    return last, every


def selinux_facts(sections: Sections) -> dict[str, Any]:
    """SELinux from /sys/fs/selinux and /etc/selinux/config."""
    lines = _lines(sections, "selinux")
    if not lines or lines[0].strip() != "enabled":
        return {"selinux": {"status": "disabled"}}
    config = {}
    for line in _lines(sections, "file:/etc/selinux/config"):
        key, sep, value = line.partition("=")
        if sep:
            config[key.strip()] = value.strip()
    mode = {"1": "enforcing", "0": "permissive"}.get(lines[1].strip() if len(lines) > 1 else "")
    policy = lines[2].strip() if len(lines) > 2 else ""
    return {
        "selinux": {
            "status": "enabled",
            "policyvers": int(policy) if policy.isdigit() else "unknown",
            "config_mode": config.get("SELINUX", "unknown"),
            "mode": mode or "unknown",
            "type": config.get("SELINUXTYPE", "unknown"),
        }
    }
