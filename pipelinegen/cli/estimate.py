"""`pipelinegen splits` and `pipelinegen estimate`: timing-based splits, turnaround and cost estimates."""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path

import click

from pipelinegen.analysis import estimate as est
from pipelinegen.analysis import splits as sp
from pipelinegen.analysis import timings as tm
from pipelinegen.analysis.estimate_inputs import resolve_inputs
from pipelinegen.analysis.estimate_report import Report, as_dict, to_html, to_text
from pipelinegen.analysis.resources import recommend, recommendation_lines, step_usage
from pipelinegen.analysis.timing_sources import (
    build_model,
    bundle_call,
    bundle_observations,
    split_suggestions,
    step_durations,
)
from pipelinegen.cli.options import (
    complete_profiles,
    complete_steps,
    db_option,
    format_option,
    plan_file_option,
)
from pipelinegen.fsutil import atomic_write_text
from pipelinegen.model.pipeline import Pipeline
from pipelinegen.plan import Plan, build_plan, parameters_for, read_plan_file

# ---------------------------------------------------------------- option parsing


def parse_pairs(text: str, option: str, cast=float) -> dict[str, float]:
    """`small=20,medium=150` -> {"small": 20, "medium": 150}; a bare number means every key ("*")."""
    result: dict = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep:
            key, value = "*", key
        try:
            result[key.strip()] = cast(value)
        except ValueError:
            raise click.BadParameter(
                f"{part!r}: expected NAME=NUMBER, e.g. medium=150", param_hint=option
            ) from None
    return result


def _pairs_option(option: str, cast=float):
    def callback(ctx, param, value):
        merged: dict = {}
        for text in value or ():
            merged.update(parse_pairs(text, option, cast))
        return merged

    return callback


# ---------------------------------------------------------------- splits


