"""Right-sized agents: per step, the smallest resource class that held what its cells really used.

Input: cells of result bundles from `pipelinegen run`, which measure each attempt's peak memory (process
tree) and CPU time (run/usage.py). Per step the highest peak and the busiest cores (CPU seconds / wall
seconds) are compared, with a safety margin, to every resource class of pipeline.yaml; the smallest class
(by price, else by memory then cpu) that holds both is recommended, with what the change saves over the
step's agent-hours in one run of the estimated plan. A step without measurements gets no recommendation.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pipelinegen.analysis.timings import BundleCell
from pipelinegen.model.pipeline import Pipeline, Resource

DEFAULT_MARGIN = 0.25  # 25 % headroom over the highest observed peak


@dataclass(frozen=True)
class StepUsage:
    step: str
    cells: int  # measured cells
    peak_memory_mb: float
    peak_cores: float  # the busiest cell: CPU seconds / wall seconds
    agent_hours: float  # wall time of the measured cells, per run


@dataclass(frozen=True)
class Recommendation:
    usage: StepUsage
    current: str
    recommended: str  # == current when it already is the smallest that fits
    needed_memory_gb: float
    needed_cpu: float
    saving_per_run: float | None  # currency units over the step's agent-hours of one run; None without prices
    reason: str


def step_usage(cells: Iterable[BundleCell], runs: int = 1) -> dict[str, StepUsage]:
    """Per step, the highest peak and busiest cores of its measured cells; agent-hours per run (of *runs*)."""
    peaks: dict[str, float] = defaultdict(float)
    cores: dict[str, float] = defaultdict(float)
    hours: dict[str, float] = defaultdict(float)
    count: dict[str, int] = defaultdict(int)
    for cell in cells:
        if cell.peak_memory_mb is None:
            continue
        count[cell.step] += 1
        peaks[cell.step] = max(peaks[cell.step], cell.peak_memory_mb)
        if cell.cpu_seconds is not None and cell.seconds > 0:
            cores[cell.step] = max(cores[cell.step], cell.cpu_seconds / cell.seconds)
        hours[cell.step] += cell.seconds / 3600
    return {s: StepUsage(s, count[s], peaks[s], cores[s], hours[s] / max(1, runs)) for s in count}


def _memory_gb(resource: Resource) -> float:
    # The test container's limit is what the tests live in when a class declares one.
    return resource.container_memory_gb or resource.memory_gb


def _order(resource: Resource) -> tuple:
    price = resource.price.per_hour if resource.price else float("inf")
    return (price, _memory_gb(resource), resource.cpu, resource.name)


def recommend(pipeline: Pipeline, usage: dict[str, StepUsage], margin: float = DEFAULT_MARGIN,
              plan_hours: dict[str, float] | None = None) -> list[Recommendation]:
    """*plan_hours*: the step's agent-hours in one run of the estimated plan (else the measured runs')."""
    resources = {r.name: r for r in pipeline.resources}
    out = []
    for step in pipeline.steps:
        used = usage.get(step.name)
        if used is None:
            continue
        current = resources[step.resource]
        needed_gb = used.peak_memory_mb * (1 + margin) / 1024
        needed_cpu = used.peak_cores * (1 + margin)
        fitting = sorted((r for r in resources.values() if _memory_gb(r) >= needed_gb and r.cpu >= needed_cpu),
                         key=_order)
        if not fitting:
            out.append(Recommendation(used, current.name, current.name, needed_gb, needed_cpu, None,
                                      "no class holds the observed peak with the margin: add a bigger one"))
            continue
        best = fitting[0]
        saving = None
        if best.price and current.price:
            hours = (plan_hours or {}).get(step.name, used.agent_hours)
            saving = (current.price.per_hour - best.price.per_hour) * hours
        if best.name == current.name:
            reason = "already the smallest class that fits"
        elif _memory_gb(current) < needed_gb or current.cpu < needed_cpu:
            reason = "the current class is too small for the observed peak"
        else:
            reason = "a smaller class holds the observed peak"
        out.append(Recommendation(used, current.name, best.name, needed_gb, needed_cpu, saving, reason))
    return out


def recommendation_lines(recs: Sequence[Recommendation], margin: float, currency: str) -> list[str]:
    if not recs:
        return ["  resources: no measured cells (bundles of `pipelinegen run` carry peak memory and CPU time)"]
    lines = ["", f"  resources (observed peak + {margin:.0%} margin; from {sum(r.usage.cells for r in recs)} measured "
             "cells)", f"  {'step':<22}{'cells':>6}{'peak MiB':>10}{'cores':>7}  {'class':<16}{'recommended':<16}"
             f"{'saves/run':>11}"]
    for r in recs:
        saving = "" if r.saving_per_run is None else f"{currency} {r.saving_per_run:,.2f}".strip()
        lines.append(f"  {r.usage.step:<22}{r.usage.cells:>6}{r.usage.peak_memory_mb:>10.0f}"
                     f"{r.usage.peak_cores:>7.1f}  {r.current:<16}{r.recommended:<16}{saving:>11}  {r.reason}")
    return lines
