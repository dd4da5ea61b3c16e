"""The compiled plan data the Jenkins library reads at run time (resources/pipelinegen/plan.json).

It holds the whole cell universe plus what selection needs (profiles, axis parameters, canonical
repository), so the Jenkinsfile stays small however large the matrix: the library's Groovy mirror of
`plan.expand.select` picks the cells from it. Every shell command a cell runs is rendered here, in
Python, with `shell_quote`; the library hands it to a script through the environment, so Groovy never
builds or quotes a shell string.
"""

from __future__ import annotations

import json

from pipelinegen import __version__
from pipelinegen.model.build import template_fields
from pipelinegen.model.outcome import outcome_data
from pipelinegen.model.pipeline import Pipeline, Step
from pipelinegen.plan.cell import Cell
from pipelinegen.plan.expand import cell_universe
from pipelinegen.plan.repeat import repeat_count_limit
from pipelinegen.step_kinds import plan_fields

PLAN_DATA_FORMAT = 3  # 2: cells name their agent label by key into "labels"; 3: cells are rows of CELL_FIELDS
# The fields of a cell, in the order of its row in plan.json: trunk has ~1,500 cells and every stage of every build
# parses them (pipelinegenPlan.parsePlan), so no key is repeated per cell.
CELL_FIELDS = ("id", "name", "step", "axes", "split", "command", "agent", "depends_on")
RESULTS_ROOT = "ci-results"
JENKINS_BUNDLE = "bundle.tar.zst"  # the summary stage's certified bundle, under RESULTS_ROOT (summarise.sh)


def agent_key(pipeline: Pipeline, cell: Cell) -> str:
    """The key of the cell's agent label in the plan data's `labels` table: its resource class and the
    values of the axes the label template uses ('medium arch=amd64'). Cells hold the key, not the label,
    so relabelling a resource class (a fork's everyday change) edits one line of plan.json, not every cell's."""
    resource = pipeline.resource(pipeline.step(cell.step).resource)
    values = dict(cell.axes)
    return " ".join([resource.name, *(f"{axis}={values[axis]}" for axis in dict.fromkeys(template_fields(resource.label)))])


def cell_data(pipeline: Pipeline, cell: Cell) -> dict:
    """What varies per cell, by field name; everything a whole step shares lives once in the step entry."""
    data = {
        "id": cell.id,
        "name": cell.name,
        "step": cell.step,
        "axes": [value for _, value in cell.axes],  # in the order of the top-level "axes" list
        "split": cell.split,
        "command": cell.command,
        "agent": agent_key(pipeline, cell),  # the library sets cell.label = labels[agent] (pipelinegenPlan.parsePlan)
        "depends_on": list(cell.depends_on),
    }
    assert tuple(data) == CELL_FIELDS
    return data


def cell_row(pipeline: Pipeline, cell: Cell) -> list:
    """The cell as plan.json holds it: its values in the order of CELL_FIELDS."""
    return list(cell_data(pipeline, cell).values())


def step_data(pipeline: Pipeline, step: Step) -> dict:
    resource = pipeline.resource(step.resource)
    return {
        "name": step.name,
        "kind": step.kind,
        # what the kind means, as data (pipelinegen/step_kinds.py): the library names no kind
        **plan_fields(step.kind, step.build_once),
        "axes": list(step.axes),
        "always": step.always,
        "build_once": step.build_once,
        "post_commit_only": step.post_commit_only,
        "splits": step.splits,
        "resource": resource.name,
        "timeout_minutes": step.timeout_minutes,
        "attempts": step.attempts,
        "retry_on": step.retry_on,
        "stash_includes": step.stash,
        "env": [f"{key}={value}" for key, value in step.env],
        # result/archive globs may use {step}/{axis} placeholders: rendered per cell by the Python plan;
        # the library hands the step's patterns to collect-results.sh, which expands them per cell.
        "results": list(step.results),
        "archive": list(step.archive),
        "checkouts": [
            {
                "name": r.name,
                "repository": r.url,
                "branch": r.branch,
                "directory": r.directory,
                "repository_parameter": r.repository_parameter,
                "branch_parameter": r.branch_parameter,
            }
            for r in (pipeline.repository(name) for name in step.checkouts)
        ],
    }


def plan_data(pipeline: Pipeline) -> dict:
    cells = cell_universe(pipeline)
    return {
        "format": PLAN_DATA_FORMAT,
        "generator": f"pipelinegen {__version__}",
        "project": pipeline.project,
        "canonical_repository": pipeline.canonical_repository,
        "results_root": RESULTS_ROOT,
        "outcome": outcome_data(),
        "axes": [
            {
                "name": a.name,
                "values": list(a.values),
                "default": a.default,
                "parameter": a.parameter,
                "parameter_default": a.parameter_default,
            }
            for a in pipeline.axes
        ],
        "steps": [step_data(pipeline, s) for s in pipeline.steps],
        "profiles": [{"name": p.name, "custom": p.custom, "steps": list(p.steps)} for p in pipeline.profiles],
        "repeat": {
            "test_regex_parameter": pipeline.repeat.test_regex_parameter,
            "count_parameter": pipeline.repeat.count_parameter,
            "stop_on_failure_parameter": pipeline.repeat.stop_on_failure_parameter,
            "default_count": pipeline.repeat.default_count,
            "max_count": repeat_count_limit(),
        },
        "repeats": [
            {"step": r.step, "tests": r.tests, "count": r.count, "stop_on_failure": r.stop_on_failure, "machines": r.machines}
            for r in pipeline.repeats
        ],
        "labels": {agent_key(pipeline, c): c.label for c in cells},
        "cell_fields": list(CELL_FIELDS),
        "cells": [cell_row(pipeline, c) for c in cells],
    }


def render_plan_json(pipeline: Pipeline) -> str:
    """Deterministic, ASCII JSON with one cell, step, profile, axis or label per line, so the diff of a
    change to pipeline.yaml or an overlay has about one line per item it adds, removes or changes."""
    data = plan_data(pipeline)

    def dump(value: object) -> str:
        return json.dumps(value, sort_keys=True, ensure_ascii=True, separators=(",", ":"))

    def block(value: object) -> str:
        if isinstance(value, list) and value:
            return "[\n" + ",\n".join(f"    {dump(item)}" for item in value) + "\n  ]"
        if isinstance(value, dict) and value and all(not isinstance(v, dict | list) for v in value.values()):
            return "{\n" + ",\n".join(f"    {dump(k)}: {dump(v)}" for k, v in sorted(value.items())) + "\n  }"
        return dump(value)

    cells = data.pop("cells")  # last, as before: the head (what selection needs) reads first
    head = ",\n".join(f"  {dump(key)}: {block(value)}" for key, value in sorted(data.items()))
    return "{\n" + head + f',\n  "cells": {block(cells)}\n}}\n'
