"""pipeline model + job parameters -> the plan (the exact cells that run).

Two pure steps, mirrored one for one by the Groovy library at run time (and checked equal by the
validate harness): `cell_universe` expands every step over its axes and splits once; `select` keeps
the cells the parameters ask for, then adds the build-once cells they depend on.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable

from pipelinegen.errors import Finding, PipelineError, suggest
from pipelinegen.escape import shell_quote
from pipelinegen.model.pipeline import Pipeline, Step
from pipelinegen.plan.cell import Cell, Checkout, Parameters, Plan, cell_id_from_name
from pipelinegen.plan.javaregex import java_regex_problem
from pipelinegen.plan.repeat import repeat_cells, repeat_mode

ALL = "all"


def _combinations(pipeline: Pipeline, step: Step) -> list[dict[str, str]]:
    """Axis values of every cell of *step* (before splits), in axis order, filtered by only/exclude."""
    choices = []
    for axis in pipeline.axes:
        if axis.name in step.axes:
            choices.append([(axis.name, v) for v in axis.values])
        else:
            choices.append([(axis.name, axis.default)])
    only = dict(step.only)
    combos = []
    for combo in itertools.product(*choices):
        values = dict(combo)
        if any(values[a] not in allowed for a, allowed in only.items()):
            continue
        if any(all(values[a] in allowed for a, allowed in rule) for rule in step.exclude if rule):
            continue
        combos.append(values)
    return combos


def _cell_name(pipeline: Pipeline, step: Step, values: dict[str, str], split: int) -> str:
    parts = [step.name]
    for axis in pipeline.axes:
        if axis.name in step.axes:
            part = axis.name_part(values[axis.name])
            if part:
                parts.append(part)
    if step.splits > 1:
        parts.append(f"{split}/{step.splits}")
    return " ".join(parts)


@functools.lru_cache(maxsize=8)  # every plan of a pipeline filters the same universe (validate, estimate, run)
def cell_universe(pipeline: Pipeline) -> tuple[Cell, ...]:
    """Every cell any parameters could select: all steps × all axis values × all splits."""
    cells: list[Cell] = []
    by_step: dict[str, list[Cell]] = {}
    errors = []
    for step in pipeline.steps:
        resource = pipeline.resource(step.resource)
        checkouts = tuple(
            Checkout(
                name=r.name,
                repository=r.url,
                branch=r.branch,
                directory=r.directory,
                repository_parameter=r.repository_parameter,
                branch_parameter=r.branch_parameter,
            )
            for r in (pipeline.repository(name) for name in step.checkouts)
        )
        for values in _combinations(pipeline, step):
            for split in range(1, step.splits + 1):
                name = _cell_name(pipeline, step, values, split)
                cell_id = cell_id_from_name(name)
                fields = {
                    **values,
                    "step": step.name,
                    "split": str(split),
                    "splits": str(step.splits),
                    "cell_id": cell_id,
                    **{f"{c.name}_dir": c.directory for c in checkouts},
                }
                command = step.command.format(**{k: shell_quote(v) for k, v in fields.items()})
                depends = []
                for need in step.needs:
                    if need == step.name:
                        continue
                    needed = pipeline.step(need)
                    match = [
                        c
                        for c in by_step.get(need, [])
                        if all(c.axis(a) == values[a] for a in needed.axes if a in step.axes or a in values)
                    ]
                    if not match:
                        errors.append(
                            (step, f"cell '{name}' needs '{need}' but no '{need}' cell has the same "
                             f"{', '.join(needed.axes)} (declare '{need}' before '{step.name}' and check its only/exclude)")
                        )
                    depends.extend(c.id for c in match)
                cells.append(
                    Cell(
                        id=cell_id,
                        name=name,
                        step=step.name,
                        kind=step.kind,
                        axes=tuple((a.name, values[a.name]) for a in pipeline.axes),
                        split=split,
                        splits=step.splits,
                        command=command,
                        resource=resource.name,
                        label=resource.label.format(**values),
                        cpu=resource.cpu,
                        memory_gb=resource.memory_gb,
                        timeout_minutes=step.timeout_minutes,
                        attempts=step.attempts,
                        retry_on=step.retry_on,
                        depends_on=tuple(depends),
                        build_once=step.build_once,
                        post_commit_only=step.post_commit_only,
                        image=step.image.format(**values) if step.image else "",
                        checkouts=checkouts,
                        env=step.env,
                        results=tuple(p.format(**fields) for p in step.results),
                        archive=tuple(p.format(**fields) for p in step.archive),
                        stash_includes=step.stash,
                    )
                )
                by_step.setdefault(step.name, []).append(cells[-1])
    seen: dict[str, Cell] = {}
    for cell in cells:
        if cell.id in seen:
            errors.append((pipeline.step(cell.step), f"cell id '{cell.id}' is produced twice ('{seen[cell.id].name}' and '{cell.name}')"))
        seen[cell.id] = cell
    if errors:
        raise PipelineError(
            [
                Finding(
                    file=step.location.file if step.location else "pipeline.yaml",
                    line=step.location.line if step.location else None,
                    key_path=f"steps[{step.name}]",
                    message=message,
                )
                for step, message in errors
            ]
        )
    return tuple(cells)


def normalise_repository(url: str) -> str:
    """Repository URLs compare equal regardless of case, a trailing slash or `.git` (same rule in Groovy)."""
    text = url.strip().lower().rstrip("/")
    if text.endswith(".git"):
        text = text[: -len(".git")]
    return text


def is_post_commit(pipeline: Pipeline, repository: str) -> bool:
    """Post-commit = the run builds the canonical repository. Jenkins passes the job's SCM URL when the
    parameter is empty; outside Jenkins an unknown repository ("") is never post-commit."""
    if not pipeline.canonical_repository or not repository:
        return False
    return normalise_repository(repository) == normalise_repository(pipeline.canonical_repository)


def default_profile(pipeline: Pipeline) -> str:
    """The profile a job runs when none is chosen: the first one listed (the Jenkins choice parameter's first)."""
    return pipeline.profiles[0].name if pipeline.profiles else ""


def parameters_for(pipeline: Pipeline, profile: str | None = None, pairs: Iterable[tuple[str, str]] = (),
                   **known: str) -> Parameters:
    """Parameters from user input, every command alike: no profile = the job's default profile."""
    return Parameters.from_input(profile or default_profile(pipeline), pairs, **known)


def _param_error(message: str, hint: str = "") -> PipelineError:
    return PipelineError.single("<parameters>", None, message, hint=hint)


def axis_selection(pipeline: Pipeline, parameters: Parameters) -> dict[str, tuple[str, ...]]:
    """The values of each axis the parameters allow ("" = the parameter's default; "all" = every value)."""
    given = {"architecture": parameters.architecture, "jdk": parameters.jdk, **dict(parameters.extra)}
    selection = {}
    for axis in pipeline.axes:
        if not axis.parameter:
            selection[axis.name] = axis.values
            continue
        value = given.get(axis.parameter, "") or axis.parameter_default
        if value in ("", ALL):
            selection[axis.name] = axis.values
        elif value in axis.values:
            selection[axis.name] = (value,)
        else:
            raise _param_error(
                f"{axis.parameter}={value!r} is not one of {', '.join(axis.values)} (or '{ALL}')",
                suggest(value, list(axis.values)),
            )
    return selection


def selected_steps(pipeline: Pipeline, parameters: Parameters) -> set[str]:
    try:
        profile = pipeline.profile(parameters.profile)
    except KeyError:
        names = [p.name for p in pipeline.profiles]
        raise _param_error(
            f"unknown profile {parameters.profile!r}", suggest(parameters.profile, names) or f"one of: {', '.join(names)}"
        ) from None
    if not profile.custom:
        return set(profile.steps)
    problem = java_regex_problem(parameters.custom_regexp)
    if problem:
        raise _param_error(f"profile_custom_regexp {parameters.custom_regexp!r}: {problem}")
    pattern = re.compile(parameters.custom_regexp)
    return {step.name for step in pipeline.steps if pattern.search(step.name)}


def select(pipeline: Pipeline, universe: tuple[Cell, ...], parameters: Parameters) -> Plan:
    post_commit = is_post_commit(pipeline, parameters.repository)
    axes = axis_selection(pipeline, parameters)
    steps = selected_steps(pipeline, parameters)
    always = {s.name for s in pipeline.steps if s.always}
    expanded = {s.name: set(s.axes) for s in pipeline.steps}

    def allowed(cell: Cell) -> bool:
        # only the axes a step expands filter it: a step run once (axes: []) is not dropped by `jdk=17`
        in_axes = all(value in axes[name] for name, value in cell.axes if name in expanded[cell.step])
        return in_axes and (post_commit or not cell.post_commit_only)

    chosen = {c.id for c in universe if allowed(c) and (c.step in steps or c.step in always)}
    by_id = {c.id: c for c in universe}
    pending = list(chosen)
    while pending:  # add the build-once cells the chosen cells depend on
        for dependency in by_id[pending.pop()].depends_on:
            if dependency not in chosen:
                chosen.add(dependency)
                pending.append(dependency)
    normal = [c for c in universe if c.id in chosen]
    mode = repeat_mode(pipeline, parameters, steps)
    if mode.replaces_normal_cells:
        repeated = {spec.step for spec in mode.specs}
        normal = [c for c in normal if c.step not in repeated]
    repeats = []
    for spec in mode.specs:
        first_splits = [c for c in universe if c.step == spec.step and c.split == 1 and allowed(c)]
        repeats.extend(repeat_cells(spec, first_splits))
    return Plan(parameters=parameters, post_commit=post_commit, cells=tuple(normal + repeats))


def build_plan(pipeline: Pipeline, parameters: Parameters) -> Plan:
    """The exact cells that run for *parameters*: the one function every backend uses."""
    return select(pipeline, cell_universe(pipeline), parameters)
