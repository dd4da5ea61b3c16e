"""Step kinds: the one registry. A new kind is one entry here.

From this table follow: the `kind` values and the `defaults.<kind>` sections pipeline.yaml accepts (its JSON
Schema is completed from it, `pipelinegen.schema`), the Jenkinsfile stage a cell runs in (written into the
plan data as each step's `stage`; library/vars/pipelinegenCells.groovy reads it, nothing in Groovy names a
kind), the stage barriers of `pipelinegen estimate`, and which steps `repeats.yaml` / `run --repeat` may target.
"""

from __future__ import annotations

from dataclasses import dataclass

# The Jenkinsfile's stages that run cells, in order (render/templates/Jenkinsfile.j2 + pipelinegenSummary).
BUILD_STAGE = "build"  # build-once cells (stashed for their dependants), in dependency waves
TESTS_STAGE = "tests"  # every other cell of a build or test step, in parallel
PUBLISH_STAGE = "publish"  # post-commit publishing, from the summary stage, canonical repository only
STAGES = (BUILD_STAGE, TESTS_STAGE, PUBLISH_STAGE)


@dataclass(frozen=True)
class StepKind:
    name: str
    description: str  # shown in the JSON Schema (editor hover text)
    stage: str  # where its cells run; a build_once cell of a TESTS_STAGE kind runs in BUILD_STAGE instead
    repeatable: bool  # its tests can be repeated (repeats.yaml, run --repeat)


STEP_KINDS: dict[str, StepKind] = {
    kind.name: kind
    for kind in (
        StepKind("build", "compiles or packages (jar, artifacts, docs); build_once: true stashes it for dependants",
                 TESTS_STAGE, repeatable=False),
        StepKind("test", "runs tests that write JUnit XML; its splits, repeats and timings are tracked",
                 TESTS_STAGE, repeatable=True),
        StepKind("publish", "post-commit publishing (snapshots, notifications), in the summary stage",
                 PUBLISH_STAGE, repeatable=False),
    )
}


def stage_of(kind: str, build_once: bool) -> str:
    """The Jenkinsfile stage whose `pipelinegenCells(stage)` runs the cells of a step."""
    stage = STEP_KINDS[kind].stage
    return BUILD_STAGE if build_once and stage == TESTS_STAGE else stage


def repeatable(kind: str) -> bool:
    return STEP_KINDS[kind].repeatable
