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
    expects_tests: bool = False  # with result globs, a cell that reports no test is an infra failure, not a pass
    gets_run_bundle: bool = False  # its cells get the run's result bundle ($PIPELINEGEN_BUNDLE): publishing steps


STEP_KINDS: dict[str, StepKind] = {
    kind.name: kind
    for kind in (
        StepKind("build", "compiles or packages (jar, artifacts, docs); build_once: true stashes it for dependants",
                 TESTS_STAGE, repeatable=False),
        StepKind("test", "runs tests that write JUnit XML; its splits, repeats and timings are tracked",
                 TESTS_STAGE, repeatable=True, expects_tests=True),
        StepKind("publish", "post-commit publishing (snapshots, notifications, the run's bundle), in the summary stage",
                 PUBLISH_STAGE, repeatable=False, gets_run_bundle=True),
    )
}


def stage_of(kind: str, build_once: bool) -> str:
    """The Jenkinsfile stage whose `pipelinegenCells(stage)` runs the cells of a step."""
    stage = STEP_KINDS[kind].stage
    return BUILD_STAGE if build_once and stage == TESTS_STAGE else stage


def repeatable(kind: str) -> bool:
    return STEP_KINDS[kind].repeatable


def plan_fields(kind: str, build_once: bool) -> dict[str, object]:
    """What a kind means, as the plan data gives it to the library (which never names a kind)."""
    step_kind = STEP_KINDS[kind]
    return {"stage": stage_of(kind, build_once), "repeatable": step_kind.repeatable,
            "expects_tests": step_kind.expects_tests, "gets_run_bundle": step_kind.gets_run_bundle}
