"""`results collect` over the ci-results/ directory the library's summary stage assembles (format
pipelinegen-jenkins-results): per-cell status records, the cells that took no agent, the ones that never ran."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipelinegen.cli import main
from pipelinegen.errors import PipelineError
from pipelinegen.results.bundle_reader import read_bundle
from pipelinegen.results.collect import JENKINS_RESULTS_FORMAT, read_jenkins_results

SHA = "0123456789abcdef0123456789abcdef01234567"
JUNIT = ('<testsuite name="S" tests="2"><testcase classname="c.T" name="a"/>'
         '<testcase classname="c.T" name="b">{failure}</testcase></testsuite>')


def _ref(cell_id: str, step: str, split: int = 1, splits: int = 1) -> dict:
    return {"id": cell_id, "name": cell_id.replace("_", " "), "step": step, "axes": {"jdk": "17"}, "split": split,
            "splits": splits}


def _status(root: Path, cell: str, attempt: int, status: str, outcome: str, node: str = "agent-1") -> None:
    path = root / cell / f"status-{attempt}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"cell": cell, "status": status, "outcome": outcome, "attempt": attempt, "node": node,
                                "started_ms": 1764000000000, "ended_ms": 1764000060000, "commit": SHA}))


@pytest.fixture
def results(tmp_path: Path) -> Path:
    root = tmp_path / "ci-results"
    cells = [_ref("jar_jdk17", "jar"), _ref("jar_jdk11", "jar"), _ref("unit_jdk17_1of2", "unit", 1, 2),
             _ref("unit_jdk17_2of2", "unit", 2, 2), _ref("unit_jdk11", "unit"), _ref("lint_jdk17", "lint")]
    root.mkdir()
    (root / "plan.json").write_text(json.dumps({
        "format": JENKINS_RESULTS_FORMAT, "parameters": {"profile": "pre-commit", "jdk": "", "extra": {}},
        "cells": cells, "complete": True, "build_url": "https://ci.example.org/job/x/7/", "labels": ["small"]}))
    _status(root, "jar_jdk17", 1, "passed", "passed")
    _status(root, "jar_jdk11", 1, "error", "infra")
    _status(root, "jar_jdk11", 2, "error", "infra", node="agent-2")
    _status(root, "unit_jdk11", 0, "not-run", "not-run", node="")  # took no agent: recorded by the summary
    for split, failure in ((1, ""), (2, '<failure message="boom"/>')):
        cell = f"unit_jdk17_{split}of2"
        _status(root, cell, 1, "failed" if failure else "passed", "tests-failed" if failure else "passed")
        (root / cell / "build").mkdir()
        (root / cell / "build" / "TEST-c.T.xml").write_text(JUNIT.format(failure=failure))
    _status(root, "lint_jdk17", 1, "passed", "passed")
    return root


def test_every_outcome_reaches_the_bundle(results: Path, tmp_path: Path) -> None:
    run = read_jenkins_results(results)
    assert run is not None and not run.incomplete
    items = {i["cell"].id: i for i in run.cells}
    assert (items["jar_jdk11"]["status"], items["jar_jdk11"]["attempts"], items["jar_jdk11"]["node"]) == ("error", 2, "agent-2")
    assert (items["unit_jdk11"]["status"], items["unit_jdk11"]["attempts"]) == ("not-run", 0)
    out = tmp_path / "b.tar.zst"
    done = CliRunner().invoke(main, ["results", "collect", str(results), "--commit", SHA, "-o", str(out)])
    assert done.exit_code == 0, done.output
    manifest = read_bundle(out).manifest
    statuses = {c["id"]: c["status"] for c in manifest["cells"]}
    assert statuses == {"jar_jdk17": "passed", "jar_jdk11": "error", "unit_jdk17_1of2": "passed",
                        "unit_jdk17_2of2": "failed", "unit_jdk11": "not-run", "lint_jdk17": "passed"}
    assert manifest["producer"]["kind"] == "jenkins" and manifest["producer"]["url"].endswith("/job/x/7/")
    verify = CliRunner().invoke(main, ["results", "verify", str(out)])
    assert verify.exit_code == 1
    assert "'unit jdk11' (unit_jdk11) is not-run" in verify.output and "boom" in verify.output


def test_a_cell_id_that_is_a_path_is_refused(results: Path) -> None:
    plan = json.loads((results / "plan.json").read_text())
    plan["cells"].append(_ref("../../etc", "x"))
    (results / "plan.json").write_text(json.dumps(plan))
    with pytest.raises(PipelineError, match="not a plain name"):
        read_jenkins_results(results)


def test_a_symlinked_result_file_is_not_followed(results: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.xml"
    secret.write_text(JUNIT.format(failure=""))
    (results / "lint_jdk17" / "TEST-stolen.xml").symlink_to(secret)
    items = {i["cell"].id: i for i in read_jenkins_results(results).cells}
    assert items["lint_jdk17"]["junit"] == []
