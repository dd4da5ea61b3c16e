"""The sample project end to end through `pipelinegen run`: ant + JUnit 4 and pytest cells, the flaky test."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from pipelinegen.run.jdk import detect_jdks
from tests.run_helpers import REPO, SAMPLE, pipelinegen

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (shutil.which("ant") and "17" in detect_jdks()),
                       reason="needs ant and a JDK 17 (scripts/setup.sh)"),
]


def _run(tmp_path, *args: str, seed: str):
    out = tmp_path / "out"
    done = pipelinegen("-C", str(SAMPLE), "run", "--jdk", "17", "--plain", "--out", str(out),
                       "--env", f"SAMPLE_FLAKY_SEED={seed}", "--env", "SAMPLE_SLOW_MILLIS=200", *args,
                       cwd=REPO, timeout=240)
    summary = json.loads((out / "summary.json").read_text())
    return done, summary, {c["id"]: c for c in summary["cells"]}, out


def test_junit_and_pytest_cells_run_and_a_failing_flaky_seed_fails_the_run(tmp_path):
    # SAMPLE_FLAKY_SEED=5: the flaky test fails (seed % 5 == 0); failing tests are not retried (retry_on: infra)
    done, summary, cells, out = _run(tmp_path, "--profile", "full", "--cells", "unit 1/2", "--cells", "pytest",
                                     "-j", "2", seed="5")
    assert done.returncode == 1, done.stdout + done.stderr
    assert summary["complete"] is True and summary["status"] == "failed"
    assert cells["jar_jdk17"]["status"] == "passed"
    unit1 = cells["unit_jdk17_1of2"]
    assert unit1["status"] == "failed" and len(unit1["attempts"]) == 1
    failing = [f["test"] for f in unit1["attempts"][-1]["tests"]["failing"]]
    assert failing == ["org.example.sample.FlakyTest.sometimesFails"]
    assert "seed 5" in unit1["attempts"][-1]["tests"]["failing"][0]["message"]
    py = cells["pytest_jdk17_python3.11"]
    assert py["status"] == "passed" and py["attempts"][0]["tests"]["total"] == 5
    # JUnit files are collected per cell and attempt; the jar was built once and reused (unstashed)
    assert (out / "cells/unit_jdk17_1of2/attempt-1/junit/build/test/output/unit/"
                  "TEST-org.example.sample.FlakyTest.xml").is_file()
    assert "unstashed" in (out / "cells/pytest_jdk17_python3.11/attempt-1.log").read_text()
    assert "unit_jdk17_2of2" not in cells  # not selected
    for cell_id in ("unit_jdk17_1of2", "pytest_jdk17_python3.11"):
        assert cells[cell_id]["started"] >= cells["jar_jdk17"]["ended"]
    assert "FAIL org.example.sample.FlakyTest.sometimesFails" in done.stdout


def test_one_cell_by_name_with_a_passing_flaky_seed_is_green(tmp_path):
    done, summary, cells, _ = _run(tmp_path, "--cells", "unit 1/2", seed="1")
    assert done.returncode == 0, done.stdout + done.stderr
    assert set(cells) == {"jar_jdk17", "unit_jdk17_1of2"}
    unit = cells["unit_jdk17_1of2"]
    assert unit["status"] == "passed" and len(unit["attempts"]) == 1
    assert unit["attempts"][0]["tests"] == {"total": 7, "failed": 0, "skipped": 0, "failing": []}


def test_run_tests_sh_honours_a_split_file_when_present(tmp_path):
    project = tmp_path / "sample"
    shutil.copytree(SAMPLE, project, ignore=shutil.ignore_patterns("build", "results", "__pycache__"))
    split = project / "generated" / "splits" / "unit" / "1of2.txt"
    split.parent.mkdir(parents=True)
    split.write_text("# pipelinegen splits: unit split 1 of 2 (lpt)\norg.example.sample.WordsTest\n"
                     "test/unit/org/example/sample/FactorialTest.java\n")
    # SlowTest is in neither list (added after they were written): dealt round-robin, so split 1 runs it
    (split.parent / "2of2.txt").write_text("org.example.sample.CalculatorTest\norg.example.sample.FlakyTest\n")
    env = {"JAVA_HOME": str(detect_jdks()["17"]), "PATH": "/usr/bin:/bin"}
    for command in (["./.build/build-jars.sh", "17"], ["./.build/run-tests.sh", "-a", "unit", "-c", "1/2", "-j", "17"]):
        done = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
    assert "from generated/splits/unit/1of2.txt" in done.stderr
    reports = sorted(p.name for p in (project / "build/test/output/unit").glob("TEST-*.xml"))
    assert "not in any split list, dealt round-robin: org.example.sample.SlowTest" in done.stderr
    assert reports == ["TEST-org.example.sample.FactorialTest.xml", "TEST-org.example.sample.SlowTest.xml",
                       "TEST-org.example.sample.WordsTest.xml"]
