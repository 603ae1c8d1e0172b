"""End-to-end, against real sshd: runner copy renders DEST per host (as run renders its
command), and a failed copy names the path it failed on."""

from __future__ import annotations

import pytest

from tests.conftest import json_records, run_inprocess

pytestmark = pytest.mark.sshd


def hosts_of(res) -> dict[str, dict]:
    return {r["host"]: r for r in json_records(res.stdout) if r["type"] == "host"}


def test_copy_renders_dest_per_host(make_fleet, tmp_path):
    fleet = make_fleet(2)
    src = tmp_path / "app.conf"
    src.write_text("listen 80\n")
    for name in fleet.names:
        (tmp_path / "srv" / name).mkdir(parents=True)
    dest = str(tmp_path / "srv") + "/{{ inventory_hostname }}/{{ conf }}"
    res = run_inprocess("copy", *fleet.args(), "-e", "conf=x.conf", "--json", "all", str(src), dest)
    assert res.exit_code == 0, res
    for name in fleet.names:
        assert (tmp_path / "srv" / name / "x.conf").read_text() == "listen 80\n"
        assert f"srv/{name}/x.conf" in hosts_of(res)[name]["stdout"]
    assert not (tmp_path / "srv" / "{{ inventory_hostname }}").exists()


def test_copy_failure_names_the_path(make_fleet, tmp_path):
    fleet = make_fleet(1)
    src = tmp_path / "app.conf"
    src.write_text("x\n")
    dest = str(tmp_path / "missing") + "/{{ inventory_hostname }}/app.conf"
    res = run_inprocess("copy", *fleet.args(), "--json", "all", str(src), dest)
    assert res.exit_code != 0, res
    error = hosts_of(res)[fleet.names[0]]["error"]
    assert f"{tmp_path}/missing/{fleet.names[0]}/app.conf" in error, error


def test_copy_dest_syntax_error_is_an_input_error(make_fleet, tmp_path):
    fleet = make_fleet(1)
    src = tmp_path / "app.conf"
    src.write_text("x\n")
    res = run_inprocess("copy", *fleet.args(), "all", str(src), "/tmp/{{ oops")
    assert res.exit_code == 1, res  # an input error, before any connection
    assert res.stderr.startswith("runner: error: DEST: template syntax error"), res.stderr
    assert "DEST" in res.stderr and not json_records(res.stdout)
