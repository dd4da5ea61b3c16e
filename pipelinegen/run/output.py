"""The run's result directory: plan.json, one log per cell and attempt, JUnit files per cell, summary.json.

Stand-in for the certified result bundle (pipelinegen.results.bundle) until that writer exists; the layout
is what the bundle packs. summary.json is rewritten (atomically) after every cell, with `complete: false`
until the run ends, so a crash or Ctrl-C still leaves a valid, readable result marked incomplete.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from pipelinegen.fsutil import atomic_write_text
from pipelinegen.plan.cell import Cell, Plan
from pipelinegen.run.records import RunSummary

SUMMARY = "summary.json"
PLAN = "plan.json"
RESERVE = ".pipelinegen-reserve"  # space held back so the final summary.json can be written on a full disk


class ResultDirectory:
    def __init__(self, root: Path) -> None:
        self.root = root

    def reserve(self, nbytes: int) -> None:
        """Hold *nbytes* of the file system (a preallocated file) until release_reserve(): if the cells fill
        the disk, freeing it lets the final summary.json say `complete: false` instead of staying 'running'."""
        path = self.root / RESERVE
        with open(path, "wb") as handle:
            try:
                os.posix_fallocate(handle.fileno(), 0, nbytes)
            except OSError:
                handle.write(b"\0" * nbytes)  # file systems without fallocate (tmpfs has it; some FUSE do not)
                handle.flush()
                os.fsync(handle.fileno())

    def release_reserve(self) -> None:
        try:
            os.unlink(self.root / RESERVE)
        except FileNotFoundError:
            pass

    def write_plan(self, plan: Plan, selected: list[Cell]) -> None:
        data = plan.as_dict()
        data["selected"] = [cell.id for cell in selected]
        atomic_write_text(self.root / PLAN, json.dumps(data, indent=2, sort_keys=True) + "\n")

    def write_summary(self, summary: RunSummary) -> None:
        atomic_write_text(self.root / SUMMARY, json.dumps(summary.as_dict(), indent=2, sort_keys=True) + "\n")


def read_summary(root: Path) -> dict:
    return json.loads((root / SUMMARY).read_text(encoding="utf-8"))
