"""The compiler's differential test: what the generated Jenkinsfile runs (harness) must EQUAL `build_plan`.

Pure functions: job parameters for a `Parameters`, the parameter sets validate checks, and the comparison
of one harness run with one Python plan (a Finding per difference).
"""

from __future__ import annotations

from dataclasses import dataclass

from pipelinegen.errors import Finding, PipelineError
from pipelinegen.model.pipeline import Pipeline
from pipelinegen.plan.cell import Cell, Parameters, Plan
from pipelinegen.plan.environment import script_environment
from pipelinegen.plan.expand import build_plan
from pipelinegen.step_kinds import repeatable
from pipelinegen.validate.execution import HarnessResult, HarnessRun, RecordedCell

JENKINSFILE = "generated/Jenkinsfile"
NON_CANONICAL_REPOSITORY = "https://github.com/example-fork/cassandra.git"
BUNDLE_STASH = "pipelinegen-bundle"  # the library's stash of the run's result bundle, for the publish cells


def job_params(pipeline: Pipeline, parameters: Parameters) -> dict[str, object]:
    """The job parameters a build with *parameters* receives. Empty axis parameters are left out (Jenkins then
    uses the Jenkinsfile default, which is the axis's parameter default, as in Python). An empty repository is
    left out too: Jenkins then builds the job's own SCM (the harness run's scm_url), as Python's "" does."""
    out: dict[str, object] = {"profile": parameters.profile}
    if parameters.custom_regexp:
        out["profile_custom_regexp"] = parameters.custom_regexp
    if parameters.repository:
        out["repository"] = parameters.repository
    if parameters.branch:
        out["branch"] = parameters.branch
    given = {"architecture": parameters.architecture, "jdk": parameters.jdk, **dict(parameters.extra)}
    for axis in pipeline.axes:
        if axis.parameter and given.get(axis.parameter):
            out[axis.parameter] = given[axis.parameter]
    for name, value in parameters.extra:
        out.setdefault(name, value)
    return out


@dataclass(frozen=True)
class Case:
    """One parameter set checked by the differential test."""

    name: str
    parameters: Parameters
    # every cell's command fails on all attempts but its last: each must then run exactly `attempts` times
    exhaust_retries: bool = False


def default_cases(pipeline: Pipeline) -> list[Case]:
    """Every profile with its defaults, plus the parameter sets whose handling differs most between the two
    implementations: one jdk, every arch, a custom regexp, a fork with a branch, the canonical repository."""
    cases = [Case(f"profile {p.name}", Parameters(profile=p.name)) for p in pipeline.profiles if not p.custom]
    first = next((p.name for p in pipeline.profiles if not p.custom), pipeline.profiles[0].name)
    for axis in pipeline.axes:
        if not axis.parameter:
            continue
        if len(axis.values) > 1:
            cases.append(Case(f"{axis.parameter}={axis.values[-1]}", Parameters(
                profile=first, extra=((axis.parameter, axis.values[-1]),))))
        cases.append(Case(f"{axis.parameter}=all", Parameters(profile=first, extra=((axis.parameter, "all"),))))
    custom = next((p.name for p in pipeline.profiles if p.custom), None)
    if custom and pipeline.steps:
        # a regexp that picks some but not all steps, written in the Java/Python common subset
        cases.append(Case("custom regexp", Parameters(profile=custom, custom_regexp=f"^{pipeline.steps[-1].name[:3]}|test$")))
    # every profile already ran above: the repository cases use the smallest, they test checkout and post-commit
    repeat = pipeline.repeat
    with_tests = next((p.name for p in pipeline.profiles if not p.custom
                       and any(repeatable(pipeline.step(s).kind) for s in p.steps)), None)
    if with_tests:
        # repeat runs: the count and the boolean parameter travel as job parameters of different types
        cases.append(Case("repeat run", Parameters(profile=with_tests, extra=(
            (repeat.test_regex_parameter, "Compaction.*Test|^Flaky$"), (repeat.count_parameter, "7"),
            (repeat.stop_on_failure_parameter, "false")))))
    cases.append(Case("fork with a branch", Parameters(profile=first, repository=NON_CANONICAL_REPOSITORY,
                                                     branch="feature/x")))
    if pipeline.canonical_repository:
        cases.append(Case("canonical repository (post-commit)", Parameters(
            profile=first, repository=pipeline.canonical_repository.upper() + "/")))
    cases.append(Case("every cell retried to its last attempt", Parameters(profile=first), exhaust_retries=True))
    return [Case(c.name, _normalise(c.parameters), c.exhaust_retries) for c in cases]


def regexp_cases(pipeline: Pipeline, patterns: tuple[str, ...]) -> list[Case]:
    """A custom-profile run per regexp: Java (the library) and Python (the plan) must pick the same steps."""
    custom = next((p.name for p in pipeline.profiles if p.custom), None)
    if custom is None:
        return []
    return [Case(f"custom regexp {pattern!r}", Parameters(profile=custom, custom_regexp=pattern)) for pattern in patterns]


def _normalise(parameters: Parameters) -> Parameters:
    """Move the built-in axis parameters out of `extra` into their own fields (what build_plan reads)."""
    extra = dict(parameters.extra)
    return Parameters(
        profile=parameters.profile,
        custom_regexp=parameters.custom_regexp,
        architecture=extra.pop("architecture", parameters.architecture),
        jdk=extra.pop("jdk", parameters.jdk),
        repository=parameters.repository,
        branch=parameters.branch,
        extra=tuple(sorted(extra.items())),
    )


