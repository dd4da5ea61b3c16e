"""Synthetic histories where the truth is known: each kind of failure gets the right verdict and evidence."""

from __future__ import annotations

import random

import pytest

from pipelinegen.analysis import flaky
from pipelinegen.analysis.history import CellRun, HistoryStore, RunInfo
from pipelinegen.results.testcase import TestCaseResult as Result

RUNS = 120
RUNS_PER_COMMIT = 3
REGRESSION_COMMIT = 25  # commit index at which RegressionTest breaks
OUTAGE_RUNS = range(60, 64)  # node n3 is broken during these runs
JDKS = ("11", "17")
SPLITS = 4
PER_SPLIT = 10

REGRESSION = "org.example.reg.RegressionTest.testCompaction"
FLAKE = "org.example.flk.FlakyTest.testGossip"
BROKEN = "org.example.perm.BrokenTest.testAlwaysFails"


def commit(i: int) -> str:
    return f"{i:04d}" + "ab" * 18


def cell_id(jdk: str, split: int) -> str:
    return f"test_jdk{jdk}_{split}of{SPLITS}"


def node_of(run: int, jdk: str, split: int) -> str:
    return f"n{(run + split + (4 if jdk == '17' else 0)) % 8}"


def names_in_split(split: int) -> list[str]:
    names = [f"org.example.ok.Healthy{split}Test.test{i}" for i in range(PER_SPLIT - 1)]
    special = {1: REGRESSION, 2: FLAKE, 3: BROKEN}
    names.append(special.get(split, f"org.example.ok.Healthy{split}Test.testExtra"))
    return names


def synthetic_runs(seed: int = 3):
    rng = random.Random(seed)
    for r in range(RUNS):
        c = r // RUNS_PER_COMMIT
        run = RunInfo(f"bundle-{r:04d}", commit(c), "trunk", 1_700_000_000 + r * 3600)
        cells, cases = [], []
        for jdk in JDKS:
            for split in range(1, SPLITS + 1):
                node = node_of(r, jdk, split)
                cid = cell_id(jdk, split)
                outage = node == "n3" and r in OUTAGE_RUNS
                cells.append(CellRun(cid, "test", (("jdk", jdk),), node=node, status="failed" if outage else "passed"))
                for test in names_in_split(split):
                    cls, name = test.rsplit(".", 1)
                    status, message = "passed", ""
                    if outage:
                        status, message = "error", "java.lang.RuntimeException: cluster did not start within 60 s"
                    elif test == REGRESSION and c >= REGRESSION_COMMIT:
                        status, message = "failed", "expected:<3> but was:<2>"
                    elif test == FLAKE and rng.random() < 0.05:
                        status, message = "failed", "Timed out waiting for gossip to settle"
                    elif test == BROKEN:
                        status, message = "failed", "java.lang.AssertionError: always"
                    cases.append(Result(f"{cls}-jdk{jdk}", cls, name, cid, status, 0.5, message=message))
        yield run, cases, cells


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    db = tmp_path_factory.mktemp("history") / "h.sqlite"
    s = HistoryStore(db)
    for run, cases, cells in synthetic_runs():
        assert s.ingest_run(run, cases, cells)
    yield s
    s.close()


@pytest.fixture(scope="module")
def report(store):
    return flaky.analyse(store, branch="trunk", timelines="flagged")


def by_name(report):
    return {t.test: t for t in report.tests}


def test_code_regression_names_first_failing_and_last_passing_commit(report):
    t = by_name(report)[REGRESSION]
    assert t.kind == "code" and not t.flaky
    assert t.first_failing_commit == commit(REGRESSION_COMMIT)
    assert t.last_passing_commit == commit(REGRESSION_COMMIT - 1)
    assert any("starts failing at commit " + commit(REGRESSION_COMMIT)[:12] in e for e in t.evidence)
    assert any("last passing commit " + commit(REGRESSION_COMMIT - 1)[:12] in e for e in t.evidence)


def test_five_percent_flake_is_a_confirmed_test_flake_with_an_interval_around_its_rate(report):
    t = by_name(report)[FLAKE]
    assert t.kind == "test" and t.flaky and t.confirmed
    assert t.rate.low <= 0.05 <= t.rate.high
    assert 0 < t.rate.rate < 0.15
    assert any("passed and failed on the same commit" in e for e in t.evidence)
    assert t.runs_needed == flaky.runs_needed(t.rate.rate)
    # the outage failures of this test (if any ran on n3) are not counted in its rate
    assert t.rate.failures == sum(p.failures for p in t.timeline)


def test_node_outage_is_infra_with_node_and_mass_failure_evidence(report):
    infra = [t for t in report.tests if t.kind == "infra"]
    assert infra, "the outage on n3 must produce infra verdicts"
    healthy = [t for t in infra if ".ok." in t.test]
    assert healthy
    for t in healthy:
        text = " ".join(t.evidence)
        assert "failed together" in text and "n3" in text
        assert t.runs_needed is None
    # none of the healthy tests is reported as flaky or code
    assert not [t for t in report.tests if ".ok." in t.test and t.kind != "infra"]


def test_permanently_failing_test_is_code_without_a_last_passing_commit(report):
    t = by_name(report)[BROKEN]
    assert t.kind == "code" and t.last_passing_commit == ""
    assert t.first_failing_commit == commit(0)
    assert any("never passed" in e for e in t.evidence)
    assert t.rate.rate == 1.0


def test_flake_is_listed_first_and_report_counts_runs(report):
    assert report.runs == RUNS
    assert report.tests[0].test == FLAKE
    assert [t.test for t in report.flaky] == [FLAKE]


def test_ingesting_everything_again_changes_neither_db_nor_report(store, report):
    before = store.stats()
    for run, cases, cells in synthetic_runs():
        assert store.ingest_run(run, cases, cells) is False
    assert store.stats() == before
    again = flaky.analyse(store, branch="trunk", timelines="flagged")
    assert again.as_dict() == report.as_dict()


def test_since_window_drops_old_failures(store):
    # Only the last 30 runs: the regression is still code, the outage is gone.
    since = 1_700_000_000 + (RUNS - 30) * 3600
    recent = by_name(flaky.analyse(store, since=since))
    assert recent[REGRESSION].kind == "code"
    assert not [t for t in recent.values() if t.kind == "infra"]


def test_explain_one_healthy_test_shows_its_runs_without_failures(store):
    name = "org.example.ok.Healthy4Test.test0"
    result = flaky.analyse(store, tests=[name])
    assert [t.test for t in result.tests] == [name]
    t = result.tests[0]
    assert t.runs == RUNS and t.rate.failures == 0
    assert t.rate.high < 0.02  # 240 passes bound its failure rate