@click.command("splits")
@click.option("--step", required=True, shell_complete=complete_steps, help="The step whose tests are split (e.g. test, jvm-dtest).")
@click.option(
    "--splits",
    "count",
    type=click.IntRange(min=1),
    help="Number of splits (cells) of the step (default: the step's `splits` in pipeline.yaml).",
)
@click.option(
    "--pipeline",
    type=click.Path(path_type=Path),
    default=Path("pipeline.yaml"),
    show_default=True,
    help="Where the step's configured split count is read (skipped when the file does not exist).",
)
@click.option(
    "--overlay",
    "overlays",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Overlay YAML merged onto pipeline.yaml after the checkout's pipelinegen.overlays.yaml (a fork's split counts).",
)
@db_option(default=None, must_exist=True, dest="history", help="History DB (test timings).")
@click.option("--branch", default="", help="Branch whose history is used ('' = every branch).")
@click.option(
    "--junit",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="JUnit XML file or directory of this step's results (repeatable).",
)
@click.option(
    "--bundle",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Result bundle.",
)
@click.option(
    "--list",
    "test_list",
    type=click.File("r"),
    help="The step's current tests, one per line ('-' = stdin); unknown ones get the median, deleted ones drop out.",
)
@click.option(
    "--granularity",
    type=click.Choice(tm.GRANULARITIES),
    default="class",
    show_default=True,
    help="What one line of a split file names: JUnit class, test id, pytest node id, or pytest file.",
)
@click.option("--target-minutes", type=float, help="Suggest the split count whose slowest cell fits this.")
@click.option("--setup-minutes", type=float, default=2.0, show_default=True, help="Fixed cost of every cell.")
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("generated/splits"),
    show_default=True,
    help="Directory of split files: OUT/STEP/KofN.txt.",
)
@click.option("--dry-run", is_flag=True, help="Print the assignment, write nothing.")
@format_option("text", "json", help="json: a summary of the assignment.")
def splits_command(
    step,
    count,
    pipeline,
    overlays,
    history,
    branch,
    junit,
    bundle,
    test_list,
    granularity,
    target_minutes,
    setup_minutes,
    output,
    dry_run,
    fmt,
):
    """Assign a step's tests to N splits, balanced by duration (LPT), as files run-tests.sh reads.

    Without timing data the tests are dealt round-robin by sorted name (Cassandra's scheme). With
    --target-minutes and no --splits, the split count is the fewest whose slowest cell (tests + setup)
    fits the target.
    """
    bundle_observations.cache_clear()  # the cache lives for one command, not the process
    steps = _configured_steps(pipeline, overlays)
    _check_step_name(pipeline, step, steps)
    known = step_durations(step, granularity, history, branch, junit, bundle)
    tests = None
    if test_list is not None:
        tests = [line.strip() for line in test_list if line.strip() and not line.lstrip().startswith("#")]
    durations, unknown = tm.fill_unknown(known, tests)
    names = tests if tests is not None else sorted(durations)
    if not names:
        raise click.UsageError("no tests: give timing data (--db/--junit/--bundle) or a --list of tests")
    if tests is None:
        # A test added since the timings were recorded is in no split file, so no split would run it.
        click.echo(
            "warning: no --list: the split files name only tests seen in the timing data; pass the current"
            " tests (e.g. --list tests.txt) so that new tests are assigned too",
            err=True,
        )
    elif known and len(unknown) * 2 > len(names):
        click.echo(
            f"warning: {len(unknown)} of {len(names)} listed tests have no timing (e.g. {unknown[0]}); do the"
            f" --list entries use the timing data's names (--granularity {granularity}, e.g."
            f" {next(iter(sorted(known)))})?",
            err=True,
        )
    suggestion = None
    if target_minutes is not None:
        if not durations:
            raise click.UsageError("--target-minutes needs timing data (--db, --junit or --bundle)")
        try:
            suggestion = sp.suggest_split_count(step, durations, target_minutes * 60, setup_minutes * 60)
        except ValueError as err:
            raise click.BadParameter(str(err), param_hint="--target-minutes") from None
    configured = steps.get(step) if steps is not None else None
    if count is None:
        count = suggestion.splits if suggestion else configured
    if count is None:
        raise click.UsageError(
            f"give --splits N, or --target-minutes M to have the count suggested ({pipeline} was not found)"
        )
    if configured is not None and configured != count:
        # run-tests.sh -c K/N looks for KofN.txt with the plan's N: other counts are never read.
        click.echo(
            f"note: {pipeline} has `splits: {configured}` for step {step}; set it to {count} so that"
            f" run-tests.sh -c K/{count} finds these files",
            err=True,
        )
    assignment = sp.assign(step, names, durations or None, count)
    rr = sp.round_robin(names, count, durations)
    summary = assignment.as_dict()
    summary.update(
        lower_bound_seconds=round(sp.lower_bound(durations, count), 3) if durations else None,
        round_robin_makespan_seconds=round(max(s.seconds for s in rr), 3) if durations else None,
        unknown_tests=len(unknown) if durations else None,
        suggestion=suggestion.as_dict() if suggestion else None,
        output=None if dry_run else str(output / step),
    )
    if not dry_run:
        sp.write_split_files(output, assignment)
    if fmt == "json":
        click.echo(json.dumps(summary, indent=2, sort_keys=True))
        return
    click.echo(_splits_text(summary, assignment))


