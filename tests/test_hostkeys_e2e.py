"""Host keys: runner refuses what OpenSSH refuses.

Every case puts the same known_hosts text in two files, runs the real ``ssh`` client on
one and runner on the other (all cases of a test in ONE runner run: each inventory host
has its own known_hosts file and policy), and compares the verdicts: connected or not,
and what was appended to the file. Where runner deliberately differs from ssh the test
says so and asserts both sides.
"""

from __future__ import annotations

import doctest
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import paramiko
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from runner.config import ConnectionConfig
from runner.testing.fleet import SSHServer, keygen
from runner.transport.ssh import known_hosts as kh_module
from runner.transport.ssh.hostkey import HostCertificate
from runner.transport.ssh.known_hosts import KnownHosts, match_host, match_pattern
from runner.transport.ssh.settings import DEFAULT_GLOBAL_KNOWN_HOSTS, resolve_settings
from tests.conftest import REPO, json_records, require_sshd

pytestmark = pytest.mark.sshd

SSH_POLICY = {"strict": "yes", "accept-new": "accept-new", "off": "no"}


def pub(path: Path) -> str:
    """'type base64' of a public key file."""
    return " ".join(Path(f"{path}.pub").read_text().split()[:2])


def hashed(name: str, key: str, tmp_path: Path) -> str:
    """``name`` as ssh-keygen -H writes it in known_hosts."""
    plain = tmp_path / "to_hash"
    plain.write_text(f"{name} {key}\n")
    subprocess.run(["ssh-keygen", "-q", "-H", "-f", str(plain)], check=True, capture_output=True)
    return plain.read_text().split()[0]


@dataclass
class Servers:
    ed: SSHServer  # ssh-ed25519 host key only
    rsa: SSHServer  # ssh-rsa host key only
    both: SSHServer  # ed25519 and rsa host keys
    cert: SSHServer  # an ed25519 key with a host certificate signed by ``ca``
    cert_other_host: SSHServer  # ... signed by ``ca`` for another host name
    cert_expired: SSHServer  # ... signed by ``ca``, expired
    ca: Path
    other_ca: Path
    client_key: Path


@pytest.fixture(scope="module")
def servers(tmp_path_factory, client_key):
    require_sshd()
    root = tmp_path_factory.mktemp("hostkeys")
    ca, other_ca = keygen(root / "ca"), keygen(root / "other_ca")
    certified = {}
    for tag, principal, validity in (
        ("good", "127.0.0.1", "-5m:+1d"),
        ("other", "other.example.com", "-5m:+1d"),
        ("expired", "127.0.0.1", "20200101:20200102"),
    ):
        certified[tag] = keygen(root / f"cert_host_key_{tag}")
        subprocess.run(
            ["ssh-keygen", "-q", "-s", str(ca), "-I", f"runner-test-{tag}", "-h"]
            + ["-n", principal, "-V", validity, f"{certified[tag]}.pub"],
            check=True,
            capture_output=True,
        )
    rsa_key, both_rsa = root / "rsa_host_key", root / "both_rsa_key"
    for path in (rsa_key, both_rsa):  # 2048 bits: key generation is the slow part here
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", str(path)],
            check=True,
            stdin=subprocess.DEVNULL,
        )
    started = []
    try:
        for srv in (
            SSHServer(root / "ed", client_key),
            SSHServer(root / "rsa", client_key, host_key=rsa_key),
            SSHServer(root / "both", client_key, extra_config=f"HostKey {both_rsa}\n"),
            *(
                SSHServer(
                    root / f"cert-{tag}",
                    client_key,
                    host_key=key,
                    extra_config=f"HostCertificate {key}-cert.pub\n",
                )
                for tag, key in certified.items()
            ),
        ):
            started.append(srv.start())
        yield Servers(*started, ca=ca, other_ca=other_ca, client_key=client_key)
    finally:
        for srv in started:
            srv.stop()


