"""The flaky report as one self-contained HTML page (jinja2 template, inline SVG plots; no scripts, no CDN)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import jinja2

from pipelinegen.analysis.flaky import FlakyReport, Point, wilson_interval

TEMPLATE = "flaky_report.html.j2"
PLOT_W, PLOT_H = 360, 90
STRIP_RUNS = 200  # runs shown in a test's timeline strip (the newest)
INFRA_SHOWN = 200


@dataclass(frozen=True)
class Bucket:
    start: float
    end: float
    executions: int
    failures: int

    @property
    def rate(self) -> float:
        return self.failures / self.executions if self.executions else 0.0


def buckets(points: Sequence[Point], start: float, end: float, n: int = 24) -> list[Bucket]:
    """Failure counts in *n* equal time slices of [start, end] (the x axis of the rate plot)."""
    width = max(end - start, 1.0) / n
    execs, fails = [0] * n, [0] * n
    for p in points:
        i = min(n - 1, max(0, int((p.started_at - start) / width)))
        execs[i] += p.executions
        fails[i] += p.failures
    return [Bucket(start + i * width, start + (i + 1) * width, execs[i], fails[i]) for i in range(n)]


def rate_plot(points: Sequence[Point], start: float, end: float) -> dict:
    """Coordinates of the failure-rate line and its 95 % band, scaled to the plot box (y: 0..max)."""
    series = buckets(points, start, end)
    filled = [b for b in series if b.executions]
    top = max([wilson_interval(b.failures, b.executions)[1] for b in filled] + [0.01])
    step = PLOT_W / len(series)

    def y(v: float) -> float:
        return round(PLOT_H - v / top * PLOT_H, 1)

    line, upper, lower = [], [], []
    for i, b in enumerate(series):
        if not b.executions:
            continue
        x = round((i + 0.5) * step, 1)
        low, high = wilson_interval(b.failures, b.executions)
        line.append(f"{x},{y(b.rate)}")
        upper.append(f"{x},{y(high)}")
        lower.append(f"{x},{y(low)}")
    return {
        "width": PLOT_W, "height": PLOT_H, "top": top,
        "line": " ".join(line), "band": " ".join(upper + lower[::-1]),
        "start": _day(start), "end": _day(end),
    }


def strip(points: Sequence[Point]) -> list[dict]:
    """One mark per run for the timeline: passed / failed / infra-only, with a tooltip."""
    marks = []
    for p in points[-STRIP_RUNS:]:
        state = "fail" if p.failures else "infra" if p.infra_failures else "pass"
        marks.append({"state": state, "title": f"{_day(p.started_at)} {p.commit[:12]} run {p.run_id[:12]}: "
                      f"{p.failures} failed, {p.infra_failures} infra, {p.executions} counted"})
    return marks


def _day(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M") if ts is not None else "-"


def render_html(report: FlakyReport) -> str:
    env = jinja2.Environment(loader=jinja2.PackageLoader("pipelinegen.analysis", "."),
                             autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    start = report.first_run or 0.0
    end = report.last_run or start
    sections = []
    for kind, title in (("test", "Flaky tests"), ("code", "Failing because of code"), ("infra", "Infra only")):
        tests = [t for t in report.tests if t.kind == kind]
        # An outage can make thousands of tests infra-only: list the first ones, count the rest.
        shown = tests if kind != "infra" else tests[:INFRA_SHOWN]
        sections.append({"kind": kind, "title": title, "tests": shown, "total": len(tests)})
    plots = {t.test: rate_plot(t.timeline, start, end) for t in report.tests if t.timeline}
    strips = {t.test: strip(t.timeline) for t in report.tests if t.timeline}
    return env.get_template(TEMPLATE).render(
        report=report, sections=sections, plots=plots, strips=strips, day=_day,
        generated=_day(datetime.now(UTC).timestamp()), strip_runs=STRIP_RUNS,
    )
