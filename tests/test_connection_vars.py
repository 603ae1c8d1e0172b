"""Connection variables that cannot be used are input errors before any connection."""

from __future__ import annotations

import pytest

from tests.conftest import run_cli


@pytest.mark.parametrize("value", ["abc", "70000", "22x", "-1"])
def test_a_port_that_is_no_number_is_an_input_error(tmp_path, value):
    marker = tmp_path / "ran"
    result = run_cli(
        "run",
        "-i",
        "web1,",
        "-e",
        f"ansible_port={value}",
        "-e",
        "ansible_connection=local",
        "all",
        f"touch {marker}",
    )
    assert result.exit_code == 1, result
    assert "ansible_port of host 'web1' must be a port number" in result.stderr
    assert "Traceback" not in result.stderr
    assert not marker.exists()


def test_a_port_number_is_accepted(tmp_path):
    marker = tmp_path / "ran"
    result = run_cli(
        "run", "-i", "web1,", "-e", "ansible_port=2222", "-e", "ansible_connection=local",
        "all", f"touch {marker}",
    )  # fmt: skip
    assert result.exit_code == 0, result
    assert marker.exists()
