"""Result formats are one registry (pipelinegen/results/formats.py): discovery + records. Every reader (the
bundle writer, `results collect`, timing sources) finds and parses files through it, so a new format is one entry."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelinegen.analysis.timings import read_junit
from pipelinegen.results import formats
from pipelinegen.results.collect import discover_cells
from pipelinegen.results.testcase import TestCaseResult as Case

JUNIT = '<testsuite name="s"><testcase classname="org.A" name="t" time="1.5"/></testsuite>\n'


def _lines_reader(source, cell_id, attempt=1, cases_only=False):
    """A made-up format: one `classname name seconds` per line."""
    for line in Path(source).read_text().splitlines():
        classname, name, seconds = line.split()
        yield Case("", classname, name, cell_id, "passed", float(seconds), attempt=attempt)


@pytest.fixture
def lines_format(monkeypatch):
    monkeypatch.setitem(formats.RESULT_FORMATS, "lines", formats.ResultFormat("lines", (".tests",), _lines_reader))


def test_junit_files_are_found_below_directories_and_nothing_else(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "TEST-x.xml").write_text(JUNIT)
    (tmp_path / "a" / "output.log").write_text("log")
    assert formats.result_files([tmp_path]) == [tmp_path / "a" / "b" / "TEST-x.xml"]
    assert [o.seconds for o in read_junit(tmp_path)] == [1.5]


def test_a_registered_format_is_discovered_and_read_everywhere(tmp_path, lines_format):
    cell = tmp_path / "unit_1of2"
    cell.mkdir()
    (cell / "results.tests").write_text("org.B slow 12.5\norg.B fast 0.5\n")
    (cell / "TEST-a.xml").write_text(JUNIT)
    timings = sorted((o.classname, o.name, o.seconds) for o in read_junit(tmp_path))
    assert timings == [("org.A", "t", 1.5), ("org.B", "fast", 0.5), ("org.B", "slow", 12.5)]
    (found,) = discover_cells(tmp_path)
    assert sorted(p.name for p in found.junit) == ["TEST-a.xml", "results.tests"]


def test_without_the_entry_the_same_file_is_ignored(tmp_path):
    (tmp_path / "results.tests").write_text("org.B slow 12.5\n")
    assert formats.result_files([tmp_path]) == [] and read_junit(tmp_path) == []