@dataclass
class Case:
    name: str
    server: SSHServer
    known: str | None  # known_hosts text; None: no file
    policy: str
    path: Path | None = None  # a special file both sides use as is (no copy)
    ssh_timeout: float = 20  # ssh hangs on some files (a FIFO): give up on it then
    jump: SSHServer | None = None  # reached through this bastion (same known_hosts)
    global_known: str | None = None  # GlobalKnownHostsFile text (None: /dev/null)

    @property
    def global_file(self) -> Path:
        return self.path_for_global or Path(os.devnull)

    path_for_global: Path | None = None


@dataclass
class Verdict:
    connected: bool
    appended: str  # what was added to the known_hosts file
    error: str = ""
    kind: str | None = None


def _prepare(case: Case, where: Path) -> Path:
    if case.path is not None:
        return case.path
    if case.known is not None:
        where.write_text(case.known)
    return where


def _appended(path: Path, before: str | None) -> str:
    if not path.is_file():
        return ""
    now = path.read_text()
    return now[len(before or "") :] if now != (before or "") else ""


def ssh_options(case: Case, path: Path) -> list[str]:
    opts = ["-o", "BatchMode=yes", "-o", f"StrictHostKeyChecking={SSH_POLICY[case.policy]}"]
    opts += ["-o", f"UserKnownHostsFile={path}", "-o", f"GlobalKnownHostsFile={case.global_file}"]
    opts += ["-F", "/dev/null", "-o", "ConnectTimeout=5", "-o", "IdentityAgent=none"]
    return [*opts, "-i", str(case.server.client_key)]


def ssh_verdict(case: Case, path: Path) -> Verdict:
    cmd = ["ssh", *ssh_options(case, path)]
    if case.jump is not None:  # what -J does, with the same known_hosts for the bastion
        hop = ["ssh", *ssh_options(case, path), "-W", "%h:%p", "-p", str(case.jump.port)]
        cmd += ["-o", "ProxyCommand=" + " ".join([*hop, f"{case.jump.user}@127.0.0.1"])]
    cmd += ["-p", str(case.server.port), f"{case.server.user}@127.0.0.1", "true"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=case.ssh_timeout)
    except subprocess.TimeoutExpired:
        return Verdict(False, "", error="ssh hung")
    return Verdict(proc.returncode == 0, "", error=proc.stderr)


def _ssh_case(case: Case, path: Path) -> Verdict:
    return ssh_verdict(case, path) if case.ssh_timeout else Verdict(False, "", "not run")


def compare(cases: list[Case], tmp_path: Path) -> dict[str, tuple[Verdict, Verdict]]:
    """name -> (ssh's verdict, runner's verdict) on identical known_hosts files."""
    results: dict[str, list[Verdict]] = {}
    hosts = {}
    ssh_files = {}
    for case in cases:
        if case.global_known is not None:
            case.path_for_global = tmp_path / f"{case.name}.global"
            case.path_for_global.write_text(case.global_known)
        ssh_files[case.name] = _prepare(case, tmp_path / f"{case.name}.ssh")
        runner_file = _prepare(case, tmp_path / f"{case.name}.runner")
        hosts[case.name] = {
            "ansible_host": "127.0.0.1",
            "ansible_port": case.server.port,
            "ansible_user": case.server.user,
            "ansible_ssh_private_key_file": str(case.server.client_key),
            "ansible_ssh_common_args": f"-o UserKnownHostsFile={runner_file} "
            f"-o GlobalKnownHostsFile={case.global_file}",
            "runner_host_key_checking": case.policy,
        }
        if case.jump is not None:
            hosts[case.name]["runner_jump_host"] = f"{case.jump.user}@127.0.0.1:{case.jump.port}"
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": hosts}}))
    with ThreadPoolExecutor(8) as pool:  # greenlets (tests patch like runner does)
        for case, ssh in zip(cases, pool.map(_ssh_case, cases, ssh_files.values()), strict=True):
            if case.path is None:
                ssh.appended = _appended(ssh_files[case.name], case.known)
            results[case.name] = [ssh]
    proc = subprocess.run(
        [sys.executable, "-m", "runner", "run", "-i", str(inventory), "--json"]
        + ["--connect-timeout", "10", "-f", "50", "all", "true"],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(REPO), "SSH_AUTH_SOCK": ""},
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    records = {r["host"]: r for r in json_records(proc.stdout) if r.get("type") == "host"}
    assert set(records) == set(hosts), proc
    for case in cases:
        rec = records[case.name]
        runner_file = case.path or tmp_path / f"{case.name}.runner"
        appended = "" if case.path else _appended(runner_file, case.known)
        verdict = Verdict(rec["status"] == "ok", appended, rec["error"] or "", rec["error_kind"])
        results[case.name].append(verdict)
    return {name: (v[0], v[1]) for name, v in results.items()}


