"""What the CLI entry module does before any command runs: gevent's patch with its plugins
still honoured, paramiko's invoke import deferred, and output modules loaded on demand.
Each check runs a fresh interpreter, because the entry module acts once per process."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import paramiko

from runner.transport.ssh.lean import LeanTransport, ack_now


def python(code: str, *, path: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = None
    if path is not None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(path), *sys.path])}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_gevent_plugins_still_run_and_entry_points_is_restored(tmp_path):
    """gevent's patch_all reads plugins from entry points; runner reads them once instead
    of 25 times, and a plugin registered for two of the events must see both."""
    (tmp_path / "probe_plugin.py").write_text(
        "import os\n"
        "def seen(event):\n"
        "    with open(os.environ['PROBE_OUT'], 'a') as fh:\n"
        "        fh.write(type(event).__name__ + '\\n')\n"
    )
    dist = tmp_path / "probe_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: probe-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[gevent.plugins.monkey.will_patch_all]\nprobe = probe_plugin:seen\n"
        "[gevent.plugins.monkey.did_patch_all]\nprobe = probe_plugin:seen\n"
    )
    out = tmp_path / "events.txt"
    os.environ["PROBE_OUT"] = str(out)
    try:
        done = python(
            """
            import importlib.metadata as md
            before = md.entry_points
            import runner.entry
            import socket, gevent.socket
            assert md.entry_points is before, "entry_points left replaced"
            assert socket.socket is gevent.socket.socket, "socket not patched"
            print("ok")
            """,
            path=tmp_path,
        )
    finally:
        del os.environ["PROBE_OUT"]
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
    assert out.read_text().split() == ["GeventWillPatchAllEvent", "GeventDidPatchAllEvent"]


def test_invoke_is_imported_only_when_paramiko_uses_it():
    done = python(
        """
        import sys
        import runner.entry
        runner.entry._defer_import("invoke")
        import paramiko
        heavy = [m for m in ("asyncio", "unittest.mock", "invoke.context") if m in sys.modules]
        assert not heavy, heavy
        from paramiko import config
        run = config.invoke.run          # what `Match exec` calls
        assert callable(run) and "invoke.context" in sys.modules
        print("ok")
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_a_real_run_imports_paramiko_but_not_invoke_or_rich():
    """`runner run --json` to a closed port on 127.0.0.1: the SSH layer is loaded and
    used, and the modules a run does not need are not (python -X importtime lists every
    import)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "runner", "run", "-i", "127.0.0.1:1,"]
        + ["--json", "--connect-timeout", "5", "all", "true"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    )
    assert done.returncode == 4, done.stderr[-2000:]  # unreachable: connection refused
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
    assert {
        "paramiko.transport",
        "runner.transport.ssh.context",
        "runner.transport.ssh.lean",
    } <= imported
    assert not imported & {"invoke", "asyncio", "unittest.mock", "rich", "jinja2"}, imported & {
        "invoke",
        "asyncio",
        "unittest.mock",
        "rich",
        "jinja2",
    }
    # a run without --cluster never imports the cluster extra (start-up stays as it is)
    cluster = {"celery", "kombu", "redis", "runner.executors.cluster"}
    assert not imported & cluster, imported & cluster


def test_plain_run_loads_no_xml_stream_or_live_modules():
    done = python(
        """
        import sys
        import runner.entry
        from runner.cli.environment import Environment
        from runner.config import OutputConfig
        from runner.output.compose import host_job_sinks
        sinks = host_job_sinks(OutputConfig(), ["web01"], Environment())  # a pipe: no live view
        names = [type(s).__name__ for s in sinks]
        assert names == ["GroupedReport"], names
        loaded = [m for m in ("runner.output.junit", "runner.output.stream",
                              "runner.output.live", "rich.live", "xml.etree.ElementTree")
                  if m in sys.modules]
        assert not loaded, loaded
        sinks = host_job_sinks(OutputConfig(mode="stream", junit="r.xml"), ["web01"], Environment())
        assert "runner.output.junit" in sys.modules and "runner.output.stream" in sys.modules
        from runner import output
        assert output.JUnitWriter.__module__ == "runner.output.junit"
        try:
            output.NoSuchThing
        except AttributeError as exc:
            assert "NoSuchThing" in str(exc)
        else:
            raise AssertionError("unknown name did not raise")
        print("ok")
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


