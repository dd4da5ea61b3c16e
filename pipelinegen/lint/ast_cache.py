"""A content-addressed cache of Groovy AST dumps, so that linting an unchanged file starts no JVM.

The key is the file's bytes plus everything that shapes the dump (the dumper script and the Groovy jar);
the rules run again on every lint (they are fast and may have changed), only the parse is cached. An entry
that cannot be read or is not a dump is a miss, never an error: the cache directory is not trusted input.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from pipelinegen.fsutil import atomic_write_text

MAX_ENTRIES = 4096  # pruned to this many, oldest first, when a run adds entries
MAX_ENTRY_BYTES = 64 * 1024 * 1024


def cache_key(content: bytes, dumper_identity: str) -> str:
    digest = hashlib.sha256()
    digest.update(dumper_identity.encode())
    digest.update(b"\0")
    digest.update(content)
    return digest.hexdigest()


class AstCache:
    def __init__(self, directory: Path):
        self.directory = directory

    def _path(self, key: str) -> Path:
        return self.directory / f"{key}.json"

    def get(self, key: str) -> dict | None:
        path = self._path(key)
        try:
            if path.stat().st_size > MAX_ENTRY_BYTES:
                return None
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            return None
        if not isinstance(doc, dict) or not ({"statements", "errors"} & doc.keys()) or doc.get("missing"):
            return None
        try:
            os.utime(path)  # recently used entries survive pruning
        except OSError:
            pass
        return doc

    def put(self, entries: dict[str, dict]) -> None:
        """Store dumps (best effort: a read-only or full cache only costs the next run a JVM)."""
        if not entries:
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            for key, doc in entries.items():
                atomic_write_text(self._path(key), json.dumps({k: v for k, v in doc.items() if k != "file"}))
            self._prune()
        except OSError:
            pass

    def _prune(self) -> None:
        files = list(self.directory.glob("*.json"))
        if len(files) <= MAX_ENTRIES:
            return
        def mtime(p: Path) -> float:
            try:
                return p.stat().st_mtime
            except OSError:
                return 0.0
        for stale in sorted(files, key=mtime)[: len(files) - MAX_ENTRIES]:
            stale.unlink(missing_ok=True)
