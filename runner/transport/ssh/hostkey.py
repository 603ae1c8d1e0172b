"""The host-key verdict for one connection, as ssh(1) reaches it, and host certificates.

Order of the checks (each compared with the real ``ssh`` in tests/test_hostkeys_e2e.py):
a key marked @revoked for the host is refused under every policy; under "off" nothing
else is checked; a host certificate signed by a @cert-authority key listed for the host
is accepted; a recorded key of the same type must match; keys recorded only of other
types mean the key changed (the negotiation offered those types first, so the server
has none of them); for a port other than 22 a key recorded for the bare address is
accepted as ssh does; a new key is refused under "strict" and recorded under "accept-new".

Stricter than ssh, on purpose (the tests show ssh's verdict too): ssh under
StrictHostKeyChecking=no connects to a revoked key (only turning passwords off); ssh
warns and connects when it cannot record a new key; ssh hangs on a FIFO known_hosts.
runner refuses the host in each case.
"""

from __future__ import annotations

import base64
import logging
import time
from dataclasses import dataclass

import paramiko

from runner.errors import HostKeyError
from runner.transport.ssh.known_hosts import (
    ALGORITHMS_FOR_TYPE,
    CERT_SUFFIX,
    Entry,
    KnownHostsFiles,
    known_hosts_name,
)
from runner.transport.ssh.settings import HostSettings

log = logging.getLogger(__name__)

SSH2_CERT_TYPE_HOST = 2


class _Reader:
    """SSH wire format, strictly: a length past the end or bytes left over is an error
    (paramiko's Message pads or truncates instead, so a damaged certificate could pass)."""

    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def uint(self, size: int) -> int:
        if self.at + size > len(self.data):
            raise ValueError("truncated")
        value = int.from_bytes(self.data[self.at : self.at + size], "big")
        self.at += size
        return value

    def string(self) -> bytes:
        size = self.uint(4)
        if self.at + size > len(self.data):
            raise ValueError("string past the end")
        self.at += size
        return self.data[self.at - size : self.at]

    def text(self) -> str:
        return self.string().decode()

    def done(self) -> bool:
        return self.at == len(self.data)

    def end(self) -> None:
        if not self.done():
            raise ValueError("trailing bytes")


@dataclass(frozen=True)
class HostCertificate:
    """The fields of an OpenSSH host certificate (PROTOCOL.certkeys) that ssh checks.
    paramiko parses the certified key but checks none of this, so runner does."""

    cert_type: int
    principals: tuple[str, ...]
    valid_after: int
    valid_before: int
    critical_options: bytes
    ca_type: str
    ca_b64: str
    signed: bytes
    signature: bytes

    @classmethod
    def of(cls, key: paramiko.PKey) -> HostCertificate | None:
        """The certificate ``key`` came with, or None for a plain key (or one we cannot
        parse, which is then judged as the plain key it certifies, as ssh does)."""
        blob = getattr(key, "public_blob", None)
        if blob is None or not str(blob.key_type).endswith(CERT_SUFFIX):
            return None
        try:
            return cls._parse(bytes(blob.key_blob))
        except Exception as exc:  # the server wrote these bytes: nothing in them may crash us
            log.debug("unparseable host certificate: %s", exc)
            return None

    @classmethod
    def _parse(cls, raw: bytes) -> HostCertificate | None:
        r = _Reader(raw)
        plain = r.text().removesuffix(CERT_SUFFIX)
        r.string()  # nonce
        fields = {"ssh-ed25519": 1, "ssh-rsa": 2}.get(plain, 2 if plain.startswith("ecdsa-") else 0)
        if not fields:
            return None
        for _ in range(fields):  # the certified key (paramiko has read it already)
            r.string()
        r.uint(8)  # serial
        cert_type = r.uint(4)
        r.string()  # key id
        names = _Reader(r.string())
        principals = []
        while not names.done():
            principals.append(names.text())
        valid_after, valid_before = r.uint(8), r.uint(8)
        critical = r.string()
        r.string(), r.string()  # extensions, reserved
        ca_blob = r.string()
        signed = raw[: r.at]
        signature = r.string()
        r.end()
        sig = _Reader(signature)
        sig.text(), sig.string()
        sig.end()
        return cls(
            cert_type,
            tuple(principals),
            valid_after,
            valid_before,
            critical,
            _Reader(ca_blob).text(),
            base64.b64encode(ca_blob).decode(),
            signed,
            signature,
        )

    def problem(self, principal: str, now: float | None = None) -> str | None:
        """Why ssh would not accept this certificate for ``principal`` (None: it would)."""
        now = time.time() if now is None else now
        if self.cert_type != SSH2_CERT_TYPE_HOST:
            return "it is not a host certificate"
        if self.principals and principal not in self.principals:
            return f"it is not valid for {principal} (principals: {', '.join(self.principals)})"
        if not self.valid_after <= now < self.valid_before:
            return "it is expired or not yet valid"
        if self.critical_options:
            return "it has critical options"
        try:
            ca = paramiko.PKey.from_type_string(self.ca_type, base64.b64decode(self.ca_b64))
            if not ca.verify_ssh_sig(self.signed, paramiko.Message(self.signature)):
                return "its signature does not verify"
        except Exception as exc:  # UnknownKeyType, cryptography's errors: server-made bytes
            return f"its CA key cannot be used ({type(exc).__name__}: {exc})"
        return None


OK, CHANGED, OTHER_TYPES, NEW = "ok", "changed", "other types", "new"


