"""The package-side modules beyond apt/package (yum, dnf...), by name: gathered here so
runner.playbook.modules registers them with one line."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from runner.playbook.modules import aptkey, pipmod, pkgfacts, repos, rpmpkgs
from runner.playbook.modules.base import ModuleContext, ModuleResult

PACKAGING_MODULES: dict[str, Callable[[ModuleContext, dict[str, Any]], ModuleResult]] = {
    "yum": rpmpkgs.dnf,
    "dnf": rpmpkgs.dnf,
    "package_facts": pkgfacts.package_facts,
    "pip": pipmod.pip,
    "yum_repository": repos.yum_repository,
    "apt_repository": repos.apt_repository,
    "apt_key": aptkey.apt_key,
}
