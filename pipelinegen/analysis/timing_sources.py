"""Where test and cell durations come from, for `splits` and `estimate`: JUnit files, result bundles, the
history DB and split manifests, folded into one `DurationModel`."""

from __future__ import annotations

import functools
import statistics
from collections import defaultdict
from pathlib import Path

from pipelinegen.analysis import estimate as est
from pipelinegen.analysis import splits as sp
from pipelinegen.analysis import timings as tm
from pipelinegen.errors import PipelineError
from pipelinegen.plan.cell import Plan
from pipelinegen.results.archive import CorruptArchive


def collect_observations(
    step: str, junit: tuple[Path, ...], bundles: tuple[Path, ...]
) -> list[tm.Observation]:
    observations: list[tm.Observation] = []
    for path in junit:
        observations += tm.read_junit(path)
    for bundle in bundles:
        by_step = bundle_observations(bundle)
        observations += by_step.get(step, [])
        # Bundles collected from bare JUnit directories carry no step: match the cell id prefix instead.
        observations += [
            o for o in by_step.get("", []) if o.cell_id == step or o.cell_id.startswith(f"{step}_")
        ]
    return observations


@functools.lru_cache(maxsize=8)
def bundle_observations(bundle: Path) -> dict[str, list[tm.Observation]]:
    # Read once per command: an estimate asks for every step of the plan.
    return bundle_call(tm.read_bundle_observations, bundle)


def bundle_call(function, bundle: Path, option: str = "--bundle"):
    """Bundle readers' errors (missing manifest, corrupt archive) as bad input naming the bundle and its option."""
    try:
        return function(bundle)
    except (OSError, ValueError, KeyError, CorruptArchive) as err:
        raise PipelineError.single(str(bundle), None, f"{option}: {str(err).removeprefix(f'{bundle}: ')}",
                                   hint="give a result bundle (`pipelinegen results collect`)") from None


def step_durations(
    step: str,
    granularity: str,
    history: Path | None,
    branch: str,
    junit: tuple[Path, ...] = (),
    bundles: tuple[Path, ...] = (),
) -> dict[str, float]:
    """Per split-unit seconds of one step from every source given (JUnit/bundles win over history)."""
    durations: dict[str, float] = {}
    if history is not None:
        try:
            durations.update(tm.read_history(history, step, branch, granularity))
        except ValueError as err:
            raise PipelineError.single(str(history), None, str(err), hint="choose another --granularity") from None
    durations.update(tm.aggregate(collect_observations(step, junit, bundles), granularity))
    return durations


DEFAULT_SETUP_MINUTES = 2.0


def split_suggestions(plan: Plan, model: est.DurationModel, target_minutes: float) -> list[dict]:
    """Per step with test timings: the configured split count vs the fewest that fit the target."""
    configured: dict[str, int] = {}
    for cell in plan.cells:
        configured.setdefault(cell.step, cell.splits)
    rows = []
    for step, tests in sorted(model.test_seconds.items()):
        if step not in configured or not tests:
            continue
        setup_s = model.setup(step) * 60
        if target_minutes * 60 <= setup_s:
            continue
        best = sp.suggest_split_count(step, tests, target_minutes * 60, setup_s)
        now = max(s.seconds for s in sp.balance(tests, configured[step])[1])
        rows.append(
            {
                "step": step,
                "configured": configured[step],
                "suggested": best.splits,
                "slowest_cell_minutes_now": round((now + setup_s) / 60, 2),
                "slowest_cell_minutes_suggested": round(best.cell_seconds / 60, 2),
                "agent_hours_now": round((sum(tests.values()) + configured[step] * setup_s) / 3600, 2),
                "agent_hours_suggested": round(best.agent_seconds / 3600, 2),
                "feasible": best.feasible,
            }
        )
    return rows


