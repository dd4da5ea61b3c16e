"""From a Jenkins build's downloaded artifacts to bundle cells (no server needed)."""

from __future__ import annotations

import json
from pathlib import Path

from pipelinegen.deploy.build_bundle import built_revision, cell_items, write_build_bundle
from pipelinegen.load import load_pipeline
from pipelinegen.plan import build_plan
from pipelinegen.plan.cell import Parameters
from pipelinegen.results.bundle_reader import read_bundle

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sample-project" / "pipeline.yaml"


def status(directory: Path, attempt: int, value: str, node: str = "n1") -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"status-{attempt}.json").write_text(json.dumps(
        {"status": value, "attempt": attempt, "node": node, "started_ms": 1000, "ended_ms": 4500}))


def test_cells_take_the_last_attempt_and_unrecorded_ones_are_errors(tmp_path):
    plan = build_plan(load_pipeline(SAMPLE), Parameters(profile="smoke"))
    unit = [c for c in plan.cells if c.step == "unit"]
    root = tmp_path / "artifacts" / "ci-results"
    status(root / unit[0].id, 1, "failed", "n1")
    status(root / unit[0].id, 2, "passed", "n2")
    (root / unit[0].id / "out").mkdir()
    (root / unit[0].id / "out" / "TEST-a.xml").write_text("<testsuite name='a'/>")
    (root / unit[1].id).mkdir(parents=True)  # files arrived but no status record
    (root / unit[1].id / "console.log").write_text("x")
    items = {i["cell"].id: i for i in cell_items(tmp_path / "artifacts", plan)}
    assert set(items) == {unit[0].id, unit[1].id}  # cells with nothing downloaded are left out (not-run)
    first = items[unit[0].id]
    assert (first["status"], first["attempts"], first["node"], first["duration_s"]) == ("passed", 2, "n2", 3.5)
    assert [p.name for p in first["junit"]] == ["TEST-a.xml"]
    assert items[unit[1].id]["status"] == "error" and [p.name for p in items[unit[1].id]["logs"]] == ["console.log"]


def test_a_build_without_a_git_revision_gives_an_incomplete_bundle(tmp_path):
    plan = build_plan(load_pipeline(SAMPLE), Parameters(profile="smoke"))
    assert built_revision({"actions": [{}, {"lastBuiltRevision": {"SHA1": "ABC123F"}, "remoteUrls": ["u"]}]}) == (
        "abc123f", "u")
    out = write_build_bundle(tmp_path / "r.tar.zst", tmp_path, plan, Parameters(profile="smoke"),
                             {"actions": [], "url": "http://j/job/x/1/"}, "https://r.git", "main")
    manifest = read_bundle(out).manifest
    assert manifest["incomplete"] is True and "no git revision" in manifest["incomplete_reason"]
    assert manifest["totals"]["cells"]["not-run"] == len(plan.cells)