def assert_same(found: dict[str, tuple[Verdict, Verdict]], *, except_for: tuple[str, ...] = ()):
    for name, (ssh, runner) in found.items():
        if name in except_for:
            continue
        assert runner.connected == ssh.connected, (name, ssh, runner)
        assert runner.appended == ssh.appended, (name, ssh, runner)
        if not runner.connected:
            assert runner.kind == "hostkey", (name, runner)


def test_revoked_key_is_refused_under_every_policy(servers, tmp_path):
    srv = servers.ed
    key = pub(srv.host_key)
    name = f"[127.0.0.1]:{srv.port}"
    trusted_but_revoked = f"{name} {key}\n@revoked {name} {key}\n"
    cases = [Case(f"rev-{p}", srv, trusted_but_revoked, p) for p in SSH_POLICY]
    cases += [
        Case("rev-pattern-only", srv, f"@revoked [127.0.0.*]:* {key}\n", "accept-new"),
        Case("rev-other-host", srv, f"{name} {key}\n@revoked *.example.com {key}\n", "strict"),
        Case("rev-other-key", srv, f"{name} {key}\n@revoked * {pub(servers.ca)}\n", "strict"),
        # markers are case-sensitive: ssh skips a line with an unknown one
        Case("rev-upper-case", srv, f"{name} {key}\n@REVOKED {name} {key}\n", "strict"),
        Case("tabs-and-crlf", srv, f"{name}\t{key.replace(' ', chr(9))}\r\n", "strict"),
        # ssh-keygen -H leaves marker lines alone, but ssh matches hashed ones too
        Case(
            "rev-hashed",
            srv,
            f"{name} {key}\n@revoked {hashed(name, key, tmp_path)} {key}\n",
            "strict",
        ),
    ]
    found = compare(cases, tmp_path)
    # ssh -o StrictHostKeyChecking=no connects to a revoked key (it only turns password
    # authentication off); runner refuses it under "off" too: revocation is deliberate
    assert_same(found, except_for=("rev-off",))
    ssh, runner = found["rev-off"]
    assert ssh.connected and "REVOKED" in ssh.error
    assert not runner.connected and runner.kind == "hostkey"
    for p in ("strict", "accept-new", "off"):
        error = found[f"rev-{p}"][1].error
        assert f"{name} is revoked" in error and f"rev-{p}.runner:2" in error
    assert not found["rev-pattern-only"][1].appended  # never recorded
    assert "rev-hashed.runner:2" in found["rev-hashed"][1].error
    assert found["rev-other-host"][1].connected and found["rev-other-key"][1].connected
    assert found["rev-upper-case"][1].connected and found["tabs-and-crlf"][1].connected


def test_other_recorded_key_type_is_a_changed_key(servers, tmp_path):
    ed, rsa = servers.ed, servers.rsa
    rsa_for_ed = f"[127.0.0.1]:{ed.port} {pub(rsa.host_key)}\n"
    ed_for_rsa = f"[127.0.0.1]:{rsa.port} {pub(ed.host_key)}\n"
    cases = [Case(f"ed-{p}", ed, rsa_for_ed, p) for p in SSH_POLICY]
    cases += [Case(f"rsa-{p}", rsa, ed_for_rsa, p) for p in SSH_POLICY]
    found = compare(cases, tmp_path)
    assert_same(found)
    assert not found["ed-accept-new"][0].connected  # the point: ssh refuses too
    assert found["ed-off"][1].connected
    error = found["ed-accept-new"][1].error
    assert "host key changed" in error and "known_hosts has ssh-rsa" in error, error
    assert "offered only" in error and "ssh-ed25519" in error, error


