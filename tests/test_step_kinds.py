"""Step kinds are one registry (pipelinegen/step_kinds.py): the schema, the plan data's stages and the
estimate's stage barriers follow from it, so a new kind is one entry there."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from pipelinegen import step_kinds
from pipelinegen.cli import main
from pipelinegen.load import load_pipeline
from pipelinegen.render.plan_data import plan_data
from pipelinegen.schema import pipeline_schema
from tests.conftest import MINIMAL_PIPELINE


def test_the_schema_offers_exactly_the_registered_kinds(runner):
    schema = json.loads(runner.invoke(main, ["schema"]).output)
    assert schema["properties"]["steps"]["items"]["properties"]["kind"]["enum"] == list(step_kinds.STEP_KINDS)
    assert list(schema["properties"]["defaults"]["properties"]) == list(step_kinds.STEP_KINDS)


def test_each_step_carries_its_stage_and_repeatability_in_the_plan_data(project):
    steps = {s["name"]: s for s in plan_data(load_pipeline(project / "pipeline.yaml"))["steps"]}
    assert (steps["jar"]["stage"], steps["jar"]["repeatable"]) == ("build", False)  # build_once: the build stage
    assert (steps["unit"]["stage"], steps["unit"]["repeatable"]) == ("tests", True)


@pytest.fixture
def lint_kind(monkeypatch):
    """A kind that exists only in the registry, as a fork adding one would write it."""
    monkeypatch.setitem(step_kinds.STEP_KINDS, "lint", dataclasses.replace(step_kinds.STEP_KINDS["build"], name="lint"))
    pipeline_schema.cache_clear()
    yield
    pipeline_schema.cache_clear()


def test_a_kind_added_to_the_registry_is_accepted_and_staged(tmp_path, lint_kind):
    text = MINIMAL_PIPELINE.replace("profiles:", "  - {name: checkstyle, kind: lint, command: \"ant checkstyle\"}\nprofiles:")
    text = text.replace("defaults:\n", "defaults:\n  lint: {resource: small, timeout_minutes: 7}\n")
    (tmp_path / "pipeline.yaml").write_text(text)
    pipeline = load_pipeline(tmp_path / "pipeline.yaml")
    step = next(s for s in plan_data(pipeline)["steps"] if s["name"] == "checkstyle")
    assert (step["stage"], step["timeout_minutes"]) == ("tests", 7)


def test_an_unregistered_kind_is_refused_with_the_registered_ones_named(tmp_path, runner):
    (tmp_path / "pipeline.yaml").write_text(MINIMAL_PIPELINE.replace("kind: test", "kind: lint"))
    result = runner.invoke(main, ["-C", str(tmp_path), "plan"])
    assert result.exit_code == 2 and "lint" in result.output


def test_the_shared_library_names_no_step_kind():
    """The library reads stage/repeatable/expects_tests/gets_run_bundle from the plan data: a kind compared by
    name in Groovy would be a second copy of the registry."""
    from tests.conftest import REPO

    offenders = [f"{path.relative_to(REPO)}:{number}: {line.strip()}"
                 for path in sorted((REPO / "library").rglob("*.groovy"))
                 for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if re.search(r"\bkind\s*[!=]=|==\s*'(build|test|publish)'", line)]
    assert offenders == [], "read a plan-data field (pipelinegen/step_kinds.py) instead"
