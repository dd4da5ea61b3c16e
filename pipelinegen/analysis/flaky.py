"""Flaky statistics: failure rates with Wilson intervals, runs needed to confirm, per-variant breakdown.

`analyse(store, ...)` reads a window of the history, computes the numbers for every test that failed in
it and asks `classify` for the verdict. Everything here is pure except the one store read.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, TextIO

from pipelinegen.analysis.classify import Context, Thresholds, Verdict, classify, load_signatures
from pipelinegen.analysis.history import FAILED, History, HistoryBackend, Outcome

Z95 = 1.959963984540054  # two-sided 95 % normal quantile


def wilson_interval(failures: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a failure rate: sound at 0 or n failures and on few runs, unlike p +- z*se."""
    if n <= 0:
        return 0.0, 1.0
    p = failures / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def runs_needed(rate: float, confidence: float = 0.95) -> int | None:
    """Runs on one commit that show at least one failure with *confidence*, if the test fails at *rate*.

    The same number of passes in a row bounds the rate below *rate* after a fix (the 'rule of three').
    """
    if rate <= 0:
        return None
    if rate >= 1:
        return 1
    return math.ceil(math.log(1 - confidence) / math.log(1 - rate))


@dataclass(frozen=True)
class Rate:
    executions: int  # not counting skips and infra-explained failures
    failures: int
    rate: float
    low: float
    high: float

    @classmethod
    def of(cls, failures: int, executions: int) -> Rate:
        low, high = wilson_interval(failures, executions)
        return cls(executions, failures, failures / executions if executions else 0.0, low, high)

    def as_dict(self) -> dict:
        return {"executions": self.executions, "failures": self.failures, "rate": self.rate, "low": self.low,
                "high": self.high}


class Point(NamedTuple):
    """One run of one test, for the timeline (a NamedTuple: a report holds one per run per flagged test)."""

    run_id: str
    commit: str
    started_at: float
    executions: int
    failures: int
    infra_failures: int


@dataclass
class TestReport:
    test: str
    kind: str
    flaky: bool
    confirmed: bool
    rate: Rate
    runs: int
    commits: int
    runs_needed: int | None  # flakes: runs on one commit that show a failure at 95 % (= passes in a row to trust a fix)
    evidence: list[str]
    first_failing_commit: str = ""
    last_passing_commit: str = ""
    variants: dict[str, Rate] = field(default_factory=dict)
    timeline: list[Point] = field(default_factory=list)

    def as_dict(self) -> dict:
        # Written out field by field: dataclasses.asdict deep-copies every timeline point (issue 16: it was
        # most of `flaky --json` at 1,000 runs).
        return {
            "test": self.test, "kind": self.kind, "flaky": self.flaky, "confirmed": self.confirmed,
            "rate": self.rate.as_dict(), "runs": self.runs, "commits": self.commits,
            "runs_needed": self.runs_needed, "evidence": list(self.evidence),
            "first_failing_commit": self.first_failing_commit, "last_passing_commit": self.last_passing_commit,
            "variants": {label: rate.as_dict() for label, rate in self.variants.items()},
            "timeline": [{"run_id": p.run_id, "commit": p.commit, "started_at": p.started_at,
                          "executions": p.executions, "failures": p.failures, "infra_failures": p.infra_failures}
                         for p in self.timeline],
        }


@dataclass
class FlakyReport:
    branch: str
    since: float | None
    runs: int
    first_run: float | None
    last_run: float | None
    tests: list[TestReport]

    @property
    def flaky(self) -> list[TestReport]:
        return [t for t in self.tests if t.kind == "test"]

    def as_dict(self) -> dict:
        return {**self._header(), "tests": [t.as_dict() for t in self.tests]}

    def _header(self) -> dict:
        return {
            "branch": self.branch,
            "since": self.since,
            "runs": self.runs,
            "first_run": self.first_run,
            "last_run": self.last_run,
            "counts": {
                kind: sum(1 for t in self.tests if t.kind == kind) for kind in ("test", "code", "infra")
            },
        }

    def write_json(self, out: TextIO) -> None:
        """as_dict() as compact JSON with sorted keys, written test by test: memory holds one test's JSON,
        not the whole document twice, and each test is encoded by json's C encoder (no indent)."""
        header = json.dumps(self._header(), sort_keys=True, separators=(",", ":"))
        out.write(header[:-1] + ',"tests":[')
        for i, test in enumerate(self.tests):
            if i:
                out.write(",")
            out.write(json.dumps(test.as_dict(), sort_keys=True, separators=(",", ":")))
        out.write("]}\n")