def test_recorded_key_type_is_negotiated_first(servers, tmp_path):
    srv = servers.both
    name = f"[127.0.0.1]:{srv.port}"
    rsa_key = pub(Path(srv.workdir).parent / "both_rsa_key")
    cases = [
        Case("rsa-known", srv, f"{name} {rsa_key}\n", "strict"),
        Case("ed-known", srv, f"{name} {pub(srv.host_key)}\n", "strict"),
        Case("rsa-wrong", srv, f"{name} {pub(servers.rsa.host_key)}\n", "accept-new"),
        Case("none-known", srv, None, "accept-new"),
    ]
    found = compare(cases, tmp_path)
    assert_same(found)
    assert found["rsa-known"][1].connected and found["ed-known"][1].connected
    assert not found["rsa-wrong"][1].connected
    assert found["none-known"][1].appended.startswith(f"{name} ssh-ed25519 ")


def test_patterns_negations_and_hashed_names(servers, tmp_path):
    srv = servers.ed
    port, key = srv.port, pub(srv.host_key)
    hashed_name = hashed(f"[127.0.0.1]:{port}", key, tmp_path)
    patterns = {
        "wild-star": f"[127.0.0.*]:{port}",
        "wild-qmark": f"[127.0.0.?]:{port}",
        "any": "*",
        "any-port": "[127.0.0.1]:*",
        "port-only": f"*:{port}",
        "negated-port": f"[127.0.0.1]:{port},!*.1]:{port}",
        "negated-first": f"!*.1]:{port},*:{port}",
        "negated-only": "!foo",
        "negated-other": f"!foo,[127.0.0.1]:{port}",
        "other-domain": "*.example.com",
        "bare-address": "127.0.0.1",  # ssh falls back to the name without the port
        "star-not-port": f"*,![127.0.0.1]:{port}",  # ...which * still matches
        "star-not-bare": "*,!127.0.0.1",
        "list": f"web1,[127.0.0.1]:{port},web2",
        "upper": f"[127.0.0.1]:{port},WEB1",
        "hashed": hashed_name,
        "hashed-in-list": f"{hashed_name},web1",
        "other-port": "[127.0.0.1]:2",
    }
    cases = [Case(k, srv, f"{p} {key}\n", "strict") for k, p in patterns.items()]
    other = pub(servers.rsa.host_key)
    cases += [
        Case("changed-by-pattern", srv, f"[127.0.0.*]:* {other}\n", "accept-new"),
        Case("negated-changed", srv, f"*,!*:{port} {other}\n", "accept-new"),
        Case("hashed-changed", srv, f"{hashed_name} {other}\n", "accept-new"),
        Case("bare-changed", srv, f"127.0.0.1 {other}\n", "accept-new"),  # no fallback: new
    ]
    found = compare(cases, tmp_path)
    assert_same(found)
    verdicts = {k: v[1].connected for k, v in found.items()}
    assert verdicts["wild-star"] and verdicts["hashed"] and verdicts["bare-address"]
    assert not verdicts["negated-port"] and not verdicts["other-domain"]
    assert not verdicts["changed-by-pattern"] and verdicts["negated-changed"]
    assert found["bare-changed"][1].appended.startswith(f"[127.0.0.1]:{port} ssh-ed25519 ")


def test_global_known_hosts_file_is_read_never_written(servers, tmp_path):
    srv = servers.ed
    name, key = f"[127.0.0.1]:{srv.port}", pub(srv.host_key)
    other = pub(servers.rsa.host_key)
    cases = [
        Case("global-trusts", srv, None, "strict", global_known=f"{name} {key}\n"),
        Case(
            "global-revokes", srv, f"{name} {key}\n", "strict", global_known=f"@revoked * {key}\n"
        ),
        Case("global-changed", srv, "", "accept-new", global_known=f"{name} {other}\n"),
        Case(
            "global-ca",
            servers.cert,
            None,
            "strict",
            global_known=f"@cert-authority * {pub(servers.ca)}\n",
        ),
        Case("global-other-host", srv, "", "accept-new", global_known=f"web1 {key}\n"),
    ]
    found = compare(cases, tmp_path)
    assert_same(found)
    assert found["global-trusts"][1].connected and found["global-ca"][1].connected
    assert "global-revokes.global:1" in found["global-revokes"][1].error
    assert "global-changed.global:1" in found["global-changed"][1].error
    assert found["global-other-host"][1].appended.startswith(name)
    for case in cases:  # nobody writes to the global file
        assert case.path_for_global.read_text() == case.global_known


