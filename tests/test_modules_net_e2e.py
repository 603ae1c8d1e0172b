"""End-to-end, against real sshd and a small HTTP server on 127.0.0.1: get_url, uri and
unarchive in one playbook, run by runner and by the real ansible-playbook from the same
starting files: same PLAY RECAP (changed and skipped counts), same registered values that
matter (written to results.json by the playbook itself), same files and modes left behind;
a second runner run changes nothing.

The server is a subprocess (not a thread of the test process, which runs runner in
process): a static folder plus /api (JSON), /echo (POST, answers 201 with what it got) and
/redir (302 to a file)."""

from __future__ import annotations

import io
import json
import socket
import stat
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.ansible_side import ansible_playbook, ansible_recap, runner_recap, same_recap
from tests.conftest import json_records

pytestmark = pytest.mark.sshd

SERVER = r"""
import http.server, json, sys
class H(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *a, **k):
        super().__init__(*a, directory=sys.argv[1], **k)
    def log_message(self, *a):
        pass
    def _json(self, code, data):
        body = json.dumps(data).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Served-By", "test")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        if self.path == "/api":
            return self._json(200, {"ok": True, "n": 3, "auth": self.headers.get("Authorization")})
        if self.path == "/redir":
            self.send_response(302)
            self.send_header("Location", "/files/hello.txt")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        return super().do_GET()
    def do_POST(self):
        size = int(self.headers.get("Content-Length") or 0)
        got = self.rfile.read(size).decode()
        self._json(201, {"got": got, "type": self.headers.get("Content-Type")})
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(server.server_address[1], flush=True)
server.serve_forever()
"""

