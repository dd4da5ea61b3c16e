"""records.read_batches (the column-by-column reader history ingest uses) reads exactly what read_records
reads, and refuses exactly what it refuses, with the same message naming the same line."""

from __future__ import annotations

import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelinegen.results.records import (
    HEADER,
    RecordsError,
    RecordsWriter,
    case_batches,
    read_batches,
    read_records,
)
from pipelinegen.results.testcase import STATUSES
from pipelinegen.results.testcase import TestCaseResult as Case

_TEXT = st.text(alphabet=st.sampled_from(list("ab\\\t\n\r \x00é\u2603tnr.")), max_size=12)
_CASE = st.builds(
    lambda suite, cls, name, status, seconds, message, details, attempt, reruns: Case(
        suite, cls, name, "cell", status, seconds, message, details, attempt, reruns),
    st.sampled_from(["org.S", "", "s\\t"]), st.sampled_from(["org.A", "org.B", "o\\rg", "tab\tclass"]), _TEXT,
    st.sampled_from(STATUSES), st.integers(0, 10**6).map(lambda ms: ms / 1000), _TEXT, _TEXT,
    st.sampled_from([1, 1, 1, 2]), st.sampled_from([0, 0, 0, 1, 3]))


def _file(cases: list[Case]) -> bytes:
    out = io.BytesIO()
    writer = RecordsWriter(out)
    for case in cases:
        writer.write(case)
    writer.flush()
    return out.getvalue()


def _expanded(batches) -> list[tuple]:
    """One tuple per case from batches: what ingest can know of each case."""
    rows = []
    for batch in batches:
        notable = {i: rest for i, *rest in batch.notable}
        for i, (cls, name, seconds) in enumerate(zip(batch.classnames, batch.names, batch.durations, strict=True)):
            status, reruns, message, details = notable.get(i, ("passed", 0, None, None))
            rows.append((batch.cell_id, batch.attempt, cls, name, seconds, status, reruns, message, details))
        assert batch.counts == {s: sum(1 for i in range(len(batch.names)) if notable.get(i, ("passed",))[0] == s)
                                for s in STATUSES}
    return rows


def _expected(cases, limit=None) -> list[tuple]:
    def cut(text):
        return text if limit is None else text[:limit]

    return [(c.cell_id, c.attempt, c.classname, c.name, c.duration_s, c.status, c.flaky_reruns,
             *((cut(c.message), cut(c.details)) if c.status != "passed" or c.flaky_reruns else (None, None)))
            for c in cases]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases=st.lists(_CASE, max_size=40), chunk=st.sampled_from([1, 7, 64, 1 << 20]),
       limit=st.sampled_from([None, 1, 3, 8000]))
def test_batches_hold_what_read_records_reads(cases, chunk, limit):
    data = _file(cases)
    assert list(read_records(io.BytesIO(data), "cell")) == cases  # the writer round-trips
    assert _expanded(read_batches(io.BytesIO(data), "cell", chunk=chunk, text_limit=limit)) == _expected(cases, limit)
    assert _expanded(case_batches(cases)) == _expected(cases)


GOOD = [Case("org.S", "org.A", "t1", "cell", "passed", 1.5), Case("org.S", "org.A", "t2", "cell", "failed", 2.0,
                                                                    "boom", "at x\n\tat y"),
        Case("org.S", "org.B", "t\\3", "cell", "skipped", 0.0, "why")]
GOOD_LINES = _file(GOOD).decode().split("\n")
assert GOOD_LINES[0] + "\n" == HEADER


def _with_line(number: int, line: str) -> bytes:
    lines = list(GOOD_LINES)
    lines[number - 1] = line
    return "\n".join(lines).encode("utf-8", "surrogatepass")


BAD = {
    "a field missing": (3, "org.S\torg.A\tt2\tfailed\t2.000\t1\t0\tboom"),
    "a field too many": (2, "org.S\torg.A\tt1\tpassed\t1.500\t1\t0\t\t\t"),
    "unknown status": (4, "org.S\torg.B\tt3\tbroken\t0.000\t1\t0\t\t"),
    "negative duration": (2, "org.S\torg.A\tt1\tpassed\t-1\t1\t0\t\t"),
    "nan duration": (2, "org.S\torg.A\tt1\tpassed\tnan\t1\t0\t\t"),
    "infinite duration": (2, "org.S\torg.A\tt1\tpassed\tinf\t1\t0\t\t"),
    "infinite duration, spelled out": (4, "org.S\torg.B\tt3\tskipped\tInfinity\t1\t0\t\t"),
    "duration not a number": (2, "org.S\torg.A\tt1\tpassed\tfast\t1\t0\t\t"),
    "attempt zero": (3, "org.S\torg.A\tt2\tfailed\t2.000\t0\t0\tboom\t"),
    "negative reruns": (3, "org.S\torg.A\tt2\tfailed\t2.000\t1\t-1\tboom\t"),
    "backslash starting no escape in a name": (4, "org.S\torg.B\tt\\q\tskipped\t0.000\t1\t0\t\t"),
    "backslash ending a field": (3, "org.S\torg.A\tt2\tfailed\t2.000\t1\t0\tboom\\\t"),
    "backslash before a pair": (3, "org.S\torg.A\tt2\tfailed\t2.000\t1\t0\tb\\\\\\x\t"),
    "wrong header": (1, "#pipelinegen-records 2\tsuite"),
}


@pytest.mark.parametrize("what", sorted(BAD))
def test_a_bad_line_is_refused_by_both_readers_with_the_same_message(what):
    number, line = BAD[what]
    data = _with_line(number, line)
    with pytest.raises(RecordsError) as old:
        list(read_records(io.BytesIO(data), "cell", "cells/c/records.tsv"))
    with pytest.raises(RecordsError) as new:
        list(read_batches(io.BytesIO(data), "cell", "cells/c/records.tsv"))
    assert str(new.value) == str(old.value)
    assert f"cells/c/records.tsv: line {number}:" in str(new.value)


def test_two_bad_lines_that_balance_each_other_are_still_refused():
    """A line with a field too many and the next with one too few add up to the right number of tabs."""
    data = _with_line(2, "org.S\torg.A\tt1\tpassed\t1.500\t1\t0\t\t\tx").replace(b"org.S\torg.A\tt2", b"org.A\tt2", 1)
    with pytest.raises(RecordsError, match="line 2: expected 9 tab-separated fields"):
        list(read_batches(io.BytesIO(data), "cell"))


@pytest.mark.parametrize("data, message", [
    (HEADER.encode() + b"org.S\torg.A\tt\xff\tpassed\t1\t1\t0\t\t\n", "line 2: 'utf-8' codec can't decode"),
    (HEADER.encode() + b"org.S\torg.A\tt1\tpassed\t1\t1\t0\t\t", "line 2: the last line has no newline"),
    (b"", "line 1: not a pipelinegen records file"),
])
def test_undecodable_cut_short_or_empty_files_are_refused_naming_the_line(data, message):
    with pytest.raises(RecordsError, match=message):
        list(read_batches(io.BytesIO(data), "cell"))


def test_durations_whose_sum_overflows_are_each_finite_and_read():
    """The column check sums the durations first (a finite sum: none is infinite or NaN); a sum that overflows
    is checked value by value, so huge but finite durations read as read_records reads them."""
    cases = [Case("org.S", "org.A", f"t{i}", "cell", "passed", 1.7e308) for i in range(3)]
    data = _file(cases)
    assert _expanded(read_batches(io.BytesIO(data), "cell")) == _expected(list(read_records(io.BytesIO(data), "cell")))
