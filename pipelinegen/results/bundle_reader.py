"""Read result bundles (format: docs/result-format.md): `read_bundle(path)` opens one through the strict
archive reader and checks its manifest against the bundle schema; the members are streamed on demand.

Apart from the writer (results/bundle.py) so that readers which only need the manifest and the members
(`history ingest`) do not import what writing needs (lxml, the JUnit parser, the normaliser, signing).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pipelinegen.fsutil import sha256_bytes
from pipelinegen.results import archive
from pipelinegen.results.manifest import MANIFEST, ManifestError, load_manifest
from pipelinegen.results.testcase import TestCaseResult

if TYPE_CHECKING:
    from pipelinegen.results.junit import SuiteOutput


@dataclass
class Bundle:
    """A bundle on disk; everything is streamed from the archive on demand."""

    path: Path
    manifest: dict  # valid against manifest.schema.json
    manifest_sha256: str = ""  # of the manifest.json bytes: the bundle's identity in the history

    def cell_for_junit(self) -> dict[str, str]:
        return {c["junit"]: c["id"] for c in self.manifest.get("cells", []) if c.get("junit")}

    def iter_testcases(self) -> Iterator[TestCaseResult]:
        for record in self.iter_records():
            if isinstance(record, TestCaseResult):
                yield record

    def iter_records(self) -> Iterator[TestCaseResult | SuiteOutput]:
        from pipelinegen.results.junit import iter_records  # lxml: only for the readers that parse JUnit

        cells = self.cell_for_junit()
        for name, handle in archive.iter_members(self.path):
            cell_id = cells.get(name)
            if cell_id is not None:
                yield from iter_records(handle, cell_id, name=name, repair=False)

    def iter_files(self) -> Iterator[tuple[str, object]]:
        """(name, binary stream) of every file, in archive order."""
        return archive.iter_members(self.path)

    @property
    def subject(self) -> dict:
        return self.manifest["subject"]

    @property
    def cells(self) -> list[dict]:
        return self.manifest["cells"]


def read_bundle(path: Path) -> Bundle:
    """Open a bundle: reads only manifest.json (the first member) now. Raises archive.CorruptArchive."""
    path = Path(path)
    data = archive.read_member(path, MANIFEST)
    if data is None:
        raise archive.CorruptArchive(f"{path}: no {MANIFEST}: not a pipelinegen result bundle")
    try:
        manifest = load_manifest(data)
    except ManifestError as err:
        raise archive.CorruptArchive(f"{path}: {err}") from err
    return Bundle(path=path, manifest=manifest, manifest_sha256=sha256_bytes(data))
