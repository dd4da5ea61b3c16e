"""`pipelinegen run --repeat`: the flaky hunt on the sample project (the CI-agnostic repeat contract)."""

from __future__ import annotations

import json
import shutil

import pytest

from pipelinegen.run.jdk import detect_jdks
from tests.run_helpers import REPO, SAMPLE, pipelinegen

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (shutil.which("ant") and "17" in detect_jdks()),
                       reason="needs ant and a JDK 17 (scripts/setup.sh)"),
]


def _repeat(tmp_path, seed: str, *args: str):
    out = tmp_path / "out"
    done = pipelinegen("-C", str(SAMPLE), "run", "--profile", "smoke", "--jdk", "17", "--plain", "--no-bundle",
                       "--out", str(out), "--env", f"SAMPLE_FLAKY_SEED={seed}", "--repeat", "FlakyTest", *args,
                       cwd=REPO, timeout=240)
    summary = json.loads((out / "summary.json").read_text())
    return done, {c["id"]: c for c in summary["cells"]}, out


def test_repeat_finds_the_flaky_failure_and_stops_at_it(tmp_path):
    # seed 5 makes FlakyTest fail: the first repetition fails, the cell stops there and is not retried
    done, cells, out = _repeat(tmp_path, "5", "--times", "4", "-j", "2")
    assert done.returncode == 1, done.stdout + done.stderr
    repeat_cells = {i: c for i, c in cells.items() if "repeat" in i}
    assert set(repeat_cells) == {"unit_jdk17_repeat_FlakyTest_1of2", "unit_jdk17_repeat_FlakyTest_2of2"}
    for cell in repeat_cells.values():
        assert cell["status"] == "failed" and len(cell["attempts"]) == 1  # a retry would hide the finding
        failing = [f["test"] for f in cell["attempts"][0]["tests"]["failing"]]
        assert failing == ["org.example.sample.FlakyTest.sometimesFails"]
    log = next((out / "cells" / "unit_jdk17_repeat_FlakyTest_1of2").glob("attempt-1.log")).read_text()
    assert "failed on repeat 1/2; stopping" in log
    assert "unit_jdk17_1of2" not in cells  # the normal splits are replaced by the repeat cells


def test_repeat_runs_every_repetition_when_the_test_passes(tmp_path):
    done, cells, out = _repeat(tmp_path, "1", "--times", "3", "-j", "1")
    assert done.returncode == 0, done.stdout + done.stderr
    reports = sorted(p.parent.name for p in out.rglob("TEST-org.example.sample.FlakyTest.xml"))
    assert reports == ["repeat-1", "repeat-1", "repeat-2"]  # 3 repetitions: 2 on the first cell, 1 on the second