class RecordingSocket:
    """Just enough of a socket for paramiko.Transport's constructor."""

    def __init__(self) -> None:
        self.options: list[tuple[int, int, int]] = []

    def settimeout(self, timeout: float) -> None:
        pass

    def setsockopt(self, level: int, option: int, value: int) -> None:
        self.options.append((level, option, value))

    def close(self) -> None:
        pass


def test_global_request_is_acknowledged_at_once():
    """OpenSSH's hostkeys-00 wants no reply; without an immediate ACK the server's next
    small packet waits 40 ms for the delayed one."""
    sock = RecordingSocket()
    transport = LeanTransport(sock)
    try:
        m = paramiko.Message()
        m.add_string("hostkeys-00@openssh.com")
        m.add_boolean(False)
        m.rewind()
        transport._parse_global_request(m)
    finally:
        transport.close()
    assert (socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1) in sock.options


def test_ack_now_ignores_what_is_not_a_tcp_socket():
    """Neither raises: a tunnel channel or proxy command has no setsockopt, and an AF_UNIX
    socket refuses TCP options (proxy commands can hand us one)."""
    ack_now(object())
    a, b = socket.socketpair()
    try:
        ack_now(a)
    finally:
        a.close()
        b.close()


def test_json_run_loads_rich_only_for_a_notice():
    done = python(
        """
        import sys
        import runner.entry
        from runner.cli.environment import Environment
        from runner.config import OutputConfig
        from runner.events import Notice
        from runner.output.compose import host_job_sinks
        sinks = host_job_sinks(OutputConfig(mode="json"), ["web01"], Environment())
        assert [type(s).__name__ for s in sinks] == ["JsonLines", "_LazyNotices"]
        assert "rich" not in sys.modules
        for sink in sinks:
            sink.handle(Notice("forks lowered to 512"))
        assert "rich.console" in sys.modules
        print("ok")
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
    assert done.stderr == "warning: forks lowered to 512\n"


def test_the_test_process_is_patched_before_paramiko_is_imported():
    """tests.gevent_first (pytest -p, from pyproject.toml) patches through runner.entry
    before any test or doctest module imports paramiko: its Transport is a greenlet."""
    import gevent.threading
    from gevent import monkey

    assert monkey.is_module_patched("threading") and monkey.is_module_patched("socket")
    assert issubclass(paramiko.Transport, gevent.threading.Thread)


def test_a_run_served_by_the_keeper_imports_no_ssh_layer(make_fleet):
    """The CLI of a run the connection keeper serves loads the inventory, hands the run
    over and renders what comes back: no paramiko, cryptography, SSH transport, jinja2 or
    rich in it (python -X importtime lists every import)."""
    fleet = make_fleet(1)
    runtime = Path(tempfile.mkdtemp(prefix="rk-", dir="/tmp"))  # a short socket path
    runtime.chmod(0o700)
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
        "XDG_RUNTIME_DIR": str(runtime),
        "RUNNER_PERSIST": "30",
    }
    command = [sys.executable, "-X", "importtime", "-m", "runner", "run", *fleet.args()]
    try:
        for _ in range(2):  # the first starts the keeper, the second is a warm run
            done = subprocess.run(
                [*command, "--json", "all", "echo hi"],
                capture_output=True,
                text=True,
                timeout=60,
                env=env,
            )
            assert done.returncode == 0, done.stderr[-2000:]
            assert '"stdout":"hi\\n"' in done.stdout
        imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
        assert "runner.executors.keeper.client" in imported
        heavy = {"paramiko", "cryptography", "runner.transport.ssh.transport", "jinja2", "rich"}
        assert not imported & heavy, imported & heavy
    finally:
        subprocess.run(
            [sys.executable, "-m", "runner", "keeper", "stop"], env=env, capture_output=True
        )
        shutil.rmtree(runtime, ignore_errors=True)