PLAYBOOK = r"""
- hosts: all
  gather_facts: false
  vars:
    d: "{{ root }}/{{ inventory_hostname }}"
  tasks:
    - name: download a file, with a mode
      get_url: {url: "{{ base }}/files/hello.txt", dest: "{{ d }}/hello.txt", mode: '0640'}
      register: gu_new
    - name: again (If-Modified-Since, 304)
      get_url: {url: "{{ base }}/files/hello.txt", dest: "{{ d }}/hello.txt", mode: '0640'}
      register: gu_again
    - name: into a folder, verified by checksum
      get_url: {url: "{{ base }}/files/app.zip", dest: "{{ d }}/dl", checksum: "sha256:{{ zip_sum }}"}
      register: gu_dir
    - name: a matching checksum over an existing file downloads nothing
      get_url: {url: "{{ base }}/files/hello.txt", dest: "{{ d }}/hello.txt", checksum: "sha256:{{ hello_sum }}"}
      register: gu_sum
    - name: forced, same content
      get_url: {url: "{{ base }}/files/hello.txt", dest: "{{ d }}/hello.txt", force: true, headers: {X-Test: "1"}}
      register: gu_force
    - name: a wrong checksum fails
      get_url: {url: "{{ base }}/files/hello.txt", dest: "{{ d }}/bad.txt", checksum: "sha256:{{ '0' * 64 }}"}
      register: gu_bad
      ignore_errors: true
    - name: nothing listening
      get_url: {url: "{{ closed }}/x", dest: "{{ d }}/never.txt"}
      register: gu_refused
      ignore_errors: true
    - name: unpack a local tarball
      unarchive: {src: app.tar.gz, dest: "{{ d }}/app", list_files: true}
      register: un_tgz
    - name: again
      unarchive: {src: app.tar.gz, dest: "{{ d }}/app"}
      register: un_tgz_again
    - name: a zip already on the host, with a mode
      unarchive: {src: "{{ d }}/dl/app.zip", dest: "{{ d }}/zip", remote_src: true, list_files: true, mode: '0750'}
      register: un_zip
    - name: the zip again
      unarchive: {src: "{{ d }}/dl/app.zip", dest: "{{ d }}/zip", remote_src: true, mode: '0750'}
      register: un_zip_again
    - name: bzip2, excluding a file
      unarchive: {src: app.tar.bz2, dest: "{{ d }}/bz", exclude: [top/sub/b.txt]}
      register: un_bz
    - name: creates skips
      unarchive: {src: app.tar.gz, dest: "{{ d }}/app", creates: "{{ d }}/app/top"}
      register: un_creates
    - name: check mode, a tar is skipped (as Ansible's gtar handler)
      unarchive: {src: app.tar.xz, dest: "{{ d }}/xz"}
      check_mode: true
    - name: check mode, a zip reports the change, unpacks nothing
      unarchive: {src: "{{ d }}/dl/app.zip", dest: "{{ d }}/xz", remote_src: true}
      check_mode: true
      register: un_check
    - name: xz
      unarchive: {src: app.tar.xz, dest: "{{ d }}/xz", include: [top/a.txt]}
      register: un_xz
    - name: check mode, nothing downloaded
      get_url: {url: "{{ base }}/files/hello.txt", dest: "{{ d }}/check.txt"}
      check_mode: true
      register: gu_check
    - name: uri is skipped in check mode, as Ansible's
      uri: {url: "{{ base }}/api"}
      check_mode: true
    - name: JSON
      uri: {url: "{{ base }}/api", user: tester, password: s3cret-pw, force_basic_auth: true}
      register: ur_json
    - name: POST a JSON body
      uri:
        url: "{{ base }}/echo"
        method: POST
        body: {a: 1}
        body_format: json
        status_code: [200, 201]
        return_content: true
      register: ur_post
    - name: a form
      uri: {url: "{{ base }}/echo", method: POST, body: {q: "a b"}, body_format: form-urlencoded, status_code: 201}
      register: ur_form
    - name: a redirect, followed
      uri: {url: "{{ base }}/redir", return_content: true}
      register: ur_redir
    - name: a 404 expected
      uri: {url: "{{ base }}/nothing", status_code: 404}
      register: ur_404
    - name: a 404 not expected fails
      uri: {url: "{{ base }}/nothing"}
      register: ur_fail
      ignore_errors: true
    - name: nothing listening, uri
      uri: {url: "{{ closed }}/x"}
      register: ur_refused
      ignore_errors: true
    - name: what was registered, as values to compare
      changed_when: false
      copy:
        dest: "{{ d }}/results.json"
        content: >-
          {{ {
            'gu': [gu_new, gu_again, gu_dir, gu_sum, gu_force] | map(attribute='changed') | list,
            'gu_new': [gu_new.status_code, gu_new.checksum_src | default(None), gu_new.checksum_dest | default(None), gu_new.msg,
                       gu_new.dest | basename, gu_new.url | basename],
            'gu_again': [gu_again.status_code],
            'gu_dir': [gu_dir.dest | basename, gu_dir.checksum_src, gu_dir.status_code],
            'gu_sum': gu_sum.msg,
            'gu_force': [gu_force.checksum_src == gu_force.checksum_dest, gu_force.status_code],
            'gu_bad': [gu_bad.failed, gu_bad.msg is search('did not match')],
            'gu_refused': [gu_refused.failed, gu_refused.msg is search('^Request failed: ')],
            'ur_refused': [ur_refused.failed, ur_refused.status],
            'un': [un_tgz, un_tgz_again, un_zip, un_zip_again, un_bz, un_xz] | map(attribute='changed') | list,
            'un_handler': [un_tgz.handler, un_zip.handler],
            'un_files': [un_tgz.files | sort, un_zip.files | sort],
            'un_dest': un_tgz.dest | basename,
            'un_creates': un_creates.skipped | default(false),
            'check': [un_check.changed, gu_check.changed],
            'ur_json': [ur_json.status, ur_json.json, ur_json.changed, ur_json.redirected,
                        ur_json.content_type, ur_json.x_served_by, 'content' in ur_json],
            'ur_post': [ur_post.status, ur_post.json, ur_post.content | from_json],
            'ur_form': ur_form.json,
            'ur_redir': [ur_redir.redirected, ur_redir.url | basename, ur_redir.content, ur_redir.status],
            'ur_404': [ur_404.status, ur_404.failed | default(false)],
            'ur_fail': [ur_fail.failed, ur_fail.status, ur_fail.msg is search('Status code was 404')],
          } | to_json }}
"""


def _member(tar: tarfile.TarFile, name: str, data: bytes | None, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.mtime = 1_600_000_000
    info.mode = mode
    if data is None:
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
        tar.addfile(info)
    else:
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))


def make_archives(folder: Path) -> None:
    """app.tar.gz / .tar.bz2 / .tar.xz / app.zip, each holding top/a.txt and top/sub/b.txt."""
    for name, flag in (("app.tar.gz", "w:gz"), ("app.tar.bz2", "w:bz2"), ("app.tar.xz", "w:xz")):
        with tarfile.open(folder / name, flag) as tar:  # type: ignore[call-overload]
            _member(tar, "top/", None)
            _member(tar, "top/a.txt", b"alpha\n")
            _member(tar, "top/sub/", None)
            _member(tar, "top/sub/b.txt", b"beta\n", 0o600)
    with zipfile.ZipFile(folder / "app.zip", "w") as zf:
        for arc, data in (("z/", None), ("z/one.txt", b"one\n"), ("z/two.txt", b"two\n")):
            info = zipfile.ZipInfo(arc, (2021, 1, 2, 3, 4, 6))
            info.external_attr = ((0o40755 if data is None else 0o100644) << 16) | (
                0x10 if data is None else 0
            )
            zf.writestr(info, data or b"")