def test_cert_authority(servers, tmp_path):
    srv, ed = servers.cert, servers.ed
    ca, other = pub(servers.ca), pub(servers.other_ca)
    cases = [
        Case("ca-any", srv, f"@cert-authority * {ca}\n", "strict"),
        Case("ca-pattern", srv, f"@cert-authority [127.0.0.*]:* {ca}\n", "strict"),
        Case("ca-other-host", srv, f"@cert-authority *.example.com {ca}\n", "strict"),
        Case("ca-wrong-ca", srv, f"@cert-authority * {other}\n", "strict"),
        Case("ca-revoked", srv, f"@cert-authority * {ca}\n@revoked * {ca}\n", "accept-new"),
        Case("ca-accept-new", srv, f"@cert-authority * {ca}\n", "accept-new"),
        # a CA line is never a plain host key, even when it holds the server's own key
        Case("ca-is-not-plain", ed, f"@cert-authority * {pub(ed.host_key)}\n", "strict"),
        Case("ca-plain-new", ed, f"@cert-authority * {ca}\n", "accept-new"),
    ]
    found = compare(cases, tmp_path)
    assert_same(found)
    assert found["ca-any"][1].connected and not found["ca-wrong-ca"][1].connected
    assert not found["ca-accept-new"][1].appended  # a certified key is not recorded
    assert not found["ca-is-not-plain"][1].connected
    assert "marks its CA key @revoked" in found["ca-revoked"][1].error
    assert "presented no certificate" in found["ca-is-not-plain"][1].error


def test_certificate_for_another_host_or_expired_is_judged_as_its_plain_key(servers, tmp_path):
    """ssh checks the principals and the validity of a certificate signed by a listed CA,
    and when it fails, judges the certified key as a plain key."""
    ca = pub(servers.ca)
    cases = []
    for srv in (servers.cert_other_host, servers.cert_expired):
        plain = f"[127.0.0.1]:{srv.port} {pub(srv.host_key)}\n"
        tag = "other" if srv is servers.cert_other_host else "expired"
        cases += [
            Case(f"{tag}-strict", srv, f"@cert-authority * {ca}\n", "strict"),
            Case(f"{tag}-accept-new", srv, f"@cert-authority * {ca}\n", "accept-new"),
            Case(f"{tag}-plain-known", srv, f"@cert-authority * {ca}\n{plain}", "strict"),
        ]
    found = compare(cases, tmp_path)
    assert_same(found)
    assert "not valid for 127.0.0.1" in found["other-strict"][1].error
    assert "it is expired or not yet valid" in found["expired-strict"][1].error
    assert found["other-accept-new"][1].appended and found["other-plain-known"][1].connected


def test_bastions_get_the_same_checks(servers, tmp_path):
    target, jump = servers.rsa, servers.ed
    jump_key = f"[127.0.0.1]:{jump.port} {pub(jump.host_key)}\n"
    target_key = f"[127.0.0.1]:{target.port} {pub(target.host_key)}\n"
    rsa_for_jump = f"[127.0.0.1]:{jump.port} {pub(target.host_key)}\n"
    both, revoked = jump_key + target_key, f"@revoked * {pub(jump.host_key)}\n"
    cases = [
        Case("both-known", target, jump_key + target_key, "strict", jump=jump),
        Case("jump-revoked", target, both + revoked, "strict", jump=jump),
        Case("jump-type-changed", target, rsa_for_jump + target_key, "accept-new", jump=jump),
    ]
    found = compare(cases, tmp_path)
    assert_same(found)
    assert found["both-known"][1].connected
    error = found["jump-revoked"][1].error
    assert error.startswith(f"bastion {jump.user}@127.0.0.1:{jump.port}: host key for "), error
    assert "is revoked" in error and "jump-revoked.runner:3" in error, error
    assert "known_hosts has ssh-rsa" in found["jump-type-changed"][1].error


