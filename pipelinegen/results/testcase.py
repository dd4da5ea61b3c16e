"""One test case outcome as every results consumer sees it (bundle reader, history DB, flaky, splits)."""

from __future__ import annotations

from typing import NamedTuple

STATUSES = ("passed", "failed", "error", "skipped")
# A test case's time above this (11.6 days) is not a duration: a tool writing milliseconds, or hostile input (a
# time of 1e308 would make every sum infinite). The JUnit readers read it as 0.0, like a negative or NaN time.
MAX_TEST_SECONDS = 1e6


class TestCaseResult(NamedTuple):
    """Immutable; a NamedTuple rather than a frozen dataclass because ingest builds hundreds of thousands
    per second and a tuple is built ~5x faster (benchmarks/ingest.py). Copy with `._replace(...)`."""

    suite: str  # JUnit <testsuite name>
    classname: str  # JUnit <testcase classname> (pytest: module path)
    name: str  # JUnit <testcase name>
    cell_id: str  # the plan cell that ran it ("" when unknown)
    status: str  # one of STATUSES
    duration_s: float
    message: str = ""  # failure/error message (first line or short text), "" when passed
    details: str = ""  # failure text / stack trace, possibly truncated with a marker
    attempt: int = 1  # which attempt of the cell produced it
    flaky_reruns: int = 0  # Surefire flakyFailure/rerunFailure count: failed then passed in the same run

    @property
    def test_id(self) -> str:
        """Identity of the test across cells and runs: classname.name (Cassandra's usage)."""
        return f"{self.classname}.{self.name}" if self.classname else self.name
