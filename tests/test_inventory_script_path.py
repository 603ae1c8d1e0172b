"""End-to-end: a dynamic inventory named by a relative path runs the very file that was
checked (by absolute path), never a program of the same name found on $PATH."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.conftest import json_records

SCRIPT = """\
#!/bin/sh
{extra}
cat <<'EOF'
{{"all": {{"hosts": ["{host}"]}},
 "_meta": {{"hostvars": {{"{host}": {{"ansible_connection": "local"}}}}}}}}
EOF
"""


def write_script(path: Path, host: str, extra: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(SCRIPT.format(host=host, extra=extra))
    path.chmod(0o755)
    return path


def test_relative_inventory_script_is_not_looked_up_on_path(cli, tmp_path):
    project = tmp_path / "project"
    write_script(project / "hosts.py", "right-host")
    marker = tmp_path / "decoy-ran"
    write_script(tmp_path / "bin" / "hosts.py", "decoy-host", extra=f"touch {marker}")
    env = {"PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    runs = [
        (project, "hosts.py"),  # the bare name, from its own folder
        (project, "./hosts.py"),
        (tmp_path, "project/hosts.py"),  # from another folder, relative to it
        (tmp_path / "bin", "../project/hosts.py"),  # from the decoy's own folder
    ]
    for cwd, name in runs:
        res = cli("inventory", "-i", name, "--list", env=env, cwd=cwd)
        assert res.exit_code == 0, (cwd, name, res)
        hosts = json.loads(res.stdout)["_meta"]["hostvars"]
        assert list(hosts) == ["right-host"], (cwd, name, res.stdout)
        ran = cli(
            "run", "-i", name, "--json", "all", "echo {{ inventory_hostname }}", env=env, cwd=cwd
        )
        assert ran.exit_code == 0, (cwd, name, ran)
        records = [r for r in json_records(ran.stdout) if r["type"] == "host"]
        assert [(r["host"], r["stdout"]) for r in records] == [("right-host", "right-host\n")]
    assert not marker.exists(), "the hosts.py found on PATH ran"
