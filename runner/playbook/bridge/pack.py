"""A module and the ``module_utils`` it imports, packed into one zip the target's Python
imports from (the idea of Ansible's AnsiballZ; this code is runner's own).

The imports are read with ``ast``, never executed: ``import ansible.module_utils.X``,
``from ansible.module_utils.X import Y`` (Y a module or a name), the same under
``ansible_collections.NS.COLL.plugins.module_utils``, and relative imports; then the
imports of what was found, until nothing new turns up. Every package on the way gets its
``__init__.py`` (the real one where there is one). A few files basic.py loads by name
rather than by import (its serialization profiles, the loader) are added when present.
"""

from __future__ import annotations

import ast
import io
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

from runner.playbook.bridge.locate import Locator, ModuleFile

#: module_utils that ansible-core's basic.py imports by name (importlib), so no ``ast``
#: scan can see them; each is packed when the installed ansible-core has it.
BY_NAME = (
    "ansible.module_utils.basic",
    "ansible.module_utils._internal._ansiballz._loader",
    "ansible.module_utils._internal._json._profiles._module_legacy_c2m",
    "ansible.module_utils._internal._json._profiles._module_legacy_m2c",
)

_STUB_ANSIBLE = b"__path__ = __import__('pkgutil').extend_path(__path__, __name__)\n"


@dataclass(frozen=True)
class Payload:
    """The zip of one module: its bytes and the file names in it (for tests and -v)."""

    module: ModuleFile
    data: bytes
    names: tuple[str, ...]


def _candidates(tree: ast.Module, name: str, is_package: bool) -> Iterator[tuple[str, ...]]:
    """Dotted names an import in ``tree`` may refer to (a name of ``from X import Y``
    yields X.Y then X: which one is a module is found out on disk)."""
    package = name.split(".") if is_package else name.split(".")[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield tuple(alias.name.split("."))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                keep = len(package) - (node.level - 1)
                if keep <= 0:
                    continue
                base = package[:keep] + (node.module.split(".") if node.module else [])
            else:
                base = (node.module or "").split(".")
            for alias in node.names:
                yield (*base, alias.name)
            yield tuple(base)


def _wanted(parts: tuple[str, ...]) -> bool:
    if parts[:2] == ("ansible", "module_utils") and len(parts) > 2:
        return True
    return (
        len(parts) > 5
        and parts[0] == "ansible_collections"
        and parts[3:5] == ("plugins", "module_utils")
    )


class Packer:
    """Builds the zip for a module found by ``locator``. ``scans`` (shared by the
    packers of a run) keeps each file's content and imports: basic.py and its closure
    are read once, not once per module."""

    def __init__(
        self, locator: Locator, scans: dict[str, tuple[bytes, list]] | None = None
    ) -> None:
        self.locator = locator
        self.scans = {} if scans is None else scans

    def _scan(self, path: str, name: str, is_package: bool) -> tuple[bytes, list]:
        key = f"{path}\0{name}"
        if key not in self.scans:
            with open(path, "rb") as fh:
                data = fh.read()
            self.scans[key] = (data, list(_candidates(_parse(data, path), name, is_package)))
        return self.scans[key]

    def source_of(self, parts: tuple[str, ...]) -> tuple[str, bool] | None:
        """(file, is_package) of a dotted module name, or None when there is none."""
        if parts[:2] == ("ansible", "module_utils"):
            if self.locator.ansible_dir is None:
                return None
            base = os.path.join(self.locator.ansible_dir, "module_utils", *parts[2:])
        elif parts[0] == "ansible_collections" and len(parts) >= 3:
            where = self.locator.collection_dir(parts[1], parts[2])
            if where is None:
                return None
            base = os.path.join(where, *parts[3:])
        else:
            return None
        if os.path.isfile(base + ".py"):
            return base + ".py", False
        init = os.path.join(base, "__init__.py")
        if os.path.isfile(init):
            return init, True
        if os.path.isdir(base):
            return "", True  # a namespace directory: an empty __init__.py
        return None

    def pack(self, module: ModuleFile) -> Payload:
        files: dict[str, bytes] = {}  # zip name -> content
        with open(module.path, "rb") as fh:
            source = fh.read()
        files[module.python_name.replace(".", "/") + ".py"] = source
        todo: list[tuple[str, ...]] = [tuple(n.split(".")) for n in BY_NAME]
        todo += list(_candidates(_parse(source, module.path), module.python_name, False))
        seen: set[tuple[str, ...]] = set()
        while todo:
            parts = todo.pop()
            if parts in seen or not _wanted(parts):
                continue
            seen.add(parts)
            found = self.source_of(parts)
            if found is None:
                continue  # a name imported from a module, or an optional import
            path, is_package = found
            zip_name = "/".join(parts) + ("/__init__.py" if is_package else ".py")
            data = b""
            if path:
                data, imports = self._scan(path, ".".join(parts), is_package)
                todo += imports
            files[zip_name] = data
            todo += [parts[:i] for i in range(3, len(parts))]  # the packages above it
        _add_packages(files)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
            for name in sorted(files):
                info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, files[name])
        return Payload(module, buffer.getvalue(), tuple(sorted(files)))


def _add_packages(files: dict[str, bytes]) -> None:
    """An ``__init__.py`` for every directory in the zip that lacks one; ``ansible`` and
    ``ansible/module_utils`` get a namespace stub (the real ones import controller code)."""
    for name in list(files):
        parts = name.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            files.setdefault("/".join(parts[:i]) + "/__init__.py", b"")
    for stub in ("ansible/__init__.py", "ansible/module_utils/__init__.py"):
        if stub in files:
            files[stub] = _STUB_ANSIBLE


def _parse(source: bytes, path: str) -> ast.Module:
    try:
        return ast.parse(source, filename=path)
    except (SyntaxError, ValueError):
        return ast.Module(body=[], type_ignores=[])
