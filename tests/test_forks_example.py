"""examples/downstream-fork stays a working fork: its generated/ is current, and its overlays still merge
onto this repository's newest pipeline.yaml (upstream)."""

from __future__ import annotations

import shutil

from pipelinegen.cli import main
from pipelinegen.load import load_pipeline
from tests.conftest import REPO

FORK = REPO / "examples" / "downstream-fork"


def test_the_example_forks_generated_files_are_current(runner):
    result = runner.invoke(main, ["-C", str(FORK), "compile", "--check"])
    assert result.exit_code == 0, (
        f"{result.output}\nexamples/downstream-fork/generated/ is stale: run "
        "`pipelinegen -C examples/downstream-fork compile` and commit it"
    )
    record = (FORK / "generated" / ".pipelinegen-overlays").read_text().splitlines()
    assert [line for line in record if line.startswith("overlay: ")] == ["overlay: ci/acme.yaml", "overlay: ci/acme-profiles.yaml"]


def test_the_example_does_what_its_readme_says():
    pipeline = load_pipeline(FORK / "pipeline.yaml")  # no --overlay: pipelinegen.overlays.yaml declares them
    assert pipeline.overlays == ("ci/acme.yaml", "ci/acme-profiles.yaml")
    assert pipeline.resource("medium").label == "acme-{arch}-m6i-xlarge"
    assert "redhat" not in [s.name for s in pipeline.steps]
    assert pipeline.step("test").splits == 12 and pipeline.step("acme-integration-test").splits == 4
    assert "acme-integration-test" in pipeline.profile("pre-commit").steps
    assert pipeline.profile("acme-nightly").steps[-1] == "acme-integration-test"


def test_the_example_overlays_merge_onto_the_newest_upstream(tmp_path):
    """The fork's copy of pipeline.yaml may lag; its overlays must still apply to the repository's current one."""
    shutil.copytree(FORK / "ci", tmp_path / "ci")
    shutil.copy(FORK / "pipelinegen.overlays.yaml", tmp_path)
    shutil.copy(REPO / "pipeline.yaml", tmp_path)
    pipeline = load_pipeline(tmp_path / "pipeline.yaml")
    assert "acme-integration-test" in pipeline.profile("acme-nightly").steps
