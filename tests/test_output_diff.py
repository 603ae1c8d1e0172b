"""--diff (each output group as a unified diff against the reference group) and failure
reasons folded across hosts whose addresses differ: pure functions, the renderer on fake
results, and the real CLI against real sshd."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from runner.aggregate import fold_addresses, fold_reasons, split_addresses
from runner.config import OutputConfig, RunConfig
from runner.events import RunFinished
from runner.models import CommandResult, HostResult, RunReport, Status
from runner.output import GroupedReport, make_console
from runner.testing.fleet import free_port
from tests.conftest import json_records


def ok(host: str, stdout: bytes, code: int = 0, stderr: bytes = b"") -> HostResult:
    status = Status.OK if code == 0 else Status.FAILED
    return HostResult(host, status, CommandResult(code, stdout, stderr, 0.1), duration=0.1)


def down(host: str, error: str) -> HostResult:
    return HostResult(host, Status.UNREACHABLE, error=error, error_kind="connect")


def render(results: list[HostResult], *, terminal: bool = False, **kw) -> str:  # type: ignore[no-untyped-def]
    out = io.StringIO()
    con = make_console(out, force_terminal=terminal, width=80, environ={})
    GroupedReport(con, **kw).handle(RunFinished(RunReport({r.host: r for r in results}, 1.0)))
    return out.getvalue()


# -- the normaliser ---------------------------------------------------------------------

HOSTS = st.sampled_from(["127.0.0.1", "10.0.0.7", "web01.example.com", "db-3", "[::1]", "::1"])
USERS = st.sampled_from(["", "deploy@", "root@", "ops.team@"])
PORTS = st.integers(min_value=1, max_value=65535)
TEMPLATES = st.sampled_from(
    [
        "connection refused ({})",
        "timed out connecting to {} after 5s",
        "cannot connect to {}: No route to host",
        "authentication failed for {} (tried: ~/.ssh/id_ed25519 (key refused))",
        "connection lost ({} via bastion {})",
        "bastion {}: connection refused ({})",
    ]
)


@given(TEMPLATES, st.lists(st.tuples(USERS, HOSTS, PORTS), min_size=2, max_size=2))
def test_split_addresses_takes_out_every_address(template, parts) -> None:  # type: ignore[no-untyped-def]
    addresses = [f"{user}{host}:{port}" for user, host, port in parts]
    reason = template.format(*addresses)
    shape, found = split_addresses(reason)
    count = template.count("{}")
    assert shape == template.replace("{}", "\x00")
    assert found == tuple(addresses[:count])
    # and it is reversible: the parts put back give the exact message
    pieces = shape.split("\x00")
    assert "".join(p + a for p, a in zip(pieces, [*found, ""], strict=True)) == reason


@given(st.text(alphabet="abc xyz-_/.()~", max_size=40))
def test_split_addresses_leaves_text_without_addresses(text: str) -> None:
    assert split_addresses(text) == (text, ())


def test_fold_addresses_forms() -> None:
    ports = [f"127.0.0.1:{p}" for p in (2230, *range(2201, 2230))]
    assert fold_addresses(ports) == "127.0.0.1:[2201-2230]"
    assert fold_addresses(["127.0.0.1:2201", "127.0.0.1:2201"]) == "127.0.0.1:2201"
    assert fold_addresses([f"10.0.1.{i}:22" for i in range(1, 31)]) == "10.0.1.[1-30]:22"
    scattered = [f"127.0.0.1:{p}" for p in range(2201, 2300, 2)]
    assert fold_addresses(scattered) == "50 addresses"  # too long folded
    assert fold_addresses(["a:22", "b:22"]) == "2 addresses"


def test_fold_reasons_keeps_different_reasons_apart() -> None:
    pairs = [
        ("web01", "connection refused (127.0.0.1:2201)"),
        ("web02", "timed out connecting to 127.0.0.1:2202 after 5s"),
        ("web03", "connection refused (127.0.0.1:2203)"),
    ]
    assert fold_reasons(pairs) == [
        (["web01", "web03"], "connection refused (127.0.0.1:[2201,2203])"),
        (["web02"], "timed out connecting to 127.0.0.1:2202 after 5s"),
    ]


def test_grouped_folds_unreachable_reasons_across_addresses() -> None:
    results = [
        down(f"web{i:02d}", f"connection refused (127.0.0.1:{2200 + i})") for i in range(1, 31)
    ]
    results.append(down("db1", "authentication failed for deploy@10.0.0.32:22 (tried: x)"))
    assert render(results) == (
        "db1: unreachable: authentication failed for deploy@10.0.0.32:22 (tried: x)\n"
        "web[01-30]: unreachable: connection refused (127.0.0.1:[2201-2230])\n"
        "ok=0 failed=0 unreachable=31 hosts=31 in 1.0s\n"
    )


# -- --diff rendering -------------------------------------------------------------------

FLEET = [
    *[ok(f"web{i:02d}", b"Linux\n5.15\nx86_64\n") for i in range(1, 19)],
    ok("web19", b"Linux\n6.1\nx86_64\n"),
    ok("web20", b"Linux\n5.15\nx86_64\n", code=3, stderr=b"warning: disk\n"),
]


def test_diff_shows_reference_in_full_and_the_others_as_diffs() -> None:
    assert render(FLEET, diff=True) == (
        "--- web[01-18] (18)\n"
        "+++ web19 (1)\n"
        "@@ -1,3 +1,3 @@\n"
        " Linux\n"
        "-5.15\n"
        "+6.1\n"
        " x86_64\n"
        "---- web[01-18] (18) ----\n"
        "Linux\n"
        "5.15\n"
        "x86_64\n"
        "--- web[01-18] (18)\n"
        "+++ web20 (1) exit 3\n"
        "warning: disk\n"
        "\n"
        "ok=19 failed=1 unreachable=0 hosts=20 in 1.0s\n"
    )


def test_diff_reference_is_lowest_exit_code_then_largest() -> None:
    results = [ok(f"bad{i}", b"x\n", code=1) for i in range(5)] + [ok("good", b"y\n")]
    text = render(results, diff=True)
    assert "---- good (1) ----\ny\n" in text
    assert "--- good (1)\n+++ bad[0-4] (5) exit 1\n@@ -1 +1 @@\n-y\n+x\n" in text


def test_diff_with_one_group_is_the_usual_report() -> None:
    same = [ok(f"web{i}", b"hi\n") for i in range(3)]
    assert render(same, diff=True) == render(same)


def test_diff_quiet_has_no_effect() -> None:
    assert render(FLEET, diff=True, quiet=True) == render(FLEET, quiet=True)


def test_diff_lines_escape_controls_on_a_terminal() -> None:
    results = [ok("a1", b"ok\n"), ok("a2", b"ok\n"), ok("b1", b"\x1b]0;pwned\x07\n")]
    text = re.sub(r"\x1b\[[0-9;]*m", "", render(results, diff=True, terminal=True))
    assert "+^[]0;pwned^G\n" in text
    assert "\x07" not in text


def test_output_config_diff_round_trips() -> None:
    config = RunConfig(output=OutputConfig(diff=True))
    assert RunConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert RunConfig().output.diff is False


# -- end to end -------------------------------------------------------------------------


def test_e2e_diff_against_real_sshd(in_process, make_fleet) -> None:  # type: ignore[no-untyped-def]
    fleet = make_fleet(4)
    cmd = (
        "echo Linux; "
        "if [ {{ inventory_hostname }} = web04 ]; then echo 6.1; else echo 5.15; fi; echo end"
    )
    res = in_process("run", *fleet.args(), "--diff", "all", cmd)
    # groups in the usual order (exit code, then host set): web04 sorts before web[01-03]
    assert res.exit_code == 0, res
    assert re.sub(r" in [\d.]+s$", " in Xs", res.stdout, flags=re.M) == (
        "--- web[01-03] (3)\n"
        "+++ web04 (1)\n"
        "@@ -1,3 +1,3 @@\n"
        " Linux\n"
        "-5.15\n"
        "+6.1\n"
        " end\n"
        "---- web[01-03] (3) ----\n"
        "Linux\n"
        "5.15\n"
        "end\n"
        "\n"
        "ok=4 failed=0 unreachable=0 hosts=4 in Xs\n"
    )


def test_e2e_closed_ports_fold_into_one_unreachable_line(in_process, tmp_path) -> None:  # type: ignore[no-untyped-def]
    ports = [free_port() for _ in range(20)]
    lines = ["all:", "  vars:", "    ansible_host: 127.0.0.1", "  hosts:"]
    for i, port in enumerate(ports, 1):
        lines += [f"    dead{i:02d}:", f"      ansible_port: {port}"]
    inv = tmp_path / "closed.yml"
    inv.write_text("\n".join(lines) + "\n")
    res = in_process("run", "-i", str(inv), "all", "true")
    assert res.exit_code == 4, res
    report = res.stdout.splitlines()
    assert len(report) == 2, res
    assert re.fullmatch(
        r"dead\[01-20\]: unreachable: connection refused \((127\.0\.0\.1:\[[0-9,-]+\]|20 addresses)\)",
        report[0],
    ), report
    # JSON keeps each host's exact message, its own address included
    res = in_process("run", "-i", str(inv), "--json", "all", "true")
    errors = {r["host"]: r["error"] for r in json_records(res.stdout) if r["type"] == "host"}
    assert errors["dead07"] == f"connection refused (127.0.0.1:{ports[6]})"


def test_readme_sample_is_what_runner_prints() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    sample = readme.split("### What you see", 1)[1].split("```\n", 2)[1]
    results = [ok(f"web{i:02d}", b"Linux\n") for i in range(1, 21)]
    results += [
        ok("db3", b"Linux\n"),
        ok("web21", b"", 2, b"ls: cannot access '/x': No such file or directory\n"),
    ]
    results += [down(f"web{i}", f"connection refused (10.0.0.{i}:22)") for i in (30, 31)]
    results.append(
        down("web32", "authentication failed for deploy@10.0.0.32:22 (tried: ~/.ssh/id_ed25519)")
    )
    out = io.StringIO()
    con = make_console(out, force_terminal=False, width=120, environ={})
    GroupedReport(con).handle(RunFinished(RunReport({r.host: r for r in results}, 1.83)))
    assert out.getvalue() == sample


def test_readme_diff_sample_is_what_runner_prints() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    sample = readme.split("$ runner run web --diff 'uname -r'\n", 1)[1].split("```\n", 1)[0]
    results = [ok(f"web{i:02d}", b"5.15.0-91-generic\n") for i in range(1, 19)]
    results.append(ok("web19", b"6.1.0-13-amd64\n"))
    out = io.StringIO()
    con = make_console(out, force_terminal=False, width=120, environ={})
    GroupedReport(con, diff=True).handle(RunFinished(RunReport({r.host: r for r in results}, 0.9)))
    assert out.getvalue() == sample


def test_fold_reasons_keeps_a_nul_in_a_reason_exactly() -> None:
    pairs = [("a", "bad \x00 (127.0.0.1:22)"), ("b", "bad \x00 (127.0.0.1:22)"), ("c", "x:1")]
    assert fold_reasons(pairs) == [(["a", "b"], "bad \x00 (127.0.0.1:22)"), (["c"], "x:1")]
