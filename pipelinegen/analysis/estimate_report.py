"""Estimate reports: one `Report` rendered as text, JSON, or an HTML page with a Gantt chart (inline SVG)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

import jinja2

from pipelinegen.analysis.estimate import Comparison, Estimate, SensitivityRow, TargetResult, Task
from pipelinegen.analysis.estimate_inputs import EstimateInputs

MODEL_NOTE = (
    "Simulated, not measured: one cell per agent, FIFO queue per resource class, build-once cells before "
    "their dependants, failed attempts run to the end and are re-queued, per-cell setup included."
)
SCHEDULE_NOTES = {
    "jenkins": "Order of the generated Jenkinsfile: build-once cells in dependency waves, then every other cell.",
    "dag": "Each cell starts as soon as its own dependencies are done (no stage barriers).",
}


def model_note(report: Report) -> str:
    return f"{MODEL_NOTE} {SCHEDULE_NOTES.get(report.schedule_model, '')}".strip()


@dataclass(frozen=True)
class Report:
    estimate: Estimate
    tasks: Sequence[Task]
    agents: dict[str, int]
    prices: dict[str, float]
    sensitivity: Sequence[SensitivityRow] = ()
    target: TargetResult | None = None
    samples: Sequence[float] = ()  # makespans of sampled runs (random retries), sorted
    comparisons: Sequence[Comparison] = ()
    split_suggestions: Sequence[dict] = ()  # per step: configured vs suggested split count
    schedule_model: str = "dag"  # "jenkins" (stage barriers of the generated Jenkinsfile) or "dag"
    title: str = "pipelinegen estimate"
    notes: Sequence[str] = field(default_factory=tuple)
    inputs: EstimateInputs | None = None  # each input with where it came from


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return 0.0
    rank = max(1, round(q / 100 * len(sorted_values) + 0.5 - 1e-9))
    return sorted_values[min(len(sorted_values), rank) - 1]


def _r(value: float) -> float:
    return round(value, 2)


def as_dict(report: Report) -> dict:
    est = report.estimate
    data: dict = {
        "model": model_note(report),
        "schedule_model": report.schedule_model,
        "notes": list(report.notes),
        "agents": dict(report.agents),
        "prices_per_hour": dict(report.prices),
        "currency": report.inputs.currency if report.inputs else "",
        "inputs": report.inputs.lines() if report.inputs else [],
        "runs_per_year_known": report.inputs is None or report.inputs.runs_per_year is not None,
        "makespan_minutes": _r(est.makespan),
        "lower_bound_minutes": _r(est.lower_bound),
        "critical_path_minutes": _r(est.critical_path),
        "critical_path_cells": list(est.critical_cells),
        "capacity_bound_minutes": _r(est.capacity_bound),
        "ratio_to_bound": round(est.ratio, 4),
        "queue_minutes": {"total": _r(est.queue_total), "mean": _r(est.queue_mean), "max": _r(est.queue_max)},
        "cost_per_run": _r(est.cost_per_run),
        "runs_per_year": est.runs_per_year,
        "cost_per_year": _r(est.cost_per_year),
        "duration_sources": dict(est.sources),
        "cells_over_timeout": list(est.timed_out),
        "classes": [
            {
                "resource": c.resource,
                "agents": c.agents,
                "cells": c.cells,
                "work_agent_hours": _r(c.work_minutes / 60),
                "utilisation": round(c.utilisation, 4),
                "peak_agents_busy": c.peak_agents,
                "price_per_hour": c.price_per_hour,
                "cost_busy": _r(c.cost_busy),
                "cost_fixed_pool": _r(c.cost_pool),
            }
            for c in est.classes
        ],
        "schedule": [
            {
                "cell": b.task_id,
                "resource": b.resource,
                "agent": b.agent,
                "attempt": b.attempt,
                "ready": _r(b.ready),
                "start": _r(b.start),
                "end": _r(b.end),
            }
            for b in est.schedule.bars
        ],
    }
    if report.sensitivity:
        data["sensitivity"] = [
            {
                "resource": r.resource,
                "factor": r.factor,
                "agents": dict(r.agents),
                "makespan_minutes": _r(r.makespan),
                "cost_per_run": _r(r.cost_per_run),
                "cost_fixed_pool": _r(r.cost_pool),
            }
            for r in report.sensitivity
        ]
    if report.target is not None:
        t = report.target
        data["target"] = {
            "target_minutes": t.target_minutes,
            "feasible": t.feasible,
            "agents": dict(t.agents),
            "makespan_minutes": _r(t.makespan),
            "critical_path_minutes": _r(t.critical_path),
            "simulations": t.simulations,
        }
    if report.samples:
        s = report.samples
        data["sampled_makespan_minutes"] = {
            "runs": len(s),
            "p50": _r(percentile(s, 50)),
            "p90": _r(percentile(s, 90)),
            "max": _r(s[-1]),
            "mean": _r(statistics.fmean(s)),
        }
    if report.comparisons:
        data["comparison"] = comparison_summary(report.comparisons)
    if report.split_suggestions:
        data["split_suggestions"] = list(report.split_suggestions)
    return data


def comparison_summary(rows: Sequence[Comparison]) -> dict:
    errors = [abs(r.error) for r in rows]
    return {
        "cells": len(rows),
        "mean_absolute_error_minutes": _r(statistics.fmean(errors)),
        "estimated_total_minutes": _r(sum(r.estimated for r in rows)),
        "actual_total_minutes": _r(sum(r.actual for r in rows)),
        "per_cell": [
            {"cell": r.cell_id, "estimated": _r(r.estimated), "actual": _r(r.actual), "error": _r(r.error)}
            for r in sorted(rows, key=lambda r: (-abs(r.error), r.cell_id))
        ],
    }


def _cost_line(d: dict, priced: bool) -> str:
    if not priced:
        return "  cost            unknown: declare resources[].price in pipeline.yaml or give --price small=0.05,..."
    money = f"{d['currency']} " if d["currency"] else ""
    per_year = (f"per year {money}{d['cost_per_year']:,.2f} ({d['runs_per_year']:,} runs)"
                if d["runs_per_year_known"] else "per year unknown (no runs_per_year)")
    return f"  cost per run    {money}{d['cost_per_run']:,.2f}   {per_year}; busy agent-hours x price"


def to_text(report: Report) -> str:
    d = as_dict(report)
    w = max([10] + [len(c["resource"]) + 2 for c in d["classes"]])  # labels can be long
    lines = [
        f"{report.title}",
        f"  makespan        {_m(d['makespan_minutes'])}   (lower bound {_m(d['lower_bound_minutes'])},"
        f" ratio {d['ratio_to_bound']:.2f})",
        f"  critical path   {_m(d['critical_path_minutes'])}   ({' -> '.join(d['critical_path_cells'][:4])})",
        f"  capacity bound  {_m(d['capacity_bound_minutes'])}   (busiest class: work / agents)",
        f"  queue time      mean {_m(d['queue_minutes']['mean'])}, max {_m(d['queue_minutes']['max'])}",
        _cost_line(d, bool(report.prices)),
        "",
        f"  {'class':<{w}}{'agents':>7}{'cells':>7}{'agent-h':>9}{'util':>7}{'peak':>6}{'cost':>9}{'fixed pool':>12}",
    ]
    for c in d["classes"]:
        lines.append(
            f"  {c['resource']:<{w}}{c['agents']:>7}{c['cells']:>7}{c['work_agent_hours']:>9.1f}"
            f"{c['utilisation']:>7.0%}{c['peak_agents_busy']:>6}{c['cost_busy']:>9.2f}{c['cost_fixed_pool']:>12.2f}"
        )
    sources = ", ".join(f"{n} {src}" for src, n in d["duration_sources"].items())
    lines += ["", f"  cell durations from: {sources}"]
    if d["inputs"]:
        lines += ["", "  inputs"] + [f"    {line}" for line in d["inputs"]]
    if d["cells_over_timeout"]:
        lines.append(
            f"  WARNING: {len(d['cells_over_timeout'])} cell(s) are estimated past their timeout, e.g."
            f" {d['cells_over_timeout'][0]}: add splits or raise timeout_minutes"
        )
    if "sampled_makespan_minutes" in d:
        s = d["sampled_makespan_minutes"]
        lines.append(
            f"  with random retries ({s['runs']} runs): p50 {_m(s['p50'])}, p90 {_m(s['p90'])}, max {_m(s['max'])}"
        )
    if "target" in d:
        t = d["target"]
        pool = ", ".join(f"{k}={v}" for k, v in sorted(t["agents"].items()))
        verdict = "reachable" if t["feasible"] else "NOT reachable (critical path is longer)"
        lines += [
            "",
            f"  target {_m(t['target_minutes'])}: {verdict} with {pool} -> makespan {_m(t['makespan_minutes'])}",
        ]
    if "sensitivity" in d:
        lines += ["", f"  {'change':<22}{'makespan':>10}{'cost/run':>10}{'fixed pool':>12}"]
        for r in d["sensitivity"]:
            label = f"{r['resource']} x{r['factor']:g}"
            if r["resource"] != "*":
                label += f" ({r['agents'][r['resource']]})"
            lines.append(
                f"  {label:<22}{_m(r['makespan_minutes']):>10}{r['cost_per_run']:>10.2f}{r['cost_fixed_pool']:>12.2f}"
            )
    if "split_suggestions" in d:
        lines += [
            "",
            f"  {'step (one jdk/arch)':<28}{'splits':>7}{'slowest':>11}{'agent-h':>9}"
            f"{'suggest':>9}{'slowest':>11}{'agent-h':>9}",
        ]
        for r in d["split_suggestions"]:
            flag = "" if r["feasible"] else "  (one test class alone is longer)"
            lines.append(
                f"  {r['step']:<28}{r['configured']:>7}{_m(r['slowest_cell_minutes_now']):>11}"
                f"{r['agent_hours_now']:>9.1f}{r['suggested']:>9}{_m(r['slowest_cell_minutes_suggested']):>11}"
                f"{r['agent_hours_suggested']:>9.1f}{flag}"
            )
    if "comparison" in d:
        c = d["comparison"]
        lines += [
            "",
            f"  estimated vs actual over {c['cells']} cells: {_m(c['estimated_total_minutes'])} vs"
            f" {_m(c['actual_total_minutes'])}, mean absolute error {_m(c['mean_absolute_error_minutes'])}",
        ]
        for row in c["per_cell"][:10]:
            lines.append(
                f"    {row['cell']:<40}{_m(row['estimated']):>10}{_m(row['actual']):>10}{row['error']:>+9.1f}"
            )
    lines += ["", f"  {model_note(report)}", *[f"  {n}" for n in report.notes]]
    return "\n".join(lines) + "\n"


def _m(minutes: float) -> str:
    """Minutes the way people read CI turnaround: `42.5 min` under an hour, `2h05` above."""
    if abs(minutes) < 59.95:
        return f"{minutes:.1f} min"
    total = round(minutes)
    return f"{total // 60}h{total % 60:02d}"


# ---------------------------------------------------------------- HTML with a Gantt chart


def _tick(minutes: float, step: float) -> str:
    if step < 1:
        return f"{minutes:g} min"
    return _m(minutes) if minutes >= 60 else f"{minutes:.0f} min"


CHART_WIDTH = 1000
LABEL_WIDTH = 120


_LIGHTNESS = (45, 62, 35, 72)


def step_colours(steps: Sequence[str]) -> dict[str, str]:
    """A distinct colour per step: hues a golden angle apart in the sorted step order, lightness cycling
    every turn, so no two steps of one chart share a colour (a hash of the name let jar, dtest and
    microbench-test collide)."""
    colours = {}
    for i, step in enumerate(sorted(set(steps))):
        hue = round((i * 137.508) % 360)
        colours[step] = f"hsl({hue}, 65%, {_LIGHTNESS[(i // 3) % len(_LIGHTNESS)]}%)"
    return colours


def gantt(report: Report) -> dict:
    """Layout of the chart in SVG coordinates: one row per agent that ran something."""
    est = report.estimate
    steps = {t.id: t for t in report.tasks}
    rows = sorted({(b.resource, b.agent) for b in est.schedule.bars})
    row_height = 14 if len(rows) <= 60 else max(3, 840 // len(rows))
    index = {row: i for i, row in enumerate(rows)}
    scale = CHART_WIDTH / est.makespan if est.makespan else 0.0
    critical = set(est.critical_cells)
    colour = step_colours([t.step for t in report.tasks])
    bars = []
    for b in est.schedule.bars:
        task = steps[b.task_id]
        bars.append(
            {
                "x": round(LABEL_WIDTH + b.start * scale, 2),
                "y": index[(b.resource, b.agent)] * row_height,
                "w": max(0.5, round((b.end - b.start) * scale, 2)),
                "h": max(1, row_height - 1),
                "fill": colour[task.step],
                "critical": b.task_id in critical,  # outlined: the chain no agent count can shorten
                "title": f"{task.name} (attempt {b.attempt}): {_m(b.start)}-{_m(b.end)}, queued {_m(b.start - b.ready)}"
                + (", on the critical path" if b.task_id in critical else ""),
            }
        )
    if row_height >= 10:
        labels = [
            {"y": i * row_height + row_height - 3, "text": f"{r} {a + 1}"} for i, (r, a) in enumerate(rows)
        ]
    else:  # too many agents to name each row: name each class at its first row
        labels = [
            {"y": i * row_height + 10, "text": f"{r} ({sum(1 for row in rows if row[0] == r)} agents used)"}
            for i, (r, a) in enumerate(rows)
            if a == min(row[1] for row in rows if row[0] == r)
        ]
    separators = [i * row_height for i, (r, _) in enumerate(rows) if i and rows[i - 1][0] != r]
    ticks = []
    if est.makespan:
        step = _nice_step(est.makespan / 10)
        for i in range(int(est.makespan / step + 1e-9) + 1):
            t = i * step
            ticks.append({"x": round(LABEL_WIDTH + t * scale, 2), "text": _tick(t, step)})
    legend = sorted({t.step for t in report.tasks})
    return {
        "width": LABEL_WIDTH + CHART_WIDTH + 40,
        "height": len(rows) * row_height + 36,
        "rows_height": len(rows) * row_height,
        "bars": bars,
        "labels": labels,
        "separators": separators,
        "ticks": ticks,
        "legend": [{"step": s, "fill": colour[s]} for s in legend],
        "x_label": "minutes since the run started (simulated)",
        "y_label": "agents, grouped by resource class",
    }


def _nice_step(raw: float) -> float:
    """A round tick interval (minutes) at least `raw`: 0.1, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, ..."""
    for candidate in (0.1, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 240, 480):
        if candidate >= raw:
            return candidate
    return 960


_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("pipelinegen.analysis", "."),
    autoescape=True,  # cell names and notes are user data
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def to_html(report: Report) -> str:
    template = _ENV.get_template("estimate_report.html.j2")
    return template.render(
        title=report.title, d=as_dict(report), chart=gantt(report), fmt=_m, note=model_note(report)
    )
