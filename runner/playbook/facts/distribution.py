"""distribution, distribution_version/major_version/release, os_family, from the
release files the script printed, by the rules ansible-core's setup follows on Linux:
a first guess from os-release / lsb_release / the distribution's release file, then
the first release file in Ansible's list that names the distribution refines it.

>>> facts = distribution_facts({"file:/etc/os-release": 'ID=debian\\nVERSION_ID="12"\\n'
...     'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\\nVERSION_CODENAME=bookworm',
...     "file:/etc/debian_version": "12.11"}, {}, "Linux")
>>> [facts[k] for k in ("distribution", "distribution_version",
...     "distribution_major_version", "distribution_release", "os_family")]
['Debian', '12.11', '12', 'bookworm', 'Debian']
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# os_family -> the distributions in it, separated by "|"
_FAMILIES = {
    "RedHat": "RedHat|RHEL|Fedora|CentOS|Scientific|SLC|Ascendos|CloudLinux|PSBM|OracleLinux|"
    "OVS|OEL|Amazon|Amzn|Virtuozzo|XenServer|Alibaba|EulerOS|openEuler|AlmaLinux|Rocky|"
    "TencentOS|EuroLinux|Kylin Linux Advanced Server|MIRACLE",
    "Debian": "Debian|Ubuntu|Raspbian|Neon|KDE neon|Linux Mint|SteamOS|Devuan|Kali|"
    "Cumulus Linux|Pop!_OS|Parrot|Pardus GNU/Linux|Uos|Deepin|OSMC|Linux Mint Debian Edition",
    "Suse": "SuSE|SLES|SLED|openSUSE|openSUSE Tumbleweed|SLES_SAP|SUSE_LINUX|openSUSE Leap|"
    "ALP-Dolomite|SL-Micro|openSUSE MicroOS",
    "Archlinux": "Archlinux|Antergos|Manjaro",
    "Mandrake": "Mandrake|Mandriva",
    "Slackware": "Slackware",
    "Altlinux": "Altlinux",
    "SMGL": "SMGL",
    "Gentoo": "Gentoo|Funtoo",
    "Alpine": "Alpine",
    "ClearLinux": "Clear Linux OS|Clear Linux Mix",
    "Solaris": "Solaris|Nexenta|OmniOS|OpenIndiana|SmartOS",
    "Darwin": "MacOSX",
    "FreeBSD": "FreeBSD|TrueOS",
    "NetBSD": "NetBSD",
}
#: distribution -> os_family (a distribution not listed is its own family)
OS_FAMILY = {name: family for family, names in _FAMILIES.items() for name in names.split("|")}

# (path, name) in the order Ansible tries them; the first that parses wins.
_DIST_FILES = (
    ("/etc/altlinux-release", "Altlinux"), ("/etc/oracle-release", "OracleLinux"),
    ("/etc/slackware-version", "Slackware"), ("/etc/centos-release", "CentOS"),
    ("/etc/redhat-release", "RedHat"), ("/etc/vmware-release", "VMwareESX"),
    ("/etc/openwrt_release", "OpenWrt"), ("/etc/os-release", "Amazon"),
    ("/etc/system-release", "Amazon"), ("/etc/alpine-release", "Alpine"),
    ("/etc/arch-release", "Archlinux"), ("/etc/os-release", "Archlinux"),
    ("/etc/os-release", "SUSE"), ("/etc/SuSE-release", "SUSE"),
    ("/etc/gentoo-release", "Gentoo"), ("/etc/os-release", "Debian"),
    ("/etc/lsb-release", "Debian"), ("/etc/lsb-release", "Mandriva"),
    ("/etc/os-release", "NA"),
)  # fmt: skip
_EMPTY_OK = {"/etc/arch-release", "/etc/vmware-release"}
_SEARCH = {"OracleLinux": "Oracle Linux", "RedHat": "Red Hat", "Altlinux": "ALT"}
_QUOTES = "'\"\\"


def os_release(text: str) -> dict[str, str]:
    """``KEY="value"`` lines -> {key (lower case): value}."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key and not key.startswith("#"):
            out[key.lower()] = value.strip().strip("\"'")
    return out


