"""One test case outcome as every results consumer sees it (bundle reader, history DB, flaky, splits)."""

from __future__ import annotations

from typing import NamedTuple

STATUSES = ("passed", "failed", "error", "skipped")
# A test case's time above this (11.6 days) is not a duration: a tool writing milliseconds, or hostile input (a
# time of 1e308 would make every sum infinite). The JUnit readers read it as 0.0, like a negative or NaN time.
MAX_TEST_SECONDS = 1e6
# A suite, class or test name longer than this is cut, and ends with a digest of the whole name so that two long
# names stay two tests: a record is one line of a bundle's records.tsv, which readers refuse beyond 4 MiB.
MAX_NAME_CHARS = 2048
_DIGEST_CHARS = 16


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


def bounded_name(name: str) -> str:
    """*name* itself, or when longer than MAX_NAME_CHARS its start, `~` and 16 hex digits of its sha256."""
    if len(name) <= MAX_NAME_CHARS:
        return name
    import hashlib  # here: OpenSSL is ~4 MiB and 2 ms that the JUnit readers' processes otherwise never load

    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:_DIGEST_CHARS]
    return f"{name[:MAX_NAME_CHARS - _DIGEST_CHARS - 1]}~{digest}"


def bounded_names(case: TestCaseResult) -> TestCaseResult:
    """*case* with its suite, classname and name bounded (bounded_name); the same object when none is too long."""
    if max(len(case.suite), len(case.classname), len(case.name)) <= MAX_NAME_CHARS:
        return case
    return case._replace(suite=bounded_name(case.suite), classname=bounded_name(case.classname),
                         name=bounded_name(case.name))