def setup_from_bundles(cells: list[tm.BundleCell], bundles: tuple[Path, ...]) -> dict[str, float]:
    """Per step, the median of (a cell's wall time per attempt - the time its tests report), in minutes.

    That difference is what every cell pays whatever its tests: agent start, checkout, image pull,
    build-once unstash, JVM and test-runner start-up, result archiving.
    """
    test_seconds: dict[str, float] = defaultdict(float)
    for bundle in bundles:
        for observations in bundle_observations(bundle).values():
            for o in observations:
                test_seconds[o.cell_id] += o.seconds
    per_step: dict[str, list[float]] = defaultdict(list)
    for c in cells:
        if c.attempts > 0 and c.seconds > 0 and c.id in test_seconds:
            per_step[c.step].append(max(0.0, c.seconds / c.attempts - test_seconds[c.id]) / 60)
    return {step: statistics.median(values) for step, values in per_step.items()}


def build_model(
    plan: Plan, history, branch, bundles, splits_dir, default_minutes, setup_minutes, step_minutes, retry_rate
) -> tuple[est.DurationModel, list[str]]:
    """Every timing source the user gave, folded into one DurationModel (plus notes for the report)."""
    notes: list[str] = []
    steps = plan.steps()
    split_seconds: dict[str, list[float]] = {}
    configured = {c.step: c.splits for c in plan.cells}
    for step in steps:
        manifest = sp.read_split_manifest(splits_dir, step)
        if not manifest or not any(manifest.get("split_seconds", ())):
            continue  # no split files, or written without timing data: nothing to learn
        if manifest["splits"] != configured[step]:
            notes.append(
                f"{splits_dir}/{step} has {manifest['splits']} splits but the plan has {configured[step]}:"
                " its predicted durations are not used (re-run `pipelinegen splits` or change `splits:`)"
            )
            continue
        split_seconds[step] = manifest["split_seconds"]
    test_seconds: dict[str, dict[str, float]] = {}
    for step in steps:
        if step in split_seconds:
            continue
        durations = step_durations(step, "class", history, branch, (), bundles)
        if durations:
            test_seconds[step] = durations
    observed: dict[str, float] = {}
    rates: dict[str, float] = {}
    bundle_cells = [c for b in bundles for c in bundle_call(tm.read_bundle_cells, b)]
    learned_setup: dict[str, float] = {}
    if bundle_cells:
        rates.update(tm.retry_rates(bundle_cells))
        # A cell without test timings (build, lint, packaging) is best predicted by its own past wall time.
        # Cells of the same step that did not run (another jdk, skipped) get the step's median.
        per_cell: dict[str, list[float]] = defaultdict(list)
        per_step: dict[str, list[float]] = defaultdict(list)
        for c in bundle_cells:
            if (
                c.step not in test_seconds
                and c.step not in split_seconds
                and c.seconds > 0
                and c.attempts > 0
            ):
                per_cell[c.id].append(c.seconds / 60 / c.attempts)
                per_step[c.step].append(c.seconds / 60 / c.attempts)
        observed = {cid: statistics.median(v) for cid, v in per_cell.items()}
        learned_setup = setup_from_bundles(bundle_cells, bundles)
        step_minutes = {**{s: statistics.median(v) for s, v in per_step.items()}, **step_minutes}
    rates.update(retry_rate)
    model = est.DurationModel(
        default_minutes=default_minutes,
        setup_minutes=DEFAULT_SETUP_MINUTES if setup_minutes is None else setup_minutes,
        step_setup_minutes=learned_setup if setup_minutes is None else {},
        step_minutes=step_minutes,
        test_seconds=test_seconds,
        split_seconds=split_seconds,
        observed_minutes=observed,
        retry_rate=rates,
    )
    guessed = sorted({c.step for c in plan.cells if model.cell_minutes(c)[1] == "default"})
    if guessed:
        notes.append(
            f"{len(guessed)} step(s) have no timing data and use {default_minutes:g} min per cell:"
            f" {', '.join(guessed[:8])}{'...' if len(guessed) > 8 else ''} (give --db, --bundle or --step-minutes)"
        )
    return model, notes
