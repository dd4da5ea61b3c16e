"""Single rules of the classification, each on a small history built for it; and the statistics."""

from __future__ import annotations

import math

import pytest

from pipelinegen.analysis import flaky
from pipelinegen.analysis.history import CellRun, HistoryStore, RunInfo
from pipelinegen.results.testcase import TestCaseResult as Result

NODES = [f"n{i}" for i in range(8)]
T = "org.x.ATest.t"


def build(tmp_path, runs):
    """runs: list of dicts {commit, cases: [(test, status, jdk, attempt, node, message, reruns)], timeout: set}"""
    store = HistoryStore(tmp_path / "h.sqlite")
    for i, spec in enumerate(runs):
        cells, cases, seen = [], [], set()
        for test, status, jdk, attempt, node, message, reruns in spec["cases"]:
            cid = f"test_jdk{jdk}_{node}"
            if (cid, attempt) not in seen:
                seen.add((cid, attempt))
                cells.append(CellRun(cid, "test", (("jdk", jdk),), attempt, node,
                                     "timeout" if node in spec.get("timeout", ()) else "passed"))
            cls, name = test.rsplit(".", 1)
            cases.append(Result("s", cls, name, cid, status, 1.0, message=message, flaky_reruns=reruns))
        store.ingest_run(RunInfo(f"run{i}", spec["commit"], "trunk", 1000.0 + i * 60), cases, cells)
    return store


def case(test=T, status="passed", jdk="11", attempt=1, node="n0", message="", reruns=0):
    return (test, status, jdk, attempt, node, message, reruns)


def filler(i):
    """Other tests on every node, so that node shares are realistic."""
    return [case(f"org.x.Other{k}Test.t", node=NODES[k]) for k in range(8)]


def verdict(store, **kw):
    return {t.test: t for t in flaky.analyse(store, timelines="all", **kw).tests}


def test_pass_on_retry_confirms_a_flake_without_same_commit_evidence(tmp_path):
    runs = [{"commit": f"c{i}", "cases": filler(i) + [case(node=NODES[i % 8])]} for i in range(10)]
    runs[4]["cases"][-1] = case(status="failed", node="n4", message="boom")
    runs[4]["cases"].append(case(attempt=2, node="n4"))
    t = verdict(build(tmp_path, runs))[T]
    assert t.kind == "test" and t.confirmed
    assert any("passed on attempt 2" in e for e in t.evidence)


def test_surefire_rerun_alone_is_a_confirmed_flake(tmp_path):
    runs = [{"commit": f"c{i}", "cases": filler(i) + [case(reruns=1 if i == 3 else 0)]} for i in range(5)]
    t = verdict(build(tmp_path, runs))[T]
    assert t.kind == "test" and t.confirmed and t.rate.failures == 0
    assert "rerun(s) in the same JVM" in t.evidence[0]


def test_whole_cell_timeout_is_infra(tmp_path):
    runs = [{"commit": f"c{i}", "cases": filler(i) + [case(node="n5")]} for i in range(6)]
    runs[2]["cases"][-1] = case(status="error", node="n5", message="test interrupted")
    runs[2]["timeout"] = {"n5"}
    t = verdict(build(tmp_path, runs))[T]
    assert t.kind == "infra" and "timed out" in t.evidence[0]
    assert t.rate.failures == 0  # infra failures do not count against the test


def test_failures_all_on_one_small_node_are_infra(tmp_path):
    runs = [{"commit": "same", "cases": filler(i) + [case(node=NODES[i % 8])]} for i in range(40)]
    for i in (3, 11, 19, 27):  # every time it ran on n3
        runs[i]["cases"][-1] = case(status="failed", node="n3", message="Address already in use")
    t = verdict(build(tmp_path, runs))[T]
    assert t.kind == "infra"
    assert "all 4 failures on node n3" in t.evidence[0]


def test_failures_on_one_jdk_are_named_in_the_evidence(tmp_path):
    runs = []
    for i in range(20):
        fails = i % 5 == 0
        runs.append({"commit": f"c{i // 4}", "cases": filler(i) + [
            case(jdk="11", node=NODES[i % 8]),
            case(jdk="17", node=NODES[(i + 1) % 8], status="failed" if fails else "passed", message="x")]})
    t = verdict(build(tmp_path, runs))[T]
    assert t.kind == "test"
    assert any(e.startswith("all failures on test jdk=17 (none in 20 executions") for e in t.evidence)
    assert t.variants["test jdk=17"].failures == 4 and t.variants["test jdk=11"].failures == 0


def test_single_failures_on_different_commits_are_a_suspected_flake(tmp_path):
    runs = [{"commit": f"c{i}", "cases": filler(i) + [case(node=NODES[i % 8])]} for i in range(30)]
    for i in (5, 17):
        runs[i]["cases"][-1] = case(status="failed", node=NODES[i % 8], message="x")
    t = verdict(build(tmp_path, runs))[T]
    assert t.kind == "test" and not t.confirmed
    assert t.runs_needed == flaky.runs_needed(2 / 30)
    assert "no failing streak" in t.evidence[0]


def test_one_failing_newest_run_is_not_yet_code(tmp_path):
    runs = [{"commit": f"c{i}", "cases": filler(i) + [case(node=NODES[i % 8])]} for i in range(10)]
    runs[-1]["cases"][-1] = case(status="failed", node=NODES[1], message="x")
    assert verdict(build(tmp_path, runs))[T].kind == "test"
    runs.append({"commit": "c10", "cases": filler(10) + [case(status="failed", node="n2", message="x")]})
    (tmp_path / "b").mkdir()
    t = verdict(build(tmp_path / "b", runs))[T]
    assert t.kind == "code" and t.first_failing_commit == "c9" and t.last_passing_commit == "c8"


@pytest.mark.parametrize("k,n,low,high", [(0, 10, 0.0, 0.2775), (5, 100, 0.0215, 0.1118), (10, 10, 0.7225, 1.0)])
def test_wilson_interval_known_values(k, n, low, high):
    lo, hi = flaky.wilson_interval(k, n)
    assert lo == pytest.approx(low, abs=1e-4) and hi == pytest.approx(high, abs=1e-4)


def test_runs_needed():
    assert flaky.runs_needed(0.05) == 59  # 1 - 0.95**59 >= 0.95 > 1 - 0.95**58
    assert 1 - 0.95 ** 58 < 0.95 <= 1 - 0.95 ** 59
    assert flaky.runs_needed(0.01) == math.ceil(math.log(0.05) / math.log(0.99)) == 299
    assert flaky.runs_needed(0) is None and flaky.runs_needed(1.0) == 1


def test_broken_on_one_jdk_only_is_code_not_flaky(tmp_path):
    runs = []
    for i in range(12):
        broken = i >= 6  # jdk17 breaks at commit c3 and stays broken; jdk11 keeps passing
        runs.append({"commit": f"c{i // 2}", "cases": filler(i) + [
            case(jdk="11", node=NODES[i % 8]),
            case(jdk="17", node=NODES[(i + 1) % 8], status="failed" if broken else "passed", message="NoSuchMethod")]})
    t = verdict(build(tmp_path, runs))[T]
    assert t.kind == "code" and not t.flaky
    assert t.first_failing_commit == "c3" and t.last_passing_commit == "c2"
    assert t.evidence[0] == "fails only on test jdk=17; other variants pass"
