"""A fork's overlay changes generated/ in proportion to what it changes: about one line per cell it adds or
removes, and a relabel of a resource class a handful of lines, however many cells run on it."""

from __future__ import annotations

import difflib
import json

import pytest

from pipelinegen.generate import render_all
from pipelinegen.load import load_pipeline
from pipelinegen.plan.expand import cell_universe
from tests.conftest import REPO


def _changed_lines(before: dict[str, bytes], after: dict[str, bytes]) -> dict[str, int]:
    """Per generated file, the lines a unified diff adds or removes."""
    counts = {}
    for name in sorted(set(before) | set(after)):
        old = before.get(name, b"").decode().splitlines()
        new = after.get(name, b"").decode().splitlines()
        diff = [line for line in difflib.unified_diff(old, new, lineterm="", n=0) if line[:3] not in ("+++", "---")
                and not line.startswith("@@")]
        if diff:
            counts[name] = len(diff)
    return counts


@pytest.fixture(scope="module")
def upstream():
    pipeline = load_pipeline(REPO / "pipeline.yaml")
    return pipeline, render_all(pipeline, REPO)


def _fork(tmp_path, text):
    overlay = tmp_path / "fork.yaml"
    overlay.write_text(text)
    pipeline = load_pipeline(REPO / "pipeline.yaml", [overlay])
    return pipeline, render_all(pipeline, REPO)


def test_relabelling_a_resource_class_changes_a_few_lines_not_one_per_cell(upstream, tmp_path):
    base, before = upstream
    fork, after = _fork(tmp_path, "resources:\n  - {name: medium, label: 'acme-{arch}-m6i'}\n")
    relabelled = sum(1 for c in cell_universe(fork) if c.label.startswith("acme-"))
    assert relabelled > 300  # every cell on `medium`...
    changed = _changed_lines(before, after)
    plan_json = "library/resources/pipelinegen/plan.json"
    assert changed[plan_json] <= 4  # ...yet plan.json changes only its label table
    assert sum(changed.values()) <= 40, changed  # clone pod templates and the overlay record included
    data = json.loads(after[plan_json])
    assert data["labels"]["medium arch=amd64"] == "acme-amd64-m6i"


def test_adding_a_step_adds_about_one_line_per_cell(upstream, tmp_path):
    base, before = upstream
    fork, after = _fork(tmp_path, "steps:\n  - {name: acme-it, kind: test, splits: 4, command: 'it.sh {split}'}\n"
                                  "profiles:\n  - {name: pre-commit, steps: {$append: [acme-it]}}\n")
    added = len(cell_universe(fork)) - len(cell_universe(base))
    assert added == 4 * 3  # 4 splits x 3 jdks
    changed = _changed_lines(before, after)
    plan_json = "library/resources/pipelinegen/plan.json"
    # the new cells and step entry; pre-commit and the profile extending it (- and +); the comma that the
    # list's last line gains when an item follows it (steps and cells, - and +)
    assert changed[plan_json] <= added + 1 + 4 + 4, changed
    assert sum(changed.values()) <= added + 12, changed
