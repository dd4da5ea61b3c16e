"""`--cells` selection: by id, by name, by words of the name, or by glob; dependencies come along."""

from __future__ import annotations

import difflib
from fnmatch import fnmatchcase

from pipelinegen.errors import PipelineError
from pipelinegen.plan.cell import Cell, Plan


def _words_match(pattern_words: list[str], name_words: list[str]) -> bool:
    """Every pattern word matches a word of the name, in order ('unit 1/2' matches 'unit jdk17 1/2')."""
    position = 0
    for word in pattern_words:
        while position < len(name_words) and not fnmatchcase(name_words[position], word):
            position += 1
        if position == len(name_words):
            return False
        position += 1
    return True


def cell_matches(cell: Cell, selector: str) -> bool:
    selector = selector.strip()
    if selector in (cell.id, cell.name) or fnmatchcase(cell.id, selector) or fnmatchcase(cell.name, selector):
        return True
    return _words_match(selector.split(), cell.name.split())


def with_dependencies(plan: Plan, chosen: list[Cell]) -> list[Cell]:
    """*chosen* plus every cell they depend on (transitively), in plan order."""
    by_id = plan.by_id()
    wanted: set[str] = set()
    stack = [cell.id for cell in chosen]
    while stack:
        cell_id = stack.pop()
        if cell_id in wanted or cell_id not in by_id:
            continue
        wanted.add(cell_id)
        stack.extend(by_id[cell_id].depends_on)
    return [cell for cell in plan.cells if cell.id in wanted]


def select_cells(plan: Plan, selectors: tuple[str, ...] | list[str]) -> list[Cell]:
    """The cells to run: all of the plan when no selector, else the matches and their dependencies."""
    if not selectors:
        return list(plan.cells)
    chosen: list[Cell] = []
    for selector in selectors:
        matches = [cell for cell in plan.cells if cell_matches(cell, selector)]
        if not matches:
            names = [cell.name for cell in plan.cells]
            close = difflib.get_close_matches(selector, names, n=3, cutoff=0.4)
            hint = f"did you mean {', '.join(repr(c) for c in close)}?" if close else "see `pipelinegen run --dry-run`"
            raise PipelineError.single(
                "<command line>", None, f"--cells {selector!r} matches no cell of this plan", hint=hint
            )
        chosen.extend(matches)
    return with_dependencies(plan, chosen)
