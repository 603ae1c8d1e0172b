"""``--out-dir``: one file set per host. The engine streams DIR/HOST.stdout and
DIR/HOST.stderr (whole, never truncated); this sink writes DIR/HOST.json at the end.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from runner import localpaths
from runner.errors import UnsafePathError
from runner.events import HostFinished
from runner.models import HostResult
from runner.output.jsonl import host_record

__all__ = ["OutDirWriter", "out_paths"]

log = logging.getLogger(__name__)


def out_paths(directory: str | os.PathLike[str], host: str) -> tuple[Path, Path, Path]:
    """``("out", "web01")`` -> ``(out/web01.stdout, out/web01.stderr, out/web01.json)``.

    The rule (one file name per host, kept inside DIR) lives in runner.localpaths, shared
    with the engine that writes the .stdout/.stderr files.
    """
    return tuple(Path(p) for p in localpaths.out_paths(os.fspath(directory), host))  # type: ignore[return-value]


class OutDirWriter:
    """EventSink writing DIR/HOST.json (the JSON-lines record, indented) per HostFinished.

    The directory is created on first use; each file is replaced atomically.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self._made = False

    def handle(self, event: object) -> None:
        if isinstance(event, HostFinished):
            try:
                self.write(event.result)
            except UnsafePathError as exc:  # a symbolic link under DIR leading out of it:
                log.debug("--out-dir: %s", exc)  # the engine failed the host already

    def write(self, result: HostResult) -> Path:
        """Write DIR/HOST.json for ``result``; returns its path."""
        if not self._made:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._made = True
        _, _, path = out_paths(self.directory, result.host)
        tmp = path.with_name(f".{path.name}.tmp")
        text = json.dumps(host_record(result), ensure_ascii=False, indent=2)
        tmp.write_text(text + "\n", encoding="utf-8")
        os.replace(tmp, path)
        return path