def seed(root: Path, hosts: list[str]) -> None:
    for host in hosts:
        for sub in ("dl", "app", "zip", "bz", "xz"):
            (root / host / sub).mkdir(parents=True)


def snapshot(root: Path) -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        mode = oct(stat.S_IMODE(p.lstat().st_mode))
        if p.is_file():
            text = p.read_text(errors="replace")
            if p.name == "results.json":
                text = json.dumps(json.loads(text), sort_keys=True, indent=1)
            out[rel] = (mode, text)
        else:
            out[rel] = (mode, "<dir>")
    return out


def failures(stdout: str) -> list[tuple[str, str, str]]:
    """(host, task, msg) of each failed task in runner's --json output."""
    return [
        (r["host"], r["task"], str(r.get("msg"))[:500])
        for r in json_records(stdout)
        if r.get("type") == "task" and r.get("status") == "failed"
    ]


@pytest.fixture
def http_base(tmp_path):
    """A small HTTP server on 127.0.0.1 (a free port), serving tmp_path/www."""
    www = tmp_path / "www"
    (www / "files").mkdir(parents=True)
    (www / "files" / "hello.txt").write_text("hello from http\n")
    make_archives(www / "files")
    script = tmp_path / "server.py"
    script.write_text(SERVER)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(www)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        yield f"http://127.0.0.1:{port}", www
    finally:
        proc.terminate()
        proc.wait(10)


def test_net_modules_as_ansible(make_fleet, in_process, tmp_path, http_base):
    import hashlib

    base, www = http_base
    fleet = make_fleet(2)
    book = tmp_path / "site.yml"
    book.write_text(PLAYBOOK)
    (tmp_path / "files").mkdir()
    make_archives(tmp_path / "files")
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    seed(ours, fleet.names)
    seed(theirs, fleet.names)
    sums = {
        "zip_sum": hashlib.sha256((www / "files" / "app.zip").read_bytes()).hexdigest(),
        "hello_sum": hashlib.sha256((www / "files" / "hello.txt").read_bytes()).hexdigest(),
    }
    with socket.socket() as probe:  # a port nothing listens on (bound, never listening)
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    extra = ["-e", f"base={base}", "-e", f"closed={closed}"] + [
        a for k, v in sums.items() for a in ("-e", f"{k}={v}")
    ]

    done = ansible_playbook(
        tmp_path, "-i", str(fleet.inventory), str(book), "-e", f"root={theirs}", *extra,
        env={"ANSIBLE_PIPELINING": "True"}, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:]
    res = in_process("play", *fleet.args(), str(book), "-e", f"root={ours}", *extra, "--json")
    assert res.exit_code == 0, failures(res.stdout)
    counts = ansible_recap(done.stdout)
    assert counts[fleet.names[0]]["ignored"] == 4 and counts[fleet.names[0]]["skipped"] == 3
    same_recap(runner_recap(res.stdout), counts)
    mine, other = snapshot(ours), snapshot(theirs)
    assert sorted(mine) == sorted(other)
    differ = {rel: (mine[rel], other[rel]) for rel in other if mine[rel] != other[rel]}
    assert not differ, "\n".join(
        f"{rel}:\n  ours  {a}\n  theirs {b}" for rel, (a, b) in differ.items()
    )
    results = json.loads((ours / fleet.names[0] / "results.json").read_text())
    assert results["gu"] == [True, False, True, False, False]
    assert results["un"] == [True, False, True, False, True, True]
    assert results["check"] == [True, True]
    assert results["gu_refused"] == [True, True] and results["ur_refused"] == [True, -1]
    assert results["ur_json"][1]["auth"] == "Basic dGVzdGVyOnMzY3JldC1wdw=="

    before = {k: v for k, v in snapshot(ours).items() if not k.endswith("results.json")}
    again = in_process("play", *fleet.args(), str(book), "-e", f"root={ours}", *extra, "--json")
    assert again.exit_code == 0, failures(again.stdout)
    for host, host_counts in runner_recap(again.stdout).items():
        # the check-mode tasks still report the change they would make
        assert host_counts["changed"] == 2, (host, host_counts)
    assert {k: v for k, v in snapshot(ours).items() if not k.endswith("results.json")} == before