def _splits_text(summary: dict, assignment: sp.Assignment) -> str:
    lines = [
        f"{assignment.step}: {len(assignment.splits)} splits by {assignment.method}, {sum(summary['tests'])} tests"
    ]
    if summary["lower_bound_seconds"] is not None:
        lines.append(
            f"  slowest split {summary['makespan_seconds'] / 60:.1f} min (lower bound"
            f" {summary['lower_bound_seconds'] / 60:.1f}, round-robin {summary['round_robin_makespan_seconds'] / 60:.1f});"
            f" {summary['unknown_tests']} tests without timing got the median"
        )
    else:
        lines.append("  no timing data: round-robin by name, like Cassandra today")
    s = summary["suggestion"]
    if s:
        fits = (
            "" if s["feasible"] else " (the target is NOT reachable: the longest test alone takes that long)"
        )
        lines.append(
            f"  suggested {s['splits']} splits: slowest cell {s['cell_seconds'] / 60:.1f} min incl. setup,"
            f" {s['agent_seconds'] / 3600:.1f} agent-hours{fits}"
        )
    if summary["output"]:
        lines.append(
            f"  wrote {summary['output']}/{{1..{len(assignment.splits)}}}of{len(assignment.splits)}.txt"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------- the plan


def _configured_steps(pipeline: Path, overlays: tuple[Path, ...] = ()) -> dict[str, int] | None:
    """Step name -> configured `splits` (pipeline.yaml + the checkout's overlays + --overlay), loaded once;
    None when there is no pipeline.yaml here."""
    if not Path(pipeline).is_file():
        return None
    from pipelinegen.cli.options import load_selected

    return {candidate.name: candidate.splits for candidate in load_selected(pipeline, overlays).steps}


def _check_step_name(pipeline: Path, step: str, steps: dict[str, int] | None) -> None:
    """Warn about a --step that pipeline.yaml lacks: a typo otherwise finds no timings and fails with "no tests",
    or writes files no cell reads. A warning, not an error: the pipeline.yaml here may not be the project's."""
    if steps is None or step in steps:
        return
    import difflib

    names = list(steps)
    close = difflib.get_close_matches(step, names, n=3)
    hint = f"did you mean {', '.join(repr(n) for n in close)}?" if close else f"steps: {', '.join(names)}"
    click.echo(f"warning: --step {step!r} is not a step of {pipeline} ({hint}); no cell of it reads"
               " these split files (give --pipeline for another project's)", err=True)


def _plan(pipeline: Path, overlays: tuple[Path, ...], plan_file: Path | None, profile: str | None,
          **known: str) -> tuple[Plan, Pipeline | None]:
    """The saved plan (--plan), or pipeline.yaml planned for these parameters; and the pipeline (None for --plan)."""
    if plan_file is not None:
        return read_plan_file(plan_file), None
    from pipelinegen.cli.options import load_selected

    model = load_selected(pipeline, overlays)
    return build_plan(model, parameters_for(model, profile, **known)), model


# ---------------------------------------------------------------- estimate


@click.command("estimate")
@click.option("--pipeline", type=click.Path(path_type=Path), default=Path("pipeline.yaml"), show_default=True)
@click.option(
    "--overlay",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Overlay YAML.",
)
@plan_file_option(dest="plan_json", help="A saved plan (`pipelinegen plan --format json`) instead of planning pipeline.yaml.")
@click.option("--profile", default="", shell_complete=complete_profiles, help="Profile to estimate (default: the pipeline's first).")
@click.option("--arch", "--architecture", "architecture", default="", help="amd64, arm64, all ('' = the axis default).")
@click.option("--jdk", default="", help="One JDK ('' = every supported JDK).")
@click.option("--custom-regexp", default="", help="With --profile custom: steps whose name matches.")
@click.option("--repository", default="", help="Repository URL; the canonical one makes the run post-commit (adds the publish cells).")
@click.option(
    "--agents",
    multiple=True,
    callback=_pairs_option("--agents", int),
    help="Agents per resource class (small=20,medium=150) or per agent label (cassandra-arm64-large=8).",
)
@click.option(
    "--price", multiple=True, callback=_pairs_option("--price"),
    help="Price per agent-hour: small=0.05,... (default: resources[].price in pipeline.yaml).",
)
@click.option("--currency", default="", help="ISO 4217 code of --price (default: pipeline.yaml's).")
@click.option("--runs-per-year", type=click.IntRange(0, 1_000_000), default=None,
              help="For the yearly cost (default: the profile's runs_per_year in pipeline.yaml).")
@db_option(default=None, must_exist=True, dest="history", help="History DB (test timings).")
@click.option("--branch", default="", help="Branch whose history is used.")
@click.option(
    "--bundle",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="Result bundle of a past run: test timings, cell durations of build cells, retry rates.",
)
@click.option(
    "--splits-dir",
    type=click.Path(path_type=Path),
    default=Path("generated/splits"),
    show_default=True,
    help="Split files with predicted durations (from `pipelinegen splits`).",
)
@click.option("--default-minutes", type=float, default=10.0, show_default=True, help="A cell with no data.")
@click.option(
    "--setup-minutes",
    type=float,
    help="Fixed cost of every cell (default: learned per step from --bundle as wall time minus test time, else 2).",
)
@click.option(
    "--step-minutes", multiple=True, callback=_pairs_option("--step-minutes"), help="jar=8,lint=12,..."
)
@click.option(
    "--retry-rate",
    multiple=True,
    callback=_pairs_option("--retry-rate"),
    help="P(attempt fails): 0.05 or test=0.1",
)
@click.option(
    "--samples", type=click.IntRange(min=0), default=0, help="Also simulate N runs with random retries."
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--target-minutes", type=float, help="Find the agents per class that reach this turnaround.")
@click.option(
    "--schedule",
    type=click.Choice(est.SCHEDULES),
    default="jenkins",
    show_default=True,
    help="jenkins: the generated Jenkinsfile's stages (all build-once cells, in waves, before any test cell);"
    " dag: each cell starts as soon as its own dependencies are done.",
)
@click.option("--sensitivity/--no-sensitivity", default=True, show_default=True)
@click.option(
    "--suggest-splits",
    "split_target",
    type=float,
    help="Also suggest, per step with test timings, the split count whose slowest cell fits this many minutes.",
)
@click.option(
    "--compare",
    "compare_bundle",
    type=click.Path(exists=True, path_type=Path),
    help="A result bundle of a real run of this plan: estimated vs actual per cell.",
)
@click.option("--resources", "show_resources", is_flag=True,
              help="Also recommend per step the smallest resource class that held the peak memory and CPU "
                   "measured in --bundle (bundles of `pipelinegen run`), and what it saves.")
@click.option("--resource-margin", type=click.FloatRange(0, 5), default=0.25, show_default=True,
              help="Headroom over the observed peak for --resources.")
@format_option("text", "json", help="json: the whole estimate.")
@click.option(
    "--html",
    type=click.Path(dir_okay=False, path_type=Path),
    is_flag=False,
    flag_value=Path("estimate.html"),
    help="Also write an HTML page with a Gantt chart (default estimate.html).",
)
def estimate_command(
    pipeline,
    overlay,
    plan_json,
    profile,
    architecture,
    jdk,
    custom_regexp,
    repository,
    agents,
    price,
    currency,
    runs_per_year,
    history,
    branch,
    bundle,
    splits_dir,
    default_minutes,
    setup_minutes,
    step_minutes,
    retry_rate,
    samples,
    seed,
    target_minutes,
    schedule,
    sensitivity,
    split_target,
    compare_bundle,
    show_resources,
    resource_margin,
    fmt,
    html,
):
    """Simulate the plan on an agent pool: turnaround, bounds, utilisation, queueing and cost.

    \b
    pipelinegen estimate --profile post-commit --agents small=20,medium=150,large=306 \\
        --price small=0.05,medium=0.15,large=0.40 --runs-per-year 2000 --html
    pipelinegen estimate --profile post-commit --target-minutes 60
    """
    plan, pipeline_model = _plan(pipeline, overlay, plan_json, profile, custom_regexp=custom_regexp,
                                 architecture=architecture, jdk=jdk, repository=repository)
    bundle_observations.cache_clear()
    if not plan.cells:
        raise click.UsageError("the plan has no cells for these parameters")
    model, notes = build_model(
        plan, history, branch, bundle, splits_dir, default_minutes, setup_minutes, step_minutes, retry_rate
    )
    tasks = est.tasks_from_cells(plan.cells, model, label_pools=set(agents))
    if schedule == "jenkins":
        tasks = est.with_stage_barriers(tasks, plan.cells)
    used = sorted({t.resource for t in tasks})
    for cell in plan.cells:  # a label pool costs what its resource class costs unless priced itself
        if cell.label in agents and cell.label not in price and cell.resource in price:
            price[cell.label] = price[cell.resource]
    target = None
    try:
        if target_minutes is not None:
            target = est.agents_for_target(tasks, target_minutes)
            if not agents:
                agents = dict(target.agents)
        unknown = sorted(set(agents) - set(used))
        if unknown:
            notes.append(f"--agents names classes this plan does not use: {', '.join(unknown)}")
        inputs = resolve_inputs(pipeline_model, plan.parameters.profile, used, agents, price, runs_per_year,
                                currency)
        agents, price = inputs.agents, inputs.prices
        result = est.estimate(tasks, agents, price, inputs.runs_per_year or 0)
        if schedule == "jenkins":
            # What the stage barriers cost: the same pool if each cell waited only for its own dependencies.
            free = est.simulate(
                est.tasks_from_cells(plan.cells, model, label_pools=set(agents)), agents
            ).makespan
            if free < result.makespan - 1e-9:
                notes.append(
                    f"Without the Jenkinsfile's stage barriers (--schedule dag) the same pool would take"
                    f" {free:.1f} min instead of {result.makespan:.1f}."
                )
        rows = est.sensitivity(tasks, agents, price) if sensitivity else ()
        sampled = est.sampled_makespans(plan.cells, model, agents, samples, seed, schedule) if samples else ()
    except ValueError as err:
        raise click.UsageError(str(err)) from None
    comparisons = ()
    if compare_bundle is not None:
        ran = [
            c
            for c in bundle_call(tm.read_bundle_cells, compare_bundle, "--compare")
            if c.attempts > 0 and c.seconds > 0
        ]
        actual = {c.id: c.seconds / 60 for c in ran}
        comparisons = tuple(est.compare(tasks, actual))
        if not comparisons:
            notes.append(f"{compare_bundle}: no cell of this plan is in the bundle")
    resource_lines: list[str] = []
    if show_resources:
        if pipeline_model is None or not bundle:
            raise click.UsageError("--resources needs the pipeline (not --plan) and --bundle of measured runs")
        cells = [c for b in bundle for c in bundle_call(tm.read_bundle_cells, b, "--bundle")]
        plan_hours: dict[str, float] = defaultdict(float)
        for task in tasks:
            plan_hours[task.step] += task.minutes * task.attempts / 60
        recs = recommend(pipeline_model, step_usage(cells, runs=len(bundle)), resource_margin, plan_hours)
        resource_lines = recommendation_lines(recs, resource_margin, inputs.currency)
    report = Report(
        estimate=result,
        tasks=tasks,
        agents=dict(agents),
        prices=dict(price),
        sensitivity=rows,
        target=target,
        samples=sampled,
        comparisons=comparisons,
        split_suggestions=split_suggestions(plan, model, split_target) if split_target else (),
        title=f"pipelinegen estimate: profile {plan.parameters.profile or '(default)'}, {len(plan.cells)} cells",
        notes=tuple(notes),
        schedule_model=schedule,
        inputs=inputs,
    )
    if html is not None:
        atomic_write_text(html, to_html(report))
        click.echo(f"wrote {html}", err=True)
    if fmt == "json":
        click.echo(json.dumps(as_dict(report), indent=2, sort_keys=True))
    else:
        sys.stdout.write(to_text(report))
        if resource_lines:
            sys.stdout.write("\n".join(resource_lines) + "\n")


commands = [splits_command, estimate_command]