def test_unusable_known_hosts_fails_the_host(servers, tmp_path):
    srv = servers.ed
    folder = tmp_path / "a-folder"
    folder.mkdir()
    fifo = tmp_path / "a-fifo"
    os.mkfifo(fifo)
    not_a_dir = tmp_path / "a-file"
    not_a_dir.write_text("")
    huge = tmp_path / "huge"
    with open(huge, "wb") as fh:
        fh.truncate(kh_module.MAX_KNOWN_HOSTS_BYTES + 1)
    cases = [
        Case("dir-strict", srv, None, "strict", path=folder),
        Case("dir-accept-new", srv, None, "accept-new", path=folder),
        Case("unwritable", srv, None, "accept-new", path=not_a_dir / "known_hosts"),
        Case("fifo", srv, None, "accept-new", path=fifo, ssh_timeout=2),
        Case("fifo-off", srv, None, "off", path=fifo, ssh_timeout=2),
        Case("devnull-strict", srv, None, "strict", path=Path(os.devnull)),
        Case("devnull-accept-new", srv, None, "accept-new", path=Path(os.devnull)),
    ]
    # runner only: ssh would read /dev/full for ever, and a huge file with no bound
    runner_only = [
        Case("devfull", srv, None, "accept-new", path=Path("/dev/full"), ssh_timeout=0),
        Case("huge", srv, None, "strict", path=huge),
    ]
    found = compare(cases + runner_only, tmp_path)
    # where ssh would hang (a FIFO, /dev/full: it reads without a bound) or warn and
    # connect without recording (a folder, a path it cannot create), runner fails the
    # host with the reason
    diverging = ("dir-accept-new", "unwritable", "fifo", "fifo-off", "devfull", "huge")
    assert_same(found, except_for=diverging)
    assert found["fifo"][0].error == "ssh hung"
    assert found["dir-accept-new"][0].connected and found["unwritable"][0].connected
    reasons = {
        "dir-accept-new": "is not a regular file (it is a directory)",
        "fifo": "is not a regular file (it is a FIFO)",
        "devfull": "is not a regular file (it is a character device)",
        "huge": "is larger than 64 MiB",
        "unwritable": "cannot record the new host key",
    }
    for name, reason in reasons.items():
        runner = found[name][1]
        assert not runner.connected and runner.kind == "hostkey", (name, runner)
        assert reason in runner.error, (name, runner.error)
    assert found["fifo-off"][1].connected  # "off" does not need the file
    assert found["devnull-accept-new"][1].connected


# -- the matcher and the index, without a server --------------------------------------


def test_docstring_examples():
    result = doctest.testmod(kh_module)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize(
    ("name", "pattern", "expected"),
    [
        ("web1", "web1", True),
        ("web1", "web?", True),
        ("web10", "web?", False),
        ("web10", "web*", True),
        ("x.example.com", "*.example.com", True),
        ("example.com", "*.example.com", False),
        ("[10.0.0.1]:2222", "[10.0.0.*]:2222", True),
        ("[10.0.0.1]:2222", "[10.0.0.*]:22", False),
        ("aaa", "*a*a*a*", True),
        ("aa", "*a*a*a*", False),
        ("", "", True),
        ("a", "", False),
    ],
)
def test_match_pattern(name, pattern, expected):
    assert match_pattern(name, pattern) is expected


@pytest.mark.parametrize(
    ("name", "patterns", "expected"),
    [
        ("WEB1", "web1", True),
        ("web1", "WEB*", True),
        ("web1", "!web1,*", False),
        ("web1", "*,!web1", False),
        ("web2", "*,!web1", True),
        ("web1", "!web2", False),
        ("web1", "a,b,web1", True),
    ],
)
def test_match_host(name, patterns, expected):
    assert match_host(name, patterns) is expected


