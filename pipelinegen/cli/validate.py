"""`pipelinegen validate` (every offline check) and `pipelinegen explain` (what the Jenkinsfile will run)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from pipelinegen import generate
from pipelinegen.cli.options import (
    format_option,
    load_selected,
    parameter_options,
    parameters_from,
    pipeline_options,
)
from pipelinegen.cli.status import terminal_status
from pipelinegen.errors import (
    EXIT_CHECK_FAILED,
    EXIT_OK,
    Finding,
    PipelineError,
    flood_summary,
    shown_findings,
)
from pipelinegen.validate.differential import NON_CANONICAL_REPOSITORY, job_params
from pipelinegen.validate.execution import HarnessRun, RecordedCell, run_harness
from pipelinegen.validate.report import validate


def format_finding(finding: Finding) -> str:
    """`FILE:LINE:COL: severity: [key path: ]MESSAGE [rule]`, the hint on its own line."""
    where = finding.file
    if finding.line is not None:
        where += f":{finding.line}" + (f":{finding.column}" if finding.column is not None else "")
    text = f"{where}: {finding.severity}: " + (f"{finding.key_path}: " if finding.key_path else "")
    text += f"{finding.message} [{finding.rule}]"
    if finding.hint:
        text += f"\n    hint: {finding.hint}"
    return text


@click.command("validate")
@pipeline_options
@format_option("text", "json",
               help="json: {findings: [{file, line, column, rule, severity, message, hint}], sizes, runs, skipped}.")
@click.option("--custom-regexp", "custom_regexps", multiple=True, metavar="REGEXP",
              help="Also check a profile_custom_regexp value for Java/Python differences.")
@click.option("--no-harness", is_flag=True, help="Skip the execution harness (layer 5).")
def validate_command(pipeline_path: Path, overlays: tuple[Path, ...], fmt: str, custom_regexps: tuple[str, ...],
                     no_harness: bool) -> None:
    """Check pipeline.yaml and everything under generated/ offline, as far as anything can be without Jenkins.

    Layers: pipeline.yaml semantics; generated/ up to date; declarative Jenkinsfile rules and the Groovy 2.4
    syntax gate; size guard; the execution harness (the Jenkinsfile and library run under Groovy 2.4 for every
    profile and several parameter sets, and must run exactly the cells `pipelinegen plan` lists).
    Exit codes: 0 no errors (warnings allowed), 1 errors, 2 bad usage or no Java/Groovy.
    """
    for path in (pipeline_path, *overlays):  # a missing input is bad usage (2), as in every other command
        if not Path(path).is_file():
            raise PipelineError.single(str(path), None, "file not found", hint="check the path, or run with -C DIR")
    with terminal_status("validate") as update:  # seconds, mostly JVMs: say which layer runs
        report = validate(pipeline_path, overlays, custom_regexps=custom_regexps, harness=not no_harness,
                          progress=update)
    if fmt == "json":
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        for finding in shown_findings(report.findings):
            click.echo(format_finding(finding))
        for line in flood_summary(report.findings, cause=report.likely_cause):
            click.echo(line)
        for size in report.sizes:
            if size.largest_block:
                bytecode = (f", largest method {size.largest_method} {size.largest_method_bytecode} bytes of bytecode"
                            if size.largest_method else "")
                click.echo(f"size: {size.file}: {size.bytes} bytes, largest block '{size.largest_block}' "
                           f"{size.largest_block_bytes} bytes (line {size.largest_block_line}){bytecode}", err=True)
        for run in report.runs:
            click.echo(f"harness: {run.case}: {run.cells} cells, {run.result}, "
                       f"{'equal to the plan' if not run.differences else f'{run.differences} differences'}", err=True)
        for note in report.skipped:
            click.echo(f"skipped: {note}", err=True)
    warnings = len(report.findings) - report.errors
    click.echo(f"{report.errors} error{'s' * (report.errors != 1)}, {warnings} warning{'s' * (warnings != 1)}", err=True)
    sys.exit(EXIT_CHECK_FAILED if report.errors else EXIT_OK)


def _cell_line(cell: RecordedCell, width: int) -> str:
    timeout = f"{cell.timeout_minutes:g}m" if cell.timeout_minutes is not None else "-"
    after = f"  after {', '.join(cell.unstashed)}" if cell.unstashed else ""
    retried = f"  ({cell.attempts} attempts)" if cell.attempts > 1 else ""
    return f"  {cell.name:<{width}}  {cell.label:<34} {timeout:>5}  $ {cell.command}{after}{retried}"


@click.command("explain")
@pipeline_options
@parameter_options
@format_option("text", "json", help="json: the recorded cells.")
def explain_command(pipeline_path: Path, overlays: tuple[Path, ...], fmt: str, **parameter_values: object) -> None:
    """What generated/Jenkinsfile will run, cell by cell, for these job parameters.

    Read from running the Jenkinsfile and its library under Groovy 2.4 (the harness), not from the Python
    plan. Parameters you do not give take the Jenkinsfile's defaults, as in Jenkins: with no --repository
    that is the job's own SCM, here a fork's (pre-commit, as `plan` counts it); give the canonical
    repository to see a post-commit run.
    """
    pipeline = load_selected(pipeline_path, overlays)
    parameters = parameters_from(pipeline, **parameter_values)  # type: ignore[arg-type]
    params = job_params(pipeline, parameters)
    jenkinsfile = Path(generate.GENERATED_DIR) / "Jenkinsfile"
    if not jenkinsfile.is_file():
        raise PipelineError.single(str(jenkinsfile), None, "not found", hint="run `pipelinegen compile` first")
    stale = generate.check(generate.render_all(pipeline, pipeline_path.parent), Path(generate.GENERATED_DIR))
    if stale.stale:  # the harness EXECUTES generated/: never a file compile would not write (it could hold any code)
        first = (stale.changed + stale.missing + stale.extra)[0]
        raise PipelineError.single(str(Path(generate.GENERATED_DIR) / first), None,
                                   "generated/ is stale or edited: explain runs only what `pipelinegen compile` writes",
                                   hint="run `pipelinegen compile` (and review the diff) first")
    # no --repository: the job's own SCM, taken to be a fork's, as `plan` does (pre-commit)
    run = HarnessRun(name="explain", params=params, scm_url=NON_CANONICAL_REPOSITORY)
    [result] = run_harness([run], jenkinsfile, pipeline_path.parent)
    cells = result.cells()
    if fmt == "json":
        click.echo(json.dumps({"job_params": result.job_params, "result": result.result, "error": result.error,
                               "cells": [c.__dict__ for c in cells], "bugs": result.bugs}, indent=2, default=list))
    else:
        shown = ", ".join(f"{k}={v!r}" for k, v in result.job_params.items())
        click.echo(f"job parameters: {shown}")
        # the summary stage records whether the library judged the run post-commit
        recorded = [e["json"].get("post_commit") for e in result.events
                    if e["type"] in ("writeJSON", "writeFile") and isinstance(e.get("json"), dict) and "post_commit" in e["json"]]
        if recorded:
            click.echo("post-commit run (canonical repository): publish cells run" if recorded[0] else
                       "pre-commit run (not the canonical repository): publish cells are skipped")
        width = max((len(c.name) for c in cells), default=10)
        stage = None
        for cell in cells:
            if cell.stage != stage:
                stage = cell.stage
                count = sum(1 for c in cells if c.stage == stage)
                click.echo(f"stage {stage}: {count} cell{'s' * (count != 1)}")
            click.echo(_cell_line(cell, width))
        for event in result.events:
            if event["type"] in ("echo", "error"):
                click.echo(f"[{event.get('stage') or 'post'}] {event['text']}")
        click.echo(f"{len(cells)} cells; build result {result.result}" + (f": {result.error}" if result.error else ""))
    for finding in result.bug_findings():
        click.echo(format_finding(finding), err=True)
    sys.exit(EXIT_OK if result.ok and result.result == "SUCCESS" else EXIT_CHECK_FAILED)


commands = [validate_command, explain_command]