def harness_runs(pipeline: Pipeline, cases: list[Case]) -> list[HarnessRun]:
    runs = []
    for case in cases:
        fail: dict[str, int] = {}
        if case.exhaust_retries:
            plan = python_plan(pipeline, case.parameters)
            fail = {c.id: c.attempts - 1 for c in plan.cells if c.attempts > 1} if isinstance(plan, Plan) else {}
        runs.append(HarnessRun(name=case.name, params=job_params(pipeline, case.parameters), fail=fail))
    return runs


def python_plan(pipeline: Pipeline, parameters: Parameters) -> Plan | PipelineError:
    try:
        return build_plan(pipeline, parameters)
    except PipelineError as err:
        return err


def _finding(case: str, message: str, hint: str = "") -> Finding:
    return Finding(file=JENKINSFILE, line=None, rule="harness-differs", message=f"{case}: {message}", hint=hint)


def compare(case: str, expected: Plan | PipelineError, run: HarnessResult, pipeline: Pipeline | None = None,
            exhaust_retries: bool = False) -> list[Finding]:
    """Every difference between the Python plan and what the Jenkinsfile ran, plus the harness's bug reports."""
    findings = run.bug_findings()
    recorded = {c.id: c for c in run.cells()}
    if isinstance(expected, PipelineError):
        if recorded or run.result == "SUCCESS":
            findings.append(_finding(case, f"pipelinegen rejects these parameters ({expected.findings[0].message}) "
                                           f"but the Jenkinsfile ran {len(recorded)} cells with result {run.result}"))
        return findings
    if run.result not in ("SUCCESS",) and not recorded:
        findings.append(_finding(case, f"the Jenkinsfile failed ({run.first_failure() or run.result}) where pipelinegen plans "
                                       f"{len(expected.cells)} cells"))
        return findings
    planned = expected.by_id()
    missing = [cid for cid in planned if cid not in recorded]
    extra = [cid for cid in recorded if cid not in planned]
    if missing:
        cause = run.first_failure()
        findings.append(_finding(case, f"{len(missing)} planned cells never ran in the Jenkinsfile: {', '.join(missing[:8])}"
                                       + (" ..." if len(missing) > 8 else "") + (f" (first failure: {cause})" if cause else "")))
    if extra:
        findings.append(_finding(case, f"{len(extra)} cells ran that pipelinegen does not plan: {', '.join(extra[:8])}"
                                       + (" ..." if len(extra) > 8 else "")))
    for cell_id, cell in planned.items():
        if cell_id in recorded:
            findings.extend(_finding(case, f"cell {cell_id}: {problem}", _step_origin(pipeline, cell.step))
                            for problem in cell_differences(cell, recorded[cell_id], run.job_params))
            if exhaust_retries and recorded[cell_id].attempts != cell.attempts:
                findings.append(_finding(case, f"cell {cell_id} ran {recorded[cell_id].attempts} times when its "
                                               f"command failed all but the last time; the plan allows {cell.attempts}",
                                         _step_origin(pipeline, cell.step)))
    return findings


def _step_origin(pipeline: Pipeline | None, step: str) -> str:
    """`step 'x' is defined at pipeline.yaml:N`, to go from a differing cell to its source."""
    if pipeline is None:
        return ""
    try:
        location = pipeline.step(step).location
    except KeyError:
        return ""
    return f"step '{step}' is defined at {location.file}:{location.line}" if location else ""


def cell_differences(cell: Cell, got: RecordedCell, params: dict[str, object]) -> list[str]:
    """What differs between one planned cell and the same cell as the Jenkinsfile ran it."""
    problems = []
    for what, want, have in (
        ("name", cell.name, got.name),
        ("step", cell.step, got.step),
        ("command", cell.command, got.command),
        ("agent label", cell.label, got.label),
        ("timeout (minutes)", float(cell.timeout_minutes), got.timeout_minutes),
    ):
        if want != have:
            problems.append(f"{what} is {have!r} in the Jenkinsfile, {want!r} in the plan")
    for key, value in script_environment(cell).items():
        if got.env.get(key) != value:
            problems.append(f"environment {key} is {got.env.get(key)!r}; the step script contract "
                            f"(docs/scripts.md, as `pipelinegen run` sets it) says {value!r}")
    collect = "\n".join(cell.results + cell.archive)
    if got.env.get("PIPELINEGEN_COLLECT", collect) != collect:
        problems.append(f"collects {got.env.get('PIPELINEGEN_COLLECT')!r}, the plan's result/archive globs are {collect!r}")
    # a publish cell also unstashes the run's bundle, which the summary stage made (docs/scripts.md PIPELINEGEN_BUNDLE)
    unstashed = set(got.unstashed) - ({BUNDLE_STASH} if cell.kind == "publish" else set())
    if unstashed != set(cell.depends_on):
        problems.append(f"unstashes {sorted(got.unstashed)} but depends on {sorted(cell.depends_on)}")
    if cell.build_once and cell.id not in got.stashed:
        problems.append("is build-once but stashes nothing under its id")
    for checkout in cell.checkouts:
        url = str(params.get(checkout.repository_parameter) or checkout.repository)
        ref = str(params.get(checkout.branch_parameter) or checkout.branch)
        if (checkout.directory, url, ref) not in got.checkouts:
            problems.append(f"no checkout of {url} {ref} into {checkout.directory}/ (got {list(got.checkouts)})")
    return problems


def expected_plans(pipeline: Pipeline, cases: list[Case]) -> list[Plan | PipelineError]:
    return [python_plan(pipeline, case.parameters) for case in cases]
