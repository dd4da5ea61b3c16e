"""Timing source: JUnit observations -> per class / per pytest node id durations, unknowns filled."""

from __future__ import annotations

import pytest

from pipelinegen.analysis.timings import Observation, aggregate, fill_unknown, pytest_node_id, read_junit

JUNIT = """<?xml version="1.0"?>
<testsuite name="{cls}" tests="2">
  <testcase classname="{cls}" name="testOne" time="{t1}"/>
  <testcase classname="{cls}" name="testTwo" time="{t2}"><failure message="boom">trace</failure></testcase>
</testsuite>
"""


def test_durations_sum_per_class_with_median_over_runs(tmp_path):
    for run, (t1, t2) in enumerate([(1.0, 2.0), (3.0, 2.0), (100.0, 2.0)]):
        d = tmp_path / f"run{run}" / "nested"
        d.mkdir(parents=True)
        (d / "TEST-a.xml").write_text(JUNIT.format(cls="org.A", t1=t1, t2=t2))
        (d / "TEST-b.xml").write_text(JUNIT.format(cls="org.B", t1=0.5, t2=0.5))
    observations = read_junit(tmp_path)
    assert len(observations) == 12
    totals = aggregate(observations)
    # the 100 s outlier run does not move the median of testOne (3.0)
    assert totals == {"org.A": pytest.approx(5.0), "org.B": pytest.approx(1.0)}


def test_test_granularity_keeps_each_case():
    obs = [Observation("org.A", "x", 2.0), Observation("org.A", "y", 3.0)]
    assert aggregate(obs, "test") == {"org.A.x": 2.0, "org.A.y": 3.0}


def test_pytest_node_ids_from_junit_classnames():
    assert pytest_node_id("auth_test.TestAuth", "test_login") == "auth_test.py::TestAuth::test_login"
    assert pytest_node_id("upgrade_tests.upgrade_through_versions_test.TestUpgrade", "test_a[x]") == (
        "upgrade_tests/upgrade_through_versions_test.py::TestUpgrade::test_a[x]"
    )
    assert pytest_node_id("cql_test", "test_plain") == "cql_test.py::test_plain"
    obs = [Observation("auth_test.TestAuth", "test_login", 4.0)]
    assert aggregate(obs, "pytest") == {"auth_test.py::TestAuth::test_login": 4.0}
    obs.append(Observation("auth_test", "test_other", 1.0))
    assert aggregate(obs, "file") == {"auth_test.py": 5.0}


def test_unknown_tests_get_the_step_median_and_deleted_tests_drop_out():
    known = {"A": 10.0, "B": 20.0, "C": 60.0, "Gone": 1000.0}
    filled, unknown = fill_unknown(known, ["A", "B", "C", "New"])
    assert unknown == ["New"]
    assert filled["New"] == 40.0  # median of A, B, C, Gone
    assert "Gone" not in filled


def test_no_timing_data_means_empty():
    assert fill_unknown({}, ["A"]) == ({}, ["A"])


def test_unknown_granularity_is_rejected():
    with pytest.raises(ValueError, match="granularity"):
        aggregate([Observation("a", "b", 1.0)], "method")


def test_a_truncated_junit_file_does_not_stop_the_others(tmp_path):
    (tmp_path / "TEST-good.xml").write_text(JUNIT.format(cls="org.Good", t1=1.0, t2=1.0))
    (tmp_path / "TEST-cut.xml").write_text(JUNIT.format(cls="org.Cut", t1=4.0, t2=4.0)[:150])
    totals = aggregate(read_junit(tmp_path))
    assert totals["org.Good"] == pytest.approx(2.0)
    assert all(value >= 0 for value in totals.values())
