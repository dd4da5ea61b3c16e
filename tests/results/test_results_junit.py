"""JUnit variants real tools write must parse into the right statuses, without losing a test."""

from __future__ import annotations

import io
from pathlib import Path

from pipelinegen.results.junit import (
    MAX_TEXT_CHARS,
    PARSE_ERROR_CLASS,
    SuiteOutput,
    iter_records,
    iter_testcases,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "junit"


def _by_name(path: Path) -> dict:
    return {r.name: r for r in iter_testcases(path, "cell_a")}


def test_ant_statuses_messages_and_suite_output():
    path = FIXTURES / "ant-TEST-org.apache.cassandra.db.CellTest.xml"
    cases = _by_name(path)
    assert {n: c.status for n, c in cases.items()} == {
        "testConflictingTypeEquality": "passed",
        "testExpiringCellReconile": "failed",
        "testValidate": "error",
        "testComplexCellReconcile": "skipped",
    }
    failed = cases["testExpiringCellReconile"]
    assert failed.message == "expected:<1> but was:<2>"
    assert "CellTest.java:212" in failed.details
    assert failed.test_id == "org.apache.cassandra.db.CellTest.testExpiringCellReconile"
    assert failed.cell_id == "cell_a" and failed.duration_s == 1.104
    outputs = [r for r in iter_records(path, "cell_a") if isinstance(r, SuiteOutput)]
    assert len(outputs) == 1 and outputs[0].has_failures and "Starting CellTest" in outputs[0].stdout


def test_surefire_flaky_and_rerun_failures():
    cases = _by_name(FIXTURES / "surefire-TEST-example.RetryTests.xml")
    flaky = cases["passesOnSecondRun"]
    assert flaky.status == "passed" and flaky.flaky_reruns == 2
    assert "run 1 failed" in flaky.details and "run 2 blew up" in flaky.details
    assert cases["alwaysFails"].status == "failed" and cases["alwaysFails"].flaky_reruns == 0
    assert "nope again" in cases["alwaysFails"].details
    assert cases["alwaysThrows"].status == "error"
    # Output of passing tests is not kept: only failures' logs are worth the space.
    assert cases["passes"].details == ""
    assert all(c.suite == "example.RetryTests" for c in cases.values())


def test_pytest_failure_teardown_error_skip_and_xfail():
    cases = _by_name(FIXTURES / "pytest-dtest.xml")
    assert cases["test_simple_strategy"].status == "passed"
    assert cases["test_network_topology_strategy"].status == "failed"
    assert "Captured Log" in cases["test_network_topology_strategy"].details
    assert cases["test_teardown_error"].status == "error"
    assert cases["test_parallel_upgrade"].status == "skipped"
    assert cases["test_known_bug"].status == "skipped"
    assert cases["test_simple_strategy"].classname == "consistency_test.TestAvailability"


def test_nose_cqlsh():
    cases = _by_name(FIXTURES / "nosetests-cqlshlib.xml")
    assert [c.status for c in cases.values()] == ["passed", "failed", "skipped"]
    assert cases["test_complete_in_create_table"].message == "Lists differ: ['a'] != ['b']"


def test_bom_and_leading_whitespace():
    cases = _by_name(FIXTURES / "bom-TEST-org.apache.cassandra.utils.BomTest.xml")
    assert sorted(cases) == ["testA", "testB"]


def test_invalid_xml_characters_are_replaced_not_fatal():
    cases = list(iter_testcases(FIXTURES / "invalid-chars-TEST-org.apache.cassandra.io.ControlCharsTest.xml", "c"))
    assert [c.status for c in cases] == ["failed", "passed"]
    assert cases[0].name == "testEscape?[0m"
    assert cases[0].message == "bad byte ? and ? here"
    assert "red" in cases[0].details


def test_truncated_file_keeps_parsed_cases_and_reports_an_error():
    cases = list(iter_testcases(FIXTURES / "truncated-TEST-org.apache.cassandra.KilledTest.xml", "c"))
    assert [c.name for c in cases[:2]] == ["first", "second"]
    assert cases[2].status == "error" and cases[2].classname == PARSE_ERROR_CLASS
    assert "after 2 records" in cases[2].message


def test_empty_file_is_an_error_not_silence(tmp_path):
    empty = tmp_path / "TEST-empty.xml"
    empty.write_bytes(b"")
    cases = list(iter_testcases(empty, "c"))
    assert len(cases) == 1 and cases[0].status == "error"


def test_huge_system_out_is_truncated_with_marker():
    line = "DEBUG [node1] a line of log output that repeats\n"
    huge = line * (4 * 1024 * 1024 // len(line))  # 4 MB in one text node
    xml = (
        '<testsuite name="S"><testcase classname="S" name="big" time="1">'
        f'<failure message="boom">trace</failure><system-out>{huge}THE END</system-out></testcase></testsuite>'
    ).encode()
    [case] = list(iter_testcases(io.BytesIO(xml), "c"))
    assert case.status == "failed"
    assert len(case.details) < MAX_TEXT_CHARS + 200
    assert "characters truncated by pipelinegen" in case.details
    assert case.details.rstrip().endswith("THE END")  # the tail, where the error usually is, survives


def test_char_reference_split_across_read_chunks():
    # A forbidden "&#27;" reference straddling the 1 MiB read boundary is still removed.
    head = '<testsuite name="S"><testcase classname="S" name="n"><failure message="m">'
    for offset in range(-5, 2):
        pad = "x" * ((1 << 20) - len(head) + offset)
        xml = f"{head}{pad}&#27;tail</failure></testcase></testsuite>".encode()
        [case] = list(iter_testcases(io.BytesIO(xml), "c"))
        assert case.status == "failed" and case.classname == "S"
        assert case.details.endswith("?tail")


def test_nested_testsuites_use_innermost_name():
    xml = b'<testsuites><testsuite name="outer"><testsuite name="inner"><testcase name="t"/></testsuite><testcase name="u"/></testsuite></testsuites>'
    cases = list(iter_testcases(io.BytesIO(xml), "c"))
    assert [(c.suite, c.name) for c in cases] == [("inner", "t"), ("outer", "u")]


def test_bad_character_after_good_cases_yields_each_case_once(tmp_path):
    # The fast path parses straight from disk and stops at the bad byte; the repairing re-parse
    # must not yield the cases before it a second time.
    good = "".join(f'<testcase classname="S" name="ok{i}"/>' for i in range(3))
    path = tmp_path / "TEST-S.xml"
    path.write_bytes(f'<testsuite name="S">{good}<testcase classname="S" name="bad">'
                     f'<failure message="m">\x1b[31m</failure></testcase><testcase classname="S" name="last"/>'
                     f'<system-out>suite log</system-out></testsuite>'.encode())
    records = list(iter_records(path, "c"))
    assert [getattr(r, "name", "suite-output") for r in records] == ["ok0", "ok1", "ok2", "bad", "last", "suite-output"]
    assert records[3].status == "failed" and records[-1].has_failures
