"""pip natively against ansible-core's pip run through the Ansible module bridge, each on
its own virtualenv that the module makes, on the real sshd fleet: the same recap, the same
registered keys, the same values that matter, the same packages in each venv.

No network: the packages are two tiny wheels the test writes (runner-test-pip 1.0 and 1.1)
and pip reads only their folder (PIP_NO_INDEX, PIP_FIND_LINKS in the play's environment).
``virtualenv_command`` is a small script (venv without its own pip, seeing the system
python's pip through ``--system-site-packages``, with a ``bin/pip3`` that runs it): ensurepip
takes half a minute per venv on the test machine. ansible-core's pip needs ``packaging``
on the target's python: the bridged run uses the test environment's python.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.system_side import dump_task
from tests.test_native_vs_bridge_e2e import MODES, compare_registered, run_native_and_bridged

pytestmark = pytest.mark.sshd

NAMES = [f"p{i}" for i in range(1, 12)]

PLAY = """\
- hosts: all
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ python }}"
    venv_args: {virtualenv: "{{ venv }}", virtualenv_command: "{{ mkvenv }}"}
  environment:
    PIP_NO_INDEX: "1"
    PIP_FIND_LINKS: "{{ wheels }}"
    PIP_DISABLE_PIP_VERSION_CHECK: "1"
  tasks:
    - pip: {name: runner-test-pip, version: "1.0", virtualenv: "{{ venv }}", virtualenv_command: "{{ mkvenv }}"}
      register: p1
    - pip: {name: runner-test-pip, version: "1.0", virtualenv: "{{ venv }}"}
      register: p2
    - name: check mode, a version that is not installed
      pip: {name: "runner_test_pip==1.1", virtualenv: "{{ venv }}"}
      check_mode: true
      register: p3
    - pip: {name: "runner-test-pip>=1.0,<2", virtualenv: "{{ venv }}"}
      check_mode: true
      register: p4
    - pip: {name: runner-test-pip, state: latest, virtualenv: "{{ venv }}"}
      register: p5
    - pip: {name: runner-test-pip, state: absent, executable: "{{ venv }}/bin/pip3"}
      register: p6
    - pip: {name: runner-test-pip, state: absent, virtualenv: "{{ venv }}"}
      register: p7
      check_mode: true
    - pip: {requirements: "{{ reqs }}", virtualenv: "{{ venv }}", chdir: /tmp}
      register: p8
    - pip: {requirements: "{{ reqs }}", virtualenv: "{{ venv }}"}
      register: p9
    - pip: {name: runner-test-nosuch, virtualenv: "{{ venv }}"}
      register: p10
      ignore_errors: true
    - pip: {name: [runner-test-pip], virtualenv: "{{ venv }}", extra_args: "--no-deps", state: forcereinstall}
      register: p11
""" + dump_task(NAMES)

MKVENV = """\
#!/bin/sh
# virtualenv_command for the tests: a venv without its own pip that sees the system pip
[ "$1" = --help ] && { echo "usage: mkvenv [-pPYTHON] DIR"; exit 0; }
for a in "$@"; do case $a in -*) ;; *) dir=$a ;; esac; done
/usr/bin/python3 -m venv --without-pip --system-site-packages "$dir" || exit 1
printf '#!/bin/sh\\nexec "%s/bin/python" -m pip "$@"\\n' "$dir" > "$dir/bin/pip3"
chmod +x "$dir/bin/pip3"
echo "created virtual environment in $dir"
"""


def _wheel(folder: Path, version: str) -> None:
    """A pure-Python wheel of runner-test-pip, written by hand (no build tools)."""
    dist = f"runner_test_pip-{version}.dist-info"
    files = {
        "runner_test_pip/__init__.py": f"VERSION = {version!r}\n",
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: runner-test-pip\nVersion: {version}\n",
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: runner-tests\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
    }
    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{name},sha256={digest.decode()},{len(text.encode())}")
    files[f"{dist}/RECORD"] = "\n".join([*record, f"{dist}/RECORD,,"]) + "\n"
    with zipfile.ZipFile(folder / f"runner_test_pip-{version}-py3-none-any.whl", "w") as whl:
        for name, text in files.items():
            whl.writestr(name, text)


def _why_not() -> str | None:
    if subprocess.run(
        ["/usr/bin/python3", "-m", "pip", "--version"], capture_output=True
    ).returncode:
        return "the system python3 has no pip"
    return None


def _installed(venv: Path) -> str:
    found = list((venv / "lib").glob("python3*/site-packages/runner_test_pip-*.dist-info"))
    return ",".join(sorted(p.name for p in found))


def test_pip_native_as_bridged(make_fleet, in_process, tmp_path):
    reason = _why_not()
    if reason:
        pytest.skip(reason)
    fleet = make_fleet(1)
    host = fleet.names[0]
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for version in ("1.0", "1.1"):
        _wheel(wheels, version)
    mkvenv = tmp_path / "mkvenv"
    mkvenv.write_text(MKVENV)
    mkvenv.chmod(0o755)
    reqs = tmp_path / "requirements.txt"
    reqs.write_text("runner-test-pip==1.0\n")
    venvs = {mode: tmp_path / f"venv-{mode[0]}" for mode in MODES}  # one length

    def reset(mode: str) -> dict[str, str]:
        return {"venv": str(venvs[mode]), "wheels": str(wheels), "mkvenv": str(mkvenv),
                "reqs": str(reqs), "python": sys.executable}  # fmt: skip

    recaps, outs = run_native_and_bridged(
        tmp_path, fleet, in_process, PLAY, reset, ("pip",), probe="p1", timeout=300
    )  # a dozen pip runs a side
    assert recaps["native"][host]["changed"] == 7, recaps  # p1 p3 p5 p6 p8 p11, the dump
    assert recaps["native"][host]["ignored"] == 1, recaps
    assert _installed(venvs["native"]) == _installed(venvs["bridged"]) != ""
    for mode in MODES:  # each mode has its own venv: compare its path as VENV
        path = outs[mode] / f"{host}.json"
        path.write_text(path.read_text().replace(str(venvs[mode]), "VENV"))
    keys = ("changed", "cmd", "name", "version", "state", "requirements", "virtualenv")
    # p10's failure: pip's own words (with the temp paths) in msg; failed is compared
    native, bridged = compare_registered(outs, host, NAMES, keys, p10=("msg",))
    assert [r["p10"]["failed"] for r in (native, bridged)] == [True, True]
    assert native["p3"]["changed"] is True and native["p4"]["changed"] is False
    assert "Successfully installed runner-test-pip-1.1" in native["p5"]["stdout"]
    assert json.dumps(native["p1"]["cmd"]) == json.dumps(bridged["p1"]["cmd"])
