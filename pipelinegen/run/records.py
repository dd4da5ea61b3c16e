"""What a local run records: per attempt, per cell, and for the whole run (written as summary.json)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

# Cell statuses. `skipped` and `not_run` are never green; `error` means the cell could not be run at all.
PASSED, FAILED, TIMEOUT, ERROR, SKIPPED, INTERRUPTED, NOT_RUN = (
    "passed", "failed", "timeout", "error", "skipped", "interrupted", "not_run")


@dataclass
class TestCounts:
    total: int = 0
    failed: int = 0  # failures + errors
    skipped: int = 0
    failing: list[dict] = field(default_factory=list)  # {"test": id, "status": failed|error, "message": ...}

    def add(self, other: TestCounts) -> None:
        self.total += other.total
        self.failed += other.failed
        self.skipped += other.skipped
        self.failing.extend(other.failing)


@dataclass
class AttemptResult:
    attempt: int
    status: str
    returncode: int | None
    started: float  # epoch seconds
    ended: float
    log: str  # path relative to the result directory
    junit: list[str] = field(default_factory=list)  # paths relative to the result directory
    archived: list[str] = field(default_factory=list)  # the step's `archive` files, relative likewise
    tests: TestCounts = field(default_factory=TestCounts)
    reason: str = ""
    command: str = ""
    outcome: str = ""  # model/outcome.py: passed | tests-failed | infra ("" when the command never started)
    # what the attempt's process tree used (run/usage.py): cpu_seconds, peak_memory_mb, usage_method
    usage: dict = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return self.ended - self.started


@dataclass
class CellResult:
    id: str
    name: str
    step: str
    status: str
    reason: str = ""
    slots: int = 1
    attempts: list[AttemptResult] = field(default_factory=list)
    flaky_tests: list[str] = field(default_factory=list)  # failed on an attempt, passed on the last one

    @property
    def started(self) -> float | None:
        return self.attempts[0].started if self.attempts else None

    @property
    def ended(self) -> float | None:
        return self.attempts[-1].ended if self.attempts else None

    @property
    def tests(self) -> TestCounts:
        return self.attempts[-1].tests if self.attempts else TestCounts()

    def as_dict(self) -> dict:
        data = asdict(self)
        data["started"] = self.started
        data["ended"] = self.ended
        return data


@dataclass
class RunSummary:
    run_id: str
    started: float
    ended: float | None
    complete: bool  # False when interrupted or still running: the result does not cover the whole selection
    status: str  # passed | failed | error | interrupted | running
    exit_code: int | None
    jobs: int
    docker: bool
    parameters: dict
    cells: list[CellResult]
    jdk_homes: dict[str, str] = field(default_factory=dict)
    reason: str = ""  # why the run is incomplete or errored beyond its cells (results directory full, …)
    docker_images: dict[str, str] = field(default_factory=dict)  # --docker: image -> id (sha256:…) it ran in

    def as_dict(self) -> dict:
        data = asdict(self)
        data["cells"] = [cell.as_dict() for cell in self.cells]
        data["counts"] = status_counts(self.cells)
        return data


def status_counts(cells: list[CellResult]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for cell in cells:
        counts[cell.status] = counts.get(cell.status, 0) + 1
    return dict(sorted(counts.items()))


def run_outcome(cells: list[CellResult], interrupted: bool) -> tuple[str, int]:
    """(status, exit code): 0 all passed, 1 failures (tests, timeouts, cells skipped), 2 error or interrupted."""
    statuses = {cell.status for cell in cells}
    if interrupted:
        return INTERRUPTED, 2
    if ERROR in statuses:
        return ERROR, 2
    if statuses - {PASSED}:
        return FAILED, 1
    return PASSED, 0