def report_for(name: str, ctx: Context, timelines: str = "none") -> TestReport:
    """Statistics and verdict of one test; the per-run timeline only when asked (it costs O(runs)).

    *timelines*: "none", "flagged" (only for test and code verdicts) or "all".
    """
    history = ctx.history
    verdict: Verdict = classify(name, ctx)
    with_timeline = timelines == "all" or (timelines == "flagged" and verdict.kind in ("test", "code"))
    infra = set()
    order = history.commit_order
    streak_from = order.get(verdict.first_failing_commit, len(order))
    for f in ctx.failures(name):
        # Mass failures count against the code only inside its failing streak; before it they were an outage.
        weak_is_infra = verdict.kind != "code" or order.get(f.run.commit, 0) < streak_from
        if f.strong or (f.weak and weak_is_infra):
            infra.add((f.run.id, f.outcome.cell_id, f.outcome.attempt))
    # variant -> [executions that count, failures that count]
    per_variant = {v: [n, 0] for v, n in history.executions(name).items()}
    for run, o in history.outcomes.get(name, []):
        slot = per_variant.setdefault(o.variant, [0, 0])
        if o.status == "skipped" or (run.id, o.cell_id, o.attempt) in infra:
            slot[0] -= 1
        elif o.status in FAILED:
            slot[1] += 1
    rate = Rate.of(sum(f for _, f in per_variant.values()), sum(n for n, _ in per_variant.values()))
    variants = {
        (history.variants[v].label if v in history.variants else str(v)): Rate.of(f, n)
        for v, (n, f) in sorted(per_variant.items())
    }
    return TestReport(
        test=name,
        kind=verdict.kind,
        flaky=verdict.flaky,
        confirmed=verdict.confirmed,
        rate=rate,
        runs=history.runs_of(name),
        commits=len(history.commits_of(name)),
        runs_needed=runs_needed(rate.rate) if verdict.kind == "test" else None,
        evidence=verdict.evidence,
        first_failing_commit=verdict.first_failing_commit,
        last_passing_commit=verdict.last_passing_commit,
        variants=variants,
        timeline=timeline_points(history, name, infra) if with_timeline else [],
    )


def timeline_points(history: History, test: str, infra: set[tuple[int, str, int]]) -> list[Point]:
    """One point per run *test* ran in. O(runs), so written for speed: runs without a non-passing outcome
    (nearly all) cost a dict look-up and a tuple, and the executions per test set are summed once."""
    test_id = history.test_ids[test]
    by_run: dict[int, list[Outcome]] = {}
    for run, outcome in history.outcomes.get(test, []):
        by_run.setdefault(run.id, []).append(outcome)
    totals: dict[int, int | None] = {}  # test set -> executions of this test (None: not in it)
    points = []
    append = points.append
    for run in history.runs:
        total = totals.get(run.testset, -1)
        if total == -1:
            executions = history.testsets[run.testset].get(test_id)
            total = totals[run.testset] = sum(executions.values()) if executions is not None else None
        if total is None:
            continue
        outcomes = by_run.get(run.id)
        if not outcomes:
            append(Point(run.run_id, run.commit, run.started_at, total, 0, 0))
            continue
        fails = infra_fails = skipped = 0
        for o in outcomes:
            if o.status in FAILED:
                if (run.id, o.cell_id, o.attempt) in infra:
                    infra_fails += 1
                else:
                    fails += 1
            elif o.status == "skipped":
                skipped += 1
        append(Point(run.run_id, run.commit, run.started_at, total - skipped - infra_fails, fails, infra_fails))
    return points


KIND_ORDER = {"test": 0, "code": 1, "infra": 2}


def analyse(
    store: HistoryBackend,
    branch: str | None = None,
    since: float | None = None,
    tests: Sequence[str] | None = None,
    signatures: Sequence[Path] = (),
    thresholds: Thresholds | None = None,
    timelines: str = "none",
) -> FlakyReport:
    """Every test that failed in the window (or the named *tests*), with statistics and a verdict.

    *timelines*: "none", "flagged" (test and code verdicts: what the report plots) or "all"; named
    *tests* always get theirs.
    """
    history = store.history(branch, since, tests)
    ctx = Context.build(history, load_signatures(signatures), thresholds)
    reports = [report_for(name, ctx, "all" if tests is not None else timelines)
               for name in history.test_ids if history.runs_of(name)]
    reports.sort(key=lambda r: (KIND_ORDER.get(r.kind, 9), -r.rate.rate, r.test))
    runs = history.runs
    return FlakyReport(branch or "", since, len(runs), runs[0].started_at if runs else None,
                       runs[-1].started_at if runs else None, reports)
