"""Whether a run is served by the connection keeper, and for how long it holds the
run's connections (runner.executors.keeper)."""

from __future__ import annotations

from collections.abc import Mapping

DEFAULT_PERSIST = 60.0


def persist_seconds(given: float | None, environ: Mapping[str, str]) -> float:
    """How long the connection keeper holds a run's connections: the ``persist``
    setting (``--persist``, ``RUNNER_PERSIST``, ``[runner] persist``; runner.project)
    when given, else 60 s, or 0 (no keeper) under ``CI=true``, so no process outlives a
    CI step unless asked for.

    >>> persist_seconds(None, {}), persist_seconds(None, {"CI": "true"})
    (60.0, 0.0)
    >>> persist_seconds(5, {"CI": "true"}), persist_seconds(0, {})
    (5.0, 0.0)
    """
    if given is not None:
        return float(given)
    if environ.get("CI", "").strip().lower() == "true":
        return 0.0
    return DEFAULT_PERSIST