def _verdict(
    entries: list[Entry], key: paramiko.PKey, cert: HostCertificate | None, principal: str
) -> tuple[str, Entry | None]:
    if cert is not None:
        for e in entries:
            is_ca = e.marker == "cert-authority" and e.b64 == cert.ca_b64
            if is_ca and cert.problem(principal) is None:
                return OK, e
    plain = [e for e in entries if not e.marker]
    key_type, b64 = key.get_name(), key.get_base64()
    same = [e for e in plain if e.key_type == key_type]
    for e in same:
        if e.b64 == b64:
            return OK, e
    if same:
        return CHANGED, same[0]
    if plain:
        return OTHER_TYPES, plain[0]
    return NEW, None


def _revoked(
    entries: list[Entry], key: paramiko.PKey, cert: HostCertificate | None
) -> Entry | None:
    keys = {key.get_base64(), cert.ca_b64} if cert is not None else {key.get_base64()}
    for e in entries:
        if e.marker == "revoked" and e.b64 in keys:
            return e
    return None


def check_host_key(
    transport: paramiko.Transport,
    settings: HostSettings,
    known: KnownHostsFiles,
    *,
    host: str,
    label: str = "",
) -> None:
    """Apply the host-key policy; raise HostKeyError (saying what, where and what to do)
    for a revoked, changed or (strict) unknown key, or a known_hosts that cannot be used."""
    policy = settings.host_key_checking
    key = transport.get_remote_server_key()
    name = known_hosts_name(settings.address, settings.port)
    path = known.path
    if known.error:
        if policy == "off":
            log.debug(
                "known_hosts %s %s: not checked (host key checking is off)", path, known.error
            )
            return
        raise HostKeyError(
            f"{label}cannot check the host key of {name}: known_hosts {path} {known.error}",
            host=host,
            hint="point --known-hosts (or UserKnownHostsFile) at a regular file; "
            "an empty or missing one will do",
        )
    entries = known.lookup(name)
    cert = HostCertificate.of(key)
    revoked = _revoked(entries, key, cert)
    if revoked is not None:
        what = "its CA key" if revoked.b64 != key.get_base64() else f"this {key.get_name()} key"
        raise HostKeyError(
            f"{label}host key for {name} is revoked: {revoked.path}:{revoked.line} marks {what} "
            "@revoked, so it is refused under every host key checking policy",
            host=host,
            hint="the key was withdrawn on purpose: get the host's new key from its "
            "administrator before connecting",
        )
    if policy == "off":
        return
    verdict, entry = _verdict(entries, key, cert, settings.address.lower())
    if verdict == NEW and settings.port != 22:
        # ssh accepts a key recorded for the bare address when [address]:port has none
        bare = known.lookup(settings.address)
        if (
            _revoked(bare, key, cert) is None
            and _verdict(bare, key, cert, settings.address.lower())[0] == OK
        ):
            return
    if verdict == OK:
        return
    where = entry.path if entry is not None else path
    hint = f"if the change is expected, remove the old entry: ssh-keygen -R '{name}' -f {where}"
    recorded_at = f"{entry.path}:{entry.line}" if entry is not None else where
    if verdict == CHANGED:
        raise HostKeyError(
            f"{label}host key changed for {name}: the server offered a different "
            f"{key.get_name()} key than the one recorded at {recorded_at}; this can "
            "mean an attack (someone in the middle) or a reinstalled host",
            host=host,
            hint=hint,
        )
    if verdict == OTHER_TYPES:
        recorded = sorted({e.key_type for e in entries if not e.marker})
        offered = tuple(getattr(transport, "server_host_key_algorithms", ()) or ())
        unusable = [t for t in recorded if set(ALGORITHMS_FOR_TYPE.get(t, (t,))) & set(offered)]
        detail = f"the server offered only {', '.join(offered) or key.get_name()}"
        if unusable:
            detail = f"the server offers {', '.join(unusable)} too, which runner cannot verify"
        raise HostKeyError(
            f"{label}host key changed for {name}: known_hosts has {', '.join(recorded)} for it "
            f"({recorded_at}), {detail}; this can mean an attack (someone in the "
            "middle) or a reinstalled host",
            host=host,
            hint=hint,
        )
    if policy == "strict":
        via_ca = any(e.marker == "cert-authority" for e in entries)
        why = ""
        if via_ca:
            why = (
                "; a @cert-authority line applies, but the server presented no certificate"
                if cert is None
                else f"; its certificate is not accepted: {_cert_problem(cert, entries, settings)}"
            )
        raise HostKeyError(
            f"{label}host key unknown for {name} ({key.get_name()}) and host key checking "
            f"is strict{why}",
            host=host,
            hint="connect once with --host-key-checking accept-new, or add the key "
            f"to {path} (ssh-keyscan)",
        )
    try:
        known.record(name, key)
    except OSError as exc:
        raise HostKeyError(
            f"{label}cannot record the new host key of {name} in {path}: {exc.strerror or exc}",
            host=host,
            hint="make the file writable, point --known-hosts elsewhere, or add the key "
            "yourself (ssh-keyscan) and use --host-key-checking strict",
        ) from exc


def _cert_problem(cert: HostCertificate, entries: list[Entry], settings: HostSettings) -> str:
    if not any(e.marker == "cert-authority" and e.b64 == cert.ca_b64 for e in entries):
        return "it is signed by a CA that no @cert-authority line lists for this host"
    return cert.problem(settings.address.lower()) or "unknown reason"