def test_index_lookup_and_record(tmp_path):
    key = paramiko.Ed25519Key.from_private_key_file(str(keygen(tmp_path / "k")))
    other = paramiko.Ed25519Key.from_private_key_file(str(keygen(tmp_path / "o")))
    b64 = key.get_base64()
    path = tmp_path / "known_hosts"
    path.write_text(
        f"# comment\n\nweb1,Web2 ssh-ed25519 {b64}\n@revoked web1 ssh-ed25519 {b64}\n"
        f"@bogus web1 ssh-ed25519 {b64}\n*.example.com ssh-rsa AAAA\nshort line\n"
    )
    known = KnownHosts(str(path))
    assert known.error is None
    assert [(e.marker, e.line) for e in known.lookup("WEB1")] == [("", 3), ("revoked", 4)]
    assert [e.line for e in known.lookup("a.example.com")] == [6]
    assert known.lookup("web3") == []
    before = path.read_text()
    known.record("web1", key)  # already there
    known.record("New", other)
    assert path.read_text() == before + f"new ssh-ed25519 {other.get_base64()}\n"
    assert [e.b64 for e in KnownHosts(str(path)).lookup("new")] == [other.get_base64()]
    order = known.preferred_algorithms("a.example.com", ("ssh-ed25519", "rsa-sha2-256"))
    assert order == ("rsa-sha2-256", "ssh-ed25519")


def test_unreadable_file_is_an_error_not_an_exception(tmp_path):
    assert KnownHosts(str(tmp_path / "missing")).error is None
    assert "directory" in KnownHosts(str(tmp_path)).error
    if shutil.which("mkfifo") or hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "fifo")
        assert "FIFO" in KnownHosts(str(tmp_path / "fifo")).error
    assert "cannot be read: embedded null byte" in KnownHosts("kh\0x").error
    binary = tmp_path / "binary"
    binary.write_bytes(b"\xff\x00\xfe garbage |1|%%%|%%% ssh-ed25519 AAAA\n|1|a|b c d\n")
    assert KnownHosts(str(binary)).lookup("x") == []


def test_record_after_a_last_line_without_newline(tmp_path):
    key = paramiko.Ed25519Key.from_private_key_file(str(keygen(tmp_path / "k")))
    path = tmp_path / "known_hosts"
    path.write_text("web1 ssh-rsa AAAA")  # no newline at the end
    known = KnownHosts(str(path))
    known.record("web2", key)
    assert path.read_text().splitlines() == ["web1 ssh-rsa AAAA", f"web2 {pub(tmp_path / 'k')}"]
    assert known.lookup("web2")[0].line == 2


def test_preferred_algorithms_follow_recorded_types_and_cas(tmp_path):
    path = tmp_path / "known_hosts"
    path.write_text(
        "web1 ssh-rsa AAAA\n@cert-authority *.example.com ssh-ed25519 AAAA\n"
        "@revoked web2 ssh-rsa AAAA\n"
    )
    known = KnownHosts(str(path))
    available = (
        "ssh-ed25519",
        "rsa-sha2-512",
        "rsa-sha2-256",
        "ssh-ed25519-cert-v01@openssh.com",
        "rsa-sha2-512-cert-v01@openssh.com",
    )
    assert known.preferred_algorithms("web1", available) == (
        "rsa-sha2-512",
        "rsa-sha2-512-cert-v01@openssh.com",
        "rsa-sha2-256",
        "ssh-ed25519",
        "ssh-ed25519-cert-v01@openssh.com",
    )
    assert known.preferred_algorithms("a.example.com", available)[:2] == available[3:]
    assert known.preferred_algorithms("web2", available) == available  # revoked: no order


@given(
    name=st.text(alphabet="ab.[]:1", max_size=8),
    pattern=st.text(alphabet="ab.[]:1*?", max_size=8),
)
def test_match_pattern_is_a_full_glob_match(name, pattern):
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    assert match_pattern(name, pattern) is bool(re.fullmatch(regex, name, re.DOTALL))


