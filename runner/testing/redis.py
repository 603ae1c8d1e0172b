"""A throwaway redis-server for the cluster tests and bench: a free 127.0.0.1 port, a
password (``requirepass``), its files in a temporary folder, stopped at the end; and a
signing key with its certificate for Celery's ``auth`` serializer."""

from __future__ import annotations

import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from runner.testing.fleet import free_port

REDIS_CANDIDATES = ("/usr/bin/redis-server", "/usr/local/bin/redis-server")


def find_redis_server() -> str | None:
    for path in REDIS_CANDIDATES:
        if Path(path).exists():
            return path
    return shutil.which("redis-server")


def why_no_redis() -> str | None:
    """None when the cluster tests can run here, else the reason they cannot."""
    if find_redis_server() is None:
        return "redis-server not installed (apt-get install redis-server; make test does)"
    try:
        import celery  # noqa: F401
        import redis  # noqa: F401
    except ImportError:
        return "celery/redis not installed: pip install 'runner[cluster]'"
    return None


@dataclass
class RedisServer:
    """One redis-server; ``url`` carries its password. ``start()`` returns once it answers."""

    workdir: Path
    port: int = 0
    password: str = field(default_factory=lambda: "pw-" + secrets.token_hex(12))
    proc: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> RedisServer:
        server = find_redis_server()
        if server is None:
            raise RuntimeError(why_no_redis() or "no redis-server")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        config = self.workdir / "redis.conf"
        config.write_text(
            f"port {self.port}\nbind 127.0.0.1\nrequirepass {self.password}\n"
            f'dir {self.workdir}\nsave ""\nappendonly no\ndaemonize no\n'
            'protected-mode yes\nlogfile ""\n'
        )
        log = open(self.workdir / "redis.log", "wb")
        self.proc = subprocess.Popen(
            [server, str(config)], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"redis-server exited: {(self.workdir / 'redis.log').read_text()}"
                )
            if self._answers():
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server on port {self.port} did not answer in {timeout} s")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(f"AUTH {self.password}\r\nPING\r\n".encode())
                return b"+PONG" in _read_some(sock)
        except OSError:
            return False

    def client(self):  # noqa: ANN201 - redis.Redis, imported only here
        import redis

        return redis.Redis.from_url(self.url)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _read_some(sock: socket.socket) -> bytes:
    data = b""
    while b"PONG" not in data and b"ERR" not in data:
        chunk = sock.recv(1024)
        if not chunk:
            break
        data += chunk
    return data


def make_signing_pair(folder: Path, name: str = "runner") -> tuple[Path, Path]:
    """A private key and its self-signed certificate (PEM) in ``folder``, as
    ``openssl req -x509 -newkey rsa:3072 -nodes -subj /CN=runner`` makes them."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    folder.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = folder / f"{name}.key", folder / f"{name}.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path
