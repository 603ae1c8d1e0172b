"""Python package requirements and versions as pip reads them (PEP 440/508, the parts the
pip module needs): a requirement written as ``str(packaging.Requirement)`` writes it, its
canonical name, and whether a version satisfies its specifiers. Pure functions; runner
does not depend on ``packaging``."""

from __future__ import annotations

import re

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$", re.S)
_SPEC = re.compile(r"^(===|~=|==|!=|<=|>=|<|>)\s*(\S+)$")
_VERSION = re.compile(
    r"^v?(?:(\d+)!)?(\d+(?:\.\d+)*)"
    r"(?:[-_.]?(a|b|c|rc|alpha|beta|pre|preview)[-_.]?(\d*))?"
    r"(?:(?:-(\d+))|(?:[-_.]?(post|rev|r)[-_.]?(\d*)))?"
    r"(?:[-_.]?dev[-_.]?(\d*))?(?:\+[a-z0-9]+(?:[-_.][a-z0-9]+)*)?$",
    re.I,
)
_PRE = {"a": 0, "alpha": 0, "b": 1, "beta": 1, "c": 2, "rc": 2, "pre": 2, "preview": 2}
_INF = float("inf")


def _split(text: str) -> tuple[str, str, list[tuple[str, str]], str] | None:
    """(name, extras, [(operator, version)], marker) of a plain requirement, else None."""
    requirement, _, marker = text.partition(";")
    found = _NAME.match(requirement)
    if found is None:
        return None
    name, extras, rest = found.group(1), found.group(2) or "", found.group(3).strip()
    if rest.startswith("(") and rest.endswith(")"):
        rest = rest[1:-1]
    specs = []
    for part in filter(None, (p.strip() for p in rest.split(","))) if rest else []:
        spec = _SPEC.match(part)
        if spec is None:
            return None
        specs.append((spec.group(1), spec.group(2)))
    return name, extras.replace(" ", ""), specs, marker.strip()


def requirement(text: str) -> str:
    """A requirement as pip's ``Requirement`` prints it (anything else, such as a URL or a
    path, as given).

    >>> requirement("Django >1.11.0, <1.12.0")
    'Django<1.12.0,>1.11.0'
    >>> requirement("git+https://example.com/x.git")
    'git+https://example.com/x.git'
    """
    parts = _split(text)
    if parts is None:
        return text.strip()
    name, extras, specs, marker = parts
    spec = ",".join(sorted(f"{op}{version}" for op, version in specs))
    return f"{name}{extras}{spec}" + (f"; {marker}" if marker else "")


def package_name(text: str) -> str:
    """The canonical name of a requirement (``Foo_Bar>=1`` -> ``foo-bar``)."""
    parts = _split(text)
    if parts is None:
        return text
    return re.sub(r"[-_.]+", "-", parts[0]).lower()


def has_specifier(text: str) -> bool:
    parts = _split(text)
    return parts is not None and bool(parts[2])


def version_key(text: str) -> tuple:
    """A sort key ordering versions as PEP 440: 1.0.dev1 < 1.0a1 < 1.0 < 1.0.post1.

    >>> sorted(["1.0", "1.0.post1", "1.0a1", "1.0.dev1", "0.9"], key=version_key)
    ['0.9', '1.0.dev1', '1.0a1', '1.0', '1.0.post1']
    """
    found = _VERSION.match(text.strip())
    if found is None:
        return (-1, (), (_INF, 0), -_INF, _INF, text)  # not a PEP 440 version
    epoch, release, pre_l, pre_n, post_dash, post_l, post_n, dev = found.groups()
    numbers = [int(x) for x in release.split(".")]
    while len(numbers) > 1 and numbers[-1] == 0:
        numbers.pop()
    post = int(post_dash or post_n or 0) if (post_dash or post_l) else -_INF
    dev_n = int(dev) if dev is not None and dev != "" else (0 if dev is not None else _INF)
    if pre_l:
        pre: tuple[float, int] = (_PRE[pre_l.lower()], int(pre_n or 0))
    elif dev_n != _INF and post == -_INF:
        pre = (-_INF, 0)
    else:
        pre = (_INF, 0)
    return (int(epoch or 0), tuple(numbers), pre, post, dev_n, "")


def _release(text: str) -> list[int]:
    found = _VERSION.match(text.strip())
    return [int(x) for x in found.group(2).split(".")] if found else []


def _prefix_match(version: str, prefix: str) -> bool:
    wanted = _release(prefix.rstrip("*").rstrip("."))
    have = _release(version)
    have += [0] * (len(wanted) - len(have))
    return have[: len(wanted)] == wanted


def _one(version: str, op: str, wanted: str) -> bool:
    if op == "===":
        return version.strip() == wanted
    if wanted.endswith(".*") and op in ("==", "!="):
        return _prefix_match(version, wanted) == (op == "==")
    have, want = version_key(version), version_key(wanted)
    if op == "~=":
        prefix = ".".join(str(n) for n in _release(wanted)[:-1])
        return have >= want and _prefix_match(version, prefix + ".*")
    return {
        "==": have == want, "!=": have != want, ">=": have >= want,
        "<=": have <= want, ">": have > want, "<": have < want,
    }[op]  # fmt: skip


def satisfied(text: str, version: str) -> bool:
    """Whether ``version`` meets every specifier of the requirement (pre-releases too,
    as ansible-core asks).

    >>> satisfied("a>=1.0,<2", "1.5"), satisfied("a==1.*", "2.0"), satisfied("a~=1.4", "1.9")
    (True, False, True)
    """
    parts = _split(text)
    if parts is None:
        return False
    return all(_one(version, op, wanted) for op, wanted in parts[2])
