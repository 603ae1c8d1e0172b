"""The Celery app of both sides. Tasks are signed JSON: Celery's ``auth`` serializer
(celery.security) over its ``json`` one; pickle, yaml and msgpack are disabled, and a
worker accepts nothing but ``auth`` content, so an unsigned, a pickled or a wrongly
signed message is refused before any runner code sees it.

The CLI signs with a private key and its certificate (``RUNNER_CLUSTER_KEY``,
``RUNNER_CLUSTER_CERT``); a worker verifies against a folder of trusted certificates
(``RUNNER_CLUSTER_CERTS``) and holds no private key, so a worker's machine cannot sign
work for the others. The broker sees each task's JSON in the clear: the hosts, their
variables (without secret ones), the job and the run's settings, never a password.

Only the broker is used: no result backend (results travel on the run's stream), no
task events, no gossip or mingle. ``celery.security.setup_security`` insists on a key
for verifying too, so the worker registers the same serializer with the certificate
store alone (``register_auth``, which setup_security calls).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from runner.errors import ConfigError

KEY_VARIABLE = "RUNNER_CLUSTER_KEY"
CERT_VARIABLE = "RUNNER_CLUSTER_CERT"
CERTS_VARIABLE = "RUNNER_CLUSTER_CERTS"
CLUSTER_VARIABLE = "RUNNER_CLUSTER"


@dataclass(frozen=True)
class Signing:
    """Where the signing key and certificate (CLI) or the trusted certificates (worker) are."""

    key: str | None = None
    cert: str | None = None
    certs: str | None = None

    @classmethod
    def from_environ(cls, environ: Any = None) -> Signing:
        env = os.environ if environ is None else environ
        return cls(env.get(KEY_VARIABLE), env.get(CERT_VARIABLE), env.get(CERTS_VARIABLE))


def _read(path: str | None, what: str, variable: str) -> str:
    if not path:
        raise ConfigError(
            f"--cluster needs {what} to sign tasks ({variable} is not set)",
            hint="see README 'Running on several machines': openssl req -x509 -newkey "
            "rsa:3072 -nodes -keyout runner.key -out runner.pem -subj /CN=runner",
        )
    try:
        with open(path) as fh:
            return fh.read()
    except OSError as exc:
        raise ConfigError(f"{variable} {path}: {exc.strerror}") from exc


def make_app(broker: str, *, signing: Signing, worker: bool) -> Any:
    """A Celery app on ``broker`` whose tasks are signed (client) or verified (worker)."""
    from celery import Celery
    from celery.security.serialization import register_auth
    from kombu.serialization import disable_insecure_serializers, registry

    if worker:
        if not signing.certs or not os.path.isdir(signing.certs):
            raise ConfigError(
                f"runner worker needs a folder of trusted certificates "
                f"({CERTS_VARIABLE}={signing.certs!r} is not a folder)",
                hint="--certs DIR: the certificates (PEM) of the keys that sign runs",
            )
        register_auth(None, None, None, signing.certs, "sha256", "json")
    else:
        key = _read(signing.key, "a private key", KEY_VARIABLE)
        cert = _read(signing.cert, "its certificate", CERT_VARIABLE)
        try:
            register_auth(key, None, cert, None, "sha256", "json")
        except Exception as exc:  # celery.exceptions.SecurityError and cryptography's
            raise ConfigError(f"{KEY_VARIABLE}/{CERT_VARIABLE}: {exc}") from exc
    disable_insecure_serializers(allowed=["auth"])
    registry._set_default_serializer("auth")
    app = Celery("runner", broker=broker, set_as_current=False)
    app.conf.update(
        task_serializer="auth",
        accept_content=["auth"],
        event_serializer="json",
        task_ignore_result=True,
        task_acks_late=False,  # early acks: a started shard is never delivered again
        worker_prefetch_multiplier=1,
        worker_disable_prefetch=True,  # fetch only with a free slot: nothing waits unseen
        worker_send_task_events=False,
        worker_enable_remote_control=False,  # the control plane is our own keys
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": 3600},
        task_default_queue="runner.zone.default",
        worker_cancel_long_running_tasks_on_connection_loss=False,
    )
    return app
