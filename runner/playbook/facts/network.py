"""Network facts from the script's sections: the default routes (``ip route get`` of the
addresses Ansible asks about; nothing is sent to them), every interface of
/sys/class/net with its addresses (``ip addr show primary|secondary dev IFACE``), and
the lists of all addresses, in ansible-core's shapes.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

Sections = Mapping[str, str]

ROUTE4 = "8.8.8.8"
ROUTE6 = "2404:6800:400a:800::1012"
_TYPES = {"1": "ether", "32": "infiniband", "512": "ppp", "772": "loopback", "65534": "tunnel"}


def _route(text: str | None, target: str) -> dict[str, str]:
    """``8.8.8.8 via 10.0.0.1 dev eth0 src 10.0.0.5`` -> interface, address, gateway."""
    lines = (text or "").splitlines()
    words = lines[0].split() if lines else []
    route: dict[str, str] = {}
    if not words or words[0] != target:
        return route
    for i in range(len(words) - 1):
        if words[i] == "dev":
            route["interface"] = words[i + 1]
        elif words[i] == "src":
            route["address"] = words[i + 1]
        elif words[i] == "via" and words[i + 1] != target:
            route["gateway"] = words[i + 1]
    return route


def _ipv4(words: list[str]) -> dict[str, str]:
    address, _, length = words[1].partition("/")
    length = length or "32"
    broadcast = words[3] if len(words) > 3 and words[2] == "brd" else ""
    net = ipaddress.IPv4Network(f"{address}/{length}", strict=False)
    return {"address": address, "broadcast": broadcast, "netmask": str(net.netmask),
            "network": str(net.network_address), "prefix": length}  # fmt: skip


class _Interfaces:
    def __init__(self, default4: dict[str, Any], default6: dict[str, Any]) -> None:
        self.by_name: dict[str, dict[str, Any]] = {}
        self.ipv4: list[str] = []
        self.ipv6: list[str] = []
        self.default4, self.default6 = default4, default6

    def device(self, name: str, text: str) -> None:
        info: dict[str, Any] = {"device": name}
        self.by_name[name] = info
        values: dict[str, str] = {}
        primary: list[str] = []
        secondary: list[str] = []
        part = None
        for line in text.splitlines():
            if line == "@primary":
                part = primary
            elif line == "@secondary":
                part = secondary
            elif part is not None:
                part.append(line)
            else:
                key, _, value = line.partition("=")
                values[key] = value.strip()
        mac = values.get("address")
        if mac and mac != "00:00:00:00:00:00":
            info["macaddress"] = mac
        if values.get("mtu", "").isdigit():
            info["mtu"] = int(values["mtu"])
        if "operstate" in values:
            info["active"] = values["operstate"] != "down"
        if values.get("module"):
            info["module"] = values["module"]
        if "type" in values:
            info["type"] = _TYPES.get(values["type"], "unknown")
        if "bridge" in values:
            info["type"] = "bridge"
            info["interfaces"] = [b for b in values["bridge"].split() if b != "*"]
            info["id"] = values.get("bridge_id", "")
            info["stp"] = values.get("stp_state") == "1"
        if values.get("pciid"):
            info["pciid"] = values["pciid"]
        speed = values.get("speed", "")
        if speed.lstrip("-").isdigit():
            info["speed"] = int(speed)
        if values.get("flags"):
            try:
                info["promisc"] = int(values["flags"], 16) & 0x0100 > 0
            except ValueError:
                pass
        self._addresses(name, primary, mac or "", secondary=False)
        self._addresses(name, secondary, mac or "", secondary=True)

    def _addresses(self, device: str, lines: list[str], mac: str, *, secondary: bool) -> None:
        info = self.by_name[device]
        for line in lines:
            words = line.split()
            if not words:
                continue
            if words[0] == "inet":
                v4 = _ipv4(words)
                iface = words[-1]
                if iface != device:
                    self.by_name.setdefault(iface.replace(":", "_"), {})
                target = self.by_name[iface.replace(":", "_")] if iface != device else info
                if not secondary and "ipv4" not in target:
                    target["ipv4"] = v4
                else:
                    target.setdefault("ipv4_secondaries", []).append(v4)
                if secondary:
                    info.setdefault("ipv4_secondaries", [])
                    if device != iface:
                        info["ipv4_secondaries"].append(v4)
                if self.default4.get("address") == v4["address"]:
                    self.default4.update(
                        {k: v4[k] for k in ("broadcast", "netmask", "network", "prefix")}
                    )
                    self.default4.update(macaddress=mac, mtu=info.get("mtu"),
                                         type=info.get("type", "unknown"), alias=iface)  # fmt: skip
                if not v4["address"].startswith("127."):
                    self.ipv4.append(v4["address"])
            elif words[0] == "inet6" and len(words) > 3:
                if words[2] == "peer" and len(words) > 5:
                    address, prefix, scope = words[1], words[3].split("/")[-1], words[5]
                else:
                    address, _, prefix = words[1].partition("/")
                    scope = words[3]
                info.setdefault("ipv6", []).append(
                    {"address": address, "prefix": prefix, "scope": scope}
                )
                if self.default6.get("address") == address:
                    self.default6.update(prefix=prefix, scope=scope, macaddress=mac,
                                         mtu=info.get("mtu"), type=info.get("type", "unknown"))  # fmt: skip
                if address != "::1":
                    self.ipv6.append(address)


def network_facts(sections: Sections) -> dict[str, Any]:
    """interfaces, ansible_<iface>, default_ipv4/6, all_ipv4/ipv6_addresses.

    >>> f = network_facts({"route4": "8.8.8.8 via 10.0.0.1 dev eth0 src 10.0.0.5",
    ...     "iface:eth0": "address=52:54:00:12:34:56\\nmtu=1500\\ntype=1\\n@primary\\n"
    ...     "    inet 10.0.0.5/24 brd 10.0.0.255 scope global eth0\\n@secondary"})
    >>> f["default_ipv4"]["network"], f["all_ipv4_addresses"], f["eth0"]["ipv4"]["netmask"]
    ('10.0.0.0', ['10.0.0.5'], '255.255.255.0')
    """
    names = [k.split(":", 1)[1] for k in sections if k.startswith("iface:")]
    if not names and "route4" not in sections:
        return {}
    default4 = _route(sections.get("route4"), ROUTE4)
    default6 = _route(sections.get("route6"), ROUTE6)
    found = _Interfaces(default4, default6)
    for name in names:
        found.device(name, sections[f"iface:{name}"])
    interfaces = {name.replace(":", "_"): info for name, info in found.by_name.items()}
    facts: dict[str, Any] = {"interfaces": list(interfaces)}
    facts.update(interfaces)
    facts.update(
        default_ipv4=default4,
        default_ipv6=default6,
        all_ipv4_addresses=found.ipv4,
        all_ipv6_addresses=found.ipv6,
    )
    return facts
