"""Hardware and virtualization facts from the script's sections: processors (from
/proc/cpuinfo, counted as ansible-core counts them), memory (/proc/meminfo), mounts
(/etc/mtab with ``stat -f`` sizes, bind mounts from findmnt, UUIDs from lsblk), DMI,
and the virtualization type and role.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

Sections = Mapping[str, str]


def cpu_facts(sections: Sections, architecture: str) -> dict[str, Any]:
    """processor, processor_count/cores/threads_per_core/vcpus/nproc.

    >>> text = "processor : 0\\nvendor_id : V\\nmodel name : M\\nphysical id : 0\\n"
    >>> text += "siblings : 2\\ncore id : 0\\ncpu cores : 2\\n"
    >>> f = cpu_facts({"cpuinfo": text + text.replace(": 0", ": 1", 1), "nproc": "2"}, "x86_64")
    >>> f["processor_count"], f["processor_cores"], f["processor_vcpus"], f["processor"]
    (1, 2, 2, ['0', 'V', 'M', '1', 'V', 'M'])
    """
    processor: list[str] = []
    counts = {"vendor_id": 0, "model name": 0, "processor": 0}
    sockets: dict[str, int] = {}
    cores: dict[str, int] = {}
    physid, coreid = "0", "0"
    i = zp = zmt = 0
    for line in (sections.get("cpuinfo") or "").splitlines():
        key, _, val = line.partition(":")
        key, val = key.strip(), val.strip()
        if key in ("model name", "Processor", "vendor_id", "cpu", "Vendor", "processor"):
            processor.append(val)
            if key in counts:
                counts[key] += 1
            i += 1
        elif key == "physical id":
            physid = val
            sockets.setdefault(physid, 1)
        elif key == "core id":
            coreid = val
            if coreid not in sockets:  # sic: Ansible tests the sockets here
                cores[coreid] = 1
        elif key == "cpu cores":
            sockets[physid] = int(val) if val.isdigit() else 1
        elif key == "siblings":
            cores[coreid] = int(val) if val.isdigit() else 1
        elif key == "# processors" and val.isdigit():
            zp = int(val)
        elif key == "max thread id" and val.isdigit():
            zmt = int(val) + 1
        elif key == "ncpus active" and val.isdigit():
            i = int(val)
    if counts["vendor_id"] and counts["vendor_id"] == counts["model name"]:
        i = counts["vendor_id"]
    if architecture.startswith(("armv", "aarch", "ppc")):
        i = counts["processor"]
    facts: dict[str, Any] = {"processor": processor}
    if architecture == "s390x" and zmt:
        facts.update(processor_count=1, processor_cores=round(zp / zmt),
                     processor_threads_per_core=zmt, processor_vcpus=zp, processor_nproc=zp)  # fmt: skip
    else:
        count = len(sockets) if sockets else i
        per_socket = list(sockets.values())
        ncores = per_socket[0] if per_socket and per_socket[0] else 1
        per_core = list(cores.values())
        threads = round((per_core[0] if per_core else 1) / ncores)
        facts.update(processor_count=count, processor_cores=ncores,
                     processor_threads_per_core=threads,
                     processor_vcpus=threads * count * ncores,
                     processor_nproc=counts["processor"])  # fmt: skip
    nproc = (sections.get("nproc") or "").strip()
    if nproc.isdigit():
        facts["processor_nproc"] = int(nproc)
    return facts


def memory_facts(sections: Sections) -> dict[str, Any]:
    """memtotal_mb, memfree_mb, swaptotal_mb, swapfree_mb and memory_mb (MiB, floored)."""
    stats: dict[str, int] = {}
    for line in (sections.get("file:/proc/meminfo") or "").splitlines():
        key, _, rest = line.partition(":")
        value = rest.strip().split(" ")[0]
        if value.isdigit():
            stats[key.lower()] = int(value) // 1024
    facts: dict[str, Any] = {
        f"{k}_mb": stats[k] for k in ("memtotal", "swaptotal", "memfree", "swapfree") if k in stats
    }
    total, free = stats.get("memtotal"), stats.get("memfree")
    cached, buffers = stats.get("cached"), stats.get("buffers")
    nocache_free = None
    if None not in (cached, free, buffers):
        nocache_free = cached + free + buffers  # type: ignore[operator]
    swap_total, swap_free = stats.get("swaptotal"), stats.get("swapfree")
    facts["memory_mb"] = {
        "real": {
            "total": total,
            "used": total - free if total is not None and free is not None else None,
            "free": free,
        },
        "nocache": {
            "free": nocache_free,
            "used": total - nocache_free if None not in (total, nocache_free) else None,  # type: ignore[operator]
        },
        "swap": {
            "total": swap_total,
            "free": swap_free,
            "used": swap_total - swap_free
            if swap_total is not None and swap_free is not None
            else None,
            "cached": stats.get("swapcached"),
        },
    }
    return facts


def _unescape(value: str) -> str:
    return re.sub(r"\\[0-9]{3}", lambda m: chr(int(m.group()[1:], 8)), value)


def mount_facts(sections: Sections) -> dict[str, Any]:
    """mounts: one dict per mounted block device or network share, with sizes."""
    binds = set()
    for line in (sections.get("binds") or "").splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[1].endswith("]"):
            binds.add(fields[0])
    uuids: dict[str, str] = {}
    for line in (sections.get("uuids") or "").splitlines():
        fields = line.strip().rsplit(None, 1)
        if len(fields) == 2:
            uuids.setdefault(fields[0].strip(), fields[1].strip())
    sizes: dict[str, dict[str, int]] = {}
    for line in (sections.get("statfs") or "").splitlines():
        parts = line.rsplit("|", 6)
        if len(parts) == 7 and all(p.isdigit() for p in parts[1:]):
            frsize, bsize, blocks, avail, files, ffree = (int(p) for p in parts[1:])
            sizes[parts[0]] = {
                "size_total": frsize * blocks, "size_available": frsize * avail,
                "block_size": bsize, "block_total": blocks, "block_available": avail,
                "block_used": blocks - avail, "inode_total": files,
                "inode_available": ffree, "inode_used": files - ffree,
            }  # fmt: skip
    mounts = []
    for line in (sections.get("mtab") or "").splitlines():
        raw = line.split()
        if len(raw) < 4:
            continue
        fields = [_unescape(f) for f in raw]
        device, mount, fstype, options = fields[:4]
        if (not device.startswith(("/", "\\")) and ":/" not in device) or fstype == "none":
            continue
        info: dict[str, Any] = {
            "mount": mount, "device": device, "fstype": fstype, "options": options,
            "dump": int(fields[4]) if len(fields) > 4 and fields[4].isdigit() else 0,
            "passno": int(fields[5]) if len(fields) > 5 and fields[5].isdigit() else 0,
        }  # fmt: skip
        if mount in binds and not re.match(r'.*bind.*"', options):
            info["options"] += ",bind"
        info.update(sizes.get(raw[1], {}))
        info["uuid"] = uuids.get(device) or "N/A"
        mounts.append(info)
    return {"mounts": mounts}


# SMBIOS chassis types, by number (Ansible's form_factor)
_CHASSIS = (
    "Unknown", "Other", "Unknown", "Desktop", "Low Profile Desktop", "Pizza Box",
    "Mini Tower", "Tower", "Portable", "Laptop", "Notebook", "Hand Held", "Docking Station",
    "All In One", "Sub Notebook", "Space-saving", "Lunch Box", "Main Server Chassis",
    "Expansion Chassis", "Sub Chassis", "Bus Expansion Chassis", "Peripheral Chassis",
    "RAID Chassis", "Rack Mount Chassis", "Sealed-case PC", "Multi-system", "CompactPCI",
    "AdvancedTCA", "Blade", "Blade Enclosure", "Tablet", "Convertible", "Detachable",
    "IoT Gateway", "Embedded PC", "Mini PC", "Stick PC",
)  # fmt: skip


def dmi_facts(sections: Sections) -> dict[str, Any]:
    """DMI names from /sys (``NA`` where unreadable, as Ansible says)."""
    names = {"sys_vendor": "system_vendor", "chassis_type": "form_factor"}
    facts: dict[str, Any] = {}
    for line in (sections.get("dmi") or "").splitlines():
        key, sep, value = line.partition("=")
        if not sep:
            continue
        value = value.strip() or "NA"
        if key == "chassis_type" and value.isdigit():
            number = int(value)
            value = _CHASSIS[number] if number < len(_CHASSIS) else f"unknown ({value})"
        facts[names.get(key, key)] = value
    return facts


def _kv(text: str | None) -> dict[str, str]:
    return {k: v.strip() for k, _, v in (line.partition("=") for line in (text or "").splitlines())}


def virtual_facts(sections: Sections) -> dict[str, Any]:
    """virtualization_type/role and the guest and host technologies, by Ansible's
    Linux checks in its order: the first that finds something names the type."""
    guest: set[str] = set()
    host: set[str] = set()
    found: dict[str, str] = {}

    def hit(tech: str, role: str | None, kind: str | None = None, where: set | None = None):
        (guest if where is None else where).add(tech)
        if not found:
            found["type"] = kind or tech
            if role:
                found["role"] = role

    for line in (sections.get("file:/proc/1/cgroup") or "").splitlines():
        if re.search(r"/docker(/|-[0-9a-f]+\.scope)", line):
            hit("docker", "guest")
        if "/lxc/" in line or "/machine.slice/machine-lxc" in line:
            hit("lxc", "guest")
        if "/system.slice/containerd.service" in line:
            hit("containerd", "guest")
    for line in (sections.get("environ1") or "").splitlines():
        if "container=lxc" in line:
            hit("lxc", "guest")
        if "container=podman" in line:
            hit("podman", "guest")
        if re.match("^container=.", line):
            hit("container", "guest")
    exists = set((sections.get("exists") or "").split())
    if "/proc/vz" in exists and "/proc/lve" not in exists:
        role = "host" if "/proc/bc" in exists else "guest"
        (host if role == "host" else guest).add("openvz")
        if not found:
            found["role"] = role
        found["type"] = "openvz"
    container = (sections.get("file:/run/systemd/container") or "").strip()
    if container:
        hit(container, "guest")
    if "/.dockerenv" in exists or "/.dockerinit" in exists:
        hit("docker", "guest")
    if guest & {"docker", "lxc", "podman", "openvz", "containerd"} or container:
        guest.add("container")
    if "/proc/xen" in exists:
        if "control_d" in (sections.get("file:/proc/xen/capabilities") or ""):
            hit("xen", "host", where=host)
        else:
            hit("xen", "guest", where=set())
    dmi = _kv(sections.get("vdmi"))
    product, vendor, bios = dmi.get("product_name"), dmi.get("sys_vendor"), dmi.get("bios_vendor")
    # from here on a find names the type only; the role is guest if nothing was found yet
    role_before = "role" in found
    checks = [
        (product in ("KVM", "KVM Server", "Bochs", "AHV", "CloudStack KVM Hypervisor"), "kvm"),
        (vendor == "oVirt", "oVirt"),
        (vendor == "Red Hat" and dmi.get("product_family") == "RHV", "RHV"),
        (vendor == "Red Hat" and product == "RHEV Hypervisor", "RHEV"),
        (bool(product) and str(product).startswith("VMware"), "VMware"),
        (product in ("OpenStack Compute", "OpenStack Nova"), "openstack"),
        (bios == "Xen", "xen"), (bios == "innotek GmbH", "virtualbox"),
        (bios in ("Amazon EC2", "DigitalOcean", "Hetzner", "Linode"), "kvm"),
        (vendor in ("QEMU", "Amazon EC2", "DigitalOcean", "Google", "Scaleway", "Nutanix"), "kvm"),
        (vendor == "KubeVirt", "KubeVirt"), (vendor == "Microsoft Corporation", "VirtualPC"),
        (vendor == "Parallels Software International Inc.", "parallels"),
        (vendor == "OpenStack Foundation", "openstack"),
    ]  # fmt: skip
    dmi_found = False
    for matched, tech in checks:
        if matched:
            guest.add(tech)
            if not found:
                found["type"] = tech
                dmi_found = True
    if dmi_found and not role_before:
        found["role"] = "guest"
    vxid = re.match(r"^VxID:\s+(\d+)", sections.get("vxid") or "")
    if vxid:
        hit("linux_vserver", "host" if vxid.group(1) == "0" else "guest",
            where=host if vxid.group(1) == "0" else guest)  # fmt: skip
    for line in (sections.get("vcpu") or "").splitlines():
        for pattern, tech in (("^model name.*QEMU Virtual CPU", "kvm"),
                              ("^vendor_id.*User Mode Linux", "uml"), ("^model name.*UML", "uml"),
                              ("^machine.*CHRP IBM pSeries .emulated by qemu.", "kvm"),
                              ("^vendor_id.*PowerVM Lx86", "powervm_lx86")):  # fmt: skip
            if re.match(pattern, line):
                hit(tech, "guest")
                break
    modules = {line.split(" ", 1)[0] for line in (sections.get("modules") or "").splitlines()}
    if "kvm" in modules:
        hit("kvm", "host", where=host)
        if (sections.get("vdsm") or "").strip():
            hit("RHEV", None, where=host)
    if "vboxdrv" in modules:
        hit("virtualbox", "host", where=host)
    if "virtio" in modules:
        hit("kvm", "guest", where=host)
    product_dmi = sections.get("dmidecode") or ""
    if product_dmi.strip().startswith("VMware"):
        hit("VMware", "guest")
    if "BHYVE" in product_dmi:
        hit("bhyve", "guest")
    if "/dev/kvm" in exists:
        hit("kvm", "host", where=host)
    return {
        "virtualization_type": found.get("type", "NA"),
        "virtualization_role": found.get("role", "NA"),
        "virtualization_tech_guest": sorted(guest),
        "virtualization_tech_host": sorted(host),
    }
