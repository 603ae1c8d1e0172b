"""A tiny Ansible collection, written for runner's tests, for the module bridge: modules
that use module_utils of their own collection (absolute and relative imports) and of
ansible-core, a redirect in meta/runtime.yml, a module without check mode, and one with
an action plugin (which the bridge refuses). It stands in for community.general, which is
published on Galaxy only (on PyPI it comes inside the whole ``ansible`` bundle)."""

from __future__ import annotations

import textwrap
from pathlib import Path

INIFMT = '''
from __future__ import annotations

from ansible.module_utils.common.text.converters import to_text


def set_option(text, section, option, value):
    """The INI text with OPTION = VALUE in [SECTION] (added where missing)."""
    lines = to_text(text).splitlines()
    out, current, done = [], None, False
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            if current == section and not done:
                out.append(f"{option} = {value}")
                done = True
            current = stripped[1:-1]
        elif current == section and stripped.split("=")[0].strip() == option:
            if not done:
                out.append(f"{option} = {value}")
                done = True
            continue
        out.append(line)
    if not done:
        if current != section:
            out.append(f"[{section}]")
        out.append(f"{option} = {value}")
    return "\\n".join(out) + "\\n"
'''

INI_SET = """#!/usr/bin/python
from __future__ import annotations

import os

from ansible.module_utils.basic import AnsibleModule
from ..module_utils.inifmt import set_option
from ansible_collections.runnertest.tools.plugins.module_utils import inifmt


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            section=dict(type="str", required=True),
            option=dict(type="str", required=True),
            value=dict(type="str", required=True),
            secret=dict(type="str", no_log=True),
        ),
        supports_check_mode=True,
    )
    path = module.params["path"]
    before = ""
    if os.path.exists(path):
        with open(path) as fh:
            before = fh.read()
    after = set_option(before, module.params["section"], module.params["option"],
                       module.params["value"])
    assert inifmt.set_option is set_option
    changed = after != before
    result = dict(changed=changed, path=path, msg="option changed" if changed else "OK")
    if module._diff:
        result["diff"] = dict(before=before, after=after, before_header=path, after_header=path)
    if changed and not module.check_mode:
        with open(path, "w") as fh:
            fh.write(after)
    if module.params["secret"]:
        result["echo"] = module.params["secret"]
    module.warn("ini_set is a test module")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
"""

NOCHECK = """#!/usr/bin/python
from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(argument_spec=dict(path=dict(type="path", required=True),
                                              fail=dict(type="bool", default=False)))
    if module.params["fail"]:
        module.fail_json(msg="asked to fail", path=module.params["path"])
    with open(module.params["path"], "a") as fh:
        fh.write("ran\\n")
    module.exit_json(changed=True, path=module.params["path"])


if __name__ == "__main__":
    main()
"""

RUNTIME = """
requires_ansible: ">=2.15"
plugin_routing:
  modules:
    old_ini_set:
      redirect: runnertest.tools.ini_set
    gone:
      tombstone:
        removal_version: 2.0.0
        warning_text: use runnertest.tools.ini_set instead
"""


def make_collection(root: Path) -> Path:
    """``root/ansible_collections/runnertest/tools``; returns ``root`` (a collections path)."""
    coll = root / "ansible_collections" / "runnertest" / "tools"
    files = {
        "galaxy.yml": "namespace: runnertest\nname: tools\nversion: 1.0.0\n",
        "meta/runtime.yml": RUNTIME,
        "plugins/module_utils/inifmt.py": INIFMT,
        "plugins/modules/ini_set.py": INI_SET,
        "plugins/modules/nocheck.py": NOCHECK,
        "plugins/modules/needs_action.py": NOCHECK,
        "plugins/action/needs_action.py": "# an action plugin runner does not provide\n",
    }
    for rel, text in files.items():
        path = coll / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return root
