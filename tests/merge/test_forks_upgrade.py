"""Upgrading upstream under a fork: an overlay naming a step upstream renamed or removed gets an error
naming the overlay line, the upstream change and the fix."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from pipelinegen.cli import main
from pipelinegen.errors import PipelineError
from pipelinegen.load import load_pipeline
from tests.conftest import REPO

FORK_OVERLAY = REPO / "examples" / "overlay-downstream.yaml"


def newer_upstream(text: str) -> str:
    """The repository's pipeline.yaml as a later upstream: step `test` renamed `unit-test`, `redhat` renamed `rpm`."""
    steps, sep, profiles = text.partition("\nprofiles:")
    renamed = steps.replace("{name: test, kind: test,", "{name: unit-test, kind: test,").replace(
        "{name: redhat, kind: build,", "{name: rpm, kind: build,")
    profiles = re.sub(r"(?<=[\[ ,])test(?=[,\]])", "unit-test", profiles)
    profiles = re.sub(r"(?<=[\[ ,])redhat(?=[,\]])", "rpm", profiles)
    assert renamed != steps and "redhat" not in profiles and " test," not in profiles  # the fixture did rename
    return renamed + sep + profiles


@pytest.fixture
def fork(tmp_path: Path) -> Path:
    """A fork checkout on the older upstream (this repository's pipeline.yaml), its overlay declared."""
    shutil.copy(REPO / "pipeline.yaml", tmp_path / "pipeline.yaml")
    shutil.copy(FORK_OVERLAY, tmp_path / "fork.yaml")
    (tmp_path / "pipelinegen.overlays.yaml").write_text("overlays: [fork.yaml]\n")
    return tmp_path


def _overlay_line(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def test_the_fork_overlay_merges_onto_the_older_upstream(fork):
    pipeline = load_pipeline(fork / "pipeline.yaml")
    assert pipeline.step("test").splits == 8 and "redhat" not in [s.name for s in pipeline.steps]
    assert "fork-integration-test" in pipeline.profile("pre-commit").steps


def test_after_an_upstream_rename_the_error_names_overlay_line_change_and_fix(fork, runner):
    assert runner.invoke(main, ["-C", str(fork), "compile"]).exit_code == 0  # generated/ records upstream's names
    (fork / "pipeline.yaml").write_text(newer_upstream((REPO / "pipeline.yaml").read_text()))
    with pytest.raises(PipelineError) as caught:
        load_pipeline(fork / "pipeline.yaml")
    by_line = {f.line: f for f in caught.value.findings}
    overlay = (fork / "fork.yaml").read_text()
    test_entry = by_line[_overlay_line(overlay, "- name: test")]
    redhat_entry = by_line[_overlay_line(overlay, "- name: redhat")]
    for finding in (test_entry, redhat_entry):
        assert finding.file.endswith("fork.yaml")
        assert "upstream removed 'redhat', 'test' and added 'rpm', 'unit-test'" in finding.message
    assert re.match(r"step 'test' is not in \S*pipeline.yaml any more, but this overlay changes it", test_entry.message)
    assert test_entry.hint.startswith("did you mean 'unit-test'? If so, use the new name here")
    assert re.match(r"step 'redhat' is not in \S*pipeline.yaml any more, but this overlay removes it", redhat_entry.message)
    assert redhat_entry.hint.startswith("did you mean 'rpm'?")  # its command still runs build-redhat.sh
    result = runner.invoke(main, ["-C", str(fork), "plan"])
    assert result.exit_code == 2 and "fork.yaml:" in result.output and "did you mean 'unit-test'?" in result.output


def test_following_the_hint_merges_the_fork_onto_the_newer_upstream(fork, runner):
    assert runner.invoke(main, ["-C", str(fork), "compile"]).exit_code == 0
    (fork / "pipeline.yaml").write_text(newer_upstream((REPO / "pipeline.yaml").read_text()))
    overlay = (fork / "fork.yaml").read_text()
    (fork / "fork.yaml").write_text(overlay.replace("- name: test\n", "- name: unit-test\n")
                                    .replace("- name: redhat\n", "- name: rpm\n"))
    pipeline = load_pipeline(fork / "pipeline.yaml")
    assert pipeline.step("unit-test").splits == 8 and "rpm" not in [s.name for s in pipeline.steps]
    compiled = runner.invoke(main, ["-C", str(fork), "compile"])
    assert compiled.exit_code == 0, compiled.output
    assert "steps: unit-test" in (fork / "generated" / ".pipelinegen-overlays").read_text()


def test_without_a_record_the_error_still_names_the_line_and_asks(fork):
    (fork / "pipeline.yaml").write_text(newer_upstream((REPO / "pipeline.yaml").read_text()))
    with pytest.raises(PipelineError) as caught:
        load_pipeline(fork / "pipeline.yaml")
    messages = "\n".join(f.message for f in caught.value.findings)
    assert re.search(r"step 'redhat' is not in \S*pipeline.yaml, but this overlay removes it \(did upstream rename", messages)


def test_a_new_step_is_still_a_new_step_not_a_missing_one(project):
    overlay = project / "fork.yaml"
    overlay.write_text("steps:\n  - {name: brand-new, kind: test, command: 'x.sh'}\n  - {name: unti, splits: 3}\n")
    with pytest.raises(PipelineError) as caught:
        load_pipeline(project / "pipeline.yaml", [overlay])
    assert [f.line for f in caught.value.findings] == [3]  # only the partial entry naming no existing step
    assert "did you mean 'unit'?" in caught.value.findings[0].hint


def test_a_profile_listing_a_step_upstream_renamed_gets_the_same_explanation(fork, runner):
    (fork / "fork.yaml").write_text("profiles:\n  - name: fork-nightly\n    steps: [lint, test]\n")
    assert runner.invoke(main, ["-C", str(fork), "compile"]).exit_code == 0
    (fork / "pipeline.yaml").write_text(newer_upstream((REPO / "pipeline.yaml").read_text()))
    with pytest.raises(PipelineError) as caught:
        load_pipeline(fork / "pipeline.yaml")
    [finding] = caught.value.findings
    assert (finding.line, finding.key_path) == (3, "profiles[fork-nightly].steps")
    assert "step 'test' is not in" in finding.message and "but this overlay lists it" in finding.message
    assert finding.hint.startswith("did you mean 'unit-test'?")