def lsb_info(text: str) -> dict[str, str]:
    """``lsb_release -a`` -> {id, description, release, codename}."""
    names = {"Distributor ID": "id", "Description": "description", "Release": "release",
             "Codename": "codename", "LSB Version": "release"}  # fmt: skip
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() in names:
            out[names[key.strip()]] = value.strip()
    return out


def _guess(sections: Mapping[str, str], lsb: Mapping[str, str]) -> dict[str, str]:
    """Ansible's first guess (its bundled ``distro``): id, best version, codename."""
    osr = os_release(sections.get("file:/etc/os-release") or "")
    ident = {"ol": "oracle", "opensuse-leap": "opensuse"}.get(osr.get("id", ""), osr.get("id"))
    if not ident and lsb.get("id"):
        ident = lsb["id"].lower().replace(" ", "_")
    release_file, release_version = "", ""
    for path in ("/etc/centos-release", "/etc/redhat-release", "/etc/oracle-release",
                 "/etc/debian_version", "/etc/alpine-release", "/etc/system-release"):  # fmt: skip
        text = sections.get(f"file:{path}")
        if text:
            release_file = path
            found = re.search(r"(\d[\d.+\-a-z]*\d|\d)", text.strip())
            release_version = found.group(1) if found else ""
            break
    if not ident and release_file:
        ident = release_file.split("/")[-1].split("-")[0].split("_")[0]
        ident = {"redhat": "rhel"}.get(ident, ident)
    versions = [osr.get("version_id", ""), lsb.get("release", ""), release_version]
    version = next((v for v in versions if v), "")
    if ident in ("debian", "centos"):
        for candidate in versions:
            if candidate.count(".") > version.count(".") or not version:
                version = candidate
        if ident == "centos":
            version = ".".join(version.split(".")[:2])
    codename = osr.get("version_codename") or osr.get("ubuntu_codename")
    if not codename and ident == "ubuntu":
        codename = lsb.get("codename")
    if not codename:
        paren = re.search(r"\((\w[^)]*)\)", osr.get("version", ""))
        codename = (paren.group(1) if paren else "") or lsb.get("codename", "")
    name = (ident or "").capitalize()
    name = {"Amzn": "Amazon", "Rhel": "Redhat", "": "OtherLinux"}.get(name, name)
    guess = {
        "distribution": name or "NA",
        "distribution_version": version or "NA",
        "distribution_release": codename or "NA",
    }
    guess["distribution_major_version"] = guess["distribution_version"].split(".")[0] or "NA"
    return guess


def _parse_file(
    name: str, data: str, path: str, facts: Mapping[str, str], sections: Mapping[str, str]
) -> dict[str, str] | None:
    """One release file as Ansible reads it for ``name``: the facts it sets, or None."""
    if name in _SEARCH:
        first = data.split()[0] if data.split() else name
        return {"distribution": name if _SEARCH[name] in data else first}
    if name == "Archlinux" and path == "/etc/os-release":
        return {"distribution": name} if "Arch Linux" in data else None
    if name == "Alpine":
        return {"distribution": "Alpine", "distribution_version": data}
    if name == "Slackware":
        if "Slackware" not in data:
            return None
        found = re.findall(r"\w+[.]\w+\+?", data)
        return {"distribution": name, **({"distribution_version": found[0]} if found else {})}
    if name == "Amazon":
        if "Amazon" not in data:
            return None
        out = {"distribution": "Amazon"}
        if path == "/etc/os-release":
            version = re.search(r"VERSION_ID=\"(.*)\"", data)
            if version:
                major, _, minor = version.group(1).partition(".")
                out.update(distribution_version=version.group(1),
                           distribution_major_version=major,
                           distribution_minor_version=minor or "NA")  # fmt: skip
        else:
            numbers = [n for n in data.split() if n.isdigit()]
            out["distribution_version"] = numbers[0] if numbers else "NA"
        return out
    if name == "CentOS":
        return {"distribution_release": "Stream"} if "CentOS Stream" in data else None
    if name == "SUSE":
        return _suse(data, path)
    if name == "Debian":
        return _debian(data, path, facts, sections)
    if name == "NA":
        osr = os_release(data)
        out = {"distribution": osr["name"]} if "name" in osr else {}
        if facts.get("distribution_version") == "NA" and "version" in osr:
            out["distribution_version"] = osr["version"]
        return out
    return None


