"""Fakes for playbook unit tests: a scripted transport and a tiny inventory.

``FakeFleet`` builds hosts whose commands are answered by a responder function instead
of a shell, records every command in order (and, in ``runs``, the become and pty it was
asked for), and keeps uploaded files in a dict.
"""

from __future__ import annotations

import hashlib
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from runner.become import Become
from runner.engine import Engine
from runner.errors import ConnectError, HostPatternError
from runner.events import Recorder
from runner.models import CommandResult, Host
from runner.transport.base import OutputCapture, Transport, TransportFactory

# responder(host, command) -> exit code, stdout, stderr
Responder = Callable[[str, str], "tuple[int, str, str]"]


def shell_text(command: str) -> str:
    """The shell snippet inside ``/bin/sh -c '...'`` (or the command as is)."""
    words = shlex.split(command)
    if "-c" in words:
        return words[words.index("-c") + 1]
    return command


def default_responder(host: str, command: str) -> tuple[int, str, str]:
    """Understands just enough shell for the modules: ``echo``, ``exit N``, ``false``."""
    text = shell_text(command)
    if text.startswith("echo "):
        return 0, shlex.split(text[5:])[0] + "\n" if text[5:].strip() else "\n", ""
    if text.startswith("exit "):
        return int(text.split()[1]), "", ""
    if text in ("false", "/bin/false"):
        return 1, "", ""
    return 0, "", ""


@dataclass(frozen=True)
class FakeRun:
    """One ``Transport.run`` call: what was asked, and as whom."""

    host: str
    command: str
    become: Become | None = None
    pty: bool = False
    stdin: bytes | None = None


class FactoryOf(TransportFactory):
    """A TransportFactory over a plain function Host -> Transport."""

    def __init__(self, make: Callable[[Host], Transport]) -> None:
        self.make = make

    def __call__(self, host: Host) -> Transport:
        return self.make(host)


class NoFiles:
    """The file half of the Transport interface, for fakes that only run commands."""

    def put_file(self, data: bytes, path: str, mode: int | None = None) -> None:
        raise OSError(f"this fake transport keeps no files ({path})")

    def put_new_file(self, data: bytes, path: str, mode: int = 0o600) -> None:
        raise OSError(f"this fake transport keeps no files ({path})")

    def get_file(self, path: str) -> bytes:
        raise FileNotFoundError(path)

    def remove_file(self, path: str) -> None:
        raise FileNotFoundError(path)

    def upload(self, local_path: str, remote_path: str, mode: int) -> int:
        raise OSError(f"this fake transport keeps no files ({remote_path})")

    def download(self, remote_path: str, local_path: str) -> tuple[int, int]:
        raise FileNotFoundError(remote_path)


class FakeTransport(NoFiles, Transport):
    def __init__(self, host: Host, fleet: FakeFleet) -> None:
        self.host = host
        self.fleet = fleet
        self.closed = False

    def connect(self) -> None:
        if self.host.name in self.fleet.unreachable:
            raise ConnectError(f"connection refused ({self.host.name})", host=self.host.name)
        self.fleet.connects[self.host.name] = self.fleet.connects.get(self.host.name, 0) + 1

    def run(
        self,
        command: str,
        *,
        stdout: OutputCapture,
        stderr: OutputCapture,
        timeout: float | None = None,
        stdin: bytes | None = None,
        env: Any = None,
        pty: bool = False,
        become: Become | None = None,
    ) -> CommandResult:
        self.fleet.log.append((self.host.name, command))
        self.fleet.runs.append(FakeRun(self.host.name, command, become, pty, stdin))
        rc, out, err = self.fleet.responder(self.host.name, command)
        stdout.feed(out.encode())
        stderr.feed(err.encode())
        return CommandResult(rc, stdout.value, stderr.value)

    def put_file(self, data: bytes, path: str, mode: int | None = None) -> None:
        self.fleet.log.append((self.host.name, f"put {path}"))
        self.fleet.files[(self.host.name, path)] = data

    def get_file(self, path: str) -> bytes:
        try:
            return self.fleet.files[(self.host.name, path)]
        except KeyError:
            raise FileNotFoundError(path) from None

    def close(self) -> None:
        self.closed = True


