"""Repeat cells: run chosen tests many times to find flaky tests before they land.

Two sources, one mechanism:
- the job parameters (`repeat_test_regex`, `repeated_tests_count`, `repeated_tests_stop_on_failure`,
  names set in pipeline.yaml `repeat:`): every selected test step runs the matching tests instead of
  its normal splits;
- `repeats.yaml` beside pipeline.yaml (written by `pipelinegen compile --repeat-changed --base REV` for the
  tests a branch adds or changes): repeat cells are added next to the normal cells.

A repeat cell runs its step's command (that of the step's first split) with PIPELINEGEN_REPEAT_TESTS,
PIPELINEGEN_REPEAT_COUNT and PIPELINEGEN_REPEAT_STOP_ON_FAILURE set; a CI-agnostic test script in repeat
mode runs those tests that many times instead of its split. The count is spread over several machines.
The Groovy library (`pipelinegenPlan.groovy`) builds the same cells.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from pipelinegen.errors import PipelineError
from pipelinegen.model.pipeline import Pipeline, RepeatSettings, RepeatSpec
from pipelinegen.plan.cell import Cell, Parameters, cell_id_from_name
from pipelinegen.schema import pipeline_schema
from pipelinegen.step_kinds import repeatable

TRUE_WORDS = ("true", "yes", "1", "on")


def spread(count: int, machines: int) -> tuple[int, ...]:
    """*count* repetitions over at most *machines* machines, as even as possible (larger shares first)."""
    machines = max(1, min(machines, count))
    return tuple(count // machines + (1 if i < count % machines else 0) for i in range(machines))


@dataclass(frozen=True)
class RepeatMode:
    specs: tuple[RepeatSpec, ...]
    replaces_normal_cells: bool  # job-parameter repeats replace the selected steps' test cells


def repeat_count_limit() -> int:
    """The largest repeat count: the schema's bound of repeat counts (the library gets it in its plan data)."""
    return pipeline_schema()["properties"]["repeat"]["properties"]["default_count"]["maximum"]


def _repeat_count(given: str | None, settings: RepeatSettings) -> int:
    """The job parameter's repeat count: ASCII digits within 1..repeat_count_limit(); the library's
    pipelinegenPlan applies the same rule (tests/validate/test_validate_harness.py holds them equal)."""
    if not given:
        return settings.default_count
    limit = repeat_count_limit()
    text = str(given).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 12 or not 1 <= int(text) <= limit:
        raise PipelineError.single("<parameters>", None, f"{settings.count_parameter}={text[:40]!r} is not a repeat count",
                                   hint=f"give a whole number from 1 to {limit}")
    return int(text)


def repeat_mode(pipeline: Pipeline, parameters: Parameters, selected_steps: set[str]) -> RepeatMode:
    extra = dict(parameters.extra)
    settings = pipeline.repeat
    regexp = extra.get(settings.test_regex_parameter, "")
    if regexp:
        count = _repeat_count(extra.get(settings.count_parameter), settings)
        stop = extra.get(settings.stop_on_failure_parameter, "true").lower() in TRUE_WORDS
        specs = tuple(
            RepeatSpec(step=s.name, tests=regexp, count=count, stop_on_failure=stop, machines=min(s.splits, count))
            for s in pipeline.steps
            if s.name in selected_steps and repeatable(s.kind)
        )
        return RepeatMode(specs=specs, replaces_normal_cells=True)
    return RepeatMode(specs=tuple(s for s in pipeline.repeats if s.step in selected_steps), replaces_normal_cells=False)


def _test_label(tests: str) -> str:
    """A short, readable stand-in for the test regexp in cell names."""
    text = re.sub(r"\\(.)", r"\1", tests)  # drop regex escapes for display
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:60].strip("-") or "tests"


def repeat_cells(spec: RepeatSpec, base_cells: list[Cell]) -> list[Cell]:
    """The repeat cells of one spec: for each first-split cell of the step, one cell per machine."""
    shares = spread(spec.count, spec.machines)
    cells = []
    for base in base_cells:
        stem = base.name if base.splits == 1 else base.name.rsplit(" ", 1)[0]
        for index, share in enumerate(shares, 1):
            name = f"{stem} repeat {_test_label(spec.tests)} {index}/{len(shares)}"
            env = dict(base.env)
            env.update(
                {
                    "PIPELINEGEN_REPEAT_TESTS": spec.tests,
                    "PIPELINEGEN_REPEAT_COUNT": str(share),
                    "PIPELINEGEN_REPEAT_STOP_ON_FAILURE": "true" if spec.stop_on_failure else "false",
                }
            )
            cells.append(
                replace(
                    base,
                    id=cell_id_from_name(name),
                    name=name,
                    split=index,
                    splits=len(shares),
                    attempts=1,  # a failing repetition is the finding: a retry would only hide it
                    retry_on="never",
                    env=tuple(sorted(env.items())),
                )
            )
    return cells
