"""Which cells may start now: dependencies finished, and enough of the `-j N` slots free.

Pure functions over ids, so the ordering rules are tested without running anything.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from pipelinegen.plan.cell import Cell


def slots_needed(cell: Cell, capacity: int) -> int:
    """A cell takes as many slots as its resource class has CPUs (at least 1, at most all of them)."""
    return max(1, min(capacity, math.ceil(cell.cpu or 1)))


def run_order(cells: Iterable[Cell]) -> list[Cell]:
    """Build-once cells first (everything else waits for them), otherwise plan order; stable."""
    cells = list(cells)
    return [c for c in cells if c.build_once] + [c for c in cells if not c.build_once]


def blocked_by(cell: Cell, finished: Mapping[str, str]) -> str | None:
    """The id of a dependency that finished without passing (the cell cannot run), else None."""
    for dep in cell.depends_on:
        if dep in finished and finished[dep] != "passed":
            return dep
    return None


def ready(cell: Cell, finished: Mapping[str, str], selected: set[str]) -> bool:
    """Every dependency that is part of this run has passed (one outside the selection is not waited for)."""
    return all(finished.get(dep) == "passed" for dep in cell.depends_on if dep in selected)


def pick(queue: list[Cell], finished: Mapping[str, str], selected: set[str], free: int, capacity: int) -> list[Cell]:
    """Cells of *queue* (in order) to start now with *free* slots; later cells may fill slots an earlier one
    cannot use (backfill), so a large cell waiting for room never leaves small ones idle behind it."""
    chosen: list[Cell] = []
    for cell in queue:
        need = slots_needed(cell, capacity)
        if need <= free and ready(cell, finished, selected):
            chosen.append(cell)
            free -= need
        if free == 0:
            break
    return chosen