def _suse(data: str, path: str) -> dict[str, str] | None:
    if "suse" not in data.lower():
        return None
    out: dict[str, str] = {}
    if path == "/etc/os-release":
        osr = os_release(data)
        if "name" in osr:
            out["distribution"] = osr["name"]
        version = re.match(r"([0-9]+)\.?([0-9]*)", osr.get("version_id", ""))
        if version:
            out["distribution_version"] = version.group(0)
            out["distribution_major_version"] = version.group(1)
            if "open" in data.lower():
                out["distribution_release"] = version.group(2)
            elif "enterprise" in data.lower():
                out["distribution_release"] = version.group(2) or "0"
    variant = re.search(r'^VARIANT_ID="?([^"\n]*)"?', data, re.M)
    if variant and variant.group(1) in ("server-sap", "sles-sap"):
        out["distribution"] = "SLES_SAP"
    elif variant and variant.group(1) == "transactional":
        out["distribution"] = "SL-Micro"
    return out


def _debian(
    data: str, path: str, facts: Mapping[str, str], sections: Mapping[str, str]
) -> dict[str, str] | None:
    osr = os_release(data)
    if "Debian" in data or "Raspbian" in data:
        out = {"distribution": "Debian"}
        release = re.search(r"PRETTY_NAME=[^(]+ \(?([^)]+?)\)", data)
        if release:
            out["distribution_release"] = release.group(1)
        minor = re.search(r"(\d+)\.(\d+)", sections.get("file:/etc/debian_version") or "")
        if minor:
            out["distribution_minor_version"] = minor.group(2)
        return out
    for word, name in (("Ubuntu", "Ubuntu"), ("SteamOS", "SteamOS")):
        if word in data:
            return {"distribution": name}
    if "Devuan" in data:
        out = {"distribution": "Devuan"}
        release = re.search(r"PRETTY_NAME=\"?[^(\"]+ \(?([^) \"]+)\)?", data)
        if release:
            out["distribution_release"] = release.group(1)
        if "version_id" in osr:
            out["distribution_version"] = out["distribution_major_version"] = osr["version_id"]
        return out
    if "Mint" in data:
        out = {"distribution": "Linux Mint"}
        if "version_id" in osr:
            out["distribution_version"] = osr["version_id"]
            out["distribution_major_version"] = osr["version_id"].split(".")[0]
        return out
    if "LMDE" in data:
        return {"distribution": "Linux Mint Debian Edition"}
    return None


def distribution_facts(
    sections: Mapping[str, str], lsb: Mapping[str, str], system: str
) -> dict[str, Any]:
    """The distribution facts of a host from its release files (``file:PATH``
    sections; ``empty`` lists the release files that exist and may be empty)."""
    if system != "Linux":
        facts: dict[str, Any] = {"distribution": system}
        return {**facts, "os_family": OS_FAMILY.get(system, system)}
    facts = dict[str, Any](_guess(sections, lsb))
    empty = set((sections.get("empty") or "").split())
    for path, name in _DIST_FILES:
        if path in _EMPTY_OK and path in empty:
            facts.update(distribution=name, distribution_file_path=path,
                         distribution_file_variety=name)  # fmt: skip
            break
        data = (sections.get(f"file:{path}") or "").strip().strip(_QUOTES)
        if not data:
            continue
        parsed = _parse_file(name, data, path, facts, sections)
        if parsed is not None:
            facts.update(distribution=name, distribution_file_path=path,
                         distribution_file_variety=name, distribution_file_parsed=True)  # fmt: skip
            facts.update(parsed)
            break
    facts["os_family"] = OS_FAMILY.get(facts["distribution"], facts["distribution"])
    return facts