@given(st.lists(st.text(alphabet="ab*?!,|1=@[]: \t#\x00é", max_size=30), max_size=8))
def test_any_known_hosts_text_is_indexed_without_error(tmp_path_factory, lines):
    path = tmp_path_factory.mktemp("kh") / "known_hosts"
    path.write_text("\n".join(f"{line} ssh-ed25519 AAAA" for line in lines) + "\n")
    known = KnownHosts(str(path))
    for name in ("a", "[a]:1", "ab", ""):
        entries = known.lookup(name)
        assert all(e.marker in ("", "revoked", "cert-authority") for e in entries)
        assert known.preferred_algorithms(name, ("ssh-ed25519",)) == ("ssh-ed25519",)


@pytest.fixture(scope="module")
def host_cert(tmp_path_factory) -> tuple[paramiko.PKey, bytes]:
    """An ed25519 host key with a certificate for 127.0.0.1, and the certificate's bytes."""
    root = tmp_path_factory.mktemp("cert")
    ca, key = keygen(root / "ca"), keygen(root / "host")
    subprocess.run(
        ["ssh-keygen", "-q", "-s", str(ca), "-I", "x", "-h", "-n", "127.0.0.1", f"{key}.pub"],
        check=True,
        capture_output=True,
    )
    certified = paramiko.Ed25519Key.from_private_key_file(str(key))
    certified.load_certificate(f"{key}-cert.pub")
    return certified, bytes(certified.public_blob.key_blob)


def test_host_certificate_is_checked(host_cert):
    key, _ = host_cert
    cert = HostCertificate.of(key)
    assert cert is not None and cert.principals == ("127.0.0.1",)
    assert cert.problem("127.0.0.1") is None
    assert "not valid for web1" in cert.problem("web1")
    assert "expired" in cert.problem("127.0.0.1", now=cert.valid_before)
    assert HostCertificate.of(paramiko.Ed25519Key(data=key.asbytes())) is None  # plain key


CERT_TYPE = "ssh-ed25519-cert-v01@openssh.com"


def test_a_damaged_certificate_is_refused_not_an_exception(host_cert):
    """Every byte of a real certificate changed in turn: never accepted, never a crash."""
    key, raw = host_cert
    for position, byte in enumerate(raw):
        for value in {byte ^ 0x01, byte ^ 0x80, 0x00, 0xFF} - {byte}:
            damaged = raw[:position] + bytes([value]) + raw[position + 1 :]
            forged = paramiko.Ed25519Key(data=key.asbytes())
            forged.public_blob = paramiko.PublicBlob(CERT_TYPE, damaged)
            cert = HostCertificate.of(forged)
            assert cert is None or cert.problem("127.0.0.1") is not None, (position, value)
    for cut in (1, 10, len(raw) // 2):  # truncated, and with bytes added
        forged.public_blob = paramiko.PublicBlob(CERT_TYPE, raw[:-cut])
        assert HostCertificate.of(forged) is None
    forged.public_blob = paramiko.PublicBlob(CERT_TYPE, raw + b"\0")
    assert HostCertificate.of(forged) is None


@pytest.mark.parametrize(
    ("cli_file", "config", "expected"),
    [
        (None, {}, ("~/.ssh/known_hosts", ("~/.ssh/known_hosts2", *DEFAULT_GLOBAL_KNOWN_HOSTS))),
        ("/tmp/kh", {}, ("/tmp/kh", DEFAULT_GLOBAL_KNOWN_HOSTS)),
        (None, {"userknownhostsfile": "/a /b", "globalknownhostsfile": "/g"}, ("/a", ("/b", "/g"))),
        (
            "/tmp/kh",
            {"userknownhostsfile": "/a /b", "globalknownhostsfile": "none"},
            ("/tmp/kh", ()),
        ),
    ],
)
def test_known_hosts_files_are_resolved_as_ssh_reads_them(cli_file, config, expected):
    settings = resolve_settings("web1", {}, ConnectionConfig(known_hosts=cli_file), config)
    assert (settings.known_hosts, settings.other_known_hosts) == expected
