"""Overlays: how a downstream fork changes pipeline.yaml without forking it."""

from __future__ import annotations

import pytest

from pipelinegen.errors import PipelineError
from pipelinegen.load import load_pipeline
from pipelinegen.plan import Parameters, build_plan
from tests.conftest import REPO


def _overlay(project, text, name="overlay.yaml"):
    path = project / name
    path.write_text(text)
    return path


def test_named_items_merge_by_name_and_new_ones_append(project):
    overlay = _overlay(
        project,
        "steps:\n  - {name: unit, splits: 5}\n  - {name: extra, kind: test, command: 'x.sh {jdk}'}\n",
    )
    pipeline = load_pipeline(project / "pipeline.yaml", [overlay])
    unit = pipeline.step("unit")
    assert unit.splits == 5
    assert unit.command.startswith("run.sh")  # the rest of the base item survives the merge
    assert [s.name for s in pipeline.steps] == ["jar", "unit", "extra"]


def test_remove_marker_drops_item_and_profile_references(project):
    overlay = _overlay(
        project,
        "steps:\n  - {name: unit, $remove: true}\n  - {name: other, kind: test, command: o.sh}\n"
        "profiles:\n  - {name: smoke, steps: {$append: [other]}}\n",
    )
    pipeline = load_pipeline(project / "pipeline.yaml", [overlay])
    assert "unit" not in [s.name for s in pipeline.steps]
    assert pipeline.profile("smoke").steps == ("other",)
    assert any("removed step 'unit' from profile 'smoke'" in note for note in pipeline.notes)


def test_replace_marker_replaces_instead_of_merging(project):
    overlay = _overlay(
        project, "steps:\n  - {name: unit, $replace: true, kind: test, command: 'other.sh', resource: small}\n"
    )
    unit = load_pipeline(project / "pipeline.yaml", [overlay]).step("unit")
    assert unit.command == "other.sh"
    assert unit.splits == 1  # not merged with the base's splits: 2


def test_list_append_and_remove(project):
    overlay = _overlay(project, "axes:\n  - name: jdk\n    values: {$append: ['21'], $remove: ['11']}\n")
    assert load_pipeline(project / "pipeline.yaml", [overlay]).axis("jdk").values == ("17", "21")


def test_removing_a_missing_item_names_the_overlay_line(project):
    overlay = _overlay(project, "steps:\n  - name: jra\n    $remove: true\n")
    with pytest.raises(PipelineError) as caught:
        load_pipeline(project / "pipeline.yaml", [overlay])
    text = str(caught.value)
    assert "overlay.yaml:2:" in text and "step 'jra' is not in" in text and "did you mean 'jar'" in text


def test_typo_in_overlay_step_is_an_error_with_suggestion(project):
    overlay = _overlay(project, "steps:\n  - {name: unti, splits: 3}\n")
    with pytest.raises(PipelineError) as caught:
        load_pipeline(project / "pipeline.yaml", [overlay])
    text = str(caught.value)
    assert "overlay.yaml:2:" in text and "did you mean 'unit'" in text


def test_shape_conflict_is_an_error(project):
    overlay = _overlay(project, "steps:\n  - name: unit\n    env: just-a-string\n  - name: jar\n    command: {a: b}\n")
    with pytest.raises(PipelineError) as caught:
        load_pipeline(project / "pipeline.yaml", [overlay])
    assert "overlay.yaml:5:" in str(caught.value) and "cannot merge a mapping onto a value" in str(caught.value)


def test_later_overlay_wins_and_overlays_key_is_honoured(project):
    first = _overlay(project, "steps:\n  - {name: unit, splits: 3}\n", "first.yaml")
    _overlay(project, "steps:\n  - {name: unit, splits: 4}\n", "second.yaml")
    base = project / "pipeline.yaml"
    base.write_text(base.read_text() + "overlays: [second.yaml]\n")
    # pipeline.yaml's own overlays come first, then --overlay ones
    assert load_pipeline(base, [first]).step("unit").splits == 3
    assert load_pipeline(base).step("unit").splits == 4


def test_downstream_example_does_what_its_comments_say():
    pipeline = load_pipeline(REPO / "pipeline.yaml", [REPO / "examples" / "overlay-downstream.yaml"])
    names = [s.name for s in pipeline.steps]
    assert "fork-integration-test" in names and "redhat" not in names
    assert pipeline.step("test").splits == 8
    assert "23" in pipeline.axis("jdk").values
    plan = build_plan(pipeline, Parameters(profile="fork-nightly", jdk="23"))
    assert {c.step for c in plan.cells} >= {"fork-integration-test", "test", "jar"}
    assert "redhat" not in pipeline.profile("pre-commit").steps
    assert "fork-integration-test" in pipeline.profile("pre-commit").steps


def test_a_mistyped_list_marker_is_named_with_a_suggestion(project):
    overlay = _overlay(project, "axes:\n  - name: jdk\n    values: {$apend: ['21']}\n")
    with pytest.raises(PipelineError) as caught:
        load_pipeline(project / "pipeline.yaml", [overlay])
    text = str(caught.value)
    assert "overlay.yaml:3:" in text and "unknown list marker '$apend'" in text and "did you mean '$append'" in text


@pytest.mark.parametrize("text", ["steps:\n  - name: jar\n    $remove: yes\n",
                                  "steps:\n  - name: unit\n    $replace: 'true'\n    splits: 3\n"])
def test_a_marker_that_is_not_boolean_true_is_an_error_not_ignored(project, text):
    overlay = _overlay(project, text)
    with pytest.raises(PipelineError) as caught:
        load_pipeline(project / "pipeline.yaml", [overlay])
    assert "overlay.yaml:2:" in str(caught.value) and "expected true, found" in str(caught.value)
