"""The run's result directory: plan.json, one log per cell and attempt, JUnit files per cell, summary.json.

Stand-in for the certified result bundle (pipelinegen.results.bundle) until that writer exists; the layout
is what the bundle packs. summary.json is rewritten (atomically) after every cell, with `complete: false`
until the run ends, so a crash or Ctrl-C still leaves a valid, readable result marked incomplete.
"""

from __future__ import annotations

import json
from pathlib import Path

from pipelinegen.fsutil import atomic_write_text
from pipelinegen.plan.cell import Cell, Plan
from pipelinegen.run.model import RunSummary

SUMMARY = "summary.json"
PLAN = "plan.json"


class ResultDirectory:
    def __init__(self, root: Path) -> None:
        self.root = root

    def write_plan(self, plan: Plan, selected: list[Cell]) -> None:
        data = plan.as_dict()
        data["selected"] = [cell.id for cell in selected]
        atomic_write_text(self.root / PLAN, json.dumps(data, indent=2, sort_keys=True) + "\n")

    def write_summary(self, summary: RunSummary) -> None:
        atomic_write_text(self.root / SUMMARY, json.dumps(summary.as_dict(), indent=2, sort_keys=True) + "\n")


def read_summary(root: Path) -> dict:
    return json.loads((root / SUMMARY).read_text(encoding="utf-8"))
