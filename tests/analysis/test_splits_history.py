"""Splits and estimates from the history DB (per-class durations of past runs)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from pipelinegen.analysis.history import CellRun, HistoryStore, RunInfo
from pipelinegen.analysis.timings import read_history
from pipelinegen.cli import main
from pipelinegen.results import testcase


@pytest.fixture(autouse=True)
def _elsewhere(tmp_path, monkeypatch):
    # Run away from the repository's own pipeline.yaml (the Cassandra one), which `splits` would read.
    monkeypatch.chdir(tmp_path)


def _db(tmp_path, per_class: dict[str, float], step: str = "unit"):
    db = tmp_path / "history.db"
    with HistoryStore(db) as store:
        cases = [
            testcase.TestCaseResult(cls, cls, "t", f"{step}_jdk11_1of1", "passed", seconds)
            for cls, seconds in per_class.items()
        ]
        cells = [CellRun(f"{step}_jdk11_1of1", step, (("jdk", "11"),))]
        store.ingest_run(RunInfo("run-1", "a" * 40, "main", 1.0e9), cases, cells)
    return db


def test_history_gives_per_class_seconds_and_per_file_for_pytest(tmp_path):
    db = _db(tmp_path, {"auth_test.TestAuth": 30.0, "auth_test.TestRoles": 10.0, "cql_test.TestCQL": 5.0})
    assert read_history(db, "unit") == {
        "auth_test.TestAuth": 30.0,
        "auth_test.TestRoles": 10.0,
        "cql_test.TestCQL": 5.0,
    }
    assert read_history(db, "unit", granularity="file") == {"auth_test.py": 40.0, "cql_test.py": 5.0}
    assert read_history(db, "other-step") == {}


def test_splits_command_reads_the_history_db(tmp_path):
    db = _db(tmp_path, {f"org.T{i}": float(10 * (i + 1)) for i in range(6)})  # 10..60 s
    result = CliRunner().invoke(
        main,
        [
            "splits",
            "--history",
            str(db),
            "--step",
            "unit",
            "--splits",
            "3",
            "-o",
            str(tmp_path / "s"),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["method"] == "lpt"
    assert summary["split_seconds"] == [70.0, 70.0, 70.0]  # 60+10, 50+20, 40+30


def test_history_cannot_give_single_test_granularity(tmp_path):
    db = _db(tmp_path, {"org.A": 1.0})
    result = CliRunner().invoke(
        main,
        [
            "splits",
            "--history",
            str(db),
            "--step",
            "unit",
            "--splits",
            "2",
            "--granularity",
            "test",
            "-o",
            str(tmp_path / "s"),
        ],
    )
    assert result.exit_code == 2
    assert "per-class" in result.output