@dataclass
class FakeInventory:
    hosts: dict[str, Host]

    def get(self, name: str) -> Host | None:
        """As Inventory.get: the host, or an implicit localhost for an unlisted one."""
        if name not in self.hosts and name in ("localhost", "127.0.0.1", "::1"):
            return Host(name, {"ansible_connection": "local"})
        return self.hosts.get(name)

    def select(self, pattern: str) -> list[Host]:
        names: list[str] = []
        for part in pattern.split(","):
            part = part.strip()
            for host in self.hosts.values():
                matches = part in ("all", host.name) or part in host.groups
                if matches and host.name not in names:
                    names.append(host.name)
        if not names:
            raise HostPatternError(f"no host matches {pattern!r}", pattern=pattern)
        return [self.hosts[n] for n in names]


@dataclass
class FakeFleet:
    """Hosts, their fake transports, and what they were asked to do."""

    names: list[str]
    groups: dict[str, list[str]] = field(default_factory=dict)
    responder: Responder = default_responder
    unreachable: set[str] = field(default_factory=set)
    host_vars: dict[str, dict] = field(default_factory=dict)
    log: list[tuple[str, str]] = field(default_factory=list)
    runs: list[FakeRun] = field(default_factory=list)
    files: dict[tuple[str, str], bytes] = field(default_factory=dict)
    connects: dict[str, int] = field(default_factory=dict)
    sleeps: list[float] = field(default_factory=list)

    def inventory(self) -> FakeInventory:
        hosts = {}
        for name in self.names:
            groups = tuple(sorted(g for g, members in self.groups.items() if name in members))
            hosts[name] = Host(name, dict(self.host_vars.get(name, {})), groups)
        return FakeInventory(hosts)

    def factory(self, host: Host) -> Transport:
        return FakeTransport(host, self)

    def commands(self, host: str) -> list[str]:
        return [shell_text(c) for h, c in self.log if h == host]

    def file_sha1(self, host: str, path: str) -> str:
        return hashlib.sha1(self.files[(host, path)]).hexdigest()


def run_playbook(
    fleet: FakeFleet,
    text: str,
    tmp_path: Any,
    *,
    extra_vars: dict | None = None,
    check: bool = False,
    diff: bool = False,
    limit: str | None = None,
    forks: int = 10,
    tags: tuple[str, ...] = (),
    skip_tags: tuple[str, ...] = (),
    start_at_task: str | None = None,
    become: Any = None,
    pty: bool = False,
    gathering: str = "explicit",
):
    """Load ``text`` as a playbook and run it on the fake fleet -> (summary, Recorder).

    Facts are gathered only where a play says ``gather_facts: true`` (gathering
    ``explicit``): these tests are about scheduling, and fake hosts run no fact script.
    tests/test_facts*.py cover gathering with Ansible's default (``implicit``)."""
    from runner.playbook import PlaybookRunner, load_playbook, select_tasks

    path = tmp_path / "play.yml"
    path.write_text(text)
    book = load_playbook(str(path), extra_vars)
    book = select_tasks(book, tags=tags, skip_tags=skip_tags, start_at_task=start_at_task)
    recorder = Recorder()
    runner = PlaybookRunner(
        inventory=fleet.inventory(),
        engine_factory=lambda: Engine(FactoryOf(fleet.factory), forks=forks),
        sink=recorder,
        local_factory=fleet.factory,
        extra_vars=extra_vars,
        limit=limit,
        check=check,
        diff=diff,
        sleep=fleet.sleeps.append,
        become=become,
        pty=pty,
        gathering=gathering,
    )
    summary = runner.run(book)
    return summary, recorder
